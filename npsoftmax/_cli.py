"""What the command-line entry points share: logging to the console, the program name, value checks."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn, TextIO


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
