"""Softmax, log-softmax, cross-entropy, and the one home of the backward pass: :func:`loss_and_grad`.

:func:`loss_and_grad` is the whole model in one function, written like micrograd: a forward block (``logits``,
``log_probs``, ``loss``) and, under it, the backward block that differentiates it by hand (``dlogits``,
``dW``, ``db``), with the derivation in its docstring. The training loop calls the same function with
``check_input=False`` (scikit-learn's idiom): one computation, checked at the public boundary only.

Every function here checks its inputs through one checker and raises ``ValueError`` naming the problem, or
``TypeError`` for complex or non-numeric arrays. Integers and booleans are computed in float64, float16 in
float32 (its range ends at 65504, so ``exp`` would overflow on modest logits); float32 and float64 keep
their dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "softmax",
    "log_softmax",
    "naive_softmax",
    "cross_entropy",
    "naive_cross_entropy",
    "loss_and_grad",
    "CrossEntropyLoss",
    "check_float_array",
]

Reduction = Literal["mean", "sum", "none"]


# --------------------------------------------------------------------------------------------------------
# Input checks, shared by every public entry point.


def check_float_array(name: str, a: ArrayLike, finite: bool = True) -> np.ndarray:
    """Return ``a`` as a float32 or float64 array, refusing what cannot be computed on correctly.

    Integers and booleans become float64, float16 becomes float32. Complex, string and object arrays raise
    ``TypeError``; with ``finite``, NaN or infinity raises ``ValueError``. ``name`` goes into the message.
    """
    a = np.asarray(a)
    if np.iscomplexobj(a):
        raise TypeError(f"{name} is complex ({a.dtype}); softmax regression is defined on real numbers only")
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    elif not np.issubdtype(a.dtype, np.floating):
        if not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
            raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
        a = a.astype(np.float64)
    elif a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    if finite and not np.all(np.isfinite(a)):
        n_bad = int(a.size - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); clean the input first")
    return a


def check_labels(y: ArrayLike, n: int, k: int) -> np.ndarray:
    """Return ``y`` as an integer array of shape (n,), checking dtype, shape and range [0, k)."""
    y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels y must be an integer array, got dtype {y.dtype}; use y.astype(int)")
    if y.ndim != 1:
        raise ValueError(f"labels y must be 1-D of shape ({n},), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(
            f"labels y has {y.shape[0]} entries but there are {n} examples (rows); they must match, shape ({n},)"
        )
    if n and (y.min() < 0 or y.max() >= k):
        bad = y[(y < 0) | (y >= k)]
        raise ValueError(
            f"labels must lie in [0, {k}) for {k} classes; got {bad.size} outside, e.g. {bad[0]} "
            f"(min {y.min()}, max {y.max()})"
        )
    return y


def _check_logits(logits: ArrayLike) -> np.ndarray:
    logits = check_float_array("logits", logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D of shape (n_examples, n_classes), got shape {logits.shape}")
    if logits.shape[1] < 1:
        raise ValueError("logits must have at least one class (column)")
    return logits


def flatten_examples(X: ArrayLike, n_features: int) -> np.ndarray:
    """``X`` of shape (n, d), (n, h, w) or (n, c, h, w) as (n, d), like the seed's ``X.reshape((-1, d))``."""
    X = check_float_array("X", X, finite=False)
    if X.ndim not in (2, 3, 4):
        raise ValueError(f"X must be (n, d), (n, height, width) or (n, channels, height, width); got shape {X.shape}")
    X2 = X.reshape(X.shape[0], int(np.prod(X.shape[1:])))
    if X2.shape[1] != n_features:
        raise ValueError(
            f"X has {X2.shape[1]} features per example (shape {X.shape}) but W has {n_features} rows; "
            f"W must be (n_features, n_classes)"
        )
    return X2


