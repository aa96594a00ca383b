"""The model: ``softmax(X @ W + b)`` with the seed's initialization, ``W ~ N(0, 0.01)``, ``b = 0``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._io import write_atomic
from .losses import _check_problem, _flatten_examples, loss_and_grad, softmax

__all__ = ["SoftmaxRegression"]


class SoftmaxRegression:
    """Softmax regression: logits ``X @ W + b``, probabilities ``softmax(logits)``.

    Parameters
    ----------
    num_inputs : int, default 784
        Features per example (28 * 28 pixels).
    num_outputs : int, default 10
        Classes.
    seed : int or None
        Seed of the ``W ~ N(0, 0.01)`` draw; None draws fresh entropy.
    dtype : float32 or float64, default float32

    Attributes
    ----------
    W : ndarray of shape (num_inputs, num_outputs)
    b : ndarray of shape (num_outputs,)
    """

    def __init__(
        self, num_inputs: int = 784, num_outputs: int = 10, seed: int | None = None, dtype: DTypeLike = np.float32
    ) -> None:
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        for name, value in (("num_inputs", num_inputs), ("num_outputs", num_outputs)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        rng = np.random.default_rng(seed)
        self.W = rng.normal(0.0, 0.01, size=(num_inputs, num_outputs)).astype(dtype)
        self.b = np.zeros(num_outputs, dtype=dtype)

    @property
    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)``, the arrays an optimizer updates in place."""
        return self.W, self.b

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    def forward(self, X: ArrayLike) -> np.ndarray:
        """Logits ``X @ W + b`` of shape (n, num_outputs); ``X`` is (n, d) or images (n, 28, 28) / (n, 1, 28, 28)."""
        X = _flatten_examples(X, self.W.shape[0])
        logits = np.asarray(X, dtype=self.dtype) @ self.W
        logits += self.b
        return logits

    __call__ = forward

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities ``softmax(X @ W + b)``, shape (n, num_outputs), rows summing to 1."""
        return softmax(self.forward(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each example, int64 of shape (n,)."""
        return self.forward(X).argmax(axis=1)

    def loss_and_grad(self, X: ArrayLike, y: ArrayLike, weight_decay: float = 0.0):
        """``(loss, dW, db)`` at the current parameters; see :func:`npsoftmax.loss_and_grad`."""
        return loss_and_grad(X, y, self.W, self.b, weight_decay)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``W`` and ``b`` to an ``.npz`` file atomically (a temporary file, then a rename)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        return write_atomic(path, lambda f: np.savez(f, W=self.W, b=self.b))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SoftmaxRegression:
        """Read a model written by :meth:`save`, checking that its arrays fit together."""
        with np.load(path) as data:
            missing = {"W", "b"} - set(data.files)
            if missing:
                raise ValueError(f"{path} is not a SoftmaxRegression file: missing arrays {sorted(missing)}")
            W, b = data["W"], data["b"]
        if W.ndim != 2 or W.dtype not in (np.float32, np.float64):
            raise ValueError(f"{path}: W must be a 2-D float32/float64 array, got {W.dtype} {W.shape}")
        _check_problem(np.zeros((1, W.shape[0]), W.dtype), np.zeros(1, np.int64), W, b)
        model = cls.__new__(cls)
        model.W, model.b = W, b.astype(W.dtype)
        return model

    def __repr__(self) -> str:
        d, k = self.W.shape
        return f"SoftmaxRegression(num_inputs={d}, num_outputs={k}, dtype={self.dtype.name})"
