"""What a command does when a user, a terminal or a scheduler asks it to stop: what Ctrl-C does.

SIGTERM is what ``timeout``, ``docker stop`` and job schedulers send, SIGHUP what a dropped SSH session sends,
SIGQUIT what Ctrl-\\ sends; SIGXCPU, SIGUSR1 and SIGUSR2 are the warnings some schedulers send before killing
a job. Left alone, each of them ends the process at once and without a word. Here each raises
:class:`Interrupted` (a ``KeyboardInterrupt``) in the main thread, so the command keeps its finished work, says
so in one line and exits with 128 + the signal's number, as a shell reports a process killed by it.

This module imports nothing heavy, and importing it in a process started as one of the commands already
installs handlers that end the command in one line (:func:`exit_quietly_while_a_command_starts`): the commands
import it before anything else of theirs, so that a signal arriving while the rest is imported gets that line
too, not a traceback. A program that merely imports the package keeps its own handlers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "TERMINATING",
    "Interrupted",
    "stop_on_signals",
    "held",
    "settle",
    "exit_quietly_while_a_command_starts",
]

TERMINATING = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGXCPU", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)
COMMANDS = ("npsoftmax", "npsoftmax.train", "npsoftmax.sweep", "npsoftmax.download")
SCRIPTS = ("npsoftmax-train", "npsoftmax-sweep", "npsoftmax-download")


class Interrupted(KeyboardInterrupt):
    """A termination signal arrived; ``status`` is the exit status to end with (128 + its number)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def status(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def signal_of(exc: BaseException) -> int:
    """The signal an interruption came from: its own for :class:`Interrupted`, SIGINT for a bare Ctrl-C."""
    return getattr(exc, "signum", signal.SIGINT)


_pending: list[int] = []  # signals that arrived while held, oldest first
_holding = 0
_settled = False  # the command's work is done: it completes whatever arrives


def _raise(signum: int, frame: object) -> None:
    if _settled:
        return
    if _holding:
        _pending.append(signum)
        return
    raise Interrupted(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While the block runs, every signal of :data:`TERMINATING` raises :class:`Interrupted`; the handlers in
    place before are put back afterwards, so a command's ``main()`` called from Python leaves them as they were.
    Outside the main thread (where Python cannot handle signals) the block runs unchanged."""
    if not _in_main_thread():
        yield
        return
    global _settled
    _settled = False  # as settled by a run called from Python, outside this block, before
    previous = {signum: signal.signal(signum, _raise) for signum in TERMINATING}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        _pending.clear()
        _settled = False


def settle() -> None:
    """The command's files are all written: until the block of :func:`stop_on_signals` ends, a termination signal
    changes nothing, and the command completes (its closing lines, exit status 0) rather than reporting an
    interruption of work that is done."""
    global _settled
    _settled = True


@contextlib.contextmanager
def held(deliver: bool = True) -> Iterator[None]:
    """Hold off the signals while the block writes results: a signal arriving meanwhile is raised when the block
    ends, unless the block ends with an exception or ``deliver`` is False (the command is stopping already, and a
    second signal changes nothing)."""
    global _holding
    _holding += 1
    try:
        yield
    except BaseException:
        _pending.clear()  # the block is ending with an exception anyway
        raise
    finally:
        _holding -= 1
    if _pending and not _holding:
        signum = _pending[0]
        _pending.clear()
        if deliver and not _settled:
            raise Interrupted(signum)


def _exit_now(signum: int, frame: object) -> None:
    os.write(2, b"interrupted while starting; nothing was written\n")
    os._exit(128 + signum)


def _starting_command() -> bool:
    """Whether this process was started as one of the package's commands (``python -m npsoftmax.train``, the
    ``npsoftmax-train`` script, ...), rather than by a program that imports the package."""
    if sys.argv and Path(sys.argv[0]).name in SCRIPTS:
        return True
    argv = list(getattr(sys, "orig_argv", ()))[1:]
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "-m":
            return index + 1 < len(argv) and argv[index + 1] in COMMANDS
        if arg.startswith("-m"):
            return arg[2:] in COMMANDS
        if arg == "-c" or not arg.startswith("-"):
            return False  # code or a script of someone else's
        index += 2 if arg in ("-X", "-W") else 1  # these two take a value
    return False


def exit_quietly_while_a_command_starts() -> None:
    """When the process is one of the package's commands, let a termination signal that arrives before the
    command has started (while the imports run) end it with one line and 128 + the signal's number, instead of
    a traceback. A program that merely imports the package keeps its own handlers."""
    if _starting_command() and _in_main_thread():
        for signum in TERMINATING:
            signal.signal(signum, _exit_now)


# On import: the commands import this module before anything heavy, and the package's __init__ first of all.
exit_quietly_while_a_command_starts()
