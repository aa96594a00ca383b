"""Accuracy, d2l's ``Accumulator``, evaluation, the confusion matrix, and what lies beyond accuracy:
per-class precision, recall and F1, top-k accuracy, calibration (ECE) and coverage when abstaining."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._blas import one_blas_thread
from .losses import cross_entropy
from .validation import check_float_array, check_scalar, check_scores

__all__ = [
    "TrainingDiverged",
    "accuracy",
    "confident_mistakes",
    "Accumulator",
    "evaluate_accuracy",
    "evaluate_loss_and_accuracy",
    "eval_batches",
    "confusion_matrix",
    "EVAL_BATCH_SIZE",
    "precision_recall_f1",
    "per_class_report",
    "top_k_accuracy",
    "calibration_bins",
    "CalibrationBins",
    "expected_calibration_error",
    "coverage_curve",
    "CoverageCurve",
]

# Evaluation runs in batches this large: a few big GEMMs instead of 40 small ones for the 10k test
# images, while the float32 batch (8192 x 784 x 4 bytes = 26 MB) stays small next to the data.
EVAL_BATCH_SIZE = 8192


class TrainingDiverged(RuntimeError):
    """The loss, the parameters or the logits became NaN or infinite: wherever it is first seen, in a training
    batch or in an evaluation, the model has diverged."""


def accuracy(y_hat: ArrayLike, y: ArrayLike) -> int:
    """The number of correct predictions, as in d2l (divide by ``len(y)`` for a rate).

    Parameters
    ----------
    y_hat : array_like of shape (n, k) or (n,)
        Scores or probabilities (the argmax of each row is the prediction), or predicted labels.
    y : array_like of int, shape (n,)
    """
    y_hat, y = np.asarray(y_hat), np.asarray(y)
    predicted = y_hat.argmax(axis=1) if y_hat.ndim == 2 else y_hat
    if y.ndim != 1 or predicted.shape != y.shape:
        rows = len(y_hat) if y_hat.ndim else 0
        raise ValueError(
            f"y_hat must be scores (n, k) or labels (n,) for labels y of shape (n,); y_hat has {rows} rows but y has "
            f"{y.size} labels (shapes {y_hat.shape} and {y.shape})"
        )
    return int(np.count_nonzero(predicted == y))


class Accumulator:
    """Running sums over ``n >= 1`` variables, as in d2l: ``add(*values)``, ``reset()``, ``metric[i]``."""

    def __init__(self, n: int) -> None:
        self.data = [0.0] * check_scalar(n, "n", int, min_val=1)

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


def _overflow_reported_as_divergence() -> np.errstate:
    """Overflow in the logits is silent: :func:`_finite_scores` reports it once, as :class:`TrainingDiverged`."""
    return np.errstate(over="ignore", invalid="ignore")


def _finite_scores(scores: np.ndarray) -> np.ndarray:
    """``scores`` if all are finite; a model whose logits overflowed has diverged (:class:`TrainingDiverged`)."""
    if not np.isfinite(scores).all():
        n_bad = int(np.size(scores) - np.count_nonzero(np.isfinite(scores)))
        raise TrainingDiverged(f"the model's logits became NaN or infinite ({n_bad} of them) in evaluation")
    return scores


def evaluate_accuracy(net: Callable[[np.ndarray], np.ndarray], data_iter: Iterable) -> float:
    """Fraction of examples in ``data_iter`` that ``net`` (returning scores (n, k)) classifies correctly.

    With npsoftmax's loaders the data is read in batches of :data:`EVAL_BATCH_SIZE` whatever the iterator's
    own batch size; any other iterable of ``(X, y)`` pairs is read as it comes.

    Raises
    ------
    TrainingDiverged
        ``net`` gives NaN or infinite scores: its weights are too large for its dtype.
    ValueError
        ``data_iter`` yields no examples.
    """
    metric = Accumulator(2)
    with one_blas_thread(), _overflow_reported_as_divergence():
        for X, y in eval_batches(data_iter):
            metric.add(accuracy(_finite_scores(net(X)), y), len(y))
    if metric[1] == 0:
        raise ValueError("data_iter yielded no examples")
    return metric[0] / metric[1]


def evaluate_loss_and_accuracy(net: Callable[[np.ndarray], np.ndarray], data_iter: Iterable) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``net`` (returning logits (n, k)) over ``data_iter``.

    Batches as :func:`evaluate_accuracy` reads them; it raises what :func:`evaluate_accuracy` raises.
    """
    metric = Accumulator(3)
    with one_blas_thread(), _overflow_reported_as_divergence():
        for X, y in eval_batches(data_iter):
            logits = _finite_scores(net(X))
            metric.add(cross_entropy(logits, y, reduction="sum"), accuracy(logits, y), len(y))
    if metric[2] == 0:
        raise ValueError("data_iter yielded no examples")
    return metric[0] / metric[2], metric[1] / metric[2]


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as ``j``, int64 of shape (k, k).

    ``y_true`` and ``y_pred`` are integer labels of one shape (n,) in ``[0, num_classes)``, ``num_classes >= 1``.
    """
    num_classes = check_scalar(num_classes, "num_classes", int, min_val=1)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one shape, got {y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{name} must be an integer array, got dtype {y.dtype}; use {name}.astype(int)")
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes}), got values {y.min()}..{y.max()}")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


# --------------------------------------------------------------------------------------------------------
# Beyond accuracy: per-class scores, top-k, calibration, and abstaining below a confidence threshold.
# Every function checks its inputs with the checkers below and raises ValueError naming the problem.


class CalibrationBins(NamedTuple):
    """Equal-width confidence bins: ``edges`` of shape (n_bins + 1,), the rest of shape (n_bins,)."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


