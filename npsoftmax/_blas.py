"""One BLAS thread for the small GEMMs of training and evaluation."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block's matrix products on one BLAS thread.

    A batch's GEMMs are small (256 x 784 x 10). On an idle machine two threads are barely faster, but they
    stall waiting for each other whenever another process holds the second core (an epoch then takes
    seconds instead of a tenth of one), and after a two-thread call the idle BLAS thread spins on the other
    core for about 0.1 s, slowing whatever comes next.
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield
