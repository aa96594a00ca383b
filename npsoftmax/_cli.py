"""What the command-line entry points share: logging, the program name, value checks, usage errors with
suggestions, output streams that cannot cost a run, paths checked, the output folder claimed."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import io
import itertools
import logging
import math
import os
import stat
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, NoReturn, TextIO

from ._io import LOCK_NAME, TEMP_PREFIX, FolderInUse, FolderLock
from ._version import __version__
from .data import DATA_ENV, MIRRORS_ENV, get_data_home, parse_mirror, redact_url


@contextlib.contextmanager
def log_messages_to(stream: TextIO, quiet: bool) -> Iterator[None]:
    """While a command runs, print the package's log lines bare: information to ``stream`` (none when ``quiet``),
    warnings and errors to ``sys.stderr``.

    The handlers are removed afterwards, so calling a command's ``main()`` from Python leaves logging as it was.
    """
    information = logging.StreamHandler(stream)
    information.addFilter(lambda record: record.levelno < logging.WARNING)
    handlers = [information, logging.StreamHandler(sys.stderr)]
    handlers[1].setLevel(logging.WARNING)
    package_log = logging.getLogger("npsoftmax")
    saved = package_log.level, package_log.propagate
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(message)s"))
        package_log.addHandler(handler)
    package_log.setLevel(logging.WARNING if quiet else logging.INFO)
    package_log.propagate = False
    try:
        yield
    finally:
        for handler in handlers:
            package_log.removeHandler(handler)
        package_log.level, package_log.propagate = saved


def program_name(module: str) -> str:
    """The name the user called the command by: ``python -m MODULE`` or the console script's name."""
    called = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if not called or called.endswith(".py") or called in ("-c", "-m"):
        return f"python -m {module}"
    return called


