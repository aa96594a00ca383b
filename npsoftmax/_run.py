"""The one command layer of ``train`` and ``sweep``: what they record about a run, written one way (the settings,
credentials redacted; where the data came from; the JSON record, strict, rewritten as items finish), how a write
that fails is reported (which file, which folder, how much space it needs), how a command stops (what was finished
kept, one line saying what is on disk, the exit status), and the ``main`` both run."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import importlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ._cli import UsageError, claim_output_folder, guarded_output, log_messages_to, program_name, remove_if_empty
from ._io import TEMP_PREFIX, write_atomic
from ._signals import held, settle, signal_of, stop_on_signals
from .data import DataUnavailableError, redact_url

__all__ = [
    "OutputError",
    "Stopped",
    "Record",
    "finite_or_none",
    "write_output",
    "write_json",
    "settings_of",
    "provenance",
    "stop",
    "exit_status",
    "run_command",
    "import_plots",
]

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


class Record:
    """A command's JSON record (``metrics.json``, ``sweep.json``): its ``content``, whose list ``content[items]``
    (the finished epochs or runs) holds exactly what the file on disk holds.

    An item is kept once the file holding it is written: :meth:`add` takes it back when the write fails, and a
    signal waits until the two agree.
    """

    def __init__(self, path: Path, content: dict, items: str) -> None:
        self.path, self.content, self.items = path, content, items

    @property
    def kept(self) -> int:
        return len(self.content[self.items])

    def add(self, item: dict, *, durable: bool = True) -> None:
        with held():
            self.content[self.items].append(item)
            try:
                write_json(self.path, self.content, durable=durable)
            except OutputError:
                self.content[self.items].pop()
                raise

    def write(self, *, durable: bool = True) -> None:
        """Rewrite the file. On a disk too full for a second copy, the file is rewritten in place, compact, when that
        is no longer than the file there: a status left saying "running" would be untrue."""
        try:
            write_json(self.path, self.content, durable=durable)
        except OutputError as exc:
            if exc.errno not in FULL or not self._rewrite_in_place():
                raise

    def _rewrite_in_place(self) -> bool:
        text = json.dumps(finite_or_none(self.content), allow_nan=False, separators=(",", ":")).encode() + b"\n"
        try:
            with open(self.path, "r+b") as file:
                if len(text) > os.fstat(file.fileno()).st_size:
                    return False
                file.write(text)
                file.truncate()
                file.flush()
                os.fsync(file.fileno())
        except OSError:
            return False
        return True


# ---------------------------------------------------------------------------------------------------------
# How a command stops and exits.


class Stopped(Exception):
    """A command that ended without completing (diverged or a write failed: 1, interrupted: 128 + the signal)
    after writing what it had; the message says what was kept."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def interrupted_by(exc: BaseException) -> str:
    """How the one line names an interruption: "interrupted" for Ctrl-C, "interrupted by SIGTERM" for a signal."""
    name = getattr(exc, "name", "SIGINT")
    return "interrupted" if name == "SIGINT" else f"interrupted by {name}"


def files_in(out: Path) -> str:
    """The files in ``out`` (temporaries aside), as the one line lists them."""
    try:
        names = sorted(path.name for path in out.iterdir() if not path.name.startswith(TEMP_PREFIX))
    except OSError:
        names = []
    return ", ".join(names) or "no file"


def stop(exc: BaseException, record: Record, keep: Sequence[tuple[str, Callable[[], object]]], kept: str) -> Stopped:
    """The :class:`Stopped` that ends a command after ``exc`` (an interruption, or a write that failed).

    First what was finished is kept: each ``(file name, write)`` of ``keep`` in order, the record's own among them,
    the record's status saying what happened. A file that just failed to be written is not tried again, but the
    record is (see :meth:`Record.write`). The one line names ``kept`` (e.g. "2 finished epochs") and the files that
    are on disk.
    """
    if isinstance(exc, KeyboardInterrupt):
        head, status = f"{interrupted_by(exc)}: ", 128 + signal_of(exc)
        record.content.update(status="interrupted", signal=getattr(exc, "name", "SIGINT"))
    else:
        head, status = f"{exc}; ", 1
        record.content.update(status="failed", error=str(exc))
    failed = getattr(exc, "path", None)
    failures = []
    with held(deliver=False):
        for name, write in keep:
            if record.path.parent / name == failed and name != record.path.name:
                continue
            try:
                write()
            except OutputError as error:
                failures.append(str(error))
    message = f"{head}kept {kept} ({files_in(record.path.parent)}) in {record.path.parent}"
    return Stopped("; ".join([message, *failures]), status)


