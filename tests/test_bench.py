"""Smoke test of ``benchmarks/bench_epoch.py --quick``: it runs and writes its results. Timings are never asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_epoch.py"
SYSTEMS = ["npsoftmax", "torch-scratch", "torch-nn", "sklearn-sgd", "sklearn-logreg", "floor"]
TABLE_HEADER = "| system | median epoch s | ratio vs npsoftmax | test acc | peak RSS MB |"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_benchmark_writes_json_and_markdown(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr

    results = json.loads((tmp_path / "results-quick.json").read_text())
    assert list(results["systems"]) == SYSTEMS
    for name, entry in results["systems"].items():
        for field in ("median_epoch_seconds", "ratio_vs_npsoftmax", "peak_rss_mb", "other_load_cpus"):
            assert _is_number(entry[field]), (name, field, entry[field])
        assert entry["median_epoch_seconds"] > 0 and entry["peak_rss_mb"] > 0, name
        assert isinstance(entry["contended"], bool), name
        if name == "floor":
            assert entry["test_acc"] is None  # the floor only multiplies matrices, it does not train
        else:
            assert _is_number(entry["test_acc"]) and 0.0 <= entry["test_acc"] <= 1.0, (name, entry["test_acc"])
    assert results["systems"]["npsoftmax"]["ratio_vs_npsoftmax"] == 1.0
    # The synthetic data is learnable: npsoftmax gets well above chance (0.1) in the two quick epochs.
    assert results["systems"]["npsoftmax"]["test_acc"] > 0.5
    assert {t["target"].split(" ")[0] for t in results["targets"]} == {"npsoftmax"}
    assert all(isinstance(t["passed"], bool) for t in results["targets"])
    machine = results["machine"]
    assert machine["cpu_model"] and machine["logical_cpus"] >= 1 and machine["torch_num_threads"] >= 1
    assert results["command"].startswith("python benchmarks/bench_epoch.py --quick")

    markdown = (tmp_path / "results-quick.md").read_text()
    assert TABLE_HEADER in markdown
    assert results["command"] in markdown
    for entry in results["systems"].values():
        assert entry["label"] in markdown