def number(
    kind: type, low: float | None = None, high: float | None = None, *, open_low: bool = False, open_high: bool = False
) -> Callable[[str], int | float]:
    """An argparse ``type``: a finite int or float in ``[low, high]``, open at either end when asked."""
    noun = "an integer" if kind is int else "a number"
    interval = "{}{}, {}{}".format(
        "(" if open_low or low is None else "[",
        "-inf" if low is None else low,
        "inf" if high is None else high,
        ")" if open_high or high is None else "]",
    )

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        too_low = low is not None and (value <= low if open_low else value < low)
        too_high = high is not None and (value >= high if open_high else value > high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"must be {noun} in {interval}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    parse.accepted = f"{noun} in {interval}"  # what --help says the flag takes, as its errors say it
    return parse


def mirror(text: str) -> str:
    """An argparse ``type``: :func:`npsoftmax.data.parse_mirror`, its message shown as it is (credentials
    redacted), where argparse would echo the raw value, password included."""
    try:
        return parse_mirror(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# Flags a user may try from other tools, and the flag they mean here (offered when the command has it).
SYNONYMS = {
    "--learning-rate": "--lr",
    "--learning_rate": "--lr",
    "--batch": "--batch-size",
    "--bs": "--batch-size",
    "--num-epochs": "--epochs",
    "--n-epochs": "--epochs",
    "--wd": "--weight-decay",
    "--output": "--out",
    "--output-dir": "--out",
    "--data": "--data-dir",
    "--root": "--data-dir",
}


def paragraphs(*texts: str, width: int = 79) -> str:
    """``texts`` as paragraphs filled to ``width`` columns, for a help text that argparse prints as it is."""
    return "\n\n".join(textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False) for text in texts)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with ``--version``, usage errors on one line (exit status 2) pointing to ``--help`` instead of the
    usage dump, a suggestion for a misspelled flag (or, through ``hints``, for a word that belongs elsewhere),
    credentials in URLs redacted from every message, and the description and epilog printed as written."""

    def __init__(self, *args, hints: dict[str, str] | None = None, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.hints = hints or {}
        self.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    def parse_args(self, args=None, namespace=None):  # noqa: ANN001 - argparse's own signature
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            suggestion = next(filter(None, (self.suggest(arg.split("=", 1)[0]) for arg in extras)), None)
            self.error(
                f"unrecognized arguments: {' '.join(extras)}" + (f"; did you mean {suggestion}?" if suggestion else "")
            )
        return namespace

    def suggest(self, word: str) -> str | None:
        """What the user probably meant by ``word``: a hint, a synonym or a flag spelled alike."""
        options = [option for action in self._actions for option in action.option_strings]
        if word in self.hints:
            return self.hints[word]
        if SYNONYMS.get(word) in options:
            return SYNONYMS[word]
        close = difflib.get_close_matches(word, options, n=1) if word.startswith("-") else []
        return close[0] if close else None

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {redact_url(message)} (see {self.prog} --help)\n")


def data_home_here() -> str:
    """Where the data home is for this installation and environment, as ``--help`` says it."""
    try:
        return str(get_data_home())
    except ValueError:  # a bad NPSOFTMAX_DATA, refused once the arguments are read
        return f"${DATA_ENV}, which is not a usable folder"


def environment_help(names: Sequence[str]) -> str:
    """The epilog listing the environment variables ``names`` that a command reads."""
    described = {
        DATA_ENV: f"the data home: where the data is kept, verified (here: {data_home_here()}); --data-dir wins",
        MIRRORS_ENV: "comma-separated http(s) URLs or folders to take the data from, in order, instead of the "
        "defaults; --mirror wins",
        "NPSOFTMAX_BACKGROUND_PICTURES": "1 (the default where the system can fork): draw the pictures in a second "
        "process while training runs; 0: in the run's own process, after training",
        "MPLBACKEND": "ignored: the pictures are files, drawn with matplotlib's Agg",
    }
    width = max(map(len, names))
    lines = ["environment variables:"]
    for name in names:
        text = textwrap.wrap(described[name], 77 - width, break_long_words=False, break_on_hyphens=False)
        lines += [f"  {name:<{width}}  {text[0]}", *(f"  {'':<{width}}  {more}" for more in text[1:])]
    return "\n".join(lines)


class UsageError(Exception):
    """A setting the user got wrong: exit status 2, like argparse's own errors."""


# ---------------------------------------------------------------------------------------------------------
# Output streams: a closed, broken, full or narrow stdout or stderr never costs a run.


class _GuardedStream(io.TextIOBase):
    """A text stream that never raises: a character its encoding lacks is written as a backslash escape, and
    once a write fails (a closed pipe, a full disk) the stream is given up quietly, as Unix tools do."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self.given_up = stream is None

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        try:
            return not self.given_up and self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise io.UnsupportedOperation("no stream")
        return self._stream.fileno()

    def write(self, text: str) -> int:
        if not self.given_up:
            try:
                try:
                    self._stream.write(text)
                except UnicodeEncodeError:
                    self._stream.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding))
                self._stream.flush()
            except (OSError, ValueError):  # ValueError: the stream was closed
                self._give_up()
        return len(text)

    def flush(self) -> None:
        if not self.given_up:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._give_up()

    def _give_up(self) -> None:
        self.given_up = True
        # What is still buffered goes nowhere, so that the interpreter's own flush at exit cannot fail either.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)


@contextlib.contextmanager
def guarded_output() -> Iterator[None]:
    """While a command runs, ``sys.stdout`` and ``sys.stderr`` never raise (see :class:`_GuardedStream`); a file
    descriptor 1 or 2 that was closed is opened on the null device, so that no file the command writes gets it."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                if devnull != fd:
                    os.dup2(devnull, fd)
                    os.close(devnull)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _GuardedStream(sys.stdout), _GuardedStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


# ---------------------------------------------------------------------------------------------------------
# Paths from the user and the environment, and the output folder.


def _kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISREG, "a file"),
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a folder"


def check_folder(text: str | os.PathLike[str], flag: str, what: str | None = None) -> Path:
    """``text``, given as ``flag``, as the path of a folder that exists or can be created; else a
    :class:`UsageError` in one line naming ``what`` (by default ``flag text``): empty, a dangling symlink, a
    symlink loop, or a file, device or FIFO where it or one of its parents should be a folder."""
    if not str(text).strip():
        raise UsageError(f"{flag} is empty; give a folder")
    what = what or f"{flag} {text}"
    path = Path(text).expanduser()
    for part in reversed([path, *path.parents]):  # from the top down, so that the first problem is named
        try:
            mode = part.stat().st_mode
        except FileNotFoundError:
            if part.is_symlink():
                raise UsageError(
                    f"{what}: {part} is a symlink to {os.readlink(part)}, which does not exist; create that folder "
                    f"or remove the link"
                ) from None
            return path  # the rest is created
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UsageError(f"{what}: {part} is a symlink loop; remove it or give another folder") from None
            raise UsageError(f"{what}: cannot use {part}: {exc.strerror or exc}; give another folder") from None
        if not stat.S_ISDIR(mode):
            if part == path:
                raise UsageError(f"{what} is {_kind(mode)}; give a folder")
            raise UsageError(f"{what}: {part} is {_kind(mode)}, not a folder; give another folder")
    return path


