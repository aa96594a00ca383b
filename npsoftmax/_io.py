"""Atomic file writes: a file under its final name is always complete.

Everything is written to a temporary file in the destination's folder (same filesystem, so the rename is
atomic), flushed to disk, then renamed over the final name. A killed process leaves at most a temporary
named ``.npsoftmax-tmp-*``, which the data folder's next locked run removes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

TEMP_PREFIX = ".npsoftmax-tmp-"

@contextlib.contextmanager
def temporary(final: Path) -> Iterator[Path]:
    """An empty file beside ``final`` (same filesystem, so the rename is atomic), removed unless installed."""
    path = final.with_name(f"{TEMP_PREFIX}{final.name}-{secrets.token_hex(4)}")
    # os.open rather than mkstemp: mkstemp's mode 0600 would survive the rename and lock out other users.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def install(tmp: Path, final: Path, durable: bool = True) -> None:
    """Rename ``tmp`` to ``final``, first flushing it to disk when ``durable``: a crash then leaves the old file
    or the new one, never an empty one. Without it the rename is still atomic for other processes."""
    if durable:
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    os.replace(tmp, final)


def write_atomic(final: Path, write: Callable[[BinaryIO], Any], durable: bool = True) -> Path:
    """Call ``write(file)`` on a temporary file, then move the result to ``final`` in one rename."""
    with temporary(final) as tmp:
        with open(tmp, "wb") as f:
            write(f)
        install(tmp, final, durable)
    return final
