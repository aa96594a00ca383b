"""Softmax, log-softmax, cross-entropy and the hand-derived gradient of softmax regression.

Each forward computation sits next to the backward computation that differentiates it, so the gradient
``softmax(Z) - onehot(y)`` can be read right under the cross-entropy it comes from.

Public functions check their inputs once (shapes, dtypes, label range, finiteness) and raise ``ValueError``
with a message that names the problem. The training loop calls the unchecked kernel
:func:`_loss_and_grad_into` through :class:`SoftmaxCrossEntropy`, whose inputs come from a loader that has
already been validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "cross_entropy_grad",
    "loss_and_grad",
    "SoftmaxCrossEntropy",
]

Reduction = Literal["mean", "sum", "none"]


def _as_float_array(Z: ArrayLike) -> np.ndarray:
    """Return ``Z`` as a floating array; integers and booleans become float64."""
    Z = np.asarray(Z)
    if not np.issubdtype(Z.dtype, np.floating):
        Z = Z.astype(np.float64)
    return Z


def _row_max(Z: np.ndarray, axis: int) -> np.ndarray:
    """The max along ``axis`` (kept as a size-1 axis), with non-finite maxima replaced by 0.

    Subtracting the max keeps every ``exp`` argument <= 0, so nothing overflows. A row whose max is
    ``-inf`` (every entry masked out) or ``+inf`` would turn the shift itself into ``inf - inf = nan``;
    shifting such a row by 0 instead lets ``exp`` give the IEEE answer.
    """
    m = np.max(Z, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0).astype(Z.dtype, copy=False)


def log_softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Numerically stable ``log(softmax(Z))`` by the log-sum-exp trick.

    Parameters
    ----------
    Z : array_like of shape (..., k)
        Logits. Floating arrays keep their dtype (float32 stays float32); integers become float64.
    axis : int, default -1
        The axis along which the probabilities sum to one.

    Returns
    -------
    ndarray of the same shape and floating dtype as ``Z``

    Notes
    -----
    ``log softmax(z)_j = z_j - log sum_i exp(z_i) = (z_j - m) - log sum_i exp(z_i - m)`` for any ``m``.
    With ``m = max_i z_i`` every ``exp`` argument is <= 0 and the sum is >= 1, so neither ``exp`` nor
    ``log`` can overflow or meet 0. Finite for logits anywhere in float32's and float64's range.
    """
    Z = _as_float_array(Z)
    shifted = Z - _row_max(Z, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: ``exp(Z - max) / sum(exp(Z - max))`` along ``axis``.

    The seed's ``exp(X) / exp(X).sum(1, keepdim=True)`` returns ``inf / inf = nan`` once a float32 logit
    passes about 88.7 (``log`` of float32's largest value); subtracting the row max first changes nothing
    mathematically and keeps every ``exp`` argument <= 0.

    Parameters
    ----------
    Z : array_like of shape (..., k)
        Logits. Floating arrays keep their dtype; integers become float64.
    axis : int, default -1
        The axis along which the result sums to one.

    Returns
    -------
    ndarray of the same shape and floating dtype as ``Z``, entries in [0, 1], summing to 1 along ``axis``.
    """
    Z = _as_float_array(Z)
    E = np.exp(Z - _row_max(Z, axis))
    E /= np.sum(E, axis=axis, keepdims=True)
    return E


# --------------------------------------------------------------------------------------------------------
# Input checks, shared by every public entry point that takes logits or a data matrix and labels.


def _check_finite(name: str, a: np.ndarray) -> None:
    if not np.all(np.isfinite(a)):
        n_bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); clean the input first")


def _check_labels(y: ArrayLike, n: int, k: int) -> np.ndarray:
    """Return ``y`` as an integer array of shape (n,), checking dtype, shape and range [0, k)."""
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels y must be an integer array, got dtype {y.dtype}; use y.astype(int)")
    if y.ndim != 1:
        raise ValueError(f"labels y must be 1-D of shape ({n},), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"labels y has {y.shape[0]} entries but there are {n} examples (rows); they must match")
    if n and (y.min() < 0 or y.max() >= k):
        bad = y[(y < 0) | (y >= k)]
        raise ValueError(
            f"labels must lie in [0, {k}) for {k} classes; got {bad.size} outside, e.g. {bad[0]} "
            f"(min {y.min()}, max {y.max()})"
        )
    return y


def _check_logits(logits: ArrayLike) -> np.ndarray:
    logits = _as_float_array(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D of shape (n_examples, n_classes), got shape {logits.shape}")
    if logits.shape[1] < 1:
        raise ValueError("logits must have at least one class (column)")
    _check_finite("logits", logits)
    return logits


def _flatten_examples(X: ArrayLike, n_features: int) -> np.ndarray:
    """Reshape ``X`` of shape (n, d), (n, h, w) or (n, c, h, w) to (n, d), like the seed's ``X.reshape((-1, d))``."""
    X = np.asarray(X)
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            f"X must be (n, d), (n, height, width) or (n, channels, height, width); got shape {X.shape}"
        )
    X2 = X.reshape(X.shape[0], int(np.prod(X.shape[1:])))
    if X2.shape[1] != n_features:
        raise ValueError(
            f"X has {X2.shape[1]} features per example (shape {X.shape}) but W has {n_features} rows; "
            f"W must be (n_features, n_classes)"
        )
    return X2


def _check_problem(
    X: ArrayLike, y: ArrayLike, W: ArrayLike, b: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a softmax-regression problem and return ``(X2d, y, W, b)`` in one common floating dtype."""
    W = np.asarray(W)
    b = np.asarray(b)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D of shape (n_features, n_classes), got shape {W.shape}")
    d, k = W.shape
    if b.shape != (k,):
        raise ValueError(f"b must have shape ({k},) to match W of shape {W.shape}, got shape {b.shape}")
    X = _flatten_examples(X, d)
    if X.shape[0] == 0:
        raise ValueError("X holds no examples (0 rows); a loss needs at least one")
    y = _check_labels(y, X.shape[0], k)
    dtype = np.result_type(X.dtype, W.dtype, b.dtype, np.float32)
    X, W, b = (np.asarray(a, dtype=dtype) for a in (X, W, b))
    for name, a in (("X", X), ("W", W), ("b", b)):
        _check_finite(name, a)
    return X, y, W, b


def _check_weight_decay(weight_decay: float) -> float:
    weight_decay = float(weight_decay)
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
    return weight_decay


# --------------------------------------------------------------------------------------------------------
# Cross-entropy on logits, and its gradient with respect to the logits.


def cross_entropy(logits: ArrayLike, y: ArrayLike, reduction: Reduction = "mean"):
    """Cross-entropy of ``softmax(logits)`` against integer labels, computed through log-softmax.

    ``-log softmax(z)_y = log sum_j exp(z_j) - z_y``: taken from the logits directly, never as
    ``log(softmax(z))``, so a tiny probability never becomes ``log(0) = -inf``.

    Parameters
    ----------
    logits : array_like of shape (n, k)
        Unnormalized scores. Pass ``np.log(p)`` to score given probabilities ``p``.
    y : array_like of int, shape (n,)
        True classes in ``[0, k)``.
    reduction : {"mean", "sum", "none"}, default "mean"
        "none" gives the per-example losses, shape (n,).

    Returns
    -------
    scalar of the logits' floating dtype ("mean", "sum"), or ndarray of shape (n,) ("none"); every value >= 0.

    Raises
    ------
    ValueError
        Bad shapes, a non-integer label array, a label outside ``[0, k)``, NaN or infinite logits,
        an unknown ``reduction``.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    logits = _check_logits(logits)
    y = _check_labels(y, logits.shape[0], logits.shape[1])
    losses = -log_softmax(logits)[np.arange(len(y)), y]
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if len(y) == 0:
        raise ValueError("the mean cross-entropy of 0 examples is undefined; use reduction='sum'")
    return losses.mean()


def cross_entropy_grad(logits: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Gradient of the mean cross-entropy with respect to the logits: ``(softmax(Z) - onehot(y)) / n``.

    Parameters
    ----------
    logits : array_like of shape (n, k)
    y : array_like of int, shape (n,)

    Returns
    -------
    ndarray of shape (n, k), the logits' floating dtype. Each row sums to 0 (before the 1/n factor, the
    predicted probabilities minus the one-hot target). See :func:`loss_and_grad` for the derivation.
    """
    logits = _check_logits(logits)
    y = _check_labels(y, logits.shape[0], logits.shape[1])
    if len(y) == 0:
        raise ValueError("the gradient of a mean over 0 examples is undefined")
    G = softmax(logits)
    G[np.arange(len(y)), y] -= 1
    G /= len(y)
    return G


# --------------------------------------------------------------------------------------------------------
# The model's loss and its gradient with respect to the parameters.


def _loss_and_grad_into(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    weight_decay: float,
    Z: np.ndarray,
    dW: np.ndarray,
    db: np.ndarray,
) -> tuple[float, int]:
    """The unchecked kernel behind :func:`loss_and_grad`: writes ``dW``, ``db`` in place.

    ``X`` (n, d), ``W`` (d, k), ``b`` (k,), ``Z`` (>= n, k) scratch, ``dW`` (d, k), ``db`` (k,), all of one
    floating dtype; ``y`` int (n,) in ``[0, k)``. Returns ``(mean loss, number of correct argmax predictions)``.
    Apart from the two GEMMs every step works on the (n, k) logits in place, so a batch allocates
    nothing of size n * d.
    """
    n = X.shape[0]
    Z = np.matmul(X, W, out=Z[:n])
    Z += b
    n_correct = int(np.count_nonzero(Z.argmax(axis=1) == y))
    rows = np.arange(n)
    Z -= Z.max(axis=1, keepdims=True)
    true_logit_sum = Z[rows, y].sum(dtype=np.float64)
    np.exp(Z, out=Z)
    sum_exp = Z.sum(axis=1, keepdims=True)
    loss = (np.log(sum_exp).sum(dtype=np.float64) - true_logit_sum) / n
    Z /= sum_exp  # Z now holds softmax probabilities
    Z[rows, y] -= 1
    Z *= Z.dtype.type(1.0 / n)  # G = dLoss/dZ = (softmax - onehot) / n
    np.matmul(X.T, Z, out=dW)
    np.sum(Z, axis=0, out=db)
    if weight_decay:
        loss += 0.5 * weight_decay * float(np.vdot(W, W))
        dW += W.dtype.type(weight_decay) * W
    return loss, n_correct


def loss_and_grad(
    X: ArrayLike,
    y: ArrayLike,
    W: ArrayLike,
    b: ArrayLike,
    weight_decay: float = 0.0,
) -> tuple[np.floating, np.ndarray, np.ndarray]:
    r"""Mean cross-entropy of ``softmax(X @ W + b)`` plus ``weight_decay / 2 * ||W||^2``, and its gradient.

    Parameters
    ----------
    X : array_like of shape (n, d), (n, 28, 28) or (n, 1, 28, 28)
        Examples; images are flattened to (n, d) like the seed's ``X.reshape((-1, W.shape[0]))``.
    y : array_like of int, shape (n,)
        True classes in ``[0, k)``.
    W : array_like of shape (d, k)
    b : array_like of shape (k,)
    weight_decay : float, default 0.0
        L2 penalty strength, >= 0.

    Returns
    -------
    loss : floating scalar
    dW : ndarray of shape (d, k)
    db : ndarray of shape (k,)
        All three in the common floating dtype of the inputs (float32 in, float32 out).

    Raises
    ------
    ValueError
        Shapes of X, W, b, y that do not fit, a non-integer label array, a label outside ``[0, k)``,
        NaN or infinity in X, W or b, a negative or non-finite ``weight_decay``.

    Notes
    -----
    For one example with logits ``z = W^T x + b``, probabilities ``p = softmax(z)`` and label ``y``, the loss
    is ``l = -log p_y = log sum_j exp(z_j) - z_y``. Differentiating term by term:

    .. math::

        \frac{\partial l}{\partial z_j} = \frac{\exp(z_j)}{\sum_i \exp(z_i)} - [j = y] = p_j - \mathrm{onehot}(y)_j.

    Stacking the rows, ``G = dL/dZ = (P - onehot(y)) / n`` for the mean over ``n`` examples. Since
    ``Z = X W + 1 b^T`` is linear in the parameters, the chain rule gives

        ``dW = X^T G = X^T (P - onehot(y)) / n``  and  ``db = 1^T G = mean over rows of (P - onehot(y))``,

    and the penalty adds ``weight_decay * W`` to ``dW``. No one-hot matrix is built: 1 is subtracted from
    ``P`` at each row's label position. The loss itself uses log-sum-exp (see :func:`log_softmax`).
    """
    weight_decay = _check_weight_decay(weight_decay)
    X, y, W, b = _check_problem(X, y, W, b)
    Z = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
    dW = np.empty_like(W)
    db = np.empty_like(b)
    loss, _ = _loss_and_grad_into(X, y, W, b, weight_decay, Z, dW, db)
    return W.dtype.type(loss), dW, db


@dataclass
class SoftmaxCrossEntropy:
    """:func:`loss_and_grad` for a training loop: the same kernel, with buffers reused from batch to batch.

    ``loss(X, y, W, b)`` returns ``(mean_loss, n_correct, dW, db)``: ``n_correct`` is the number of rows
    whose largest logit is at the label, a by-product of the forward pass that spares a second one for the
    training accuracy. ``dW`` and ``db`` are buffers owned by this object and overwritten by the next call.
    Inputs are trusted (a loader that has already been validated feeds them); use :func:`loss_and_grad`
    for checked, freshly allocated results.

    Parameters
    ----------
    weight_decay : float, default 0.0
        L2 penalty strength, >= 0.
    """

    weight_decay: float = 0.0
    _buffers: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.weight_decay = _check_weight_decay(self.weight_decay)

    def __call__(
        self, X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray
    ) -> tuple[float, int, np.ndarray, np.ndarray]:
        X = X.reshape(X.shape[0], -1)
        key = (W.shape, W.dtype)
        if key not in self._buffers or self._buffers[key][0].shape[0] < X.shape[0]:
            self._buffers[key] = (
                np.empty((X.shape[0], W.shape[1]), W.dtype),
                np.empty_like(W),
                np.empty_like(b),
            )
        Z, dW, db = self._buffers[key]
        loss, n_correct = _loss_and_grad_into(X, y, W, b, self.weight_decay, Z, dW, db)
        return loss, n_correct, dW, db