def check_problem(
    X: ArrayLike, y: ArrayLike, W: ArrayLike, b: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a softmax-regression problem and return ``(X2d, y, W, b)`` in one common floating dtype."""
    W = check_float_array("W", W)
    b = check_float_array("b", b)
    if W.ndim != 2 or 0 in W.shape:
        raise ValueError(f"W must be 2-D of shape (n_features, n_classes), both >= 1, got shape {W.shape}")
    d, k = W.shape
    if b.shape != (k,):
        raise ValueError(f"b must have shape ({k},) to match W of shape {W.shape}, got shape {b.shape}")
    X = np.asarray(X)
    if X.dtype.kind in "biu":  # pixels: computed in the parameters' precision
        X = X.astype(np.result_type(W.dtype, b.dtype))
    X = flatten_examples(X, d)
    if X.shape[0] == 0:
        raise ValueError("X holds no examples (0 rows); a loss needs at least one")
    y = check_labels(y, X.shape[0], k)
    check_float_array("X", X)
    dtype = np.result_type(X.dtype, W.dtype, b.dtype)
    return X.astype(dtype, copy=False), y, W.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _check_weight_decay(weight_decay: float) -> float:
    weight_decay = float(weight_decay)
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
    return weight_decay


# --------------------------------------------------------------------------------------------------------
# Softmax and log-softmax, stable, and the seed's naive softmax beside them.


def _row_max(Z: np.ndarray, axis: int) -> np.ndarray:
    """The max along ``axis`` (kept as a size-1 axis), with non-finite maxima replaced by 0.

    Subtracting the max keeps every ``exp`` argument <= 0, so nothing overflows. A row whose max is
    ``-inf`` or ``+inf`` would turn the shift itself into ``inf - inf = nan``; shifting such a row by 0
    lets ``exp`` give the IEEE answer instead. The max is read at the argmax: for the short rows of logits
    (10 classes) NumPy's ``max(axis=1)`` is several times slower than ``argmax`` plus a gather.
    """
    m = np.take_along_axis(Z, Z.argmax(axis=axis, keepdims=True), axis=axis)
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
    Z = check_float_array("Z", Z, finite=False)
    with np.errstate(over="ignore"):  # a difference below the dtype's range rounds to -inf, as it should
        shifted = Z - _row_max(Z, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax: ``exp(Z - max) / sum(exp(Z - max))`` along ``axis``.

    The seed's ``exp(X) / exp(X).sum(1, keepdim=True)`` (:func:`naive_softmax`) returns ``inf / inf = nan``
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
    Z = check_float_array("Z", Z, finite=False)
    E = np.exp(Z - _row_max(Z, axis))
    E /= np.sum(E, axis=axis, keepdims=True)
    return E


def naive_softmax(Z: ArrayLike, axis: int = -1) -> np.ndarray:
    """The seed's softmax, ``exp(Z) / exp(Z).sum()``, kept to show where it breaks; use :func:`softmax`.

    In float32 ``exp`` overflows to ``inf`` past 88.7 and the row becomes ``inf / inf = nan``; a row whose
    logits are all below about -103 underflows to ``0 / 0 = nan``. Overflow warnings are silenced: the NaN is
    the lesson.
    """
    Z = check_float_array("Z", Z, finite=False)
    with np.errstate(over="ignore", invalid="ignore"):
        X_exp = np.exp(Z)
        return X_exp / X_exp.sum(axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------------------------
# Cross-entropy: on logits (stable), and the seed's on probabilities (naive).


def cross_entropy(logits: ArrayLike, y: ArrayLike, reduction: Reduction = "mean"):
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
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    logits = _check_logits(logits)
    y = check_labels(y, logits.shape[0], logits.shape[1])
    if reduction == "mean" and len(y) == 0:
        raise ValueError("the mean cross-entropy of 0 examples is undefined; use reduction='sum'")
    losses = -log_softmax(logits)[np.arange(len(y)), y]
    return _reduce(losses, reduction)


def naive_cross_entropy(y_hat: ArrayLike, y: ArrayLike, reduction: Reduction = "mean"):
    """The seed's ``-log(y_hat[range(n), y])`` on probabilities ``y_hat``; kept to show where it breaks.

    A probability that underflowed to 0 gives ``inf``, a NaN probability gives NaN. Passed as the ``loss`` of
    :func:`npsoftmax.train_epoch_ch3`, training computes ``y_hat`` with :func:`naive_softmax`, and the
    gradient is the same hand-derived one, so the run breaks exactly where these formulas do.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    y_hat = check_float_array("y_hat", y_hat, finite=False)
    if y_hat.ndim != 2:
        raise ValueError(f"y_hat must be 2-D of shape (n_examples, n_classes), got shape {y_hat.shape}")
    y = check_labels(y, y_hat.shape[0], y_hat.shape[1])
    if reduction == "mean" and len(y) == 0:
        raise ValueError("the mean cross-entropy of 0 examples is undefined; use reduction='sum'")
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
        Examples; images are flattened to (n, d) like the seed's ``X.reshape((-1, W.shape[0]))``.
    y : array_like of int, shape (n,)
        True classes in ``[0, k)``.
    W : array_like of shape (d, k)
    b : array_like of shape (k,)
    weight_decay : float, default 0.0
        L2 penalty strength, >= 0.
    naive : bool, default False
        Compute the forward pass with the seed's formulas (:func:`naive_softmax`, then ``-log`` of the
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
        weight_decay = _check_weight_decay(weight_decay)
        X, y, W, b = check_problem(X, y, W, b)
    else:
        X = X.reshape(X.shape[0], -1)
    n = X.shape[0]
    rows = np.arange(n)

    # Forward: logits, log-probabilities, the mean loss over the batch.
    logits = X @ W
    logits += b
    if naive:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_probs = np.log(naive_softmax(logits))
    else:
        log_probs = log_softmax(logits)
    loss = -log_probs[rows, y].mean()
    if weight_decay:
        loss += W.dtype.type(0.5 * weight_decay) * np.vdot(W, W)

    # Backward: dL/dlogits = (softmax(logits) - onehot(y)) / n, then through logits = X W + b.
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1
    dlogits /= n
    dW = X.T @ dlogits
    db = dlogits.sum(axis=0)
    if weight_decay:
        dW += W.dtype.type(weight_decay) * W

    if return_logits:
        return loss, dW, db, logits
    return loss, dW, db


@dataclass(frozen=True)
class CrossEntropyLoss:
    """The loss a training loop minimizes, with its settings: an L2 penalty, or the seed's naive formulas.

    ``nps.cross_entropy`` itself is the common case (``CrossEntropyLoss()``); this object is for the others,
    e.g. ``train_epoch_ch3(net, train_iter, CrossEntropyLoss(weight_decay=3e-3), updater)``. Called on
    ``(logits, y)`` it gives the cross-entropy (the penalty needs ``W``: :func:`loss_and_grad` adds it to the
    loss value along with its gradient).
    """

    weight_decay: float = 0.0
    naive: bool = False

    def __post_init__(self) -> None:
        _check_weight_decay(self.weight_decay)

    def __call__(self, logits: ArrayLike, y: ArrayLike, reduction: Reduction = "mean"):
        if self.naive:
            return naive_cross_entropy(naive_softmax(logits), y, reduction)
        return cross_entropy(logits, y, reduction)
