"""Smoke test of ``benchmarks/bench_classes.py --quick``: it runs, reports every class count, writes only where
it is told, times npsoftmax's own ``loss_and_grad``, and the textbook one-hot cross-entropy agrees with
``npsoftmax.cross_entropy``. Timings are never asserted."""

from __future__ import annotations

import hashlib
import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _processes import popen_interruptible
from _scripts import load_script

import npsoftmax as nps

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_classes.py"
COMMITTED = [SCRIPT.with_name("classes.json"), SCRIPT.with_name("classes.md")]
QUICK_CLASSES = [10, 100, 1_000, 2_000]
# one worker for the module under pytest-xdist: the quick run is made once
pytestmark = pytest.mark.xdist_group("bench_classes")


def _is_positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _digests() -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in COMMITTED}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """A ``--quick`` run with no ``--out``, from an empty folder; the committed results must stay as they were."""
    cwd = tmp_path_factory.mktemp("bench-classes")
    before = _digests()
    proc = _run("--quick", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    assert _digests() == before, "a run without --write-results changed the committed results"
    out = cwd / "bench-results"
    assert sorted(path.name for path in out.iterdir()) == ["classes-quick.json", "classes-quick.md"]
    return json.loads((out / "classes-quick.json").read_text()), (out / "classes-quick.md").read_text()


@pytest.fixture(scope="module")
def bench_classes():
    return load_script(SCRIPT)


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
        # The softmax part is what is left of the whole call once the GEMMs are taken out.
        assert row["gemms_seconds"] + row["softmax_seconds"] >= row["loss_and_grad_seconds"] * (1 - 1e-12)
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


def test_the_textbook_cross_entropy_matches_npsoftmax_and_a_float64_oracle(bench_classes) -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 5, size=(64, 1_000)).astype(np.float32)
    y = rng.integers(0, 1_000, size=64)
    z = logits.astype(np.float64)
    oracle = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1) - z[np.arange(64), y]
    textbook = bench_classes.textbook_cross_entropy(logits, y)
    assert textbook.shape == (64,) and textbook.dtype == np.float32
    # float32 softmax, log and a sum over 1,000 terms: a few ulps of a loss of order 10.
    np.testing.assert_allclose(textbook, oracle, rtol=1e-5)
    np.testing.assert_allclose(textbook, nps.cross_entropy(logits, y, reduction="none"), rtol=1e-5)
    # In float64 the two agree to float64 rounding.
    np.testing.assert_allclose(bench_classes.textbook_cross_entropy(z, y), nps.cross_entropy(z, y, "none"), rtol=1e-12)


def test_the_textbook_cross_entropy_meets_log_of_zero_where_npsoftmax_does_not(bench_classes) -> None:
    logits, y = np.array([[-100.0, 100.0]], dtype=np.float32), np.array([0])
    with np.errstate(divide="ignore", invalid="ignore"):
        textbook = bench_classes.textbook_cross_entropy(logits, y)
    assert np.isinf(textbook[0])
    assert nps.cross_entropy(logits, y, reduction="none")[0] == pytest.approx(200)


def test_the_parts_are_timed_by_calling_loss_and_grad(bench_classes, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = nps.loss_and_grad

    def counting(*args, **kwargs):
        calls.append(args[2].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(nps, "loss_and_grad", counting)
    rng = np.random.default_rng(3)
    X, y = bench_classes.make_problem(512, 20, rng)
    parts = bench_classes.time_parts(X, y, 20, 2, rng, min_seconds=0.01)
    assert len(calls) >= 3 and set(calls) == {(784, 20)}
    assert all(_is_positive(parts[f"{part}_seconds"]) for part in ("gemms", "update", "loss_and_grad"))


def test_the_benchmark_holds_no_second_backward_pass() -> None:
    source = SCRIPT.read_text()
    for retyped in (".T @", "dlogits[", "np.exp(log_probs)", "nps.log_softmax("):
        assert retyped not in source, retyped


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
    assert results["command"] == "python benchmarks/bench_classes.py --quick"
    assert f"`{results['command']}`" in markdown
    assert results["machine"]["cpu_model"] in markdown
    assert "| classes k | epoch s | batches timed |" in markdown
    assert "| classes k | loss_and_grad ms | GEMMs ms | softmax ms | update ms |" in markdown
    assert "| classes k | one-hot ms | fused ms |" in markdown
    for row in results["rows"]:
        assert f"| {row['classes']:,} | {row['epoch_seconds']:.3f} | {row['batches_timed']} |" in markdown
        assert f"| {row['classes']:,} | {row['loss_and_grad_seconds'] * 1e3:.3f} |" in markdown
    assert "## What it says about softmax's cost" in markdown
    assert "Hierarchical softmax" in markdown and "sampled softmax" in markdown


# --help, --out with --write-results and an --out that cannot be made: the test of every benchmark's command line
# (tests/test_bench_harness.py), as a script.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quick", "--write-results"], "--write-results records the full run"),
        (["--quik"], "unrecognized arguments: --quik"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    bench_classes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    before = _digests()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        bench_classes.main(args)
    stderr = capsys.readouterr().err
    assert exited.value.code == 2 and message in stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert _digests() == before and list(tmp_path.iterdir()) == []


def test_ctrl_c_writes_nothing_and_exits_130(tmp_path: Path) -> None:
    before = _digests()
    # The full run (minutes), so that the signal always comes while it works: the quick one may end first.
    argv = [sys.executable, str(SCRIPT), "--out", str(tmp_path / "out")]
    proc = popen_interruptible(argv, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    assert first.startswith("k      10:"), first
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert rest.splitlines()[-1] == "bench_classes: interrupted; nothing written", rest
    assert "Traceback" not in rest
    assert list(tmp_path.iterdir()) == [] and _digests() == before
