"""``benchmarks/tune_preset.py``: stratified, seeded folds from ``stratified_split``; a ``--quick`` run on the real
data scores every fold on validation data and writes only where it is told; usage errors are one line."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _processes import popen_interruptible
from _scripts import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tune_preset.py"
COMMITTED = SCRIPT.with_name("tune_preset.json")


def _digest() -> str:
    return hashlib.sha256(COMMITTED.read_bytes()).hexdigest()


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def tune_preset():
    return load_script(SCRIPT)


def test_folds_are_disjoint_stratified_and_seeded(tune_preset) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), [60, 45, 31, 7])
    rng.shuffle(labels)
    folds = tune_preset.stratified_folds(labels, 5, seed=3)
    assert len(folds) == 5
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(len(labels)))
    for c, n_c in enumerate(np.bincount(labels)):
        per_fold = [int((labels[fold] == c).sum()) for fold in folds]
        assert sum(per_fold) == n_c and max(per_fold) - min(per_fold) <= 1, (c, per_fold)
    again = tune_preset.stratified_folds(labels, 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    other = tune_preset.stratified_folds(labels, 5, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(folds, other, strict=True))
    # Drawn at random, not cut into contiguous runs of indices.
    assert not any(np.array_equal(fold, np.arange(fold[0], fold[0] + len(fold))) for fold in folds)


def test_more_folds_than_a_class_has_examples_is_refused(tune_preset) -> None:
    labels = np.repeat(np.arange(3), [10, 10, 4])
    assert len(tune_preset.stratified_folds(labels, 4, seed=0)) == 4
    with pytest.raises(ValueError, match="5 folds need 5 examples of every class; the smallest class has 4"):
        tune_preset.stratified_folds(labels, 5, seed=0)


def test_quick_cross_validation_scores_every_fold(tmp_path: Path, fashion_mnist_home: Path) -> None:
    before = _digest()
    result = _run("--quick", "--folds", "3", "--seed", "1", "--data-dir", str(fashion_mnist_home), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _digest() == before, "a run without --write-results changed benchmarks/tune_preset.json"
    out = tmp_path / "bench-results"
    assert [path.name for path in out.iterdir()] == ["tune_preset-quick.json"]
    summary = json.loads((out / "tune_preset-quick.json").read_text())
    assert summary["folds"] == 3 and summary["seed"] == 1
    (candidate,) = summary["results"]
    accs, losses = candidate["fold_val_accs"], candidate["fold_val_losses"]
    # One epoch of the recipe on 40,000 images: validation accuracy well above chance, loss well below log 10.
    assert len(accs) == 3 and all(0.7 < acc < 0.95 for acc in accs)
    assert len(losses) == 3 and all(0.3 < loss < 1.0 for loss in losses)
    # Each fold holds 20,000 validation images, so every accuracy is a count of them.
    assert all(abs(acc * 20_000 - round(acc * 20_000)) < 1e-6 for acc in accs)
    assert summary["best"] == candidate
    assert candidate["cv_val_acc"] == pytest.approx(sum(accs) / 3, abs=1e-12)
    assert candidate["cv_val_loss"] == pytest.approx(sum(losses) / 3, abs=1e-12)


# --help, --out with --write-results and an --out that cannot be made: the test of every benchmark's command line
# (tests/test_bench_harness.py), as a script.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quick", "--write-results"], "--write-results records the full grid"),
        (["--folds", "1"], "argument --folds: must be at least 2, got 1"),
        (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tune_preset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    before = _digest()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        tune_preset.main(args)
    stderr = capsys.readouterr().err
    assert exited.value.code == 2 and message in stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert _digest() == before and list(tmp_path.iterdir()) == []


def test_data_that_cannot_be_had_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = os.environ | {"NPSOFTMAX_MIRRORS": str(tmp_path / "no-such-folder")}
    proc = _run("--quick", "--data-dir", str(tmp_path / "home"), "--out", str(tmp_path / "out"), cwd=tmp_path, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("tune_preset: cannot load Fashion-MNIST: NPSOFTMAX_MIRRORS")
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not (tmp_path / "out").exists()


def test_ctrl_c_writes_nothing_and_exits_130(tmp_path: Path, fashion_mnist_home: Path) -> None:
    before = _digest()
    proc = popen_interruptible(
        [sys.executable, str(SCRIPT), "--quick", "--data-dir", str(fashion_mnist_home)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = proc.stderr.readline()
    assert first == "cross-validating 1 candidates on 5 folds\n", first
    proc.send_signal(signal.SIGINT)
    stdout, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert rest == "tune_preset: interrupted; nothing written\n" and stdout == ""
    assert list(tmp_path.iterdir()) == [] and _digest() == before
