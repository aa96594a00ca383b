"""What the command tests share: a command's ``main`` run in this process, as ``python -m`` runs it."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Sequence
from unittest import mock


def exit_of(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> tuple[int, str, str]:
    """``(status, stdout, stderr)`` of ``main(argv)``, as ``python -m`` would exit with them: ``sys.argv[0]`` is the
    module's file, and argparse's usage errors and ``--help`` exit through ``SystemExit``. Anything else raised is
    raised, where a process would print a traceback."""
    stdout, stderr = io.StringIO(), io.StringIO()
    module_file = sys.modules[main.__module__].__file__
    with mock.patch.object(sys, "argv", [module_file]):
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(list(argv))
            except SystemExit as stopped:
                status = stopped.code
    return status, stdout.getvalue(), stderr.getvalue()
