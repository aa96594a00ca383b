"""Helpers of the unit tests: one thread for the oracles' small products."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from threadpoolctl import threadpool_limits


def one_thread() -> Iterator[None]:
    """PyTorch and BLAS on one thread while a module's tests run, their thread counts put back after.

    The tests' products are small (a few hundred rows), so a second thread only spins: on two cores, beside a
    second pytest worker, it doubled the CPU time of the autograd oracles and bought no wall time. Every
    comparison is a tolerance that holds for any kernel and thread count, so none depends on this. Use it as
    ``one_thread = pytest.fixture(scope="module", autouse=True)(_units.one_thread)``.
    """
    torch = sys.modules.get("torch")  # set only where the module imported it: this imports nothing
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
