"""Atomic file writes: a file under its final name is always complete.

The data goes to a temporary file in the destination's folder (same filesystem, so the rename is atomic) and is
renamed over the final name once written. A killed process leaves at most a temporary named
``.npsoftmax-tmp-*``, which the data folder's next locked run removes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

TEMP_PREFIX = ".npsoftmax-tmp-"


def write_atomic(final: Path, write: Callable[[BinaryIO], Any], durable: bool = True) -> Path:
    """Call ``write(file)`` on a temporary file beside ``final``, then rename it to ``final``.

    With ``durable`` the data is flushed to disk before the rename, so a crash leaves the old file or the new
    one, never an empty one; without, the rename is still atomic for other processes. If ``write`` raises,
    the temporary is removed and ``final`` is untouched.
    """
    tmp = final.with_name(f"{TEMP_PREFIX}{final.name}-{secrets.token_hex(4)}")
    try:
        # os.open rather than mkstemp: mkstemp's mode 0600 would survive the rename and lock out other users.
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final
