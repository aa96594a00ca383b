"""The commands under a real terminal's faults, each as a real process on the real Fashion-MNIST: termination
signals, output that cannot be written (a closed pipe, a full or closed stdout, an ASCII-only terminal), a full
output disk (a small tmpfs in a mount namespace of its own; CI runs as root), two runs for one folder, paths that
cannot be folders, credentials in mirror URLs, and advice that names the cause.

Each test checks the exit status, the one line, that no traceback is printed, that the run record is valid JSON
with the status that says what happened, that nothing half-written sits under a final name, and that the process
ends (the timeouts are generous bounds that only catch a hang)."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _http_server import HostileMirror
from _processes import popen_interruptible
from conftest import REAL_DATA

import npsoftmax as nps
from npsoftmax import sweep, train

REPO = Path(__file__).resolve().parents[1]
BOUND = 120  # seconds: far above what any command here takes; reaching it means a hang
TRAIN_OUTPUTS = set(train.OUTPUTS)
KEPT_ON_STOP = {"metrics.json", "curves.png", "model.npz"}
UNDRAWN_OUTPUTS = {"metrics.json", "model.npz"}  # a run's outputs with --no-pictures


def env(**extra: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("NPSOFTMAX_")}
    path = os.pathsep.join([str(REPO), clean.get("PYTHONPATH", "")])
    return clean | {"MPLBACKEND": "Agg", "PYTHONPATH": path} | extra


def command(name: str, *args: object) -> list[str]:
    return [sys.executable, "-m", f"npsoftmax.{name}", *map(str, args)]


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("env", env())
    return subprocess.run(argv, capture_output=True, text=True, timeout=BOUND, **kwargs)


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"{path.name} holds {name}"))


def assert_no_temporaries(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".npsoftmax-tmp-")]


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not predicate():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def epochs_written(path: Path) -> int:
    try:
        return len(json.loads(path.read_text())["epochs"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def train_args(home: Path, out: Path, *args: object) -> list[str]:
    return command("train", "--data-dir", home, "--no-download", "--out", out, *args)


def assert_model_is_the_last_epochs(out: Path, home: Path, metrics: dict) -> None:
    model = nps.SoftmaxRegression.load(out / "model.npz")
    _, test_iter = nps.load_data_fashion_mnist(256, home, download=False)
    assert nps.evaluate_accuracy(model, test_iter) == metrics["epochs"][-1]["test_acc"]


# ---------------------------------------------------------------------------------------------------------
# Signals: whatever a user or a scheduler sends, the finished epochs are kept and the status is 128 + signum


# Every signal stops a run that draws, and its curves are kept. SIGINT and SIGTERM stop the default run, which
# draws in a second process; the signals that share their handler stop a run that draws in its own process (as
# where there is no fork), which imports matplotlib once, not twice, when it is stopped before its pictures.
@pytest.mark.parametrize(
    ("signum", "background"),
    [(signal.SIGINT, "1"), (signal.SIGTERM, "1"), (signal.SIGHUP, "0"), (signal.SIGQUIT, "0"), (signal.SIGUSR1, "0")],
)
def test_a_termination_signal_keeps_the_finished_epochs(signum, background, tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    process = popen_interruptible(
        train_args(fashion_mnist_home, out, "--epochs", 100_000, "--quiet"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(NPSOFTMAX_BACKGROUND_PICTURES=background),
    )
    wait_for(lambda: epochs_written(out / "metrics.json") >= 2, "two finished epochs")
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 128 + signum, stderr
    metrics = read_json(out / "metrics.json")
    n = len(metrics["epochs"])
    name = signal.Signals(signum).name
    assert metrics["status"] == "interrupted" and metrics["signal"] == name and n >= 2
    by = "" if signum == signal.SIGINT else f" by {name}"
    assert one_line(stderr) == f"interrupted{by}: kept {n} finished epochs ({', '.join(sorted(KEPT_ON_STOP))}) in {out}"
    assert stdout == ""
    assert {p.name for p in out.iterdir()} == KEPT_ON_STOP
    assert_model_is_the_last_epochs(out, fashion_mnist_home, metrics)


def test_sigterm_keeps_a_sweeps_finished_runs(tmp_path, fashion_mnist_home):
    out = tmp_path / "sweep"
    lrs = [0.01 * k for k in range(1, 30)]
    argv = command(
        "sweep", "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, "--lr", *lrs
    )
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    wait_for(lambda: (out / "sweep.json").exists() and read_json(out / "sweep.json")["runs"], "a finished run")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=BOUND)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    results = read_json(out / "sweep.json")
    n = len(results["runs"])
    assert results["status"] == "interrupted" and results["signal"] == "SIGTERM" and 1 <= n < len(lrs)
    line = one_line(stderr)
    runs = f"{n} finished run{'s' if n > 1 else ''} of {len(lrs)}"
    assert line == f"interrupted by SIGTERM: kept {runs} (sweep.json, sweep.png) in {out}"
    assert {p.name for p in out.iterdir()} == set(sweep.OUTPUTS)


def test_sigterm_during_a_download_leaves_nothing_half_written(tmp_path):
    home = tmp_path / "home"
    mirror = HostileMirror(REAL_DATA)
    mirror.behave("train-images-idx3-ubyte.gz", "stall")  # half the file, then nothing
    try:
        argv = command("download", "--data-dir", home, "--mirror", mirror.url, "--quiet")
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        wait_for(lambda: [p for p in home.glob(".npsoftmax-tmp-*") if p.stat().st_size], "a partial download")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=BOUND)
    finally:
        mirror.close()
    assert process.returncode == 128 + signal.SIGTERM
    assert one_line(stderr) == (
        "interrupted by SIGTERM before the data was ready; no partial file was left under a final name"
    )
    assert not [p.name for p in home.iterdir() if p.name.startswith("train-images")]
    assert_no_temporaries(home)


SIGNAL_AT_IMPORT = """
import importlib.abc, os, signal, sys

class SignalAtImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.{signal})
        return None

sys.meta_path.insert(0, SignalAtImport())
"""


# The imports of a command that come after npsoftmax._signals: the commands' own (the package's __init__ imports
# NumPy and the rest before them).
LATE_IMPORTS = ["npsoftmax._run", "numpy"]


@pytest.mark.parametrize("module", LATE_IMPORTS)
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("name", ["train", "sweep"])
def test_a_signal_while_the_command_is_still_importing_ends_it_in_one_line(name, signame, module, tmp_path):
    # sitecustomize runs before the command: it sends the signal at a given import, the same moment every time.
    (tmp_path / "sitecustomize.py").write_text(SIGNAL_AT_IMPORT.format(module=module, signal=signame))
    result = run(
        command(name, "--out", tmp_path / "out"),
        env=env(PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)])),
        cwd=tmp_path,
    )
    assert result.returncode == 128 + getattr(signal, signame)
    assert one_line(result.stderr) == "interrupted while starting; nothing was written"
    assert not (tmp_path / "out").exists()


SIGNAL_AT_CALL = """
import importlib.abc, importlib.util, os, signal, sys

class SignalAtCall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != {module!r}:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            original = getattr(module, {function!r})

            def signalled(*args, **kwargs):
                if not {after!r}:
                    os.kill(os.getpid(), signal.{signal})  # handled here, before the call goes on
                result = original(*args, **kwargs)
                os.kill(os.getpid(), signal.{signal}) if {after!r} else None
                setattr(module, {function!r}, original)
                return result

            setattr(module, {function!r}, signalled)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, SignalAtCall())
