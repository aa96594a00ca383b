"""What the command tests share: a command's ``main`` run in this process, as ``python -m`` runs it, and the
synthetic data set up for the runs that a module's tests share."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from unittest import mock

import pytest

from npsoftmax import data


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


@contextlib.contextmanager
def synthetic_env(synthetic_files, home: Path) -> Iterator[Path]:
    """What the ``synthetic_data`` fixture sets up for a test, for a module's shared runs: the synthetic files
    pinned in place of the real ones, ``NPSOFTMAX_MIRRORS`` set to their folder, ``NPSOFTMAX_DATA`` to ``home``."""
    folder, dataset = synthetic_files
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(vars(data.FASHION_MNIST), "files", dataset.files)
        patch.setenv("NPSOFTMAX_MIRRORS", str(folder))
        patch.setenv("NPSOFTMAX_DATA", str(home))
        yield folder
