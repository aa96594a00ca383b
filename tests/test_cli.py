"""What the commands share: ``--version``, ``python -m npsoftmax``, suggestions for a misspelled flag, the exit
statuses, output streams that never raise, the run record's JSON, and when the early signal handlers apply."""

import dataclasses
import errno
import importlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _train import exit_of

import npsoftmax
from npsoftmax import _cli, _run, _signals

COMMANDS = ["npsoftmax", "npsoftmax.train", "npsoftmax.sweep", "npsoftmax.download"]


def python_m(module: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60, **kwargs)


def in_process(module: str, *args: str) -> tuple[int, str, str]:
    """``python -m module *args`` as ``(status, stdout, stderr)``, run in this process: for what the command
    parses and prints; test_every_command_has_version runs each command as a process of its own."""
    main = importlib.import_module("npsoftmax.__main__" if module == "npsoftmax" else module).main
    return exit_of(main, args)


@pytest.mark.parametrize("module", COMMANDS)
def test_every_command_has_version(module):
    result = python_m(module, "--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"python -m {module} {npsoftmax.__version__}\n", "")


def test_python_m_npsoftmax_lists_the_commands():
    result = python_m("npsoftmax")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"npsoftmax {npsoftmax.__version__}: softmax regression on Fashion-MNIST")
    for name in ("train", "sweep", "download"):
        (line,) = [line for line in lines if line.strip().startswith(f"python -m npsoftmax.{name} ")]
        assert len(line.split()) > 4  # a description follows the command
        assert in_process(f"npsoftmax.{name}", "--help")[0] == 0  # and the command it names exists
    assert help_of("npsoftmax").startswith("usage: python -m npsoftmax")


@pytest.mark.parametrize(
    ("module", "flag", "suggestion"),
    [
        ("npsoftmax.train", "--epoch", "--epochs"),
        ("npsoftmax.train", "--batchsize", "--batch-size"),
        ("npsoftmax.train", "--no-downlaod", "--no-download"),
        ("npsoftmax.sweep", "--learning-rate", "--lr"),
        ("npsoftmax.train", "--learning-rate", "--lr"),
        ("npsoftmax.train", "--output-dir", "--out"),
        ("npsoftmax.download", "--learning-rate", None),  # no --lr to offer
        ("npsoftmax.sweep", "--seeds", "--seed"),
        ("npsoftmax.download", "--forse", "--force"),
        ("npsoftmax", "--verison", "--version"),
    ],
)
def test_a_misspelled_flag_gets_a_suggestion(module, flag, suggestion, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, stderr = in_process(module, f"{flag}=1")
    assert status == 2
    (line,) = stderr.splitlines()
    assert f"error: unrecognized arguments: {flag}=1" in line
    assert (f"; did you mean {suggestion}?" in line) if suggestion else ("did you mean" not in line)
    assert not list(tmp_path.iterdir())


def test_abbreviations_stay_refused():
    parser = _cli.ArgumentParser(prog="p", allow_abbrev=False)
    parser.add_argument("--epochs")
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--epo", "3"])
    assert stopped.value.code == 2


def test_usage_errors_redact_urls(capsys):
    parser = _cli.ArgumentParser(prog="p")
    with pytest.raises(SystemExit):
        parser.parse_args(["--mirr", "http://u:s3cret@host/"])
    err = capsys.readouterr().err
    assert "s3cret" not in err and "http://***@host/" in err


@pytest.mark.parametrize(
    ("exc", "status", "line"),
    [
        (_cli.UsageError("--out is empty; give a folder"), 2, "prog: error: --out is empty; give a folder"),
        (_run.Stopped("interrupted: kept 2 finished epochs", 130), 130, "interrupted: kept 2 finished epochs"),
        (_run.Stopped("cannot write x", 1), 1, "error: cannot write x"),
        (KeyboardInterrupt(), 130, "interrupted before training started; nothing was written"),
        (_signals.Interrupted(15), 143, "interrupted by SIGTERM before training started; nothing was written"),
        (_signals.Interrupted(1), 129, "interrupted by SIGHUP before training started; nothing was written"),
        (OSError("disk on fire"), 1, "error: disk on fire"),
    ],
)
def test_one_exit_mapping(exc, status, line, capsys, tmp_path):
    created = tmp_path / "created"
    created.mkdir()
    assert _run.exit_status("prog", exc, created, True, before="training started") == status
    assert capsys.readouterr().err == line + "\n"
    assert created.exists() == isinstance(exc, _run.Stopped)  # left empty by a command that did not start: removed


class Refusing(io.TextIOBase):
    """A stream that fails as a closed pipe, a full disk or a narrow terminal does."""

    def __init__(self, failure):
        self.failure, self.written = failure, []

    encoding = "ascii"

    def write(self, text):
        if self.failure == "ascii":
            text.encode("ascii")
        elif self.failure:
            raise self.failure
        self.written.append(text)
        return len(text)


@pytest.mark.parametrize("failure", [BrokenPipeError(errno.EPIPE, "pipe"), OSError(errno.ENOSPC, "full"), ValueError])
def test_a_stream_that_fails_is_given_up_quietly(failure, monkeypatch):
    monkeypatch.setattr(sys, "stdout", Refusing(failure))
    with _cli.guarded_output():
        print("epoch 1")  # raises nothing, now or later
        print("epoch 2")
        sys.stdout.flush()


def test_a_narrow_stream_gets_backslash_escapes(monkeypatch):
    stream = Refusing("ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    with _cli.guarded_output():
        print("wrote runs/résumé")
    assert "".join(stream.written) == "wrote runs/r\\xe9sum\\xe9\n"


def test_no_stream_at_all_is_a_stream_that_takes_everything(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    with _cli.guarded_output():
        print("x")
        assert not sys.stdout.isatty()


def test_the_run_record_is_strict_json(tmp_path):
    payload = {"loss": math.nan, "epochs": [{"train_loss": math.inf, "acc": 0.5}, (-math.inf, 1)], "n": 3}
    _run.write_json(tmp_path / "metrics.json", payload)
    text = (tmp_path / "metrics.json").read_text()
    assert json.loads(text) == {"loss": None, "epochs": [{"train_loss": None, "acc": 0.5}, [None, 1]], "n": 3}
    assert "NaN" not in text and "Infinity" not in text


def test_a_failed_write_names_the_file_the_folder_and_the_space(tmp_path):
    error = _run.output_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path / "model.npz", 31_400)
    assert str(error).startswith(f"cannot write model.npz in {tmp_path}: No space left on device (it needs 31.4 KB, ")
    assert str(error).endswith(" free); free some space there or choose another folder")
    assert error.path == tmp_path / "model.npz" and error.errno == errno.ENOSPC
    denied = _run.output_error(OSError(errno.EACCES, "Permission denied"), Path("/x/a.png"), None, exact=False)
    assert str(denied) == "cannot write a.png in /x: Permission denied; choose another folder"


@pytest.mark.parametrize(
    ("orig_argv", "argv0", "starting"),
    [
        (["python", "-m", "npsoftmax.train", "--epochs", "1"], "-m", True),
        (["python", "-X", "importtime", "-m", "npsoftmax.sweep"], "-m", True),
        (["python", "-mnpsoftmax.download"], "-m", True),
        (["python", "-m", "npsoftmax"], "-m", True),
        (["python", "-m", "pytest", "-m", "npsoftmax.train"], "-m", False),
        (["python", "-c", "import npsoftmax.train", "-m", "npsoftmax.train"], "-c", False),
        (["python", "script.py", "-m", "npsoftmax.train"], "script.py", False),
        (["python"], "", False),
        (["/venv/bin/python", "/venv/bin/npsoftmax-train", "--epochs", "1"], "/venv/bin/npsoftmax-train", True),
    ],
)
def test_the_early_handlers_apply_only_to_the_commands(orig_argv, argv0, starting, monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    monkeypatch.setattr(sys, "argv", [argv0])
    assert _signals._starting_command() is starting


def test_importing_the_package_keeps_a_programs_own_handlers():
    code = (
        "import signal; before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}\n"
        "import npsoftmax.train, npsoftmax.sweep, npsoftmax.download, npsoftmax._signals\n"
        "print(all(signal.getsignal(s) is h for s, h in before.items()))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout == "True\n", result.stderr


def test_stop_on_signals_puts_the_handlers_back():
    import signal

    before = {signum: signal.getsignal(signum) for signum in _signals.TERMINATING}
    with pytest.raises(_signals.Interrupted) as interrupted:
        with _signals.stop_on_signals():
            signal.raise_signal(signal.SIGUSR2)
    assert interrupted.value.status == 128 + signal.SIGUSR2 and interrupted.value.name == "SIGUSR2"
    assert {signum: signal.getsignal(signum) for signum in _signals.TERMINATING} == before


def test_held_signals_arrive_when_the_writing_is_done():
    import signal

    written = []
    with pytest.raises(_signals.Interrupted) as interrupted:
        with _signals.stop_on_signals(), _signals.held():
            signal.raise_signal(signal.SIGTERM)
            written.append("metrics.json")  # the signal waits for this
    assert written == ["metrics.json"] and interrupted.value.signum == signal.SIGTERM


def test_a_second_signal_while_a_stopped_command_saves_changes_nothing():
    import signal

    with _signals.stop_on_signals():
        with _signals.held(deliver=False):
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(_signals.Interrupted):  # and nothing stale is left for the next hold
            with _signals.held():
                signal.raise_signal(signal.SIGHUP)
                raise _signals.Interrupted(signal.SIGHUP)
        with _signals.held():
            pass


# ---------------------------------------------------------------------------------------------------------
# --help tells the truth: what it says each flag accepts is what is accepted


def help_of(module: str, **variables: str) -> str:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        status, stdout, stderr = in_process(module, "--help")
    assert status == 0 and stderr == "", stderr
    return stdout


def flat(text: str) -> str:
    return " ".join(text.split())


INTERVAL = re.compile(
    r"--([a-z-]+) [A-Z_]+(?: \[[A-Z_]+ \.\.\.\])? [^(]*\((an integer|a number) in ([\[(])(\S+), (\S+?)([\])])"
)


@pytest.mark.parametrize("module", ["npsoftmax.train", "npsoftmax.sweep"])
def test_every_limit_in_the_help_is_the_one_enforced(module):
    from npsoftmax import sweep, train

    parse = train.parse_config if module == "npsoftmax.train" else sweep.parse_sweep
    limits = INTERVAL.findall(flat(help_of(module)))
    assert {flag for flag, *_ in limits} >= {"epochs", "lr", "batch-size", "seed", "momentum", "weight-decay"}
    if module == "npsoftmax.train":
        assert {"num-images", "val-split", "early-stopping"} <= {flag for flag, *_ in limits}
    for flag, noun, opening, low, high, closing in limits:
        kind = int if noun == "an integer" else float
        step = 1 if kind is int else 1e-9
        extra = ["--val-split", "0.5"] if flag == "early-stopping" else []
        for value, inside in ((low, opening == "["), (high, closing == "]")):
            if value in ("inf", "-inf"):
                continue
            edge = kind(value)
            beyond = edge - step if value == low else edge + step
            if inside:
                parse([f"--{flag}", str(edge), *extra])
            with pytest.raises(SystemExit):
                parse([f"--{flag}", str(beyond if inside else edge), *extra])


def test_the_help_lists_what_preset_best_sets_and_it_is_what_it_sets():
    from npsoftmax import train

    text = flat(help_of("npsoftmax.train"))
    listed = re.search(r"--preset best sets (.*?); a flag given", text).group(1).split()
    as_listed = dataclasses.replace(train.parse_config(listed), preset="best")
    assert as_listed == train.parse_config(["--preset", "best"]) != train.parse_config([])
    assert "--epochs EPOCHS number of epochs (an integer in [1, 100000]; default: 10; 30 with --preset best)" in text


@pytest.mark.parametrize("module", ["npsoftmax.train", "npsoftmax.sweep", "npsoftmax.download"])
def test_the_help_names_every_environment_variable_and_where_the_data_home_is(module, tmp_path):
    package = Path(npsoftmax.__file__).parent
    read = set(re.findall(r"NPSOFTMAX_[A-Z_]+", " ".join(p.read_text() for p in package.glob("*.py"))))
    home = tmp_path / "my data home"
    text = flat(help_of(module, NPSOFTMAX_DATA=str(home)))
    listed = set(re.findall(r"NPSOFTMAX_[A-Z_]+", text))
    assert {"NPSOFTMAX_DATA", "NPSOFTMAX_MIRRORS"} <= listed <= read
    if module == "npsoftmax.train":
        assert listed == read
    assert f"(here: {home})" in text or f"(default: {home})" in text
    assert "README" not in text


def test_python_m_npsoftmax_points_a_command_to_its_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, stderr = in_process("npsoftmax", "train", "--epochs", "3")
    assert status == 2 and not list(tmp_path.iterdir())
    (line,) = stderr.splitlines()
    assert "unrecognized arguments: train --epochs 3; did you mean python -m npsoftmax.train?" in line


def test_python_m_npsoftmax_help_keeps_its_command_list():
    lines = help_of("npsoftmax").splitlines()
    for name in ("train", "sweep", "download"):
        assert sum(line.startswith(f"  python -m npsoftmax.{name} ") for line in lines) == 1
    assert max(map(len, lines)) <= 79


def test_a_settled_command_completes_and_the_next_one_is_not_settled():
    import signal

    with _signals.stop_on_signals():
        _signals.settle()  # its files are written
        signal.raise_signal(signal.SIGTERM)  # changes nothing
    _signals.settle()  # as a run called from Python, outside any command, does
    with pytest.raises(_signals.Interrupted), _signals.stop_on_signals():
        signal.raise_signal(signal.SIGTERM)
