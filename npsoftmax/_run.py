"""What ``train`` and ``sweep`` record about a run, written one way: the settings (credentials redacted), where the
data came from, and the JSON file itself (strict JSON, a missing number is null), plus how a write that fails is
reported: which file, which folder, how much space it needs."""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ._io import write_atomic
from .data import redact_url

__all__ = ["OutputError", "finite_or_none", "write_output", "write_json", "settings_of", "provenance"]

FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


class OutputError(OSError):
    """A result could not be written; the message names the file, the folder and, on a full disk, the space
    needed and free."""

    def __init__(self, message: str, errno_: int | None, path: Path) -> None:
        super().__init__(message)
        self.errno, self.path = errno_, path


def _size(n_bytes: float) -> str:
    if n_bytes < 1000:
        return f"{n_bytes:.0f} B"
    for unit in ("KB", "MB", "GB"):
        n_bytes /= 1000
        if n_bytes < 1000 or unit == "GB":
            break
    return f"{n_bytes:.1f} {unit}"


def _free_space(folder: Path) -> int | None:
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return None
    return stats.f_bavail * stats.f_frsize


def output_error(exc: OSError, path: Path, needed: int | None, exact: bool = True) -> OutputError:
    """``exc``, raised writing ``path``, as one line saying what to do; ``needed`` is the file's size if known
    (``exact`` False: an estimate)."""
    what = f"cannot write {path.name} in {path.parent}: {exc.strerror or exc}"
    if exc.errno not in FULL:
        return OutputError(f"{what}; choose another folder", exc.errno, path)
    space = [f"it needs {'' if exact else 'about '}{_size(needed)}"] if needed else []
    free = _free_space(path.parent)
    space += [f"{_size(free)} free"] if free is not None else []
    advice = "free some space there or choose another folder"
    return OutputError(f"{what} ({', '.join(space)}); {advice}", exc.errno, path)


def write_output(
    path: Path, content: bytes | Callable[[BinaryIO], Any], *, durable: bool = True, size: int | None = None
) -> Path:
    """Write ``content`` (bytes, or a function writing into a file) atomically to ``path``, raising
    :class:`OutputError` when it cannot be written; ``size`` estimates a function's output for the message."""
    write = content if callable(content) else (lambda f: f.write(content))
    try:
        return write_atomic(path, write, durable=durable)
    except OutputError:
        raise
    except OSError as exc:
        exact = isinstance(content, bytes)
        raise output_error(exc, path, len(content) if exact else size, exact) from exc


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, through dicts, lists and tuples."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def write_json(path: Path, payload: dict, *, durable: bool = True) -> None:
    """``payload`` as strict JSON (a number that is not finite becomes null), atomically."""
    text = json.dumps(finite_or_none(payload), indent=2, allow_nan=False) + "\n"
    write_output(path, text.encode(), durable=durable)


def settings_of(config: Any, out: Path, drop: Iterable[str] = ()) -> dict:
    """A run's settings as recorded: the dataclass ``config``'s fields but ``drop``, credentials in mirror URLs
    redacted, ``out`` the folder actually written."""
    settings = dataclasses.asdict(config) | {"mirror": [redact_url(str(m)) for m in config.mirror], "out": str(out)}
    for name in drop:
        settings.pop(name)
    return settings


def provenance(setup: Any) -> dict:
    """Where a run's data came from (credentials redacted) and how many examples each split held; ``setup`` is a
    :class:`npsoftmax.train.Setup`."""
    data = {"source": redact_url(setup.source), "n_train": setup.train_iter.num_examples}
    if setup.val_iter is not None:
        data["n_val"] = setup.val_iter.num_examples
    data["n_test"] = setup.test_iter.num_examples
    return data
