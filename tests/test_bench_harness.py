"""What every benchmark script shares through ``benchmarks/harness.py``: its command line (``--version``,
``--help``, ``--out`` against ``--write-results``, an ``--out`` that cannot be made), each script run as a script
from a folder outside the repository.

The flags that argparse answers before a script does any work (``--version``, ``--help``, the usage error) are
asked of the script's ``main`` in this process, as the script's own interpreter would run it: a fresh interpreter
for each would cost its start-up and nothing more. The ``--out`` that cannot be made goes through the whole run,
so it is asked of the script run as a script, which also shows that it finds its ``harness`` from any folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _scripts import load_script

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


SCRIPTS = ["bench_epoch.py", "bench_classes.py", "bench_sklearn.py", "bench_dask.py", "tune_preset.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_shares_one_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], script: str
) -> None:
    """The harness's flags and exit statuses, as each script runs, from a folder outside the repository; the
    committed results stay as they were."""
    import npsoftmax as nps

    committed = {path: path.stat().st_mtime_ns for path in BENCHMARKS.iterdir() if path.is_file()}
    main = load_script(BENCHMARKS / script).main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps its help, at hyphens too, to the terminal's width

    def run(*args: str) -> subprocess.CompletedProcess:
        """``main(args)``: its exit status and what it printed, as the script's process would end."""
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, exited.value.code, out, err)

    version = run("--version")
    assert version.returncode == 0 and version.stdout == f"python benchmarks/{script} (npsoftmax {nps.__version__})\n"
    helped = run("--help")
    assert helped.returncode == 0 and "(default bench-results/, git-ignored)" in helped.stdout
    assert "--write-results" in helped.stdout

    both = run("--out", "x", "--write-results")
    assert both.returncode == 2 and len(both.stderr.splitlines()) == 1, both.stderr
    assert "argument --write-results: not allowed with argument --out" in both.stderr

    (tmp_path / "a-file").write_text("")
    argv = [sys.executable, str(BENCHMARKS / script), "--out", str(tmp_path / "a-file" / "results")]
    cannot = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert cannot.returncode == 1 and len(cannot.stderr.splitlines()) == 1, cannot.stderr
    assert cannot.stderr.startswith(f"{Path(script).stem}: cannot create ") and "choose another --out" in cannot.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert {path: path.stat().st_mtime_ns for path in BENCHMARKS.iterdir() if path.is_file()} == committed