def exit_status(
    prog: str,
    exc: BaseException,
    out: Path | None,
    created: bool,
    before: str,
    kept: str = "nothing was written",
) -> int:
    """Say in one line why a command did not complete, and return its exit status.

    ``exc`` is a :class:`UsageError` (2), a :class:`Stopped` (its own status), a ``KeyboardInterrupt`` or a
    termination signal that came ``before`` the command's work was done, having ``kept`` what it says (128 + the
    signal's number; the files in ``out`` are named if there are any), or a runtime failure such as a missing
    data set (1). Unless the command stopped after writing, an ``out`` it created and left empty is removed.
    """
    if isinstance(exc, Stopped):
        print(f"{'error: ' if exc.status == 1 else ''}{redact_url(str(exc))}", file=sys.stderr)
        return exc.status
    remove_if_empty(out, created)
    if isinstance(exc, UsageError):
        print(f"{prog}: error: {redact_url(str(exc))}", file=sys.stderr)
        return 2
    if isinstance(exc, KeyboardInterrupt):
        written = files_in(out) if out is not None and out.is_dir() else "no file"
        kept = kept if written == "no file" else f"kept {written} in {out}"
        print(f"{interrupted_by(exc)} before {before}; {kept}", file=sys.stderr)
        return 128 + signal_of(exc)
    print(f"error: {redact_url(str(exc))}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------------------------------------
# The main of train and sweep.


def import_plots() -> None:
    """Import :mod:`npsoftmax.plots`, and with it matplotlib, holding a signal until the import is done: a
    half-imported matplotlib would fail every picture drawn after it, the kept ones too."""
    with held():
        importlib.import_module("npsoftmax.plots")


class Plan(Protocol):
    """What a command's parsed command line gives :func:`run_command`."""

    out: str | None
    overwrite: bool
    quiet: bool


@contextlib.contextmanager
def pictures_as_files() -> Iterator[None]:
    """matplotlib, imported by the command, draws with Agg whatever ``MPLBACKEND`` says: the pictures are files,
    no window shows them, and a backend matplotlib does not know would fail its import after training."""
    if "matplotlib" in sys.modules:  # imported by the program calling main(): its choice stands
        yield
        return
    saved = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "agg"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved


def run_command(
    module: str,
    argv: Sequence[str] | None,
    parse: Callable[[Sequence[str] | None, str], Plan],
    work: Callable[[Plan, Path], list[str]],
    *,
    outputs: Sequence[str],
    kind: str,
    before: str,
) -> int:
    """A command from start to exit status: ``parse`` the command line, claim the output folder (new or empty,
    under ``<kind>s/<timestamp>`` by default), ``work`` into it (returning the closing lines, printed once the
    folder is released), and end any failure or signal in one line (see :func:`exit_status`)."""
    prog = program_name(module)
    with stop_on_signals(), guarded_output(), pictures_as_files():
        folder = None
        try:
            plan = parse(argv, prog)
            folder = claim_output_folder(
                plan.out, plan.overwrite, outputs=outputs, default_parent=f"{kind}s", kind=kind
            )
            with log_messages_to(sys.stdout, plan.quiet):
                lines = work(plan, folder.path)
        except (UsageError, Stopped, KeyboardInterrupt, DataUnavailableError, OSError) as exc:
            settle()  # what is on disk is final: a second signal would only cut the line that says so
            return exit_status(prog, exc, *(folder[:2] if folder else (None, False)), before=before)
        finally:
            if folder is not None:
                folder.release()
        for line in lines:
            print(line)
    return 0
