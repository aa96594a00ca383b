"""What every benchmark script shares through ``benchmarks/harness.py``: its command line (``--version``,
``--help``, ``--out`` against ``--write-results``, an ``--out`` that cannot be made), each script run as a script
from a folder outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


SCRIPTS = ["bench_epoch.py", "bench_classes.py", "bench_sklearn.py", "bench_dask.py", "tune_preset.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_shares_one_command_line(tmp_path: Path, script: str) -> None:
    """The harness's flags and exit statuses, as each script runs, from a folder outside the repository; the
    committed results stay as they were."""
    import npsoftmax as nps

    committed = {path: path.stat().st_mtime_ns for path in BENCHMARKS.iterdir() if path.is_file()}

    def run(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, str(BENCHMARKS / script), *args]
        wide = os.environ | {"COLUMNS": "200"}  # argparse wraps its help, at hyphens too, to the terminal's width
        return subprocess.run(argv, cwd=tmp_path, env=wide, capture_output=True, text=True, timeout=120)

    version = run("--version")
    assert version.returncode == 0 and version.stdout == f"python benchmarks/{script} (npsoftmax {nps.__version__})\n"
    helped = run("--help")
    assert helped.returncode == 0 and "(default bench-results/, git-ignored)" in helped.stdout
    assert "--write-results" in helped.stdout

    both = run("--out", "x", "--write-results")
    assert both.returncode == 2 and len(both.stderr.splitlines()) == 1, both.stderr
    assert "argument --write-results: not allowed with argument --out" in both.stderr

    (tmp_path / "a-file").write_text("")
    cannot = run("--out", str(tmp_path / "a-file" / "results"))
    assert cannot.returncode == 1 and len(cannot.stderr.splitlines()) == 1, cannot.stderr
    assert cannot.stderr.startswith(f"{Path(script).stem}: cannot create ") and "choose another --out" in cannot.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert {path: path.stat().st_mtime_ns for path in BENCHMARKS.iterdir() if path.is_file()} == committed
