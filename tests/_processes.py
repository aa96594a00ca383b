"""Child processes that a test interrupts with a real SIGINT, as Ctrl-C does.

A shell starts background jobs with SIGINT ignored, and a child inherits that (``nohup cmd &``, a CI runner
without a terminal), so a Python child would never see the signal. The child gets SIGINT's default back before
it starts, and then Python installs its ``KeyboardInterrupt`` handler as it does at a terminal.
"""

from __future__ import annotations

import signal
import subprocess


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_interruptible(argv: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(argv, **kwargs)`` with SIGINT at its default in the child, whatever this process has."""
    return subprocess.Popen(argv, preexec_fn=_default_sigint, **kwargs)
