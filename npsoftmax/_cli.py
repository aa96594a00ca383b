"""What the command-line entry points share: logging, the program name, value checks, the output folder."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import math
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from ._io import TEMP_PREFIX


@contextlib.contextmanager
def log_messages_to(stream: TextIO, quiet: bool) -> Iterator[None]:
    """While a command runs, print the package's log lines bare to ``stream`` (only warnings when ``quiet``).

    The handler is removed afterwards, so calling a command's ``main()`` from Python leaves logging as it was.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package_log = logging.getLogger("npsoftmax")
    saved = package_log.level, package_log.propagate
    package_log.addHandler(handler)
    package_log.setLevel(logging.WARNING if quiet else logging.INFO)
    package_log.propagate = False
    try:
        yield
    finally:
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
    return parse


class ArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (exit status 2), pointing to ``--help`` instead of the usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class UsageError(Exception):
    """A setting the user got wrong: exit status 2, like argparse's own errors."""


class Stopped(Exception):
    """A command that ended without completing (diverged: 1, interrupted: 130) after writing what it had; the
    message says what was kept."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def exit_status(prog: str, exc: BaseException, out: Path | None, created: bool, before: str) -> int:
    """Say in one line why a command did not complete, and return its exit status.

    ``exc`` is a :class:`UsageError` (2), a :class:`Stopped` (its own status), a ``KeyboardInterrupt`` that came
    ``before`` anything was written (130), or a runtime failure such as a missing data set (1). Unless the command
    stopped after writing, an ``out`` it created and left empty is removed.
    """
    if isinstance(exc, Stopped):
        print(f"{'error: ' if exc.status == 1 else ''}{exc}", file=sys.stderr)
        return exc.status
    remove_if_empty(out, created)
    if isinstance(exc, UsageError):
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, KeyboardInterrupt):
        print(f"interrupted before {before}; nothing was written", file=sys.stderr)
        return 130
    print(f"error: {exc}", file=sys.stderr)
    return 1


def claim_output_folder(
    out: str | None, overwrite: bool, *, outputs: Sequence[str], default_parent: str, kind: str
) -> tuple[Path, bool]:
    """The folder a command writes into, and whether it was created for it.

    ``out`` must be new or empty; with ``overwrite`` it may hold an earlier ``kind``'s ``outputs``, which are
    removed first, and nothing else; temporaries left by a killed process go once the folder is taken. The
    default ``default_parent/<timestamp>`` is created with ``mkdir``, which fails if the folder exists, so two commands
    started in the same second get ``<timestamp>`` and ``<timestamp>-2``.
    """
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        for n in itertools.count(1):
            path = Path(default_parent) / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                path.mkdir(parents=True)
                return path, True
            except FileExistsError:
                continue
    if not str(out).strip():
        raise UsageError("--out is empty; give a folder")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} is a file; give a folder")
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for p in path.iterdir())
    entries = [name for name in names if not name.startswith(TEMP_PREFIX)]
    foreign = [name for name in entries if name not in outputs]
    if foreign:
        raise UsageError(
            f"--out {out} holds files that no {kind} wrote ({', '.join(foreign[:5])}): choose another folder"
        )
    if entries and not overwrite:
        raise UsageError(
            f"--out {out} already holds a {kind} ({', '.join(entries[:5])}); pass --overwrite to replace it, "
            f"or choose another folder"
        )
    for name in names:  # the earlier one's files, and the temporaries a killed process left
        (path / name).unlink(missing_ok=True)
    return path, created


def remove_if_empty(out: Path | None, created: bool) -> None:
    """Remove ``out`` again when this command created it and wrote nothing into it."""
    if out is not None and created and out.is_dir() and not any(out.iterdir()):
        out.rmdir()


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Hold off a second Ctrl-C while the results of an interrupted command are written."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
