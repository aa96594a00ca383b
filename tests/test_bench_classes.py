"""Smoke test of ``benchmarks/bench_classes.py --quick``: it runs, reports every class count, and the one-hot
cross-entropy agrees with the fused one. Timings are never asserted."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import npsoftmax as nps

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_classes.py"
QUICK_CLASSES = [10, 100, 1_000, 10_000]


def _is_positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench-classes")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "classes-quick.json").read_text()), (out / "classes-quick.md").read_text()


@pytest.fixture(scope="module")
def bench_classes():
    spec = importlib.util.spec_from_file_location("bench_classes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_class_count_is_reported_with_positive_numbers(quick_run: tuple[dict, str]) -> None:
    results = quick_run[0]
    rows = results["rows"]
    assert [row["classes"] for row in rows] == QUICK_CLASSES
    for row in rows:
        for key in ("epoch_seconds", "batch_seconds_median", "params_mib", "step_peak_mib", "peak_rss_mib"):
            assert _is_positive(row[key]), (row["classes"], key)
        assert 1 <= row["batches_timed"] <= row["batches_per_epoch"]
        shares = [row[f"{part}_share"] for part in ("gemms", "softmax", "update")]
        assert all(0 <= share <= 1 for share in shares) and sum(shares) == pytest.approx(1)
        assert row["params_mib"] == pytest.approx((784 + 1) * row["classes"] * 4 / 2**20)
        assert row["cross_entropy"]["one_hot_matrix_mib"] == pytest.approx(256 * row["classes"] * 4 / 2**20)
    # A step allocates at least dW, as large as W: the memory measured is the step's, not an empty one.
    assert all(row["step_peak_mib"] >= 0.9 * row["params_mib"] for row in rows)


def test_the_one_hot_and_fused_cross_entropies_agree(quick_run: tuple[dict, str]) -> None:
    for row in quick_run[0]["rows"]:
        ce = row["cross_entropy"]
        assert ce["max_rel_diff"] < 1e-5 and ce["max_abs_diff"] < 1e-4, row["classes"]
        assert ce["max_rel_error_one_hot"] < 1e-5 and ce["max_rel_error_fused"] < 1e-5, row["classes"]
        # Logits from N(0, 3^2) over k classes: the loss is near log k plus a few.
        assert math.log(row["classes"]) < ce["mean_loss"] < math.log(row["classes"]) + 10


def test_the_two_cross_entropies_match_a_float64_oracle(bench_classes) -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 5, size=(64, 1_000)).astype(np.float32)
    y = rng.integers(0, 1_000, size=64)
    z = logits.astype(np.float64)
    oracle = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1) - z[np.arange(64), y]
    np.testing.assert_allclose(bench_classes.definitional_cross_entropy(logits, y), oracle, rtol=1e-5)
    np.testing.assert_allclose(bench_classes.fused_cross_entropy(logits, y), oracle, rtol=1e-5)
    np.testing.assert_allclose(bench_classes.fused_cross_entropy(logits, y), nps.cross_entropy(z, y, "none"))


def test_a_training_step_is_npsoftmax_s_own(bench_classes) -> None:
    rng = np.random.default_rng(2)
    X, y = bench_classes.make_problem(256, 50, rng)
    W, b, updater = bench_classes.make_model(50, rng)
    W0, b0 = W.copy(), b.copy()
    loss = bench_classes.train_step(X, y, W, b, updater)
    expected_loss, dW, db = nps.loss_and_grad(X, y, W0, b0)
    assert loss == pytest.approx(float(expected_loss), rel=1e-6)
    np.testing.assert_allclose(W, W0 - np.float32(0.1) * dW, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(b, b0 - np.float32(0.1) * db, rtol=1e-6, atol=1e-8)


def test_markdown_reports_the_same_run(quick_run: tuple[dict, str]) -> None:
    results, markdown = quick_run
    assert results["command"].startswith("python benchmarks/bench_classes.py --quick")
    assert f"`{results['command']}`" in markdown
    assert results["machine"]["cpu_model"] in markdown
    assert "| classes k | epoch s | batches timed |" in markdown
    assert "| classes k | GEMMs ms | softmax ms | update ms |" in markdown
    assert "| classes k | one-hot ms | fused ms |" in markdown
    for row in results["rows"]:
        assert f"| {row['classes']:,} | {row['epoch_seconds']:.3f} | {row['batches_timed']} |" in markdown
    assert "## What it says about softmax's cost" in markdown
    assert "Hierarchical softmax" in markdown and "sampled softmax" in markdown