class CoverageCurve(NamedTuple):
    """Accuracy on the answered examples when answering only at confidence >= threshold, each (m,)."""

    thresholds: np.ndarray
    coverage: np.ndarray
    accuracy: np.ndarray


def _check_scores(
    name: str, scores: ArrayLike, y: ArrayLike, probabilities: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(scores, y)`` checked: finite real scores (n, k) with n, k >= 1, integer labels (n,) in [0, k).

    With ``probabilities``, every row must also be a distribution: entries in [0, 1] summing to 1 (to 1e-4,
    float32's rounding over a row with room to spare); logits passed by mistake fail here.
    """
    scores, y = check_scores(name, scores, y)
    if scores.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example (row), got shape {scores.shape}")
    if probabilities:
        row_sums = scores.sum(axis=1)
        if scores.min() < 0 or scores.max() > 1 or np.max(np.abs(row_sums - 1)) > 1e-4:
            raise ValueError(
                f"{name} must hold probabilities, each row in [0, 1] summing to 1 (got entries "
                f"{scores.min():.4g}..{scores.max():.4g}, row sums {row_sums.min():.6g}..{row_sums.max():.6g}); "
                f"pass softmax(logits)"
            )
    return scores, y


def precision_recall_f1(confusion: ArrayLike) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support from a confusion matrix.

    Parameters
    ----------
    confusion : array_like of shape (k, k)
        ``confusion[i, j]`` counts examples of true class ``i`` predicted as ``j`` (rows true, columns
        predicted), as :func:`confusion_matrix` returns. Non-negative and finite.

    Returns
    -------
    dict of str to ndarray of shape (k,)
        ``"precision"``, ``"recall"``, ``"f1"`` (float64) and ``"support"`` (the row sums: examples of each
        true class).

    Notes
    -----
    With ``tp = C[c, c]``, ``fp`` the rest of column ``c`` and ``fn`` the rest of row ``c``: precision is
    ``tp / (tp + fp)``, recall ``tp / (tp + fn)``, and F1 their harmonic mean, computed as
    ``2 tp / (2 tp + fp + fn)``. A ratio of 0 / 0 (a class never predicted, or never present) is defined as
    0, as scikit-learn's ``zero_division=0``.
    """
    confusion = check_float_array("confusion", confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or confusion.shape[0] == 0:
        raise ValueError(f"confusion must be a square (k, k) matrix with k >= 1, got shape {confusion.shape}")
    if confusion.min() < 0:
        raise ValueError(f"confusion must hold counts >= 0, got a minimum of {confusion.min()}")
    confusion = confusion.astype(np.float64, copy=False)
    tp = np.diagonal(confusion)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)

    def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)

    return {
        "precision": ratio(tp, predicted),
        "recall": ratio(tp, support),
        "f1": ratio(2 * tp, predicted + support),
        "support": support,
    }


def per_class_report(confusion: ArrayLike, class_names: Sequence[str]) -> dict[str, dict[str, float]]:
    """``{class_name: {"precision": p, "recall": r, "f1": f}}`` in class order, plain floats (JSON-ready).

    See :func:`precision_recall_f1` for the definitions and the 0 / 0 convention; ``class_names`` holds one
    name per row of ``confusion``.
    """
    scores = precision_recall_f1(confusion)
    if len(class_names) != len(scores["f1"]):
        raise ValueError(f"class_names has {len(class_names)} names but confusion has {len(scores['f1'])} classes")
    return {
        name: {key: float(scores[key][c]) for key in ("precision", "recall", "f1")}
        for c, name in enumerate(class_names)
    }


def top_k_accuracy(scores: ArrayLike, y: ArrayLike, k: int) -> float:
    """Fraction of examples whose true label is among the ``k`` highest-scoring classes.

    Parameters
    ----------
    scores : array_like of shape (n, n_classes)
        Logits or probabilities (any order-preserving score).
    y : array_like of int, shape (n,)
        True labels in ``[0, n_classes)``.
    k : int
        ``1 <= k <= n_classes``; ``k = n_classes`` gives 1.

    Returns
    -------
    float in [0, 1]

    Notes
    -----
    Ties are broken by class index, the lower first: the ranking is a stable sort by descending score, the
    same rule as ``argmax``, so ``top_k_accuracy(scores, y, 1) == accuracy(scores, y) / len(y)`` even with
    ties. (scikit-learn's ``top_k_accuracy_score`` puts the higher index first; without ties they agree.)
    The rank of the true label is counted directly instead of sorting: the classes scoring strictly more,
    plus the lower-indexed classes scoring the same.
    """
    scores, y = _check_scores("scores", scores, y)
    n_classes = scores.shape[1]
    k = check_scalar(k, "k", int, min_val=1, max_val=n_classes)
    true_scores = scores[np.arange(len(y)), y][:, None]
    lower_index = np.arange(n_classes) < y[:, None]
    rank = np.count_nonzero((scores > true_scores) | ((scores == true_scores) & lower_index), axis=1)
    return float(np.mean(rank < k))


def calibration_bins(probs: ArrayLike, y: ArrayLike, n_bins: int = 15) -> CalibrationBins:
    """Mean confidence, accuracy and count of the predictions in equal-width confidence bins.

    Parameters
    ----------
    probs : array_like of shape (n, n_classes)
        Predicted probabilities, each row summing to 1 (e.g. ``net.predict_proba(X)``). The prediction is the
        row's argmax (the first on ties), its confidence the row's maximum.
    y : array_like of int, shape (n,)
        True labels.
    n_bins : int, default 15
        Bin ``b`` holds the confidences in ``(b / n_bins, (b + 1) / n_bins]``; a confidence of exactly 0
        goes into the first bin.

    Returns
    -------
    CalibrationBins
        ``edges`` (n_bins + 1,); ``confidence`` and ``accuracy`` (n_bins,) float64, the mean confidence and
        the fraction correct in each bin, NaN where the bin is empty; ``count`` (n_bins,) int64.
    """
    probs, y = _check_scores("probs", probs, y, probabilities=True)
    n_bins = check_scalar(n_bins, "n_bins", int, min_val=1)
    confidence = probs.max(axis=1).astype(np.float64)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(bin_index, minlength=n_bins)
    occupied = count > 0
    mean_confidence = np.full(n_bins, np.nan)
    mean_accuracy = np.full(n_bins, np.nan)
    mean_confidence[occupied] = np.bincount(bin_index, weights=confidence, minlength=n_bins)[occupied] / count[occupied]
    mean_accuracy[occupied] = np.bincount(bin_index, weights=correct, minlength=n_bins)[occupied] / count[occupied]
    return CalibrationBins(edges, mean_confidence, mean_accuracy, count)


def expected_calibration_error(probs: ArrayLike, y: ArrayLike, n_bins: int = 15) -> float:
    """Expected calibration error: how far confidence is from accuracy, averaged over the examples.

    Parameters
    ----------
    probs : array_like of shape (n, n_classes)
    y : array_like of int, shape (n,)
    n_bins : int, default 15

    Returns
    -------
    float in [0, 1]

    Notes
    -----
    With the bins of :func:`calibration_bins` (equal width on the maximum probability), ``ECE = Σ_b (n_b / n)
    |acc_b − conf_b|`` (Naeini et al. 2015; Guo et al. 2017, "On Calibration of Modern Neural Networks").
    A perfectly calibrated model, right 80% of the time when it says 0.8, has ECE 0.
    """
    bins = calibration_bins(probs, y, n_bins)
    occupied = bins.count > 0
    gaps = np.abs(bins.accuracy[occupied] - bins.confidence[occupied])
    return float(np.sum(bins.count[occupied] * gaps) / bins.count.sum())


def coverage_curve(probs: ArrayLike, y: ArrayLike, thresholds: ArrayLike | None = None) -> CoverageCurve:
    """Coverage and accuracy when the model answers only if its top probability reaches a threshold.

    This is the chapter's question "is the most likely label always a good idea?": abstaining on the
    uncertain examples trades coverage (the fraction answered) for accuracy on what is answered.

    Parameters
    ----------
    probs : array_like of shape (n, n_classes)
        Predicted probabilities, rows summing to 1. The prediction is the argmax, the confidence the maximum.
    y : array_like of int, shape (n,)
    thresholds : array_like of shape (m,) or None
        The model answers an example when its confidence is ``>= threshold``. By default every distinct
        confidence, in decreasing order, so the curve runs from the single most confident answer to full
        coverage (whose accuracy is the plain accuracy).

    Returns
    -------
    CoverageCurve
        ``thresholds`` (m,) float64 as given (or the default), ``coverage`` (m,) in [0, 1], and ``accuracy``
        (m,) on the answered examples, NaN where a threshold answers none.
    """
    probs, y = _check_scores("probs", probs, y, probabilities=True)
    confidence = probs.max(axis=1).astype(np.float64)
    correct = probs.argmax(axis=1) == y
    # Most confident first: the examples answered at any threshold are a prefix of this order.
    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    if thresholds is None:  # each distinct confidence once, as np.unique gives them, without its import of numpy.ma
        thresholds = ranked[np.concatenate(([True], ranked[1:] != ranked[:-1]))]
    else:
        thresholds = check_float_array("thresholds", thresholds, finite=False).astype(np.float64)
        if thresholds.ndim != 1 or np.isnan(thresholds).any():
            raise ValueError(f"thresholds must be 1-D without NaN, got shape {thresholds.shape}")
    correct_so_far = np.concatenate(([0], np.cumsum(correct[order])))
    n_answered = len(y) - np.searchsorted(ranked[::-1], thresholds, side="left")
    accuracy = np.full(len(thresholds), np.nan)
    answered = n_answered > 0
    accuracy[answered] = correct_so_far[n_answered[answered]] / n_answered[answered]
    return CoverageCurve(thresholds, n_answered / len(y), accuracy)


def confident_mistakes(probs: np.ndarray, labels: np.ndarray, n: int | None = None) -> np.ndarray:
    """Indices of the wrongly predicted examples, the most confident first.

    Parameters
    ----------
    probs : ndarray of shape (N, k)
        Predicted probabilities (or any scores whose row maximum is the confidence); the prediction is the
        argmax.
    labels : ndarray of int, shape (N,)
    n : int or None
        Return at most this many; None returns every mistake.

    Returns
    -------
    ndarray of int64, shape (m,)
        ``probs[i].argmax() != labels[i]`` for each ``i``, ordered by decreasing ``probs[i].max()`` (ties by
        index).
    """
    probs, labels = check_scores("probs", probs, labels)
    if n is not None:
        n = check_scalar(n, "n", int, min_val=0)
    wrong = np.flatnonzero(probs.argmax(axis=1) != labels)
    order = wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")]
    return order[:n]
