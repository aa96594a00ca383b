"""The training CLI end to end: synthetic data in-process, bad input and divergence as a subprocess, and the
accuracy targets on the real data."""

import dataclasses
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import npsoftmax as nps
from npsoftmax import fetch, train
from npsoftmax.idx import write_idx

EPOCH_KEYS = {"epoch", "train_loss", "train_acc", "test_acc", "seconds", "eval_seconds"}
OUTPUTS = ("metrics.json", "curves.png", "predictions.png", "confusion.png", "model.npz")


def synthetic_images(n, rng):
    """Ten separable classes: class c lights up rows 2c..2c+4 of the image, under noise."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, 28, 28))
    for c in range(10):
        images[labels == c, 2 * c + 2 : 2 * c + 6, 4:24] += 150
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture
def synthetic_data(tmp_path, monkeypatch):
    """Small IDX files in a mirror folder, pinned by their own checksums; returns the mirror folder."""
    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    X_train, y_train = synthetic_images(2000, rng)
    X_test, y_test = synthetic_images(500, rng)
    arrays = {
        "train-images-idx3-ubyte": X_train,
        "train-labels-idx1-ubyte": y_train,
        "t10k-images-idx3-ubyte": X_test,
        "t10k-labels-idx1-ubyte": y_test,
    }
    pins = {}
    for name, array in arrays.items():
        write_idx(mirror / f"{name}.gz", array)
        pins[name] = hashlib.sha256(gzip.decompress((mirror / f"{name}.gz").read_bytes())).hexdigest()
    files = tuple(dataclasses.replace(spec, sha256=pins[spec.name]) for spec in fetch.FILES)
    monkeypatch.setattr(fetch, "FILES", files)
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", str(mirror))
    return mirror


def run_main(args, capsys):
    status = train.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_end_to_end_on_synthetic_data(tmp_path, synthetic_data, capsys):
    out = tmp_path / "run"
    status, stdout, stderr = run_main(
        ["--data-dir", str(tmp_path / "data"), "--out", str(out), "--epochs", "5", "--batch-size", "64"], capsys
    )
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)  # nothing else, no temporaries
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"config", "epochs", "test_acc", "per_class_acc", "data"}
    assert metrics["config"] | {"epochs": 5} == metrics["config"] and metrics["config"]["batch_size"] == 64
    assert set(dataclasses.asdict(train.Config())) <= set(metrics["config"])
    epochs = metrics["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5]
    assert all(EPOCH_KEYS <= set(e) for e in epochs)
    assert all(e["seconds"] > 0 and e["eval_seconds"] > 0 for e in epochs)
    losses = [e["train_loss"] for e in epochs]
    assert losses[-1] < losses[0] and all(b <= a * 1.05 for a, b in zip(losses, losses[1:], strict=False))
    assert metrics["test_acc"] == epochs[-1]["test_acc"] > 0.9
    assert set(metrics["per_class_acc"]) == set(nps.TEXT_LABELS)
    assert metrics["data"] == {"source": str(synthetic_data), "n_train": 2000, "n_test": 500}
    assert stdout.count("epoch ") >= 5 and "test acc" in stdout
    for name in ("curves.png", "predictions.png", "confusion.png"):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image[..., :3].std() > 0.05, name
    model = nps.SoftmaxRegression.load(out / "model.npz")
    X_test = nps.read_idx(synthetic_data / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    y_test = nps.read_idx(synthetic_data / "t10k-labels-idx1-ubyte.gz")
    assert nps.accuracy(model(X_test), y_test) / len(y_test) == pytest.approx(metrics["test_acc"])


def test_same_seed_same_numbers(tmp_path, synthetic_data, capsys):
    def numbers(seed, name):
        args = ["--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / name), "--epochs", "3", "--quiet"]
        assert run_main([*args, "--seed", str(seed)], capsys)[0] == 0
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        weights = np.load(tmp_path / name / "model.npz")["W"]
        return [(e["train_loss"], e["train_acc"], e["test_acc"]) for e in metrics["epochs"]], weights

    first, W1 = numbers(7, "a")
    second, W2 = numbers(7, "b")
    other, W3 = numbers(8, "c")
    assert first == second and np.array_equal(W1, W2)
    assert first != other and not np.array_equal(W1, W3)


def test_preset_best_and_explicit_flags(tmp_path, synthetic_data, capsys):
    config = train.parse_config(["--preset", "best", "--epochs", "3"])
    assert config.standardize and config.normalize_images
    assert config.optimizer == "momentum" and config.schedule == "cosine"
    assert config.epochs == 3  # an explicit flag wins over the preset
    assert config.lr == train.PRESETS["best"]["lr"]
    out = tmp_path / "best"
    status, _, stderr = run_main(
        ["--preset", "best", "--epochs", "3", "--data-dir", str(tmp_path / "data"), "--out", str(out)], capsys
    )
    assert status == 0, stderr
    metrics = json.loads((out / "metrics.json").read_text())
    lrs = [e["lr"] for e in metrics["epochs"]]
    assert lrs[0] == metrics["config"]["lr"] and lrs[0] > lrs[1] > lrs[2] > 0  # cosine
    assert metrics["test_acc"] > 0.9


def test_default_out_folder_is_timestamped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = Path(train.parse_config([]).out)
    assert out.parent == Path("runs") and len(out.name) == len("20260101-120000")


def test_divergence_in_process_keeps_outputs_valid(tmp_path, synthetic_data, capsys):
    out = tmp_path / "diverged"
    status, _, stderr = run_main(
        ["--data-dir", str(tmp_path / "data"), "--out", str(out), "--lr", "1e38", "--epochs", "3"], capsys
    )
    assert status == 1
    assert "diverged" in stderr and "smaller learning rate" in stderr and "Traceback" not in stderr
    assert not (out / "model.npz").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "diverged"
    assert all(np.isfinite(e["train_loss"]) for e in metrics["epochs"])


# ---------------------------------------------------------------------------------------------------------
# The CLI as a subprocess: exit codes, one-line messages, no traceback


def run_cli(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "npsoftmax.train", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
        timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs: must be a positive integer, got 0"),
        (["--epochs", "-3"], "--epochs: must be a positive integer"),
        (["--epochs", "ten"], "--epochs: expected a positive integer, got 'ten'"),
        (["--batch-size", "0"], "--batch-size: must be a positive integer"),
        (["--lr", "-0.1"], "--lr: must be a finite number >= 0"),
        (["--lr", "nan"], "--lr: must be a finite number >= 0"),
        (["--lr", "inf"], "--lr: must be a finite number >= 0"),
        (["--momentum", "-0.5"], "--momentum: must be a finite number >= 0"),
        (["--momentum", "1.5"], r"--momentum: must be in [0, 1)"),
        (["--weight-decay", "-1"], "--weight-decay: must be a finite number >= 0"),
        (["--weight-decay", "inf"], "--weight-decay: must be a finite number >= 0"),
        (["--preset", "fancy"], "--preset: invalid choice: 'fancy'"),
        (["--optimizer", "adam"], "--optimizer: invalid choice: 'adam'"),
        (["--dtype", "float16"], "--dtype: invalid choice: 'float16'"),
        (["--schedule", "step"], "--schedule: invalid choice: 'step'"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path):
    result = run_cli(*args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing started


def test_data_dir_that_is_a_file_is_a_usage_error(tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    result = run_cli("--data-dir", str(not_a_folder), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"--data-dir {not_a_folder} is a file" in result.stderr and "Traceback" not in result.stderr


def test_unwritable_out_fails_before_training(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = run_cli("--out", str(blocker / "run"), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot write to --out {blocker / 'run'}")
    assert "Traceback" not in result.stderr and "epoch" not in result.stdout
    assert not (tmp_path / "data").exists()  # failed before touching the data


def test_missing_data_with_no_download_exits_1_with_the_how_to(tmp_path):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    result = run_cli(
        "--no-download", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"),
        env={"NPSOFTMAX_MIRRORS": str(empty)},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: Could not get")
    assert str(empty) in result.stderr and "apt-get install dataset-fashion-mnist" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------------------
# The real data (Debian's dataset-fashion-mnist; CI installs it)


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fashion-mnist")
    nps.load_fashion_mnist(root, mirrors=[fetch.SYSTEM_DIR], quiet=True)
    return root


def test_divergence_as_a_subprocess(tmp_path, real_data):
    result = run_cli("--data-dir", str(real_data), "--no-download", "--out", str(tmp_path), "--lr", "1e38")
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: training diverged in epoch 1") and "--lr 1e+37" in last_line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model.npz").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "diverged"


def test_default_run_on_the_real_data_reaches_the_seed_accuracy(tmp_path, real_data):
    result = run_cli("--data-dir", str(real_data), "--no-download", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 10 and metrics["config"]["lr"] == 0.1
    assert metrics["data"]["n_train"] == 60000 and metrics["data"]["n_test"] == 10000
    losses = [e["train_loss"] for e in metrics["epochs"]]
    assert losses[-1] < losses[0]
    assert metrics["test_acc"] >= 0.82
    seconds = [round(e["seconds"], 3) for e in metrics["epochs"]]
    print(f"default run: test acc {metrics['test_acc']:.4f}, epoch seconds {seconds}")


def test_preset_best_on_the_real_data_beats_the_target(tmp_path, real_data):
    result = run_cli("--preset", "best", "--data-dir", str(real_data), "--no-download", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["epochs"] <= 30 and metrics["config"]["normalize_images"]
    assert metrics["test_acc"] >= 0.846
    print(f"--preset best: test acc {metrics['test_acc']:.4f}, training {metrics['train_seconds']:.2f} s")
    print(f"--preset best: test acc {metrics['test_acc']:.4f}, training {metrics['train_seconds']:.2f} s")
