"""What the Dask workers of ``test_dask`` run: a module of its own, so that a worker unpickling a task imports
NumPy and npsoftmax, not the test module and everything it imports (dask-ml, pytest)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

import npsoftmax as nps


def load_block(home: str, start: int, rows: int, die_once: str | None = None) -> np.ndarray:
    """Rows ``start:start + rows`` of the real training images as float32 pixels, read by the worker. With
    ``die_once`` (a file that does not exist yet), the worker is killed the first time, as the kernel's
    out-of-memory killer kills it: the block is read again by another worker."""
    if die_once is not None and not Path(die_once).exists():
        Path(die_once).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    images = nps.load_fashion_mnist(home, download=False)[0][start : start + rows]
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
