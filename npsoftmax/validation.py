"""Input checks for every public function: arrays, labels, the softmax-regression problem, and scalars.

This is npsoftmax's one validation module, modelled on scikit-learn's ``utils/validation.py``: each public
function checks its inputs here, once, at the boundary, and raises ``ValueError`` naming the argument and
what it accepts (``TypeError`` for complex or non-numeric arrays). Hot paths skip the checks through a
``check_input=False`` flag, never through a second copy of a function.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = [
    "check_scalar",
    "check_float_dtype",
    "check_float_array",
    "check_labels",
    "check_indices",
    "check_scores",
    "check_reduction",
    "check_softmax_input",
    "flatten_examples",
    "check_problem",
]

Boundaries = Literal["both", "left", "right", "neither"]


# --------------------------------------------------------------------------------------------------------
# Scalars


def check_scalar(
    x: object,
    name: str,
    target_type: type | tuple[type, ...],
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: Boundaries = "both",
):
    """Return the scalar ``x`` checked for type and range, as scikit-learn's ``check_scalar``.

    Parameters
    ----------
    x : object
        The value a user passed.
    name : str
        The argument's name, as the user wrote it; it starts the message.
    target_type : type or tuple of types
        ``int`` (or ``numbers.Integral``) accepts Python and NumPy integers; ``float`` (or ``numbers.Real``)
        accepts Python and NumPy integers and floats. A bool is never a number: ``True`` is refused unless
        ``bool`` itself is in ``target_type``. Other types are checked with ``isinstance``.
    min_val, max_val : float or None
        The accepted range; None leaves that side unbounded.
    include_boundaries : {"both", "left", "right", "neither"}, default "both"
        Which of ``min_val`` and ``max_val`` are themselves accepted.

    Returns
    -------
    int, float or x
        A Python ``int`` for an integer target, a Python ``float`` for a real one, else ``x`` unchanged.

    Raises
    ------
    ValueError
        ``x`` of the wrong type, NaN or infinite for a real target, or outside the range. Always
        ``ValueError`` (scikit-learn raises ``TypeError`` for the type), so that a caller catches one class
        for "this argument is wrong". The message reads, e.g., ``lr must be a number in [0, inf), got True``.
    """
    if include_boundaries not in ("both", "left", "right", "neither"):
        raise ValueError(f"include_boundaries must be 'both', 'left', 'right' or 'neither', got {include_boundaries!r}")
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    types = tuple({int: numbers.Integral, float: numbers.Real}.get(t, t) for t in types)
    real = numbers.Real in types
    integral = numbers.Integral in types and not real
    include_low = min_val is not None and include_boundaries in ("both", "left")
    include_high = max_val is not None and include_boundaries in ("both", "right")

    def refusal(finite: str = "") -> ValueError:
        if integral or real:
            low = "-inf" if min_val is None else _show_bound(min_val)
            high = "inf" if max_val is None else _show_bound(max_val)
            interval = f"{'[' if include_low else '('}{low}, {high}{']' if include_high else ')'}"
            accepted = f"{'an integer' if integral else f'a {finite}number'} in {interval}"
        else:
            accepted = "of type " + " or ".join(t.__name__ for t in types)
        is_number = isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, (str, bytes))
        return ValueError(f"{name} must be {accepted}, got {x if is_number else repr(x)}")

    if (isinstance(x, (bool, np.bool_)) and bool not in types) or not isinstance(x, types):
        raise refusal()
    if not (integral or real):
        return x
    value = int(x) if integral else float(x)
    if real and not math.isfinite(value):
        raise refusal("finite ")
    too_low = min_val is not None and (value < min_val if include_low else value <= min_val)
    too_high = max_val is not None and (value > max_val if include_high else value >= max_val)
    if too_low or too_high:
        raise refusal()
    return value


def _show_bound(bound: float) -> str:
    return f"{bound}" if isinstance(bound, numbers.Integral) else f"{bound:g}"


def check_float_dtype(dtype: DTypeLike, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as float32 or float64 (native byte order), the two precisions npsoftmax computes in."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f" or resolved.itemsize not in (4, 8):
        raise ValueError(f"{name} must be float32 or float64, got {dtype if resolved is None else resolved}")
    return resolved.newbyteorder("=")


# --------------------------------------------------------------------------------------------------------
# Arrays and labels


def check_float_array(name: str, a: ArrayLike, finite: bool = True) -> np.ndarray:
    """Return ``a`` as a float32 or float64 array, refusing what cannot be computed on correctly.

    Integers and booleans become float64, float16 becomes float32 (its range ends at 65504, so ``exp``
    would overflow on modest logits), other floats float64; float32 and float64 keep their dtype.
    Complex, string and object arrays raise ``TypeError``; with ``finite``, NaN or infinity raises
    ``ValueError``. ``name`` goes into the message.
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


