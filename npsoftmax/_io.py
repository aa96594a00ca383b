"""Atomic file writes, and folder locks on any OS.

Atomic writes: the data goes to a temporary file in the destination's folder (same filesystem, so the rename is
atomic) and is renamed over the final name once written, so a file under its final name is always complete. A
killed process leaves at most a temporary named ``.npsoftmax-tmp-*``, which the data folder's next locked run
removes.

Folder locks: :class:`FolderLock` claims a folder (an ``--out``, a data home) against other processes, with the
lock the system provides (``flock`` on Linux and macOS, ``msvcrt.locking`` on Windows, through ``filelock``),
which the system releases when the process dies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

TEMP_PREFIX = ".npsoftmax-tmp-"
#: The file whose lock claims its folder; a temporary's name, so that what lists a folder's files passes it over.
LOCK_NAME = f"{TEMP_PREFIX}lock"


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


class FolderInUse(Exception):
    """Another process holds the folder's lock."""


class FolderLock:
    """An exclusive lock on a folder, held through the file :data:`LOCK_NAME` inside it.

    The file goes when the lock is released, so the folder is left with what was written into it. Where the
    filesystem has no locks (some network filesystems), :meth:`acquire` gives None: nothing can claim the folder.
    """

    def __init__(self, lock) -> None:
        self._lock = lock

    @classmethod
    def acquire(cls, folder: Path, *, wait: bool) -> FolderLock | None:
        """Hold ``folder``'s lock, waiting for it with ``wait``, else raising :class:`FolderInUse` at once.

        ``FileNotFoundError`` if the folder is gone, another ``OSError`` if the lock file cannot be made.
        """
        import filelock  # 30 ms, for the commands that write

        lock = filelock.FileLock(
            folder / LOCK_NAME, timeout=-1 if wait else 0, thread_local=False, fallback_to_soft=False
        )
        try:
            lock.acquire()
        except filelock.Timeout:
            raise FolderInUse(str(folder)) from None
        except OSError as exc:
            if exc.errno in (errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP):
                return None
            raise
        return cls(lock)

    def release(self) -> None:
        import filelock

        if isinstance(self._lock, filelock.UnixFileLock):
            # Removed while still locked: a process that opened the file just before then locks a file no longer in
            # the folder, which filelock does not count as holding it. (Windows' and soft locks remove it themselves.)
            with contextlib.suppress(OSError):
                os.unlink(self._lock.lock_file)
        self._lock.release()
