"""The sweep command end to end: synthetic data in-process, bad input as a subprocess, and a small sweep on the
real data."""

import contextlib
import itertools
import json
import math
import subprocess
import sys
import sysconfig
from pathlib import Path

import matplotlib.image
import pytest

from npsoftmax import sweep

RUN_KEYS = {"run", "lr", "batch_size", "momentum", "weight_decay", "schedule", "seed", "status", "seconds"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_main(args, capsys):
    status = sweep.main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_real_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = matplotlib.image.imread(path).shape
    assert height > 200 and width > 300


def test_every_combination_is_trained_once_and_the_best_is_the_highest_validation_accuracy(
    synthetic_data, tmp_path, capsys
):
    out = tmp_path / "sweep"
    lrs, batch_sizes, momenta = [0.03, 0.3], [32, 128], [0.0, 0.5]
    args = ["--lr", *lrs, "--batch-size", *batch_sizes, "--momentum", *momenta]
    status, stdout, stderr = run_main([*args, "--epochs", 2, "--val-split", 0.2, "--out", out], capsys)
    assert status == 0, stderr

    results = json.loads((out / "sweep.json").read_text())
    assert results["status"] == "completed" and results["selected_by"] == "val_acc"
    assert results["swept"]["lr"] == lrs and results["swept"]["batch_size"] == batch_sizes
    assert results["config"]["epochs"] == 2 and results["config"]["val_split"] == 0.2
    runs = results["runs"]
    combos = [(r["lr"], r["batch_size"], r["momentum"]) for r in runs]
    assert sorted(combos) == sorted(itertools.product(lrs, batch_sizes, momenta))
    for record in runs:
        assert RUN_KEYS | {"train_loss", "val_loss", "val_acc", "test_acc"} <= record.keys()
        assert record["status"] == "completed" and record["epochs"] == 2
        assert 0.5 < record["val_acc"] <= 1 and 0.5 < record["test_acc"] <= 1  # separable: far above chance 0.1
        assert math.isfinite(record["val_loss"]) and record["val_loss"] >= 0 and record["seconds"] > 0

    best = results["best"]
    top = max(runs, key=lambda r: (r["val_acc"], -r["val_loss"]))
    assert (best["lr"], best["batch_size"], best["momentum"]) == (top["lr"], top["batch_size"], top["momentum"])
    assert best["val_acc"] == top["val_acc"] == max(r["val_acc"] for r in runs)

    assert "selected on the validation set" in stdout and "never on the test set" in stdout
    assert "TEST set" not in stdout
    for lr, batch_size in itertools.product(lrs, batch_sizes):  # the table: one row per run
        assert sum(line.split()[:2] == [f"{lr:g}", str(batch_size)] for line in stdout.splitlines()) == 2
    assert_real_png(out / "sweep.png")


def test_without_a_validation_split_the_best_is_picked_on_test_and_the_output_says_so(synthetic_data, tmp_path, capsys):
    out = tmp_path / "sweep"
    status, stdout, stderr = run_main(["--lr", 0.1, 0.3, "--batch-size", 64, "--epochs", 1, "--out", out], capsys)
    assert status == 0, stderr
    results = json.loads((out / "sweep.json").read_text())
    assert results["selected_by"] == "test_acc" and results["selected_on"] == "test"
    assert all("val_acc" not in r and 0.5 < r["test_acc"] <= 1 for r in results["runs"])
    assert results["best"]["test_acc"] == max(r["test_acc"] for r in results["runs"])
    assert "best setting on the TEST set" in stdout
    (warning,) = stderr.splitlines()  # a warning: on stderr, stdout keeps the results
    assert warning.startswith("warning: ") and "overstates" in warning and "--val-split" in warning
    assert_real_png(out / "sweep.png")


def test_a_diverged_run_is_recorded_and_the_sweep_goes_on(synthetic_data, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["--loss", "naive", "--lr", 0.1, 1e4, "--batch-size", 64, "--epochs", 1, "--val-split", 0.2]
    status, stdout, stderr = run_main([*args, "--out", out], capsys)
    assert status == 0, stderr
    text = (out / "sweep.json").read_text()
    assert "NaN" not in text  # strict JSON: a missing number is null
    runs = {r["lr"]: r for r in json.loads(text)["runs"]}
    assert runs[1e4]["status"] == "diverged" and "overflow" in runs[1e4]["reason"]
    assert runs[1e4]["val_acc"] is None and runs[1e4]["val_loss"] is None and runs[1e4]["test_acc"] is None
    assert runs[0.1]["status"] == "completed" and runs[0.1]["val_acc"] > 0.5
    assert json.loads(text)["best"]["lr"] == 0.1
    assert "diverged" in stdout
    assert_real_png(out / "sweep.png")


def test_more_swept_settings_than_panels_draw_the_best_over_them(synthetic_data, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["--lr", 0.3, "--batch-size", 256, "--weight-decay", 0, 1e-4, 1e-3, 1e-2, "--momentum", 0, 0.3, 0.6, 0.9]
    status, _, stderr = run_main([*args, "--epochs", 1, "--quiet", "--out", out], capsys)
    assert status == 0, stderr
    assert len(json.loads((out / "sweep.json").read_text())["runs"]) == 16
    assert_real_png(out / "sweep.png")


def test_seeds_are_averaged_into_one_score_per_setting(synthetic_data, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["--lr", 0.03, 0.3, "--batch-size", 128, "--seed", 1, 2, "--epochs", 1, "--val-split", 0.2]
    status, stdout, stderr = run_main([*args, "--out", out], capsys)
    assert status == 0, stderr
    results = json.loads((out / "sweep.json").read_text())
    assert len(results["runs"]) == 4
    best = results["best"]
    members = [r for r in results["runs"] if r["lr"] == best["lr"]]
    assert sorted(best["seeds"]) == [1, 2]
    assert best["val_acc"] == pytest.approx(sum(r["val_acc"] for r in members) / 2)
    means = [sum(r["val_acc"] for r in results["runs"] if r["lr"] == lr) / 2 for lr in (0.03, 0.3)]
    assert best["val_acc"] == pytest.approx(max(means))
    assert "mean of 2 seeds" in stdout


def test_an_interrupted_sweep_keeps_its_finished_runs(synthetic_data, tmp_path, capsys, monkeypatch):
    calls = []

    def fit_then_interrupt(config, setup, **kwargs):
        calls.append(config.lr)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_fit(config, setup, **kwargs)

    real_fit = sweep.fit
    monkeypatch.setattr(sweep, "fit", fit_then_interrupt)
    out = tmp_path / "sweep"
    status, _, stderr = run_main(["--lr", 0.1, 0.2, 0.3, "--epochs", 1, "--out", out], capsys)
    assert status == 130
    assert stderr.strip().count("\n") == 0 and "Traceback" not in stderr
    assert "interrupted: kept 1 finished run of 3" in stderr
    results = json.loads((out / "sweep.json").read_text())
    assert results["status"] == "interrupted" and [r["lr"] for r in results["runs"]] == [0.1]
    assert_real_png(out / "sweep.png")


def test_the_output_folder_is_never_another_sweeps(synthetic_data, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["--lr", 0.1, "--epochs", 1, "--quiet", "--out", out]
    assert run_main(args, capsys)[0] == 0
    status, _, stderr = run_main(args, capsys)
    assert status == 2 and "already holds a sweep" in stderr and "--overwrite" in stderr
    assert run_main([*args, "--overwrite"], capsys)[0] == 0
    (out / "notes.txt").write_text("mine")
    status, _, stderr = run_main([*args, "--overwrite"], capsys)
    assert status == 2 and "no sweep wrote (notes.txt)" in stderr
    assert (out / "notes.txt").read_text() == "mine"


def test_the_default_folder_is_new_under_sweeps(synthetic_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert run_main(["--lr", 0.1, "--epochs", 1, "--quiet"], capsys)[0] == 0
    folders = list((tmp_path / "sweeps").iterdir())
    assert len(folders) == 2 and all((f / "sweep.json").is_file() for f in folders)


def test_no_data_is_a_one_line_error_with_status_1(synthetic_data, tmp_path, capsys, monkeypatch):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", str(empty))
    out = tmp_path / "sweep"
    status, _, stderr = run_main(["--lr", 0.1, 0.3, "--no-download", "--out", out], capsys)
    assert status == 1
    assert stderr.startswith("error: ") and "Traceback" not in stderr
    assert not out.exists()  # created for the sweep, left empty: removed


SWEEP = [sys.executable, "-m", "npsoftmax.sweep"]


USAGE_ERRORS = [
    (["--lr"], "--lr: expected at least one argument"),
    (["--batch-size"], "--batch-size: expected at least one argument"),
    (["--lr", "0.1", "--momentum"], "--momentum: expected at least one argument"),
    (["--val-split", "0"], "--val-split: must be a number in (0, 1)"),
    (["--val-split", "1"], "--val-split: must be a number in (0, 1)"),
    (["--val-split", "1.5"], "--val-split: must be a number in (0, 1)"),
    (["--val-split", "nan"], "--val-split: must be a number in (0, 1)"),
    (["--lr", "0.1", "nan"], "--lr: must be a number in (0, inf)"),
    (["--lr", "0.1", "-1"], "--lr: must be a number in (0, inf)"),
    (["--lr", "0", "0.1"], "--lr: must be a number in (0, inf), got 0"),
    (["--batch-size", "64", "0"], "--batch-size: must be an integer in [1, 60000]"),
    (["--momentum", "0", "1"], "--momentum: must be a number in [0, 1)"),
    (["--schedule", "linear"], "--schedule: invalid choice: 'linear'"),
    (["--lr", "0.1", "0.1"], "--lr lists 0.1 more than once"),
    (["--lr", *map(str, range(1, 16)), "--batch-size", *map(str, range(1, 16))], "15 x 15 = 225 combinations"),
    (["--early-stopping", "2"], "--early-stopping needs --val-split"),
    (["--epochs", "1", "2"], "unrecognized arguments: 2"),
    (["--lrs", "0.1"], "unrecognized arguments: --lrs 0.1; did you mean --lr?"),
    (["--out", "x", "--val-splt", "0.1"], "unrecognized arguments: --val-splt 0.1; did you mean --val-split?"),
]


def assert_usage_error(status, stdout, stderr, message, folder):
    assert status == 2
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert errors == [errors[0]] and errors[0].startswith("python -m npsoftmax.sweep: error: ")
    assert message in errors[0]
    assert "Traceback" not in stderr and stdout == ""
    assert not (folder / "sweeps").exists()


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_usage_errors_exit_2(args, message, tmp_path, capsys, monkeypatch):
    """In-process, as ``python -m npsoftmax.sweep`` sees itself (``sys.argv[0]`` is the module's file)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [sweep.__file__, *args])
    try:
        status = sweep.main(args)
    except SystemExit as exit:
        status = exit.code
    captured = capsys.readouterr()
    assert_usage_error(status, captured.out, captured.err, message, tmp_path)


@pytest.mark.parametrize(("args", "message"), [USAGE_ERRORS[0], USAGE_ERRORS[3]], ids=["parser", "value-check"])
def test_usage_errors_exit_2_from_the_command(args, message, tmp_path):
    """The same errors from the command itself: one the parser raises, one a value check raises."""
    result = subprocess.run([*SWEEP, *args], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert_usage_error(result.returncode, result.stdout, result.stderr, message, tmp_path)


def test_the_console_script_is_installed():
    # The scripts of the interpreter running the tests: another installation's may come first on PATH.
    script = Path(sysconfig.get_path("scripts")) / "npsoftmax-sweep"
    assert script.is_file(), "pip install -e . installs npsoftmax-sweep beside the interpreter"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: npsoftmax-sweep")
    assert "--lr LR [LR ...]" in result.stdout and "--batch-size BATCH_SIZE [BATCH_SIZE ...]" in result.stdout


def test_a_small_sweep_on_the_real_data(fashion_mnist_home, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NPSOFTMAX_MIRRORS", raising=False)
    out = tmp_path / "sweep"
    args = ["--lr", 0.03, 0.1, "--batch-size", 256, 1024, "--epochs", 1, "--val-split", 0.1]
    status, stdout, stderr = run_main([*args, "--data-dir", fashion_mnist_home, "--out", out], capsys)
    assert status == 0, stderr
    results = json.loads((out / "sweep.json").read_text())
    assert results["data"] == results["data"] | {"n_train": 54_000, "n_val": 6_000, "n_test": 10_000}
    assert len(results["runs"]) == 4 and all(r["status"] == "completed" for r in results["runs"])
    assert all(0.6 < r["val_acc"] < 0.9 for r in results["runs"])  # one epoch: well above chance, below 0.9
    assert results["best"]["val_acc"] == max(r["val_acc"] for r in results["runs"])
    assert "selected on the validation set" in stdout
    assert_real_png(out / "sweep.png")


def test_the_recorded_command_never_holds_a_password(synthetic_data, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = [
        "--lr",
        0.1,
        "--epochs",
        1,
        "--quiet",
        "--out",
        out,
        "--mirror",
        synthetic_data,
        "--mirror=http://alice:s3cret@127.0.0.1:9/fm/",
    ]
    status, stdout, stderr = run_main(args, capsys)
    assert status == 0, stderr
    assert "s3cret" not in stdout + stderr
    for path in out.iterdir():
        assert b"s3cret" not in path.read_bytes(), path.name
    assert "--mirror=http://***@127.0.0.1:9/fm/" in json.loads((out / "sweep.json").read_text())["command"]


@pytest.fixture
def small_disk(tmp_path):
    """A real filesystem of 300 KB (a tmpfs; the tests run as root), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` but ``leave`` bytes."""
    with open(disk / "filler", "wb", buffering=0) as filler:
        with contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 4096)
    with open(disk / "filler", "r+b") as filler:
        filler.truncate(max(0, filler.seek(0, 2) - leave))


def test_a_record_that_cannot_be_rewritten_says_what_is_on_disk(synthetic_data, small_disk, capsys):
    # Room for one page of sweep.json and its next version: the rewrite that first needs two pages fails.
    out = small_disk / "sweep"
    out.mkdir()
    fill(small_disk, leave=8192)
    lrs = [0.01 * k for k in range(1, 41)]
    status, _, stderr = run_main(["--lr", *lrs, "--batch-size", 500, "--epochs", 1, "--quiet", "--out", out], capsys)
    assert status == 1 and "Traceback" not in stderr
    (line,) = stderr.splitlines()
    assert line.startswith(f"error: cannot write sweep.json in {out}: No space left on device (it needs ")
    results = json.loads((out / "sweep.json").read_text())
    n = len(results["runs"])
    assert 1 <= n < len(lrs)
    assert line.endswith(f"; kept {n} finished runs of {len(lrs)} (sweep.json) in {out}")
    assert results["status"] == "failed" and "No space left on device" in results["error"]  # never "running"
    assert results["best"]["lr"] in [r["lr"] for r in results["runs"]]
    assert {p.name for p in out.iterdir()} == {"sweep.json"}