def check_indices(name: str, indices: ArrayLike, n: int) -> np.ndarray:
    """Return ``indices`` as a 1-D ``intp`` array of positions in ``[0, n)``; an empty one is allowed."""
    indices = np.asarray(indices)
    integers = indices.dtype != bool and np.issubdtype(indices.dtype, np.integer)
    if indices.ndim != 1 or not (integers or indices.size == 0):
        raise ValueError(f"{name} must be a 1-D array of integers, got {indices.dtype} of shape {indices.shape}")
    if indices.size and not (0 <= indices.min() and indices.max() < n):
        raise ValueError(f"{name} must be in [0, {n}), got {indices.min()} to {indices.max()}")
    return indices.astype(np.intp)


def check_scores(name: str, scores: ArrayLike, y: ArrayLike, *, finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(scores, y)``: float scores (n, k) with k >= 1 and integer labels (n,) in [0, k).

    The common check of everything scored against labels: logits for :func:`npsoftmax.cross_entropy`,
    probabilities for :func:`npsoftmax.naive_cross_entropy` (``finite=False``: its NaN is the lesson), scores
    for the metrics.
    """
    scores = check_float_array(name, scores, finite=finite)
    if scores.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (n_examples, n_classes), got shape {scores.shape}")
    if scores.shape[1] < 1:
        raise ValueError(f"{name} must have at least one class (column), got shape {scores.shape}")
    return scores, check_labels(y, *scores.shape)


def check_reduction(reduction: str, n_examples: int) -> str:
    """Return ``reduction``, one of "mean", "sum", "none"; the mean of no examples is refused."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if reduction == "mean" and n_examples == 0:
        raise ValueError("the mean cross-entropy of 0 examples is undefined; use reduction='sum'")
    return reduction


def check_softmax_input(Z: ArrayLike, axis: int) -> tuple[np.ndarray, int]:
    """Return ``(Z, axis)`` for a softmax: a float array (NaN and infinity allowed) with classes along ``axis``.

    A distribution over no classes does not exist (its entries cannot sum to 1), so an empty ``axis``, e.g.
    ``Z`` of shape (3, 0), is refused; no rows, e.g. shape (0, 10), is an empty batch and fine.
    """
    Z = check_float_array("Z", Z, finite=False)
    if Z.ndim == 0:
        raise ValueError("Z must have at least one axis of classes, got a scalar; pass e.g. Z of shape (n, k)")
    axis = check_scalar(axis, "axis", int, min_val=-Z.ndim, max_val=Z.ndim - 1) % Z.ndim
    if Z.shape[axis] == 0:
        raise ValueError(
            f"Z has no classes along axis {axis} (shape {Z.shape}); softmax needs at least one class per row"
        )
    return Z, axis


# --------------------------------------------------------------------------------------------------------
# The softmax-regression problem


def flatten_examples(X: ArrayLike, n_features: int) -> np.ndarray:
    """``X`` of shape (n, d), (n, h, w) or (n, c, h, w) as (n, d), like d2l's ``X.reshape((-1, d))``."""
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
    """Validate a softmax-regression problem and return ``(X2d, y, W, b)`` in one common floating dtype.

    ``X`` is (n, d) or images (n, h, w) / (n, c, h, w) with n >= 1, ``y`` integers (n,) in [0, k), ``W``
    (d, k) and ``b`` (k,), all finite. Integer pixels are computed in the parameters' precision.
    """
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
