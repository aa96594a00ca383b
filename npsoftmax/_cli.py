"""What the command-line entry points share."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TextIO


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
