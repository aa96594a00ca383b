"""A finite-difference gradient checker: the independent referee for every hand-derived gradient."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .validation import check_scalar

__all__ = ["numerical_gradient", "relative_error", "check_gradient"]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference estimate of ``df/dx``, perturbing ``x`` in place one entry at a time.

    Parameters
    ----------
    f : callable with no arguments returning a scalar
        Reads ``x`` (and anything else it closes over) each time it is called.
    x : ndarray of float64, any shape
        The variable to differentiate with respect to; restored exactly after each perturbation.
    eps : float > 0, default 1e-6
        Step. The truncation error of ``(f(x + eps) - f(x - eps)) / (2 eps)`` is O(eps^2) and the rounding
        error O(machine eps / eps), so ~1e-6 balances them in float64 (errors near 1e-9 or better).

    Returns
    -------
    ndarray of float64, the shape of ``x``
    """
    eps = check_scalar(eps, "eps", float, min_val=0, include_boundaries="neither")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(
            f"finite differences need a float64 array to be meaningful, got {getattr(x, 'dtype', type(x).__name__)}; "
            f"use x.astype(float)"
        )
    grad = np.empty_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat_x.size):
        saved = flat_x[i]
        flat_x[i] = saved + eps
        f_plus = float(f())
        flat_x[i] = saved - eps
        f_minus = float(f())
        flat_x[i] = saved
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """``max|actual - expected| / max(max|expected|, tiny)``: one number for how far two arrays are apart."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"shapes differ: {actual.shape} vs {expected.shape}")
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(actual - expected), initial=0.0)) / scale


def check_gradient(
    f: Callable[[], float],
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    eps: float = 1e-6,
) -> list[float]:
    """Compare analytic gradients with central differences; return one relative error per parameter.

    Example
    -------
    >>> X, y = rng.normal(size=(5, 4)), np.array([0, 2, 1, 2, 0])
    >>> W, b = rng.normal(size=(4, 3)), np.zeros(3)
    >>> loss, dW, db = nps.loss_and_grad(X, y, W, b)
    >>> check_gradient(lambda: nps.loss_and_grad(X, y, W, b)[0], [W, b], [dW, db])  # doctest: +SKIP
    [3.1e-10, 2.7e-10]
    """
    if len(params) != len(grads):
        raise ValueError(f"got {len(params)} parameters but {len(grads)} gradients")
    return [relative_error(g, numerical_gradient(f, p, eps)) for p, g in zip(params, grads, strict=True)]
