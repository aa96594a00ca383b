"""``benchmarks/bench_sklearn.py`` stopped: by Ctrl-C while it fits, or by data it cannot have. Its command line
is every benchmark's (``tests/test_bench_harness.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from _processes import popen_interruptible

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_sklearn.py"


def test_the_sklearn_benchmark_stopped_by_ctrl_c_writes_nothing_and_exits_130(
    tmp_path: Path, fashion_mnist_home: Path
) -> None:
    argv = [sys.executable, str(SCRIPT), "--quick", "--data-dir", str(fashion_mnist_home)]
    proc = popen_interruptible(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "fits:\n"
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130 and rest == "bench_sklearn: interrupted; nothing written\n", rest
    assert list(tmp_path.iterdir()) == []


def test_data_that_cannot_be_had_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = os.environ | {"NPSOFTMAX_MIRRORS": str(tmp_path / "no-such-folder")}
    argv = [sys.executable, str(SCRIPT), "--quick", "--data-dir", str(tmp_path / "home")]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("bench_sklearn: cannot load Fashion-MNIST: ")
    assert not (tmp_path / "bench-results").exists()
