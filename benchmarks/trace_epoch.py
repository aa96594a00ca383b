"""The code a learner reads to follow one epoch: every npsoftmax function one ``train_epoch_ch3`` pass runs.

Run from the repository root::

    python benchmarks/trace_epoch.py            # the table and the total, on standard output

One ``train_epoch_ch3`` pass, as d2l calls it (``nps.cross_entropy``, ``nps.SGD``, the batches of a
``load_data_fashion_mnist`` iterator, here over small synthetic images), runs under ``sys.settrace``. Every
function of the package that starts running during the pass is collected (generator expressions and other code
objects nested in a function count as part of it), and its code lines are counted: the lines of its definition,
signature included, without its docstring, comments and blank lines. Code run before the pass (the model, the
iterator, the updater) is not part of the epoch and is not counted.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path
from types import CodeType, FrameType

import numpy as np

import npsoftmax as nps

PACKAGE = Path(nps.__file__).resolve().parent


def executed_code(run: Callable[[], object]) -> set[CodeType]:
    """The code objects of the package that start running during ``run()``."""
    seen: set[CodeType] = set()

    def tracer(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and Path(frame.f_code.co_filename).resolve().is_relative_to(PACKAGE):
            seen.add(frame.f_code)
        return None  # no line events: only the calls are needed

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        run()
    finally:
        sys.settrace(previous)
    return seen


def code_lines(source: str) -> set[int]:
    """The lines of ``source`` holding code: no blank lines, comments or docstrings."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            lines.update(range(token.start[0], token.end[0] + 1))
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    lines -= set(range(first.lineno, first.end_lineno + 1))
    return lines


def functions(source: str) -> list[tuple[str, int, int]]:
    """``(qualified name, first line, last line)`` of every function in ``source``, decorators included."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((prefix + child.name, first, child.end_lineno))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(source), "")
    return found


def epoch_table(run: Callable[[], object]) -> list[tuple[str, str, int]]:
    """``(file, function, code lines)`` of every package function ``run()`` executes, outermost functions only."""
    by_file: dict[Path, set[int]] = {}
    for code in executed_code(run):
        by_file.setdefault(Path(code.co_filename).resolve(), set()).add(code.co_firstlineno)
    rows = []
    for path, first_lines in sorted(by_file.items()):
        source = path.read_text()
        counted = code_lines(source)
        spans = functions(source)
        chosen = set()
        for line in first_lines:  # the function whose definition starts there, or the one a nested code lies in
            starting = [s for s in spans if s[1] <= line <= s[2]]
            chosen.add(min(starting, key=lambda s: s[2] - s[1]) if starting else ("<module>", line, line))
        outermost = [s for s in chosen if not any(o != s and o[1] <= s[1] and s[2] <= o[2] for o in chosen)]
        for name, first, last in sorted(outermost, key=lambda s: s[1]):
            lines = len([n for n in counted if first <= n <= last])
            rows.append((str(path.relative_to(PACKAGE.parent)), name, lines))
    return rows


def one_epoch() -> Callable[[], object]:
    """One pass of d2l's call over 1,000 synthetic images in batches of 256 (the last one partial)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(1000, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=1000)
    train_iter = nps.MinibatchIter(images, labels, 256, shuffle=True, seed=0)
    net = nps.SoftmaxRegression(784, 10, seed=0)
    updater = nps.SGD(net.params, lr=0.1)
    return lambda: nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, updater)


def main() -> int:
    rows = epoch_table(one_epoch())
    width = max(len(f"{file}  {name}") for file, name, _ in rows)
    for file, name, lines in rows:
        print(f"{file}  {name}".ljust(width), f"{lines:4d}")
    files = sorted({file for file, _, _ in rows})
    print(f"{'total'.ljust(width)} {sum(lines for _, _, lines in rows):4d} code lines in {len(files)} files")
    for file in files:
        print(f"  {file}: {sum(lines for f, _, lines in rows if f == file)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