"""


def with_a_signal(tmp_path: Path, signame: str, *, at_call: tuple = (), at_import: str = "") -> dict:
    """The environment of a command that sends itself ``signame`` at its first call of ``at_call`` (module,
    function, and whether the signal comes after the call rather than before), or when the module ``at_import``
    starts being imported: the same moment every time. (The command itself runs as ``__main__``: the functions
    are those of the modules it imports.)"""
    site = tmp_path / "site"
    site.mkdir()
    if at_call:
        module, function, after = at_call
        code = SIGNAL_AT_CALL.format(module=module, function=function, after=after, signal=signame)
    else:
        code = SIGNAL_AT_IMPORT.format(module=at_import, signal=signame)
    (site / "sitecustomize.py").write_text(code)
    return env(PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))


# The moments of a run's life, each with what the run has kept there: (where the signal lands, the files kept,
# the status recorded, whether the run completes).
RUN_MOMENTS = {
    "before training": (("npsoftmax.loader", "load_data_fashion_mnist", False), set(), None, False),
    "after the first epoch": (("npsoftmax._run", "write_json", True), KEPT_ON_STOP, "interrupted", False),
    "while the pictures are drawn": (("npsoftmax._painter", "render", False), KEPT_ON_STOP, "interrupted", False),
    "after the last file": (("npsoftmax._signals", "settle", True), TRAIN_OUTPUTS, "completed", True),
}


# How a run draws its pictures: (its flags, its environment).
DRAWING = {
    "in a second process": ((), {}),  # the default
    "in its own process": ((), {"NPSOFTMAX_BACKGROUND_PICTURES": "0"}),
    "not at all": (("--no-pictures",), {}),
}


# Every moment, each signal at more than one (they share one handler), and each way of drawing where it matters.
SIGNALLED_MOMENTS = [
    ("before training", "SIGHUP", "in a second process"),
    ("before training", "SIGINT", "in a second process"),
    ("after the first epoch", "SIGINT", "in a second process"),
    ("after the first epoch", "SIGTERM", "not at all"),
    ("while the pictures are drawn", "SIGTERM", "in a second process"),
    ("while the pictures are drawn", "SIGHUP", "in its own process"),
    ("after the last file", "SIGINT", "in a second process"),
    ("after the last file", "SIGTERM", "not at all"),
]


@pytest.mark.parametrize(("moment", "signame", "drawing"), SIGNALLED_MOMENTS)
def test_a_signal_at_any_moment_of_a_run_tells_the_truth(moment, signame, drawing, tmp_path, fashion_mnist_home):
    at_call, kept, status, completes = RUN_MOMENTS[moment]
    flags, variables = DRAWING[drawing]
    if "--no-pictures" in flags:
        kept = kept & UNDRAWN_OUTPUTS
    out = tmp_path / "run"
    variables = with_a_signal(tmp_path, signame, at_call=at_call) | variables
    result = run(train_args(fashion_mnist_home, out, "--epochs", 1, "--quiet", *flags), env=variables)
    if completes:
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert result.stdout.startswith("test accuracy ")
        assert_completed(out, TRAIN_OUTPUTS & kept)
        return
    signum = getattr(signal, signame)
    assert result.returncode == 128 + signum, result.stderr
    line = one_line(result.stderr)
    by = "interrupted" if signame == "SIGINT" else f"interrupted by {signame}"
    if not kept:
        assert line == f"{by} before training started; nothing was written" and not out.exists()
        return
    metrics = read_json(out / "metrics.json")
    assert metrics["status"] == status and metrics["signal"] == signame and len(metrics["epochs"]) == 1
    assert {p.name for p in out.iterdir()} == kept
    assert line == f"{by}: kept 1 finished epoch ({', '.join(sorted(kept))}) in {out}"
    assert_model_is_the_last_epochs(out, fashion_mnist_home, metrics)


@pytest.mark.parametrize("name", ["train", "sweep"])
def test_a_signal_inside_the_import_of_matplotlib_is_one_line(name, tmp_path, fashion_mnist_home):
    # Drawn in the command's own process (a sweep always is): matplotlib is imported after training.
    out = tmp_path / name
    variables = with_a_signal(tmp_path, "SIGTERM", at_import="matplotlib.colors")
    variables["NPSOFTMAX_BACKGROUND_PICTURES"] = "0"
    argv = command(name, "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, "--quiet")
    result = run(argv, env=variables)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    line = one_line(result.stderr)
    record = read_json(out / ("metrics.json" if name == "train" else "sweep.json"))
    assert record["status"] == "interrupted" and record["signal"] == "SIGTERM"
    kept = KEPT_ON_STOP if name == "train" else set(sweep.OUTPUTS)  # the picture of what was finished, drawn
    assert {p.name for p in out.iterdir()} == kept
    what = "1 finished epoch" if name == "train" else "1 finished run of 1"
    assert line == f"interrupted by SIGTERM: kept {what} ({', '.join(sorted(kept))}) in {out}"


def test_a_signal_after_a_sweeps_files_are_written_completes_it(tmp_path, fashion_mnist_home):
    out = tmp_path / "sweep"
    variables = with_a_signal(tmp_path, "SIGTERM", at_call=("npsoftmax._signals", "settle", True))
    result = run(
        command(
            "sweep", "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, "--val-split", 0.1
        ),
        env=variables,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.splitlines()[-1] == f"wrote sweep.json, sweep.png to {out}"
    assert read_json(out / "sweep.json")["status"] == "completed"


# ---------------------------------------------------------------------------------------------------------
# A divergence, wherever it is first seen, and environment values that cannot cost a run


@pytest.mark.parametrize("name", ["train", "sweep"])
def test_a_divergence_first_seen_in_evaluation_is_one_line(name, tmp_path, fashion_mnist_home):
    # One step of a huge learning rate: the training loss was computed before the step, so the first NaN or
    # infinity shows in the evaluation after it.
    out = tmp_path / name
    args = ["--val-split", 0.1, "--lr", 1e38, "--batch-size", 60000, "--epochs", 1]
    args += ["--no-pictures"] if name == "train" else []  # the sweep takes no such flag
    result = run(command(name, "--data-dir", fashion_mnist_home, "--no-download", "--out", out, *args))
    if name == "train":
        assert result.returncode == 1, result.stderr
        line = one_line(result.stderr)
        assert line.startswith("error: training diverged in epoch 1 ") and "--lr 1e+37" in line
        assert "holds the" not in line and f"metrics.json in {out} records it, with no finished epoch" in line
        assert {p.name for p in out.iterdir()} == {"metrics.json"}
        metrics = read_json(out / "metrics.json")
        assert metrics["status"] == "diverged" and metrics["epochs"] == []
    else:
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "every run diverged" in result.stdout
        (record,) = read_json(out / "sweep.json")["runs"]
        assert record["status"] == "diverged" and record["test_acc"] is None


@pytest.mark.parametrize("switch", ["1", "0"])
@pytest.mark.parametrize("name", ["train", "sweep"])
def test_an_unknown_matplotlib_backend_costs_no_picture(name, switch, tmp_path, fashion_mnist_home):
    # The pictures are files: the command draws them with Agg, whatever MPLBACKEND names.
    out = tmp_path / name
    argv = command(name, "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, "--quiet")
    argv += ["--val-split", "0.1"]  # the sweep selects on it, with no warning
    result = run(argv, env=env(MPLBACKEND="nonsense", NPSOFTMAX_BACKGROUND_PICTURES=switch))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    if name == "train":
        assert_completed(out)
    else:
        assert read_json(out / "sweep.json")["status"] == "completed" and (out / "sweep.png").is_file()


@pytest.mark.parametrize(
    ("name", "variable", "value"),
    [
        ("train", "NPSOFTMAX_BACKGROUND_PICTURES", "yes"),  # the sweep draws in its own process: it reads none
        *[(name, "NPSOFTMAX_MIRRORS", "ftp://x") for name in ("train", "sweep")],
        *[(name, "NPSOFTMAX_DATA", "") for name in ("train", "sweep")],
    ],
)
def test_a_bad_environment_value_is_refused_before_anything_starts(name, variable, value, tmp_path):
    result = run(command(name, "--out", tmp_path / "out"), env=env(**{variable: value}))
    assert result.returncode == 2 and variable in one_line(result.stderr)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------
# Output that cannot be written never costs the run


def assert_completed(out: Path, outputs: set[str] = TRAIN_OUTPUTS) -> dict:
    assert {p.name for p in out.iterdir()} == outputs
    metrics = read_json(out / "metrics.json")
    assert metrics["status"] == "completed" and len(metrics["epochs"]) == metrics["config"]["epochs"]
    return metrics


def test_a_closed_pipe_ends_the_output_quietly_and_the_run_completes(tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    pipeline = f"{shlex.join(train_args(fashion_mnist_home, out, '--epochs', 3, '--no-pictures'))} | head -1"
    result = run(["bash", "-o", "pipefail", "-c", pipeline])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("epoch  1/3  loss ") and result.stdout.count("\n") == 1
    assert result.stderr == ""
    assert_completed(out, UNDRAWN_OUTPUTS)


def test_a_pipe_closed_by_the_reader_mid_run(tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    process = subprocess.Popen(
        train_args(fashion_mnist_home, out, "--epochs", 3, "--no-pictures"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    assert process.stdout.readline().startswith(b"epoch  1/3")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=BOUND) == 0 and stderr == ""
    assert_completed(out, UNDRAWN_OUTPUTS)


# The runs draw, but for a full stdout: a closed descriptor is one that the pipes to the second drawing process
# may be given, and a full stderr is where any warning of the drawing stack would go.
@pytest.mark.parametrize(
    ("redirect", "flags", "outputs"),
    [
        (">/dev/full", ["--no-pictures"], UNDRAWN_OUTPUTS),
        (">&-", [], TRAIN_OUTPUTS),
        ("2>&-", [], TRAIN_OUTPUTS),
        (">&- 2>&-", [], TRAIN_OUTPUTS),
        ("2>/dev/full", [], TRAIN_OUTPUTS),
    ],
    ids=["full", "closed", "no-stderr", "both", "stderr-full"],
)
def test_stdout_or_stderr_that_cannot_be_written(redirect, flags, outputs, tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    script = f"{shlex.join(train_args(fashion_mnist_home, out, '--epochs', 2, *flags))} {redirect}"
    result = run(["sh", "-c", script])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr and "Logging error" not in result.stderr
    assert_completed(out, outputs)


@pytest.mark.parametrize("redirect", ["| head -c 20", ">/dev/full 2>&1", ">&- 2>&-"], ids=["pipe", "full", "closed"])
def test_sweep_and_download_survive_their_output_too(redirect, tmp_path, fashion_mnist_home):
    out, home = tmp_path / "sweep", tmp_path / "home"
    swept = command(
        "sweep", "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, "--lr", 0.1, 0.2
    )
    downloaded = command("download", "--data-dir", home, "--mirror", REAL_DATA)
    for argv in (swept, downloaded):
        result = run(["bash", "-o", "pipefail", "-c", f"{shlex.join(argv)} {redirect}"])
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    assert read_json(out / "sweep.json")["status"] == "completed" and (out / "sweep.png").is_file()
    assert {p.name for p in home.iterdir()} >= {"manifest.json", "train-images-idx3-ubyte.npy"}


def test_an_error_on_a_closed_stderr_keeps_its_status(tmp_path, fashion_mnist_home):
    result = run(["sh", "-c", f"{shlex.join(train_args(fashion_mnist_home, tmp_path / 'run', '--lr', '1e38'))} 2>&-"])
    assert result.returncode == 1 and "Traceback" not in result.stdout
    assert read_json(tmp_path / "run" / "metrics.json")["status"] == "diverged"


def test_a_terminal_that_cannot_encode_the_path(tmp_path, fashion_mnist_home):
    out = tmp_path / "résultats"
    argv = train_args(fashion_mnist_home, out, "--epochs", 1, "--no-pictures")
    result = run(argv, env=env(PYTHONIOENCODING="ascii"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(f"to {str(out).replace('é', chr(92) + 'xe9')}")
    assert_completed(out, UNDRAWN_OUTPUTS)
    (tmp_path / "déjà").write_text("")
    refused = run(command("sweep", "--out", tmp_path / "déjà"), env=env(PYTHONIOENCODING="ascii"))
    assert refused.returncode == 2 and "d\\xe9j\\xe0 is a file" in one_line(refused.stderr)


# ---------------------------------------------------------------------------------------------------------
# A full output disk: the model and metrics.json first, then the pictures; the failed file named


def on_a_small_disk(out: Path, size: str, argv: list[str], keep: Path, **variables: str) -> subprocess.CompletedProcess:
    """``argv`` with ``out`` on a tmpfs of ``size`` in a mount namespace of its own, and ``variables`` in its
    environment; what the disk held is copied to ``keep`` (the tmpfs goes with the namespace)."""
    out.mkdir()
    keep.mkdir()
    q_out, q_keep = shlex.quote(str(out)), shlex.quote(str(keep))
    script = f"mount -t tmpfs -o size={size} tmpfs {q_out} && {shlex.join(argv)}; status=$?"
    script += f"; cp -a {q_out}/. {q_keep}/; exit $status"
    return run(["unshare", "--mount", "sh", "-c", script], env=env(**variables))


# The sizes fail the writes of later and later files (with today's matplotlib: curves.png, predictions.png,
# confusion.png, weights.png); the pictures come from the second drawing process or from the run's own process,
# which draws no picture after the failed one.
@pytest.mark.parametrize(("size", "background"), [("44k", "0"), ("100k", "1"), ("160k", "0"), ("240k", "1")])
def test_a_full_disk_keeps_the_model_and_says_which_file_and_how_much(size, background, tmp_path, fashion_mnist_home):
    out, keep = tmp_path / "run", tmp_path / "kept"
    argv = train_args(fashion_mnist_home, out, "--epochs", 2, "--quiet")
    result = on_a_small_disk(out, size, argv, keep, NPSOFTMAX_BACKGROUND_PICTURES=background)
    assert result.returncode == 1, result.stderr
    line = one_line(result.stderr)
    failed = line.removeprefix("error: cannot write ").split(" ", 1)[0]
    assert failed in TRAIN_OUTPUTS, line
    assert line.startswith(f"error: cannot write {failed} in {out}: No space left on device (it needs ")
    assert " free); free some space there or choose another folder; kept 2 finished epochs (" in line
    kept = {p.name for p in keep.iterdir()}
    assert_no_temporaries(keep)
    assert line.endswith(f"({', '.join(sorted(kept))}) in {out}")
    metrics = read_json(keep / "metrics.json")
    assert metrics["status"] == "failed" and metrics["error"] in line and len(metrics["epochs"]) == 2
    pictures = kept - {"model.npz", "metrics.json", "curves.png"}
    if pictures or failed not in ("model.npz", "curves.png"):  # the pictures come after the model
        assert "model.npz" in kept and "test_acc" in metrics
        model = nps.SoftmaxRegression.load(keep / "model.npz")
        _, test_iter = nps.load_data_fashion_mnist(256, fashion_mnist_home, download=False)
        assert nps.evaluate_accuracy(model, test_iter) == metrics["test_acc"]


def test_a_full_disk_under_a_sweep_keeps_its_record(tmp_path, fashion_mnist_home):
    out, keep = tmp_path / "sweep", tmp_path / "kept"
    argv = command("sweep", "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, "--quiet")
    result = on_a_small_disk(out, "12k", argv, keep)
    assert result.returncode == 1, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"error: cannot write sweep.png in {out}: No space left on device (it needs ")
    assert line.endswith(f"kept 1 finished run of 1 (sweep.json) in {out}")
    assert {p.name for p in keep.iterdir()} == {"sweep.json"}
    results = read_json(keep / "sweep.json")
    assert results["status"] == "failed" and "sweep.png" in results["error"] and len(results["runs"]) == 1


def test_a_read_only_out_is_refused_before_training(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    script = f"mount -t tmpfs -o ro tmpfs {shlex.quote(str(out))} && {shlex.join(command('train', '--out', out))}"
    result = run(["unshare", "--mount", "sh", "-c", script])
    assert result.returncode == 2
    assert one_line(result.stderr).endswith(
        f"--out {out}: cannot write there: Read-only file system; choose another folder"
    )


# ---------------------------------------------------------------------------------------------------------
# Two runs, one folder


# Two trainings draw no pictures; a training and a sweep draw theirs.
@pytest.mark.parametrize(("second", "flags"), [("train", ["--no-pictures"]), ("sweep", [])], ids=["train", "sweep"])
def test_two_commands_for_one_new_out_one_is_refused(second, flags, tmp_path, fashion_mnist_home):
    out = tmp_path / "shared"
    first = subprocess.Popen(
        train_args(fashion_mnist_home, out, "--epochs", 3, "--quiet", *flags),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    argv = command(second, "--data-dir", fashion_mnist_home, "--no-download", "--out", out, "--epochs", 1, *flags)
    other = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    results = []
    for process in (first, other):
        _, stderr = process.communicate(timeout=BOUND)
        results.append((process.returncode, stderr))
    assert sorted(status for status, _ in results) == [0, 2], results
    (refused,) = [stderr for status, stderr in results if status == 2]
    line = one_line(refused)
    assert "in use by another command" in line or "already holds a" in line
    assert "--out" in line and str(out) in line
    # The one that ran has all its files, none of the other's.
    kept = read_json(out / "metrics.json") if (out / "metrics.json").exists() else read_json(out / "sweep.json")
    assert kept["status"] == "completed"
    assert {p.name for p in out.iterdir()} in (UNDRAWN_OUTPUTS if flags else TRAIN_OUTPUTS, set(sweep.OUTPUTS))


# ---------------------------------------------------------------------------------------------------------
# Paths that cannot be folders: one line each, exit 2, nothing created, no hang


@pytest.fixture
def odd_paths(tmp_path) -> Path:
    (tmp_path / "file").write_text("mine")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


PATH_CASES = [
    (["--out", ""], {}, "--out is empty; give a folder"),
    (["--data-dir", ""], {}, "--data-dir is empty; give a folder"),
    (
        ["--out", "{t}/dangling"],
        {},
        "--out {t}/dangling: {t}/dangling is a symlink to {t}/nowhere, which does not exist",
    ),
    (["--out", "{t}/loop-a/run"], {}, "--out {t}/loop-a/run: {t}/loop-a is a symlink loop"),
    (["--out", "{t}/file"], {}, "--out {t}/file is a file; give a folder"),
    (["--out", "{t}/file/run"], {}, "--out {t}/file/run: {t}/file is a file, not a folder"),
    (["--out", "/dev/null"], {}, "--out /dev/null is a character device; give a folder"),
    (["--out", "{t}/fifo"], {}, "--out {t}/fifo is a FIFO; give a folder"),
    (["--data-dir", "{t}/dangling"], {}, "--data-dir {t}/dangling: {t}/dangling is a symlink to {t}/nowhere"),
    (["--data-dir", "{t}/fifo"], {}, "--data-dir {t}/fifo is a FIFO; give a folder"),
    (["--data-dir", "{t}/loop-b"], {}, "--data-dir {t}/loop-b: {t}/loop-b is a symlink loop"),
    ([], {"NPSOFTMAX_DATA": "{t}/file"}, "NPSOFTMAX_DATA={t}/file is a file; give a folder"),
    ([], {"NPSOFTMAX_DATA": " "}, "NPSOFTMAX_DATA is empty; give a folder"),
]


@pytest.mark.parametrize("name", ["train", "sweep"])
@pytest.mark.parametrize(("args", "variables", "message"), PATH_CASES)
def test_a_path_that_cannot_be_a_folder_is_one_line(name, args, variables, message, odd_paths):
    fill = {"t": odd_paths}
    before = sorted(p.name for p in odd_paths.iterdir())
    argv = command(name, *[arg.format(**fill) for arg in args])
    if "--out" not in args:
        argv += ["--out", str(odd_paths / "new")]
    result = run(argv, env=env(**{k: v.format(**fill) for k, v in variables.items()}), cwd=odd_paths)
    assert result.returncode == 2
    assert message.format(**fill) in one_line(result.stderr)
    assert sorted(p.name for p in odd_paths.iterdir()) == before  # nothing created, nothing removed


@pytest.mark.parametrize(
    ("args", "variables", "message"),
    [
        (["--data-dir", ""], {}, "--data-dir is empty"),
        (["--data-dir", "{t}/fifo"], {}, "is a FIFO"),
        ([], {"NPSOFTMAX_DATA": ""}, "NPSOFTMAX_DATA is empty"),
        ([], {"NPSOFTMAX_DATA": "{t}/dangling"}, "is a symlink to"),
    ],
)
def test_the_download_command_checks_its_data_home_alike(args, variables, message, odd_paths):
    variables = {key: value.format(t=odd_paths) for key, value in variables.items()}
    result = run(command("download", *[arg.format(t=odd_paths) for arg in args]), env=env(**variables))
    assert result.returncode == 2 and message in one_line(result.stderr)


@pytest.mark.parametrize(("name", "parent"), [("train", "runs"), ("sweep", "sweeps")])
def test_a_dangling_default_parent_is_one_line_not_a_spin(name, parent, tmp_path):
    (tmp_path / parent).symlink_to(tmp_path / "gone")
    result = run(command(name), cwd=tmp_path)  # the timeout bounds it: this used to loop for ever
    assert result.returncode == 2
    assert one_line(result.stderr).endswith(
        f"error: {parent} (the default parent of --out): {parent} is a symlink to {tmp_path / 'gone'}, which does not "
        "exist; create that folder or remove the link"
    )


# ---------------------------------------------------------------------------------------------------------
# Credentials in mirror URLs, however written, appear nowhere


# (password, whether the URL holding it is a valid one, the training run's flags): a raw '#' ends the authority,
# leaving "reader:pa" with a port that is not a number; the others parse, with their password in the user-info.
# One valid password is looked for in the training run's pictures too; the sweep's is drawn every time.
SECRETS = [
    ("pa#ss", False, []),
    ("p@ss/w?rd", True, []),
    ("se cret:x", True, ["--no-pictures"]),
    ("s%3Acret", True, ["--no-pictures"]),
]


@pytest.mark.parametrize(("secret", "valid", "flags"), SECRETS, ids=[f"{s}-{v}" for s, v, _ in SECRETS])
def test_a_password_in_a_mirror_url_is_written_nowhere(secret, valid, flags, tmp_path, fashion_mnist_home):
    url = f"http://reader:{secret}@127.0.0.1:9/fm/"
    out, swept_out = tmp_path / "run", tmp_path / "sweep"
    mirrors = ["--mirror", REAL_DATA, "--mirror", url]
    ran = run(train_args(fashion_mnist_home, out, "--epochs", 1, "--quiet", *mirrors, *flags))
    sweep_args = ["--data-dir", fashion_mnist_home, "--no-download", "--out", swept_out, "--epochs", 1, "--quiet"]
    swept = run(command("sweep", *sweep_args, f"--mirror={url}"))
    misspelled = run(command("sweep", "--out", tmp_path / "y", "--mirorr", url))
    assert misspelled.returncode == 2 and "did you mean --mirror?" in one_line(misspelled.stderr)
    texts = [r.stdout + r.stderr for r in (ran, swept, misspelled)]
    if valid:
        assert ran.returncode == 0 and swept.returncode == 0, ran.stderr + swept.stderr
        texts += [p.read_text(errors="replace") for folder in (out, swept_out) for p in folder.iterdir()]
        assert read_json(out / "metrics.json")["config"]["mirror"][1] == "http://***@127.0.0.1:9/fm/"
        assert "--mirror=http://***@127.0.0.1:9/fm/" in read_json(swept_out / "sweep.json")["command"]
    else:
        for refused in (ran, swept):
            assert refused.returncode == 2 and "is not an http(s):// URL" in one_line(refused.stderr)
        assert not out.exists() and not swept_out.exists()
    pieces = [secret, *(piece for piece in re.split(r"[#@/?: %]", secret) if len(piece) >= 4)]
    for text in texts:
        assert not [piece for piece in pieces if piece in text], text


# ---------------------------------------------------------------------------------------------------------
# Advice that names the cause


def test_a_divergence_from_weight_decay_names_the_weight_decay(tmp_path, fashion_mnist_home):
    argv = train_args(fashion_mnist_home, tmp_path / "run", "--weight-decay", "1000", "--epochs", 3, "--no-pictures")
    result = run(argv)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("error: training diverged in epoch ")
    assert "the weight decay alone makes the weights grow" in line and "use a --weight-decay below 20" in line
    assert "smaller learning rate" not in line
    assert read_json(tmp_path / "run" / "metrics.json")["status"] == "diverged"


def test_the_weight_decay_bound_is_where_the_recursion_turns_unstable():
    # The advice's bound, lr * weight_decay < 2 (1 + momentum), is that of w <- w - lr * wd * w with heavy-ball
    # momentum: the companion matrix [[1 + m - a, -m], [1, 0]] (a = lr * wd) has spectral radius 1 exactly there.
    for momentum in (0.0, 0.5, 0.9):
        for a, stable in ((2 * (1 + momentum) * 0.999, True), (2 * (1 + momentum) * 1.001, False)):
            radius = max(abs(np.linalg.eigvals([[1 + momentum - a, -momentum], [1, 0]])))
            assert (radius < 1) == stable
