"""A run's pictures drawn in a second process, which imports matplotlib while the run trains.

Importing matplotlib takes about a third of a second and the pictures about as much again as training on the
default run; neither needs to wait for the other. :func:`painter` starts ``python -m npsoftmax._painter`` at the
start of the run; it imports :mod:`npsoftmax.plots` on the other core, then waits for the run's numbers. Given
them, it forks once (it is single-threaded then: one BLAS thread, no thread pool) and both processes draw,
each taking the next picture in turn, so the run's own process never imports matplotlib. The PNG bytes come back
to the run, which writes every file itself, in order, atomically, and reports a failed write as it always does.

The same numbers give the same bytes both ways (same matplotlib, same code). A picture the second process could
not draw, for whatever reason, is drawn by the run itself, which then raises any error the drawing raises.

Teardown: the drawing processes form their own process group (a terminal's Ctrl-C reaches the run only), which
the run ends when it leaves :func:`painter`: after its pictures, on an exception, on Ctrl-C or a termination
signal. If the run is killed outright (SIGKILL), they see the end of their input and exit: at once when
waiting, after the picture in hand (a fraction of a second) when drawing; they never write a file.

``NPSOFTMAX_BACKGROUND_PICTURES=0`` turns this off: the run draws every picture itself, as a program without
``os.fork`` (Windows) always does.
"""

from __future__ import annotations

import contextlib
import importlib
import mmap
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import BinaryIO, NamedTuple

import numpy as np

from ._signals import held

__all__ = ["SWITCH", "Picture", "Painter", "background_pictures", "painter", "render"]

SWITCH = "NPSOFTMAX_BACKGROUND_PICTURES"
# No BLAS thread pool in the drawing process, so that it holds a single thread when it forks.
ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


class Picture(NamedTuple):
    """A picture as data: ``function`` (``"module.name"``, e.g. ``"npsoftmax.plots.plot_confusion"``) returns a
    :class:`npsoftmax.plots.Figure` from ``args`` and ``kwargs``, all of them picklable."""

    function: str
    args: tuple = ()
    kwargs: Mapping = {}


def draw(picture: Picture) -> bytes:
    """``picture`` drawn, as PNG bytes."""
    module, name = picture.function.rsplit(".", 1)
    with held():  # a signal waits for the import: a half-imported matplotlib would fail every picture after it
        function = getattr(importlib.import_module(module), name)
    return function(*picture.args, **picture.kwargs).to_png()


def background_pictures() -> bool:
    """Whether runs draw their pictures in a second process: ``NPSOFTMAX_BACKGROUND_PICTURES`` is 1 (the default,
    where ``os.fork`` exists) or 0.

    Raises
    ------
    ValueError
        The variable set to anything but 0 or 1.
    """
    value = os.environ.get(SWITCH, "1").strip()
    if value not in ("0", "1"):
        raise ValueError(f"{SWITCH}={value!r}: use 1 (draw the pictures in a second process, the default) or 0")
    return value == "1" and hasattr(os, "fork")


class _Pickler(pickle.Pickler):
    """Pickles an array that maps a whole file read-only (the loader's test images) as the file's name and layout:
    the second process maps the file itself, and 7.8 MB cross no pipe."""

    def reducer_override(self, obj):
        if isinstance(obj, np.memmap) and isinstance(obj.base, mmap.mmap) and obj.mode == "r":  # not a view
            order = "C" if obj.flags.c_contiguous else "F"
            return np.memmap, (obj.filename, obj.dtype, "r", obj.offset, obj.shape, order)
        return NotImplemented


class Painter:
    """The second process, started at once; :meth:`paint` hands it the pictures, :meth:`close` ends it."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=os.environ | ONE_THREAD,
            start_new_session=True,  # its own process group: Ctrl-C is the run's to handle, and close() ends both
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def paint(self, pictures: Mapping[str, Picture]) -> dict[str, bytes]:
        """The PNG bytes of those ``pictures`` that the second process drew (all of them unless it failed)."""
        try:
            with self._process.stdin as stdin:
                _Pickler(stdin, protocol=pickle.HIGHEST_PROTOCOL).dump(dict(pictures))
            drawn = pickle.load(self._process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):  # it died: the run draws the pictures itself
            return {}
        return drawn  # not waiting for it to exit: close() reaps it

    def close(self) -> None:
        """End the second process and the one it forked, unless they are done, and reap it."""
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            pipe.close()


@contextlib.contextmanager
def painter(enabled: bool) -> Iterator[Painter | None]:
    """A :class:`Painter` for the block when ``enabled`` (and a process can be started), else None; it is gone
    when the block ends, however it ends."""
    try:
        started = Painter() if enabled else None
    except OSError:  # no process to be had: the run draws its pictures itself
        started = None
    try:
        yield started
    finally:
        if started is not None:
            started.close()


def render(pictures: Mapping[str, Picture], painter: Painter | None) -> Iterator[tuple[str, bytes]]:
    """Each of ``pictures`` as ``(name, PNG bytes)``, in order: from ``painter`` when it has drawn it, else drawn
    here."""
    drawn = painter.paint(pictures) if painter is not None else {}
    for name, picture in pictures.items():
        yield name, drawn[name] if name in drawn else draw(picture)


# ---------------------------------------------------------------------------------------------------------
# The second process.


def _draw_claimed(queue: int, pictures: Mapping[str, Picture]) -> dict[str, bytes]:
    """Draw the pictures whose indices this process reads from the pipe ``queue``, one byte each: a pipe's small
    reads are atomic, so two processes reading it share the pictures out as each becomes free."""
    names, drawn = list(pictures), {}
    while claimed := os.read(queue, 1):
        name = names[claimed[0]]
        with contextlib.suppress(Exception):  # the run draws it again itself and meets the error there
            drawn[name] = draw(pictures[name])
    return drawn


def _draw_on_two_cores(pictures: Mapping[str, Picture]) -> dict[str, bytes]:
    queue, claims = os.pipe()
    os.write(claims, bytes(range(len(pictures))))  # at most 255 pictures, far below a pipe's buffer
    os.close(claims)
    results, sent = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(results)
            with os.fdopen(sent, "wb") as out:
                pickle.dump(_draw_claimed(queue, pictures), out, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)  # flushed and closed above; the forked copy must not run its parent's exit code
    os.close(sent)
    drawn = _draw_claimed(queue, pictures)
    with os.fdopen(results, "rb") as theirs, contextlib.suppress(EOFError, pickle.UnpicklingError):
        drawn |= pickle.load(theirs)
    os.waitpid(pid, 0)
    return drawn


def _serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Import the plotting stack, then draw the pictures read from ``stdin`` and write their PNGs to ``stdout``."""
    # A first picture loads the fonts and fills matplotlib's caches: about 0.07 s that the run need not wait for,
    # paid once before the fork rather than by each drawing process.
    draw(Picture("npsoftmax.plots.plot_confusion", (np.eye(2, dtype=int), ["a", "b"])))
    try:
        pictures = pickle.load(stdin)
    except EOFError:  # the run ended before its pictures
        return
    pickle.dump(_draw_on_two_cores(pictures), stdout, protocol=pickle.HIGHEST_PROTOCOL)
    stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
    # Done, its output flushed: the tenth of a second an interpreter with matplotlib takes to tear down is
    # nobody's to wait for.
    os._exit(0)
