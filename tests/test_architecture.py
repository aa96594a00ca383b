"""The house's shape: its floors (pyproject.toml's import-linter contract), no import of the package root, and
functions and classes short enough to read."""

from __future__ import annotations

import ast
import subprocess
import sys

import grimp
import pytest
from _scripts import REPO, load_script

PACKAGE = REPO / "npsoftmax"
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 150


def test_the_layers_contract_is_kept():
    # lint-imports as CI runs it, from the repository root where pyproject.toml declares the floors.
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 kept, 0 broken" in result.stdout


def test_no_module_imports_the_package_root():
    graph = grimp.build_graph("npsoftmax")
    assert graph.find_modules_that_directly_import("npsoftmax") == set()


def _definitions(node: ast.AST):
    for child in ast.walk(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield child


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_functions_and_classes_read_in_one_screen(path):
    trace = load_script(REPO / "benchmarks" / "trace_epoch.py")
    source = path.read_text()
    code = trace.code_lines(source)
    too_long = []
    for node in _definitions(ast.parse(source)):
        limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
        n_lines = len(code & set(range(node.lineno, node.end_lineno + 1)))
        if n_lines > limit:
            too_long.append(f"{node.name}: {n_lines} code lines (at most {limit})")
    assert not too_long