def check_data_home(data_dir: str | None) -> None:
    """Refuse, as a usage error, a data home (``--data-dir``, else ``NPSOFTMAX_DATA``, else the default) that
    cannot be a folder: empty, a dangling symlink, a symlink loop, a file or a device."""
    if data_dir is not None:
        check_folder(data_dir, "--data-dir")
    elif DATA_ENV in os.environ:
        check_folder(os.environ[DATA_ENV], DATA_ENV, f"{DATA_ENV}={os.environ[DATA_ENV]}")
    else:
        try:
            home = get_data_home()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        check_folder(home, "--data-dir", f"the data home {home} (choose another with --data-dir)")


class OutputFolder(NamedTuple):
    """The folder a command writes into, whether it was created for it, and the lock that claims it against
    other processes for as long as the command runs (None where its filesystem has no locks)."""

    path: Path
    created: bool
    lock: FolderLock | None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _lock(path: Path, what: str) -> FolderLock | None:
    """Hold an exclusive lock on the folder ``path``, or refuse: another process is writing into it."""
    try:
        return FolderLock.acquire(path, wait=False)
    except FolderInUse:
        raise UsageError(
            f"{what} is in use by another command writing into it; wait for it or choose another folder"
        ) from None
    except FileNotFoundError:  # the command that held it removed it, empty, between our mkdir and our lock
        raise UsageError(f"{what} was removed by another command as it was claimed; try again") from None


def claim_output_folder(
    out: str | None, overwrite: bool, *, outputs: Sequence[str], default_parent: str, kind: str
) -> OutputFolder:
    """The folder a command writes into, checked, created if need be, locked against other processes, and
    shown to be writable.

    ``out`` must be new or empty; with ``overwrite`` it may hold an earlier ``kind``'s ``outputs``, which are
    removed first, and nothing else; temporaries left by a killed process go once the folder is locked. The
    default ``default_parent/<timestamp>`` is created with ``mkdir``, which fails if the folder exists, so two commands
    started in the same second get ``<timestamp>`` and ``<timestamp>-2``. Every refusal is a :class:`UsageError`.
    """
    if out is None:
        what = f"{default_parent} (the default parent of --out)"
        parent = check_folder(default_parent, "--out", what)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for n in itertools.count(1):
            path = parent / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                path.mkdir(parents=True)
            except FileExistsError:
                continue  # check_folder made sure the parent is a folder: the name is taken, try the next
            except OSError as exc:
                raise UsageError(f"{what}: cannot create {path}: {exc.strerror or exc}; give --out") from None
            break
        created, what = True, str(path)
    else:
        what = f"--out {out}"
        path = check_folder(out, "--out")
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{what}: cannot create it: {exc.strerror or exc}; choose another folder") from None
    try:
        lock = _lock(path, what)
    except OSError as exc:  # the lock's file is the first thing written there
        remove_if_empty(path, created)
        raise UsageError(f"{what}: cannot write there: {exc.strerror or exc}; choose another folder") from None
    claimed = OutputFolder(path, created, lock)
    try:
        _take(path, what, overwrite, outputs, kind)
    except BaseException:
        claimed.release()
        remove_if_empty(path, created)
        raise
    return claimed


def _take(path: Path, what: str, overwrite: bool, outputs: Sequence[str], kind: str) -> None:
    """Refuse ``path`` unless it is empty or, with ``overwrite``, holds only a ``kind``'s files; clear it; show that
    it can be written."""
    try:
        modes = {p.name: p.lstat().st_mode for p in path.iterdir()}
        entries = sorted(name for name in modes if not name.startswith(TEMP_PREFIX))
        foreign = [
            name if name not in outputs else f"{name}: {_kind(modes[name])}"
            for name in entries
            if name not in outputs or not stat.S_ISREG(modes[name])
        ]
        if foreign:
            listed = ", ".join(foreign[:5])
            raise UsageError(f"{what} holds files that no {kind} wrote ({listed}): choose another folder")
        if entries and not overwrite:
            raise UsageError(
                f"{what} already holds a {kind} ({', '.join(entries[:5])}); pass --overwrite to replace it, "
                f"or choose another folder"
            )
        for name in modes.keys() - {LOCK_NAME}:  # the earlier one's files, and the temporaries a killed process left
            (path / name).unlink(missing_ok=True)
        probe = path / f"{TEMP_PREFIX}write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{what}: cannot write there: {exc.strerror or exc}; choose another folder") from None


def remove_if_empty(out: Path | None, created: bool) -> None:
    """Remove ``out`` again when this command created it and wrote nothing into it."""
    with contextlib.suppress(OSError):
        if out is not None and created and out.is_dir() and {p.name for p in out.iterdir()} <= {LOCK_NAME}:
            (out / LOCK_NAME).unlink(missing_ok=True)  # still locked: see FolderLock.release
            out.rmdir()
