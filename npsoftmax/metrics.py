"""Accuracy, the seed's ``Accumulator``, evaluation and the confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from numpy.typing import ArrayLike

from ._blas import one_blas_thread
from .losses import cross_entropy

__all__ = [
    "accuracy",
    "Accumulator",
    "evaluate_accuracy",
    "evaluate_loss_and_accuracy",
    "eval_batches",
    "confusion_matrix",
    "EVAL_BATCH_SIZE",
]

# Evaluation runs in batches this large: a few big GEMMs instead of 40 small ones for the 10k test
# images, while the float32 batch (8192 x 784 x 4 bytes = 26 MB) stays small next to the data.
EVAL_BATCH_SIZE = 8192


def _predicted_labels(y_hat: ArrayLike, n: int) -> np.ndarray:
    y_hat = np.asarray(y_hat)
    if y_hat.ndim == 2:
        if y_hat.shape[0] != n:
            raise ValueError(f"y_hat has {y_hat.shape[0]} rows but y has {n} labels; they must match")
        return y_hat.argmax(axis=1)
    if y_hat.shape != (n,):
        raise ValueError(f"y_hat must be scores (n, k) or labels (n,) with n = {n}, got shape {y_hat.shape}")
    return y_hat


def accuracy(y_hat: ArrayLike, y: ArrayLike) -> int:
    """The number of correct predictions, as in the seed (divide by ``len(y)`` for a rate).

    Parameters
    ----------
    y_hat : array_like of shape (n, k) or (n,)
        Scores or probabilities (the argmax of each row is the prediction), or predicted labels.
    y : array_like of int, shape (n,)
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D labels, got shape {y.shape}")
    return int(np.count_nonzero(_predicted_labels(y_hat, y.shape[0]) == y))


class Accumulator:
    """Running sums over ``n`` variables, as in the seed: ``add(*values)``, ``reset()``, ``metric[i]``."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        if len(args) != len(self.data):
            raise ValueError(f"Accumulator holds {len(self.data)} sums, add() got {len(args)} values")
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=True)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def eval_batches(data_iter: Iterable) -> Iterable:
    """Large batches over the same data when the iterator can make them, else the iterator itself."""
    resize = getattr(data_iter, "with_batch_size", None)
    return resize(EVAL_BATCH_SIZE, shuffle=False) if resize is not None else data_iter


def evaluate_accuracy(net: Callable[[np.ndarray], np.ndarray], data_iter: Iterable) -> float:
    """Fraction of examples in ``data_iter`` that ``net`` (returning scores (n, k)) classifies correctly.

    With npsoftmax's loaders the data is read in batches of :data:`EVAL_BATCH_SIZE` whatever the iterator's
    own batch size; any other iterable of ``(X, y)`` pairs is read as it comes.
    """
    metric = Accumulator(2)
    with one_blas_thread():
        for X, y in eval_batches(data_iter):
            metric.add(accuracy(net(X), y), len(y))
    if metric[1] == 0:
        raise ValueError("data_iter yielded no examples")
    return metric[0] / metric[1]


def evaluate_loss_and_accuracy(net: Callable[[np.ndarray], np.ndarray], data_iter: Iterable) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``net`` (returning logits (n, k)) over ``data_iter``."""
    metric = Accumulator(3)
    with one_blas_thread():
        for X, y in eval_batches(data_iter):
            logits = net(X)
            metric.add(cross_entropy(logits, y, reduction="sum"), accuracy(logits, y), len(y))
    if metric[2] == 0:
        raise ValueError("data_iter yielded no examples")
    return metric[0] / metric[2], metric[1] / metric[2]


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as ``j``, int64 of shape (k, k)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one shape, got {y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes}), got values {y.min()}..{y.max()}")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )
