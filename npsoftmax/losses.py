"""Softmax, log-softmax, cross-entropy, and the one home of the backward pass: :func:`loss_and_grad`.

:func:`loss_and_grad` is the whole model in one function, written like micrograd: a forward block (``logits``,
``log_probs``, ``loss``) and, under it, the backward block that differentiates it by hand (``dlogits``,
``dW``, ``db``), with the derivation in its docstring. The training loop calls the same function with
``check_input=False`` (scikit-learn's idiom): one computation, checked at the public boundary only.

Every function here checks its inputs through :mod:`npsoftmax.validation` and raises ``ValueError`` naming
the problem, or ``TypeError`` for complex or non-numeric arrays. Integers and booleans are computed in float64,
float16 in float32 (its range ends at 65504, so ``exp`` would overflow on modest logits); float32 and float64
keep their dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .validation import (
    check_problem,
    check_reduction,
    check_scalar,
    check_scores,
    check_softmax_input,
)

__all__ = [
    "softmax",
    "log_softmax",
    "naive_softmax",
    "cross_entropy",
    "naive_cross_entropy",
    "loss_and_grad",
    "CrossEntropyLoss",
]

Reduction = Literal["mean", "sum", "none"]


# --------------------------------------------------------------------------------------------------------
# Softmax and log-softmax, stable, and d2l's naive softmax beside them.


def _row_max(Z: np.ndarray, axis: int) -> np.ndarray:
    """The max along ``axis`` (kept as a size-1 axis), with non-finite maxima replaced by 0.

    Subtracting the max keeps every ``exp`` argument <= 0, so nothing overflows. A row whose max is
    ``-inf`` or ``+inf`` would turn the shift itself into ``inf - inf = nan``; shifting such a row by 0
    lets ``exp`` give the IEEE answer instead.
    """
    m = Z.max(axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0).astype(Z.dtype, copy=False)
    return m


def log_softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Numerically stable ``log(softmax(Z))`` by the log-sum-exp trick.

    Parameters
    ----------
    Z : array_like of shape (..., k)
        Logits, real. float32/float64 keep their dtype, float16 is computed in float32, integers in float64.
    axis : int, default -1
        The axis along which the probabilities sum to one.

    Returns
    -------
    ndarray of the same shape as ``Z``

    Notes
    -----
    ``log softmax(z)_j = z_j - log sum_i exp(z_i) = (z_j - m) - log sum_i exp(z_i - m)`` for any ``m``.
    With ``m = max_i z_i`` every ``exp`` argument is <= 0 and the sum is in [1, k], so neither ``exp`` nor
    ``log`` overflows or meets 0: every entry is exact to a few ulps of the logits, and finite whenever
    ``z_j - m`` is (the only ``-inf`` is a log-probability below the dtype's range, e.g. float32 logits
    ``[3e38, -3e38]``, whose true value -6e38 is not a float32).
    """
    Z, axis = check_softmax_input(Z, axis)
    return _log_softmax(Z, axis)


def _log_softmax(Z: np.ndarray, axis: int) -> np.ndarray:
    """:func:`log_softmax` of a checked float array."""
    with np.errstate(over="ignore"):  # a difference below the dtype's range rounds to -inf, as it should
        shifted = Z - _row_max(Z, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: ``exp(Z - max) / sum(exp(Z - max))`` along ``axis``.

    d2l's ``exp(X) / exp(X).sum(1, keepdim=True)`` (:func:`naive_softmax`) returns ``inf / inf = nan``
    once a float32 logit passes about 88.7; subtracting the row max first changes nothing mathematically and
    keeps every ``exp`` argument <= 0.

    Parameters
    ----------
    Z : array_like of shape (..., k)
        Logits, real; dtypes as in :func:`log_softmax`.
    axis : int, default -1

    Returns
    -------
    ndarray of the same shape as ``Z``, entries in [0, 1], summing to 1 along ``axis``.
    """
    Z, axis = check_softmax_input(Z, axis)
    E = np.exp(Z - _row_max(Z, axis))
    E /= np.sum(E, axis=axis, keepdims=True)
    return E


def naive_softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """d2l's softmax, ``exp(Z) / exp(Z).sum()``, kept to show where it breaks; use :func:`softmax`.

    In float32 ``exp`` overflows to ``inf`` past 88.7 and the row becomes ``inf / inf = nan``; a row whose
    logits are all below about -103 underflows to ``0 / 0 = nan``. Overflow warnings are silenced: the NaN is
    the lesson.
    """
    Z, axis = check_softmax_input(Z, axis)
    with np.errstate(over="ignore", invalid="ignore"):
        X_exp = np.exp(Z)
        return X_exp / X_exp.sum(axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------------------------
# Cross-entropy: on logits (stable), and d2l's on probabilities (naive).


def cross_entropy(logits: ArrayLike, y: ArrayLike, reduction: Reduction = "mean", *, check_input: bool = True):
    """Cross-entropy of ``softmax(logits)`` against integer labels, computed through log-softmax.

    ``-log softmax(z)_y = log sum_j exp(z_j) - z_y``: taken from the logits directly, never as
    ``log(softmax(z))``, so a tiny probability never becomes ``log(0) = -inf``. Passed as the ``loss`` of
    :func:`npsoftmax.train_epoch_ch3`, it trains with its gradient from :func:`loss_and_grad`.

    Parameters
    ----------
    logits : array_like of shape (n, k)
        Unnormalized scores. Pass ``np.log(p)`` to score given probabilities ``p``.
    y : array_like of int, shape (n,)
        True classes in ``[0, k)``.
    reduction : {"mean", "sum", "none"}, default "mean"
        "none" gives the per-example losses, shape (n,).
    check_input : bool, default True
        Validate and convert the inputs, as :func:`loss_and_grad`'s flag: a caller whose logits are a float
        array (n, k) and whose labels are int in range by construction passes False. Unchecked, NaN or
        infinite logits give a NaN or infinite loss instead of ``ValueError``.

    Returns
    -------
    scalar of the logits' floating dtype ("mean", "sum"), or ndarray of shape (n,) ("none"); every value >= 0.

    Raises
    ------
    ValueError
        Bad shapes, a non-integer label array, a label outside ``[0, k)``, NaN or infinite logits, an unknown
        ``reduction``, the mean of no examples.
    TypeError
        Complex or non-numeric logits.
    """
    if check_input:
        logits, y = check_scores("logits", logits, y)
        check_reduction(reduction, len(y))
    losses = -_log_softmax(logits, -1)[np.arange(len(y)), y]
    return _reduce(losses, reduction)


def naive_cross_entropy(y_hat: ArrayLike, y: ArrayLike, reduction: Reduction = "mean"):
    """d2l's ``-log(y_hat[range(n), y])`` on probabilities ``y_hat``; kept to show where it breaks.

    A probability that underflowed to 0 gives ``inf``, a NaN probability gives NaN. Passed as the ``loss`` of
    :func:`npsoftmax.train_epoch_ch3`, training computes ``y_hat`` with :func:`naive_softmax`, and the
    gradient is the same hand-derived one, so the run breaks exactly where these formulas do.
    """
    y_hat, y = check_scores("y_hat", y_hat, y, finite=False)
    check_reduction(reduction, len(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = -np.log(y_hat[np.arange(len(y)), y])
    return _reduce(losses, reduction)


def _reduce(losses: np.ndarray, reduction: Reduction):
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


# --------------------------------------------------------------------------------------------------------
# The model's loss and its gradient: the one home of the backward pass.


def loss_and_grad(
    X: ArrayLike,
    y: ArrayLike,
    W: ArrayLike,
    b: ArrayLike,
    weight_decay: float = 0.0,
    *,
    naive: bool = False,
    check_input: bool = True,
    return_logits: bool = False,
):
    r"""Mean cross-entropy of ``softmax(X @ W + b)`` plus ``weight_decay / 2 * ||W||^2``, and its gradient.

    Parameters
    ----------
    X : array_like of shape (n, d), (n, 28, 28) or (n, 1, 28, 28)
        Examples; images are flattened to (n, d) like d2l's ``X.reshape((-1, W.shape[0]))``.
    y : array_like of int, shape (n,)
        True classes in ``[0, k)``.
    W : array_like of shape (d, k)
    b : array_like of shape (k,)
    weight_decay : float, default 0.0
        L2 penalty strength, >= 0.
    naive : bool, default False
        Compute the forward pass with d2l's formulas (:func:`naive_softmax`, then ``-log`` of the
        probability): it overflows to NaN where the default log-sum-exp does not. The backward pass is the same.
    check_input : bool, default True
        Validate and convert the inputs. The training loop passes False: its arrays come from a loader and a
        model that are already valid (float arrays of one dtype, ``y`` int in range), and it checks the loss
        for NaN itself.
    return_logits : bool, default False
        Also return the forward pass's logits (n, k), e.g. to count correct predictions without a second GEMM.

    Returns
    -------
    loss : floating scalar
    dW : ndarray of shape (d, k)
    db : ndarray of shape (k,)
    logits : ndarray of shape (n, k), only with ``return_logits``
        All in the common floating dtype of the inputs (float32 in, float32 out).

    Raises
    ------
    ValueError
        Shapes of X, W, b, y that do not fit, a non-integer label array, a label outside ``[0, k)``,
        NaN or infinity in X, W or b, a negative or non-finite ``weight_decay``.
    TypeError
        Complex or non-numeric X, W or b.

    Notes
    -----
    For one example with logits ``z = W^T x + b``, probabilities ``p = softmax(z)`` and label ``y``, the loss
    is ``l = -log p_y = log sum_j exp(z_j) - z_y``. Differentiating term by term:

    .. math::

        \frac{\partial l}{\partial z_j} = \frac{\exp(z_j)}{\sum_i \exp(z_i)} - [j = y] = p_j - \mathrm{onehot}(y)_j.

    Stacking the rows, ``dlogits = dL/dZ = (P - onehot(y)) / n`` for the mean over ``n`` examples. Since
    ``Z = X W + 1 b^T`` is linear in the parameters, the chain rule gives

        ``dW = X^T dlogits = X^T (P - onehot(y)) / n``  and  ``db = 1^T dlogits``  (the column sums),

    and the penalty adds ``weight_decay * W`` to ``dW``. No one-hot matrix is built: 1 is subtracted from
    ``P`` at each row's label. The loss uses log-sum-exp (see :func:`log_softmax`), and ``P`` is
    ``exp(log_probs)``, so the forward and backward passes share one softmax.
    """
    if check_input:
        weight_decay = check_scalar(weight_decay, "weight_decay", float, min_val=0)
        X, y, W, b = check_problem(X, y, W, b)
    X = X.reshape(len(X), -1)
    n, examples = len(X), np.arange(len(X))

    # Forward: the logits, their log-softmax (log-sum-exp), the mean loss over the batch.
    logits = X @ W + b
    log_probs = _naive_log_softmax(logits) if naive else _log_softmax(logits, 1)
    loss = -log_probs[examples, y].sum() / n
    if weight_decay:
        loss += W.dtype.type(0.5 * weight_decay) * np.vdot(W, W)

    # Backward (see Notes): dL/dlogits = (softmax(logits) - onehot(y)) / n, then through logits = X W + b.
    dlogits = np.exp(log_probs)
    dlogits[examples, y] -= 1
    dlogits /= n
    dW = X.T @ dlogits
    db = dlogits.sum(axis=0)
    if weight_decay:
        dW += W.dtype.type(weight_decay) * W

    if return_logits:
        return loss, dW, db, logits
    return loss, dW, db


def _naive_log_softmax(logits: np.ndarray) -> np.ndarray:
    """``log(naive_softmax(logits))``, d2l's formulas, with their NaN and -inf kept silently: they are the lesson."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(naive_softmax(logits))


@dataclass(frozen=True)
class CrossEntropyLoss:
    """The loss a training loop minimizes, with its settings: an L2 penalty, or d2l's naive formulas.

    ``nps.cross_entropy`` itself is the common case (``CrossEntropyLoss()``); this object is for the others,
    e.g. ``train_epoch_ch3(net, train_iter, CrossEntropyLoss(weight_decay=3e-3), updater)``. Called on
    ``(logits, y)`` it gives the cross-entropy (the penalty needs ``W``: :func:`loss_and_grad` adds it to the
    loss value along with its gradient).
    """

    weight_decay: float = 0.0
    naive: bool = False

    def __post_init__(self) -> None:
        check_scalar(self.weight_decay, "weight_decay", float, min_val=0)

    def __call__(self, logits: ArrayLike, y: ArrayLike, reduction: Reduction = "mean"):
        if self.naive:
            return naive_cross_entropy(naive_softmax(logits), y, reduction)
        return cross_entropy(logits, y, reduction)
