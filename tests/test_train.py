"""The training CLI end to end: synthetic data in-process, bad input, Ctrl-C and divergence as a subprocess, and
the accuracy targets on the real data."""

import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import warnings
import zipfile
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from _train import exit_of, synthetic_env

import npsoftmax as nps
from npsoftmax import _cli, train

EPOCH_KEYS = {"epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "eval_seconds"}
OUTPUTS = set(train.OUTPUTS)
# For the runs whose tests look at the numbers and the model only: no picture to draw (each costs seconds).
NUMBERS_ONLY = ["--no-pictures"]
REPO = Path(__file__).resolve().parents[1]


def run_main(args, capsys):
    status = train.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def read_metrics(out):
    return json.loads((Path(out) / "metrics.json").read_text())


@dataclasses.dataclass(frozen=True)
class Finished:
    """A run of ``train.main`` in this process that several tests assert on: its exit status, output and folder."""

    status: int
    stdout: str
    stderr: str
    out: Path


def finished(out, argv, synthetic_files, *, warnings_are_errors=False):
    with synthetic_env(synthetic_files, out.parent / f"{out.name}-data-home"), warnings.catch_warnings():
        if warnings_are_errors:
            warnings.simplefilter("error")
        return Finished(*exit_of(train.main, ["--out", str(out), *argv]), out)


STALE = ".npsoftmax-tmp-curves.png-1a2b3c4d"  # a file in the making of a run that was killed
SECRET_MIRROR = "http://user:s3cret@127.0.0.1:9/files"


@pytest.fixture(scope="module")
def full_run(synthetic_files, tmp_path_factory):
    """Five epochs drawing every picture, with the synthetic data from a ``--mirror`` folder that a mirror URL with
    a password follows, into an ``--out`` that holds a killed run's temporary."""
    out = tmp_path_factory.mktemp("full") / "run"
    out.mkdir()
    (out / STALE).write_bytes(b"")
    mirrors = ["--mirror", str(synthetic_files[0]), "--mirror", SECRET_MIRROR]
    return finished(out, ["--epochs", "5", "--batch-size", "64", *mirrors], synthetic_files)


@pytest.fixture(scope="module")
def one_epoch_run(synthetic_files, tmp_path_factory):
    """One epoch, three images in predictions.png, with any warning an error; also the finished run that the
    ``--out`` tests write over (a copy of it each)."""
    out = tmp_path_factory.mktemp("one-epoch") / "run"
    return finished(out, ["--epochs", "1", "--num-images", "3"], synthetic_files, warnings_are_errors=True)


@pytest.fixture
def old_run(one_epoch_run, tmp_path):
    """A folder holding a finished run (with every picture): ``tmp_path / "run"``."""
    assert one_epoch_run.status == 0, one_epoch_run.stderr
    return Path(shutil.copytree(one_epoch_run.out, tmp_path / "run"))


@pytest.fixture(scope="module")
def quiet_runs(synthetic_files, tmp_path_factory):
    """Two epochs with ``--quiet``, with pictures and with ``--no-pictures``: ``{"pictures": ..., "numbers": ...}``."""
    root = tmp_path_factory.mktemp("quiet")
    flags = {"pictures": [], "numbers": ["--no-pictures"]}
    return {name: finished(root / name, ["--epochs", "2", "--quiet", *flags[name]], synthetic_files) for name in flags}


@pytest.mark.xdist_group("train_full_run")  # one worker runs full_run
def test_end_to_end_on_synthetic_data(full_run, synthetic_files):
    status, stdout, stderr, out = full_run.status, full_run.stdout, full_run.stderr, full_run.out
    assert status == 0, stderr
    assert {p.name for p in out.iterdir()} == OUTPUTS  # nothing else, no temporaries
    metrics = read_metrics(out)
    assert metrics["status"] == "completed"
    assert set(dataclasses.asdict(train.Config())) <= set(metrics["config"])
    assert metrics["config"]["epochs"] == 5 and metrics["config"]["batch_size"] == 64
    assert metrics["config"]["momentum"] == 0.0  # the setting that took effect: plain SGD
    epochs = metrics["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5]
    assert all(EPOCH_KEYS <= set(e) for e in epochs)
    assert all(e["seconds"] > 0 and e["eval_seconds"] > 0 for e in epochs)
    losses = [e["train_loss"] for e in epochs]
    assert losses[-1] < losses[0]
    assert metrics["test_acc"] == epochs[-1]["test_acc"] > 0.9
    assert list(metrics["per_class"]) == list(nps.TEXT_LABELS)
    assert all(set(v) == {"precision", "recall", "f1"} and 0 <= min(v.values()) for v in metrics["per_class"].values())
    top = metrics["top_k_acc"]
    assert list(top) == ["1", "2", "3"] and top["1"] == metrics["test_acc"] <= top["2"] <= top["3"] <= 1
    assert isinstance(metrics["ece"], float) and 0 <= metrics["ece"] < 0.5
    assert metrics["data"]["n_train"] == 2000 and metrics["data"]["n_test"] == 500
    assert stdout.count("epoch ") >= 5 and "wrote metrics.json, curves.png" in stdout and str(out) in stdout
    for name in ("curves.png", "predictions.png", "confusion.png", "weights.png", "calibration.png"):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image[..., :3].std() > 0.05, name
    model = nps.SoftmaxRegression.load(out / "model.npz")
    folder = synthetic_files[0]
    X_test = nps.read_idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    y_test = nps.read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert nps.accuracy(model(X_test), y_test) / len(y_test) == pytest.approx(metrics["test_acc"])


def test_same_seed_same_numbers(tmp_path, synthetic_data, capsys):
    def numbers(seed, name):
        args = ["--out", str(tmp_path / name), "--epochs", "3", "--quiet", "--seed", str(seed), *NUMBERS_ONLY]
        assert run_main(args, capsys)[0] == 0
        weights = np.load(tmp_path / name / "model.npz")["W"]
        return [
            (e["train_loss"], e["train_acc"], e["test_acc"]) for e in read_metrics(tmp_path / name)["epochs"]
        ], weights

    first, W1 = numbers(7, "a")
    second, W2 = numbers(7, "b")
    other, W3 = numbers(8, "c")
    assert first == second and np.array_equal(W1, W2)
    assert first != other and not np.array_equal(W1, W3)


def test_preset_best_and_explicit_flags(tmp_path, synthetic_data, capsys):
    config = train.parse_config(["--preset", "best", "--epochs", "3"])
    assert config.standardize and config.normalize_images
    assert config.momentum == 0.9 and config.schedule == "cosine"
    assert config.epochs == 3  # an explicit flag wins over the preset
    assert train.parse_config(["--preset", "best", "--momentum", "0"]).momentum == 0.0
    out = tmp_path / "best"
    status, _, stderr = run_main(["--preset", "best", "--epochs", "3", "--out", str(out), *NUMBERS_ONLY], capsys)
    assert status == 0, stderr
    metrics = read_metrics(out)
    lrs = [e["lr"] for e in metrics["epochs"]]
    assert lrs[0] == metrics["config"]["lr"] and lrs[0] > lrs[1] > lrs[2] > 0  # cosine
    assert metrics["config"]["momentum"] == 0.9 and metrics["test_acc"] > 0.9


def test_momentum_is_one_knob_that_always_takes_effect(tmp_path, synthetic_data, capsys):
    for name, momentum in (("plain", "0"), ("heavy", "0.5")):
        args = ["--out", str(tmp_path / name), "--epochs", "2", "--momentum", momentum, *NUMBERS_ONLY]
        assert run_main(args, capsys)[0] == 0
    plain, heavy = read_metrics(tmp_path / "plain"), read_metrics(tmp_path / "heavy")
    assert plain["config"]["momentum"] == 0.0 and heavy["config"]["momentum"] == 0.5
    assert plain["epochs"][-1]["train_loss"] != heavy["epochs"][-1]["train_loss"]
    assert "optimizer" not in heavy["config"]


def test_mirror_flag_takes_the_data_from_the_given_folder(tmp_path, synthetic_data, capsys, monkeypatch):
    monkeypatch.delenv("NPSOFTMAX_MIRRORS")
    status, _, stderr = run_main(
        ["--out", str(tmp_path / "run"), "--epochs", "1", "--mirror", str(synthetic_data), *NUMBERS_ONLY], capsys
    )
    assert status == 0, stderr
    metrics = read_metrics(tmp_path / "run")
    assert metrics["config"]["mirror"] == [str(synthetic_data)] and metrics["data"]["n_train"] == 2000


@pytest.mark.xdist_group("train_full_run")  # one worker runs full_run
def test_credentials_in_a_mirror_url_are_never_written(full_run):
    assert full_run.status == 0, full_run.stderr
    assert "@127.0.0.1:9/files" in read_metrics(full_run.out)["config"]["mirror"][1]  # the URL was given
    assert "s3cret" not in full_run.stdout + full_run.stderr
    for path in full_run.out.iterdir():
        assert b"s3cret" not in path.read_bytes(), path.name


# ---------------------------------------------------------------------------------------------------------
# --out never destroys a run


def test_a_divergence_in_the_first_epoch_says_that_no_epoch_finished(tmp_path, synthetic_data, capsys):
    out = tmp_path / "run"
    status, stdout, stderr = run_main(["--out", str(out), "--epochs", "3", "--lr", "1e38", "--quiet"], capsys)
    assert status == 1 and stdout == ""
    (line,) = stderr.splitlines()
    assert line.startswith("error: training diverged in epoch 1 (") and "holds the" not in line
    assert line.endswith(f"No model was saved; metrics.json in {out} records it, with no finished epoch")
    assert read_metrics(out)["status"] == "diverged" and read_metrics(out)["epochs"] == []
    assert {p.name for p in out.iterdir()} == {"metrics.json"}


@pytest.mark.xdist_group("train_one_epoch_run")  # one worker runs one_epoch_run
def test_rerun_into_the_same_out_is_refused_and_the_old_run_kept(old_run, synthetic_data, capsys):
    out = old_run
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    status, stdout, stderr = run_main(["--out", str(out), "--epochs", "2"], capsys)
    assert status == 2
    assert stderr.count("\n") == 1 and "already holds a run" in stderr and "--overwrite" in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.xdist_group("train_one_epoch_run")  # one worker runs one_epoch_run
def test_overwrite_replaces_the_old_run_whole(old_run, synthetic_data, capsys):
    out = old_run
    assert (out / "model.npz").exists() and (out / "predictions.png").exists()
    status, _, stderr = run_main(["--out", str(out), "--overwrite", "--lr", "1e38"], capsys)  # diverges
    assert status == 1 and "diverged" in stderr
    assert read_metrics(out)["status"] == "diverged"
    assert not (out / "model.npz").exists() and not (out / "predictions.png").exists()  # none of the old run


@pytest.mark.xdist_group("train_one_epoch_run")  # one worker runs one_epoch_run
def test_a_refused_out_is_left_as_it_was_even_its_temporaries(old_run, synthetic_data, capsys):
    out = old_run
    running = out / STALE  # another run's file in the making
    running.write_bytes(b"half")
    assert run_main(["--out", str(out), "--epochs", "1"], capsys)[0] == 2
    assert running.read_bytes() == b"half"
    status, _, stderr = run_main(["--out", "", "--epochs", "1"], capsys)
    assert status == 2 and stderr.endswith("error: --out is empty; give a folder\n")


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, synthetic_data, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    status, _, stderr = run_main(["--out", str(tmp_path), "--overwrite", "--epochs", "1"], capsys)
    assert status == 2 and "notes.txt" in stderr and "choose another folder" in stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_default_out_folders_are_unique_within_a_second(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    class FrozenClock:
        @staticmethod
        def now():
            from datetime import datetime

            return datetime(2026, 1, 1, 12, 0, 0)

    monkeypatch.setattr(_cli, "datetime", FrozenClock)
    claim = functools.partial(_cli.claim_output_folder, outputs=train.OUTPUTS, default_parent="runs", kind="run")
    claims = [claim(None, False) for _ in range(3)]
    for claimed in claims:
        claimed.release()
    assert [str(c.path) for c in claims] == ["runs/20260101-120000", "runs/20260101-120000-2", "runs/20260101-120000-3"]


@pytest.mark.xdist_group("train_full_run")  # one worker runs full_run
def test_stale_temporaries_of_a_killed_run_are_cleaned_at_the_next_start(full_run):
    # full_run started in a folder holding STALE
    assert full_run.status == 0, full_run.stderr
    assert {p.name for p in full_run.out.iterdir()} == OUTPUTS


def test_a_run_that_fails_before_training_leaves_no_folder(tmp_path, synthetic_data, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", str(empty))
    status, _, stderr = run_main(["--no-download", "--out", "new"], capsys)
    assert status == 1 and not (tmp_path / "new").exists()
    status, _, stderr = run_main(["--no-download"], capsys)
    assert status == 1 and not list((tmp_path / "runs").iterdir())


def test_ctrl_c_before_training_exits_130_and_leaves_nothing(tmp_path, synthetic_data, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "load_data_fashion_mnist", interrupted)
    status, _, stderr = run_main(["--out", str(tmp_path / "run")], capsys)
    assert status == 130 and stderr.count("\n") == 1 and "interrupted" in stderr
    assert not (tmp_path / "run").exists()


def test_ctrl_c_while_the_pictures_are_drawn_keeps_the_trained_model(tmp_path, synthetic_data, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setenv("NPSOFTMAX_BACKGROUND_PICTURES", "0")  # drawn here, where the patch applies
    monkeypatch.setattr(nps.ch3, "predict_ch3", interrupted)
    out = tmp_path / "run"
    status, _, stderr = run_main(["--out", str(out), "--epochs", "2"], capsys)
    assert status == 130 and stderr.count("\n") == 1
    assert stderr.startswith("interrupted: kept 2 finished epochs (curves.png, metrics.json, model.npz)")
    metrics = read_metrics(out)
    assert metrics["status"] == "interrupted" and len(metrics["epochs"]) == 2
    assert nps.SoftmaxRegression.load(out / "model.npz").W.shape == (784, 10)


# ---------------------------------------------------------------------------------------------------------
# Small runs, hints, --quiet


@pytest.mark.xdist_group("train_one_epoch_run")  # one worker runs one_epoch_run
def test_one_epoch_draws_a_visible_point_without_warnings(one_epoch_run):
    assert one_epoch_run.status == 0, one_epoch_run.stderr  # run with warnings as errors
    image = matplotlib.image.imread(one_epoch_run.out / "curves.png")[..., :3]
    # The marker of the single train-loss point: pixels of the default blue (31, 119, 180) are present.
    blue = np.all(np.abs(image - np.array([31, 119, 180]) / 255) < 0.08, axis=-1)
    assert blue.sum() > 20


@pytest.mark.xdist_group("train_one_epoch_run")  # one worker runs one_epoch_run
def test_num_images_is_honoured_as_given(one_epoch_run):
    assert one_epoch_run.status == 0, one_epoch_run.stderr
    assert read_metrics(one_epoch_run.out)["config"]["num_images"] == 3
    image = matplotlib.image.imread(one_epoch_run.out / "predictions.png")
    assert image.shape[1] < image.shape[0] * 3  # three columns, not six


@pytest.mark.xdist_group("train_quiet_runs")  # one worker runs quiet_runs
def test_quiet_prints_only_the_final_line(quiet_runs):
    status, stdout, stderr, out = dataclasses.astuple(quiet_runs["pictures"])
    assert status == 0 and stderr == ""
    assert stdout.splitlines() == [
        f"test accuracy {read_metrics(out)['test_acc']:.4f}; wrote {', '.join(train.OUTPUTS)} to {out}"
    ]


@pytest.mark.xdist_group("train_quiet_runs")  # one worker runs quiet_runs
def test_no_pictures_writes_the_same_model_and_numbers_and_no_picture(quiet_runs):
    for run in quiet_runs.values():
        assert run.status == 0 and run.stderr == ""
    folder = {name: run.out for name, run in quiet_runs.items()}
    assert {p.name for p in folder["pictures"].iterdir()} == OUTPUTS
    assert {p.name for p in folder["numbers"].iterdir()} == {"metrics.json", "model.npz"}
    pictures, numbers = read_metrics(folder["pictures"]), read_metrics(folder["numbers"])
    assert quiet_runs["numbers"].stdout.splitlines() == [
        f"test accuracy {numbers['test_acc']:.4f}; wrote metrics.json, model.npz to {folder['numbers']}"
    ]
    assert pictures["config"]["pictures"] and not numbers["config"]["pictures"]
    for metrics in (pictures, numbers):
        del metrics["config"]["out"], metrics["config"]["pictures"], metrics["train_seconds"]
        for epoch in metrics["epochs"]:
            del epoch["seconds"], epoch["eval_seconds"]
    assert pictures == numbers
    models = [nps.SoftmaxRegression.load(folder[name] / "model.npz") for name in ("pictures", "numbers")]
    assert all(np.array_equal(a, b) for a, b in zip(models[0].params, models[1].params, strict=True))


def test_no_pictures_never_imports_matplotlib(tmp_path, fashion_mnist_home):
    code = (
        "import sys; from npsoftmax import train; status = train.main(sys.argv[1:]); "
        "print(sorted({'matplotlib', 'npsoftmax.plots'} & set(sys.modules))); sys.exit(status)"
    )
    args = ["--data-dir", str(fashion_mnist_home), "--no-download", "--out", str(tmp_path / "run"), "--epochs", "1"]
    result = subprocess.run(
        [sys.executable, "-c", code, *args, "--quiet", "--no-pictures"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_a_loss_above_chance_gives_a_hint_not_an_error(tmp_path, synthetic_data, capsys):
    status, stdout, stderr = run_main(
        ["--out", str(tmp_path / "run"), "--epochs", "2", "--lr", "1e6", "--quiet"], capsys
    )
    metrics = read_metrics(tmp_path / "run")
    assert status == 0 and metrics["status"] == "completed"
    assert metrics["epochs"][-1]["train_loss"] > np.log(10)
    (hint,) = stderr.splitlines()  # a warning: on stderr, stdout keeps the results
    assert hint.startswith("warning:") and "above chance level" in hint and "--lr" in hint
    assert stdout.startswith("test accuracy ")


# ---------------------------------------------------------------------------------------------------------
# The CLI as a subprocess: exit codes, one-line messages, no traceback


def run_cli(*args, cwd=None, env=None, program=None):
    command = [program] if program else [sys.executable, "-m", "npsoftmax.train"]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg", **(env or {})},
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs: must be an integer in [1, 100000], got 0"),
        (["--epochs", "ten"], "--epochs: expected an integer, got 'ten'"),
        (["--epoch", "5"], "unrecognized arguments: --epoch 5; did you mean --epochs?"),
        (["--weight-decy", "0.1"], "unrecognized arguments: --weight-decy 0.1; did you mean --weight-decay?"),
        (["--e", "5"], "unrecognized arguments: --e 5"),
        (["--batch-size", "0"], "--batch-size: must be an integer in [1, 60000]"),
        (["--seed", "-1"], "--seed: must be an integer in [0, "),
        (["--lr", "-0.1"], "--lr: must be a number in (0, inf)"),
        (["--lr", "nan"], "--lr: must be a number in (0, inf)"),
        (["--lr", "0"], "--lr: must be a number in (0, inf), got 0"),
        (["--momentum", "1.5"], "--momentum: must be a number in [0, 1)"),
        (["--weight-decay", "inf"], "--weight-decay: must be a number in [0, inf)"),
        (["--num-images", "101"], "--num-images: must be an integer in [1, 100]"),
        (["--num-images", "0"], "--num-images: must be an integer in [1, 100]"),
        (["--val-split", "0"], "--val-split: must be a number in (0, 1)"),
        (["--val-split", "1"], "--val-split: must be a number in (0, 1)"),
        (["--val-split", "1.5"], "--val-split: must be a number in (0, 1)"),
        (["--val-split", "nan"], "--val-split: must be a number in (0, 1)"),
        (["--early-stopping", "0", "--val-split", "0.1"], "--early-stopping: must be an integer in [1, inf)"),
        (["--early-stopping", "3"], "--early-stopping needs --val-split"),
        (["--optimizer", "momentum"], "unrecognized arguments: --optimizer"),
        (["--preset", "fancy"], "--preset: invalid choice: 'fancy'"),
        (["--dtype", "float16"], "--dtype: invalid choice: 'float16'"),
        (["--loss", "hinge"], "--loss: invalid choice: 'hinge'"),
        (["--mirror", "ftp://host/x"], "--mirror"),
        (["--val-split", "1e-5"], "--val-split 1e-05: a split of 1e-05 leaves class 0 (6000 examples) with 0 held out"),
        (["--val-split", "0.99999"], "with 6000 held out and 0 for training"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path):
    # In this process (a traceback would be an exception here); test_a_usage_error_as_a_subprocess runs one.
    status, stdout, stderr = exit_of(train.main, [*args, "--out", str(tmp_path / "out")])
    assert status == 2 and stdout == ""
    assert message in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing started


def test_a_usage_error_as_a_subprocess(tmp_path):
    result = run_cli("--epoch", "5", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stdout == ""
    assert "unrecognized arguments: --epoch 5; did you mean --epochs?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing started


@pytest.mark.parametrize("value", ["ftp://x", ",", "http://ok.example,,/tmp"])
def test_a_bad_mirrors_variable_is_a_usage_error_naming_it(value, tmp_path, monkeypatch):
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", value)
    status, _, stderr = exit_of(train.main, ["--out", str(tmp_path / "out")])
    assert status == 2
    assert "NPSOFTMAX_MIRRORS" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


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
    assert result.returncode in (1, 2)
    assert "--out" in result.stderr and "Traceback" not in result.stderr and "epoch" not in result.stdout
    assert not (tmp_path / "data").exists()  # failed before touching the data


def test_missing_data_with_no_download_exits_1_with_the_how_to(tmp_path):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    result = run_cli(
        "--no-download",
        "--data-dir",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
        env={"NPSOFTMAX_MIRRORS": str(empty)},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert str(empty) in result.stderr and "To get the files by hand" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("program", ["npsoftmax-train", "python -m npsoftmax.train"])
def test_help_names_the_program_it_was_called_by(program):
    if program == "npsoftmax-train":  # the script of the interpreter running the tests, not another one on PATH
        result = run_cli("--help", program=str(Path(sysconfig.get_path("scripts")) / "npsoftmax-train"))
    else:
        result = run_cli("--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: {program} ")
    assert "--mirror URL_OR_DIR" in result.stdout and "--overwrite" in result.stdout


def test_license_ships_in_the_sdist_and_the_wheel(tmp_path):
    source = tmp_path / "source"
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, source / name)
    assert "MIT License" in (source / "LICENSE").read_text()
    built = {}
    for kind in ("sdist", "wheel"):
        build = f"from setuptools import build_meta as b; import sys; print(b.build_{kind}(sys.argv[1]))"
        result = subprocess.run(
            [sys.executable, "-c", build, str(tmp_path / kind)], cwd=source, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-2000:]
        built[kind] = tmp_path / kind / result.stdout.strip().splitlines()[-1]
    with tarfile.open(built["sdist"]) as archive:
        assert any(name.endswith("/LICENSE") for name in archive.getnames())
    with zipfile.ZipFile(built["wheel"]) as archive:
        assert any(name.endswith("LICENSE") for name in archive.namelist())


# ---------------------------------------------------------------------------------------------------------
# The real data (Debian's dataset-fashion-mnist; CI installs it)


def real_run(*args, out, home):
    return run_cli("--data-dir", str(home), "--no-download", "--out", str(out), *args)


def test_divergence_as_a_subprocess(tmp_path, fashion_mnist_home):
    result = real_run("--lr", "1e38", out=tmp_path / "run", home=fashion_mnist_home)
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: training diverged in epoch 1") and "--lr 1e+37" in last_line
    assert last_line.endswith(f"metrics.json in {tmp_path / 'run'} records it, with no finished epoch")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "model.npz").exists()
    assert read_metrics(tmp_path / "run")["status"] == "diverged"


def test_naive_loss_overflows_where_the_stable_one_trains_on(naive_lr_100_run, lr_100_run):
    # The session's runs of the README's commands, which test_readme asserts on too.
    naive, stable = naive_lr_100_run, lr_100_run
    assert naive.returncode == 1 and "Traceback" not in naive.stderr
    assert "diverged" in naive.stderr and "overflow" in naive.stderr
    assert stable.returncode == 0, stable.stderr
    assert all(np.isfinite(e["train_loss"]) for e in stable.metrics()["epochs"])


def test_validation_split_and_early_stopping_restore_the_best_epoch(tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    args = ["--val-split", "0.1", "--early-stopping", "2", "--epochs", "40", "--lr", "1.5", "--batch-size", "64"]
    result = real_run(*args, *NUMBERS_ONLY, out=out, home=fashion_mnist_home)
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(out)
    epochs = metrics["epochs"]
    assert all({"val_loss", "val_acc"} <= set(e) for e in epochs)
    assert metrics["data"]["n_train"] == 54000 and metrics["data"]["n_val"] == 6000
    val_losses = [e["val_loss"] for e in epochs]
    assert metrics["best_epoch"] == 1 + int(np.argmin(val_losses))
    assert metrics["stopped_early"] and len(epochs) == metrics["best_epoch"] + 2
    assert metrics["test_acc"] == epochs[metrics["best_epoch"] - 1]["test_acc"]
    # The saved model is the best epoch's: its validation accuracy is that epoch's, recomputed from scratch.
    config = train.parse_config(["--data-dir", str(fashion_mnist_home), "--no-download", *args])
    setup = train.build(config)
    model = nps.SoftmaxRegression.load(out / "model.npz")
    assert nps.evaluate_accuracy(model, setup.val_iter) == epochs[metrics["best_epoch"] - 1]["val_acc"]


def test_default_run_on_the_real_data_reaches_d2l_s_accuracy(default_run):
    result = default_run
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(result.folder)
    assert metrics["config"]["epochs"] == 10 and metrics["config"]["lr"] == 0.1
    assert metrics["data"]["n_train"] == 60000 and metrics["data"]["n_test"] == 10000
    losses = [e["train_loss"] for e in metrics["epochs"]]
    assert losses[-1] < losses[0]
    assert metrics["test_acc"] >= 0.82


def test_preset_best_on_the_real_data_beats_the_target(best_run):
    result = best_run
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(result.folder)
    assert metrics["config"]["epochs"] <= 30 and metrics["config"]["normalize_images"]
    assert metrics["test_acc"] >= 0.846


def test_starting_the_command_imports_neither_the_network_nor_the_plotting_stack():
    code = "import sys, npsoftmax.train; print(sorted({'requests', 'tqdm', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_same_seed_same_numbers_in_a_new_process(tmp_path, fashion_mnist_home, capsys):
    # Bit for bit on the same machine with the same library versions: this process and a fresh one.
    args = ["--data-dir", str(fashion_mnist_home), "--no-download", "--epochs", "2", "--seed", "5", "--quiet"]
    args += NUMBERS_ONLY
    assert run_main([*args, "--out", str(tmp_path / "here")], capsys)[0] == 0
    result = run_cli(*args, "--out", str(tmp_path / "there"))
    assert result.returncode == 0, result.stderr

    def numbers(name):
        metrics = read_metrics(tmp_path / name)
        epochs = [{k: v for k, v in e.items() if "seconds" not in k} for e in metrics["epochs"]]
        return epochs, metrics["top_k_acc"], metrics["ece"], metrics["per_class"]

    assert numbers("here") == numbers("there")
    here, there = (np.load(tmp_path / name / "model.npz") for name in ("here", "there"))
    assert all(np.array_equal(here[key], there[key]) and here[key].dtype == there[key].dtype for key in ("W", "b"))
