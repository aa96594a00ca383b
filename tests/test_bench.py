"""Smoke test of ``benchmarks/bench_epoch.py --quick``: it runs, and its results hold together. Timings are
never asserted, only how the reported numbers follow from each other."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_epoch.py"
TRAINING = ["npsoftmax", "torch-scratch", "torch-nn", "torch-fast-1thread", "torch-fast-2threads", "sklearn-sgd"]
SYSTEMS = [*TRAINING, "sklearn-logreg", "floor-1thread", "floor-2threads"]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "results-quick.json").read_text()), (out / "results-quick.md").read_text()


def test_every_system_is_reported_with_finite_numbers(quick_run: tuple[dict, str]) -> None:
    systems = quick_run[0]["systems"]
    assert list(systems) == SYSTEMS
    for name, entry in systems.items():
        assert len(entry["epoch_seconds"]) == 1, name  # --quick: one timed epoch, one round
        assert all(_is_number(s) and s > 0 for s in entry["epoch_seconds"]), name
        assert entry["median_epoch_seconds"] == statistics.median(entry["epoch_seconds"]), name
        assert entry["ratio_vs_npsoftmax"] == pytest.approx(
            entry["median_epoch_seconds"] / systems["npsoftmax"]["median_epoch_seconds"]
        )
        assert _is_number(entry["peak_rss_mb"]) and entry["peak_rss_mb"] > 0, name
        assert _is_number(entry["loadavg_1min"]) and entry["loadavg_1min"] >= 0, name


def test_the_training_systems_learn_the_synthetic_data(quick_run: tuple[dict, str]) -> None:
    systems = quick_run[0]["systems"]
    # Chance is 0.1 and the label noise caps any classifier near 0.82.
    for name in [*TRAINING, "sklearn-logreg"]:
        assert 0.3 < systems[name]["test_acc"] < 0.9, (name, systems[name]["test_acc"])
    assert systems["npsoftmax"]["test_acc"] > 0.5
    assert systems["floor-1thread"]["test_acc"] is None and systems["floor-2threads"]["test_acc"] is None


def test_targets_follow_from_the_medians(quick_run: tuple[dict, str]) -> None:
    results = quick_run[0]
    epoch = {name: entry["median_epoch_seconds"] for name, entry in results["systems"].items()}
    expected = [  # the epoch targets, against the one-thread floor; --quick has no end-to-end run
        (epoch["npsoftmax"] / epoch["floor-1thread"], "<=", 1.5),
        (epoch["torch-scratch"] / epoch["npsoftmax"], ">=", 9),
        (min(epoch["torch-fast-1thread"], epoch["torch-fast-2threads"]) / epoch["npsoftmax"], ">=", 2.5),
    ]
    assert results["cli"] is None
    assert len(results["targets"]) == len(expected)
    for target, (value, op, limit) in zip(results["targets"], expected, strict=True):
        assert target["value"] == pytest.approx(value)
        assert target["target"].endswith(f"{op} {limit:g}")
        assert target["passed"] is (value <= limit if op == "<=" else value >= limit)


def test_markdown_reports_the_same_run(quick_run: tuple[dict, str]) -> None:
    results, markdown = quick_run
    assert results["command"].startswith("python benchmarks/bench_epoch.py --quick")
    assert f"`{results['command']}`" in markdown
    assert "| system | median epoch s | × npsoftmax's time | test acc | peak RSS MB | load avg |" in markdown
    for entry in results["systems"].values():
        assert f"| {entry['label']} | {entry['median_epoch_seconds']:.4f} |" in markdown
    for target in results["targets"]:
        assert f"| {target['target']} | {target['value']:.2f} |" in markdown
    machine = results["machine"]
    assert machine["cpu_model"] and machine["logical_cpus"] >= 1 and machine["torch_num_threads"] >= 1
