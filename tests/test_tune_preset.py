"""Smoke test of ``benchmarks/tune_preset.py --quick`` on the real data: every fold scored, the best recorded."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tune_preset.py"


def test_quick_cross_validation_scores_every_fold(tmp_path, fashion_mnist_home):
    out = tmp_path / "tune.json"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--folds",
            "3",
            "--data-dir",
            str(fashion_mnist_home),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(out.read_text())
    (candidate,) = summary["results"]
    assert len(candidate["fold_accs"]) == 3 and all(0.7 < acc < 0.95 for acc in candidate["fold_accs"])
    assert summary["best"] == candidate and abs(candidate["cv_acc"] - sum(candidate["fold_accs"]) / 3) < 1e-12
