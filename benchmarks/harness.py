"""What every benchmark script shares: its command line (usage errors on one line, ``--version``, and the
``--out DIR`` / ``--write-results`` pair), the machine it measured on, and the writing of its results, whole or
not at all, with the exit statuses that go with them.

The scripts run as ``python benchmarks/SCRIPT.py``, which puts this folder first on ``sys.path``; they import this
module by its bare name, and a test that loads a script as a module puts the folder there too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any, NoReturn

BENCHMARKS = Path(__file__).resolve().parent
DEFAULT_OUT = Path("bench-results")


class ArgumentParser(argparse.ArgumentParser):
    """argparse for ``python benchmarks/SCRIPT.py``: ``--version``, the mutually exclusive ``--out DIR`` (default
    ``bench-results/``, git-ignored) and ``--write-results`` (replace ``committed``, the files in ``benchmarks/``),
    and a usage error on one line (exit status 2) that points to ``--help``."""

    def __init__(self, script: str, committed: str, **kwargs: Any) -> None:
        super().__init__(prog=f"python benchmarks/{script}", **kwargs)
        import npsoftmax

        self.add_argument("--version", action="version", version=f"%(prog)s (npsoftmax {npsoftmax.__version__})")
        where = self.add_mutually_exclusive_group()
        where.add_argument(
            "--out",
            type=Path,
            default=DEFAULT_OUT,
            metavar="DIR",
            help="folder for the results (default bench-results/, git-ignored)",
        )
        where.add_argument("--write-results", action="store_true", help=f"replace the committed {committed}")

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args: list[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # noqa: ANN401
        """argparse's, and ``out``, the folder the results go into: ``benchmarks/`` with ``--write-results``."""
        parsed = super().parse_args(args, namespace)
        if parsed.write_results:
            parsed.out = BENCHMARKS
        elif parsed.out.exists() and not parsed.out.is_dir():
            self.error(f"--out {parsed.out}: not a folder")
        return parsed


def command(script: str, argv: list[str] | None) -> str:
    """The command line that made the results, as a reader would type it from the repository's root."""
    return shlex.join(["python", f"benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])


class Failed(Exception):
    """A run that cannot go on (its data cannot be had): exit status 1, the message on one line."""


def load_fashion_mnist(data_dir: str | None, download: bool = True) -> tuple[Any, Any, Any, Any]:
    """:func:`npsoftmax.load_fashion_mnist`, or :class:`Failed` with the data layer's own message, which says
    which source failed and how to get the files."""
    import npsoftmax

    try:
        return npsoftmax.load_fashion_mnist(data_dir, download=download)
    except (npsoftmax.DataUnavailableError, OSError, ValueError) as exc:
        raise Failed(f"cannot load Fashion-MNIST: {exc}") from None


def markdown_head(title: str, report: dict[str, Any]) -> list[str]:
    """The first lines of a report: ``title``, the command, the machine (a line) and the load average."""
    return [
        f"# {title}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {report['machine']}. The machine is shared: 1-minute load average "
        f"{report['loadavg_start']:.2f} at the start, {report['loadavg_end']:.2f} at the end.",
    ]


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it: never a half-written result."""
    partial = path.with_name(f".{path.name}.part")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def run(name: str, out: Path, work: Callable[[], dict[str, str]]) -> int:
    """Create ``out``, do ``work``, write the files it returns (name to text) whole into ``out``, and return the
    exit status, saying in one line on stderr what happened.

    0: the files are written. 1: ``out`` cannot be created or written, or ``work`` raised :class:`Failed`.
    130: Ctrl-C, nothing written. Unless the files were written, an ``out`` created for the run goes again if
    it is empty, whatever ended the run (a usage error found by ``work`` included).
    """
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"{name}: cannot create {out}: {exc.strerror}; choose another --out", file=sys.stderr)
        return 1
    try:
        files = work()
        for filename, text in files.items():
            write_whole(out / filename, text)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; nothing written", file=sys.stderr)
        return 130
    except Failed as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{name}: cannot write into {out}: {exc.strerror}; choose another --out", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(OSError):
            if created and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
    print(f"wrote {' and '.join(str(out / filename) for filename in files)}", file=sys.stderr)
    return 0


def load_average() -> float:
    """The 1-minute load average: how busy the shared machine was while a figure was measured."""
    return os.getloadavg()[0]


def machine(packages: Iterable[str] = ()) -> dict[str, Any]:
    """What the figures were measured on: the CPU, the memory, NumPy's BLAS, and the versions of Python, NumPy and
    ``packages`` (distribution names), with a one-line ``description`` to quote beside them."""
    from threadpoolctl import threadpool_info

    with open("/proc/cpuinfo") as f:
        cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    with open("/proc/meminfo") as f:
        mem_kb = next((int(line.split()[1]) for line in f if line.startswith("MemTotal")), 0)
    blas_libraries = [p for p in threadpool_info() if p["user_api"] == "blas"]
    blas = blas_libraries[0] if blas_libraries else None
    record = {
        "cpu_model": cpu_model,
        "logical_cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        **{name: version(name) for name in ("numpy", *packages)},
        "numpy_blas": [f"{p['internal_api']} {p['version']}" for p in blas_libraries],
        "blas_library": None if blas is None else f"{blas['internal_api']} {blas['version']}",
        "blas_architecture": None if blas is None else blas.get("architecture"),
        "blas_threads": None if blas is None else blas["num_threads"],
    }
    kernel = f" ({record['blas_architecture']} kernel)" if record["blas_architecture"] else ""
    record["description"] = (
        f"{cpu_model}, {record['logical_cpus']} logical CPUs, NumPy {record['numpy']} with "
        f"{record['blas_library'] or 'no BLAS found'}{kernel}"
    )
    return record


def machine_line(packages: Iterable[str]) -> str:
    """:func:`machine` in one line: its description, then the versions of Python and ``packages``."""
    packages = list(packages)
    record = machine(packages)
    versions = ", ".join(f"{name} {record[name]}" for name in packages)
    return f"{record['description']}; Python {record['python']}, {versions}"
