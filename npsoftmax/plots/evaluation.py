"""Pictures that evaluate a trained model: the confusion matrix, calibration with abstention, the most confident
mistakes, and the sweep's grid of settings.

Each picture takes results already computed (counts, bins, a curve, probabilities, the sweep's ranking) and
never recomputes a metric.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from ..data import TEXT_LABELS
from ..metrics import CalibrationBins, CoverageCurve, confident_mistakes
from ..validation import check_scalar, check_scores
from ._figure import Figure, as_images, image_grid, prob_text, saved

__all__ = ["plot_confusion", "plot_calibration", "confident_mistakes", "plot_mistakes", "plot_sweep", "MAX_PANELS"]


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike | None = None) -> Figure:
    """The (k, k) confusion matrix as a heat map, counts in the cells, class names on both axes."""
    k = len(class_names)
    fig = Figure(figsize=(6.2, 5.4))
    fig.subplots_adjust(left=0.17, right=0.98, bottom=0.17, top=0.94)
    ax = fig.add_subplot()
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    threshold = matrix.max() / 2
    for i, j in itertools.product(range(k), range(k)):
        color = "white" if matrix[i, j] > threshold else "black"
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"confusion matrix on the test set (accuracy {accuracy:.4f})", fontsize=9)
    return saved(fig, path)


def plot_mistakes(
    images: np.ndarray,
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    n: int = 24,
    class_names: Sequence[str] = TEXT_LABELS,
    path: str | os.PathLike | None = None,
    num_cols: int = 6,
    image_shape: Sequence[int] | None = None,
) -> Figure:
    """The ``n`` most confident wrong predictions, each titled "true → predicted (p = …)".

    Parameters
    ----------
    images : ndarray of shape (N, height, width) or (N, pixels)
        The examples ``probs`` scores (e.g. the whole test set).
    labels : ndarray of int, shape (N,)
    probs : ndarray of shape (N, k)
        The probabilities the run computed (``softmax(logits)``); ``p`` is the predicted class's.
    n : int, default 24
        A 4 × 6 grid with the default ``num_cols``.
    class_names : sequence of k str
    path : where the PNG goes, or None
    num_cols : int, default 6
    image_shape : (height, width) or None
        For flat rows; by default a square.

    Returns
    -------
    Figure
        One mosaic; the titles are ``fig.axes[0].texts``, the most confident mistake first.
    """
    probs, labels = check_scores("probs", probs, labels)
    images = np.asarray(images)  # converted below for the few shown only, not all 10,000
    if images.ndim == 0 or len(images) != len(labels):
        raise ValueError(f"images has {len(images) if images.ndim else 0} examples but labels has {len(labels)}")
    if len(class_names) != probs.shape[1]:
        raise ValueError(f"class_names has {len(class_names)} names but probs has {probs.shape[1]} classes")
    n = check_scalar(n, "n", int, min_val=1)
    mistakes = confident_mistakes(probs, labels)
    chosen = mistakes[:n]
    if len(chosen) == 0:
        fig = Figure(figsize=(6.0, 1.0))
        fig.text(0.5, 0.5, f"no mistakes: all {len(labels)} examples are predicted right", ha="center", va="center")
        return saved(fig, path)
    predicted = probs[chosen].argmax(axis=1)
    titles = [
        f"{class_names[labels[i]]} →\n{class_names[c]} (p = {prob_text(probs[i, c])})"
        for i, c in zip(chosen, predicted, strict=True)
    ]
    suptitle = (
        f"the {len(chosen)} most confident mistakes: true → predicted (p = its probability); "
        f"{len(mistakes):,} of {len(labels):,} examples are wrong"
    )
    shown = as_images("images", images[chosen], image_shape)
    return saved(image_grid(shown, titles, ["black"] * len(chosen), [False] * len(chosen), num_cols, suptitle), path)


# --------------------------------------------------------------------------------------------------------
# Calibration and abstention, from the bins and the curve the run computed.

# Confidence thresholds marked on the coverage curve.
_MARKED_THRESHOLDS = (0.99, 0.9, 0.8, 0.5)
# A bin holding less than this fraction of the examples is drawn light: its accuracy is a noisy estimate (its
# standard error, up to 0.5 / sqrt(count), exceeds 0.05 below 100 examples of 10,000).
_SPARSE_BIN_FRACTION = 0.01
# Opaque colours, so that what the legend shows is what the bars show: nothing is drawn through anything else.
_ACCURACY_COLOR, _SPARSE_COLOR, _GAP_COLOR = "tab:blue", "#a9cbe6", "tab:red"
_COUNT_COLOR, _SPARSE_COUNT_COLOR = "0.45", "0.78"


def _at_threshold(curve: CoverageCurve, threshold: float) -> tuple[float, float]:
    """(coverage, accuracy) when answering at confidence >= ``threshold``, read off ``curve``.

    The answered examples are those of the curve's lowest threshold that is still >= ``threshold``: exact for
    :func:`~npsoftmax.metrics.coverage_curve`'s default thresholds (every distinct confidence), since no
    confidence lies between the two. None answered gives ``(0.0, nan)``.
    """
    reached = np.flatnonzero(curve.thresholds >= threshold)
    if reached.size == 0:
        return 0.0, math.nan
    i = reached[np.argmin(curve.thresholds[reached])]
    return float(curve.coverage[i]), float(curve.accuracy[i])


def plot_calibration(
    bins: CalibrationBins,
    coverage: CoverageCurve,
    path: str | os.PathLike | None = None,
    *,
    ece: float | None = None,
) -> Figure:
    """A reliability diagram, and accuracy against coverage when the model may abstain, from computed results.

    Left: in equal-width bins of confidence (the top probability), the fraction of right answers (bars) beside
    the bin's mean confidence (a red level, joined to the bar's top by its gap) and the diagonal a calibrated
    model would follow; below it, how many examples fall in each bin. Bins with less than 1% of the examples
    are drawn light (their accuracy is noise), empty ones are left out. Right: the chapter's question "is the
    most likely label always a good idea?": answering only when the top probability reaches a threshold raises
    the accuracy on what is answered, at the cost of answering less.

    Parameters
    ----------
    bins : CalibrationBins
        From :func:`npsoftmax.metrics.calibration_bins`.
    coverage : CoverageCurve
        From :func:`npsoftmax.metrics.coverage_curve`, with its default thresholds (every distinct confidence),
        so that the marked thresholds 0.99, 0.9, 0.8 and 0.5 are read off it exactly.
    path : where the PNG goes, or None
    ece : float or None
        The expected calibration error of the same bins (:func:`npsoftmax.metrics.expected_calibration_error`),
        written on the diagram; None leaves it out.
    """
    fig = Figure(figsize=(11, 4.9))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.11, top=0.86, wspace=0.25, hspace=0.08)
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 1))
    reliability = fig.add_subplot(grid[0, 0])
    histogram = fig.add_subplot(grid[1, 0], sharex=reliability)
    _draw_reliability(reliability, bins, ece)
    _draw_counts(histogram, bins)
    _draw_coverage(fig.add_subplot(grid[:, 1]), coverage)
    fig.suptitle("is the most likely label always a good idea? calibration and abstention on the test set", fontsize=11)
    return saved(fig, path)


def _draw_reliability(ax, bins: CalibrationBins, ece: float | None) -> None:
    """Accuracy bars, the mean confidence of each bin and its gap, the diagonal; sparse bins light, empty ones out."""
    n_examples = int(bins.count.sum())
    min_count = _SPARSE_BIN_FRACTION * n_examples
    occupied = bins.count > 0
    sparse = occupied & (bins.count < min_count)
    left, width = bins.edges[:-1][occupied], np.diff(bins.edges)[occupied]
    accuracy, confidence = bins.accuracy[occupied], bins.confidence[occupied]
    colors = np.where(sparse[occupied], _SPARSE_COLOR, _ACCURACY_COLOR)
    ax.bar(left, accuracy, width, align="edge", color=colors, edgecolor="white", linewidth=0.8)
    ax.vlines(left + width / 2, accuracy, confidence, color=_GAP_COLOR, linewidth=1.5)
    ax.hlines(confidence, left + 0.15 * width, left + 0.85 * width, color=_GAP_COLOR, linewidth=2)
    (diagonal,) = ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="calibrated: accuracy = confidence")
    handles = [
        Patch(color=_ACCURACY_COLOR, label="accuracy in the bin"),
        Line2D([], [], color=_GAP_COLOR, linewidth=2, label="mean confidence in the bin, gap to it"),
        diagonal,
    ]
    if sparse.any():
        light = f"light: < 1% of the examples (< {math.ceil(min_count)})"
        handles.insert(1, Patch(color=_SPARSE_COLOR, label=light))
    # Opaque: a bar seen through the legend would look like a light one.
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    summary = f"({len(bins.count)} bins, {n_examples} examples)"
    ax.text(
        0.97,
        0.05,
        f"ECE = {ece:.4f}\n{summary}" if ece is not None else summary,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=10,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
    )
    ax.set_title("reliability diagram: is a confidence of p right a fraction p of the time?", fontsize=10)
    ax.tick_params(labelbottom=False)
    ax.grid(True, alpha=0.3)


def _draw_counts(ax, bins: CalibrationBins) -> None:
    """The examples in each occupied bin, the sparse ones light as above."""
    occupied = bins.count > 0
    sparse = bins.count[occupied] < _SPARSE_BIN_FRACTION * bins.count.sum()
    colors = np.where(sparse, _SPARSE_COUNT_COLOR, _COUNT_COLOR)
    left, width = bins.edges[:-1][occupied], np.diff(bins.edges)[occupied]
    ax.bar(left, bins.count[occupied], width, align="edge", color=colors)
    ax.set_xlabel("confidence (top predicted probability)")
    ax.set_ylabel("examples")
    ax.grid(True, alpha=0.3)


def _marked_thresholds(coverage: CoverageCurve) -> tuple[list[str], list[tuple[float, float, list[str]]]]:
    """The table of the marked thresholds (lines of text), and the points to mark with the thresholds each
    stands for (two thresholds answering almost the same fraction share one point and one label)."""
    table = [f"{'threshold':<9}  {'answered':>8}  {'accuracy':>8}"]
    points: list[tuple[float, float, list[str]]] = []
    for threshold in _MARKED_THRESHOLDS:
        fraction, accuracy = _at_threshold(coverage, threshold)
        label = f"p ≥ {threshold:g}"
        table.append(f"{label:<9}  {fraction:>8.1%}  {'n/a' if fraction == 0 else f'{accuracy:.1%}':>8}")
        if fraction == 0:
            continue
        if points and abs(points[-1][0] - fraction) < 0.04:  # so close that two labels would overlap: one label
            points[-1][2].append(f"{threshold:g}")
        else:
            points.append((fraction, accuracy, [label]))
    return table, points


def _draw_coverage(ax, coverage: CoverageCurve) -> None:
    """Accuracy against coverage, the marked thresholds as points and in a table."""
    ax.plot(
        coverage.coverage,
        coverage.accuracy,
        color="tab:blue",
        linewidth=1.5,
        label="answer when the top probability ≥ threshold",
    )
    full_coverage, full_accuracy = _at_threshold(coverage, -math.inf)
    always = "always answer the most likely label" if full_coverage == 1 else "answer at the lowest threshold"
    ax.axhline(full_accuracy, color="0.4", linestyle="--", linewidth=1, label=f"{always}: {full_accuracy:.3f}")
    # Short labels below-left of the points, where the decreasing curve leaves room; the numbers in a table.
    table, points = _marked_thresholds(coverage)
    for fraction, accuracy, labels in points:
        ax.plot(fraction, accuracy, "o", color="tab:red", markersize=5)
        near_the_left = fraction < 0.12  # a label to the left would run off the axes
        ax.annotate(
            ", ".join(labels),
            (fraction, accuracy),
            xytext=(5 if near_the_left else -5, -5),
            textcoords="offset points",
            ha="left" if near_the_left else "right",
            va="top",
            fontsize=8,
            color="tab:red",
        )
    ax.text(
        0.03,
        0.3,
        "\n".join(table),
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=8,
        family="monospace",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
    )
    ax.set_xlim(0, 1.02)
    lowest = np.nanmin(coverage.accuracy) if np.isfinite(coverage.accuracy).any() else 0.0
    ax.set_ylim(min(0.8, lowest - 0.03), 1.005)
    ax.set_xlabel("coverage (fraction of examples answered)")
    ax.set_ylabel("accuracy on the answered examples")
    ax.set_title("abstaining below a confidence threshold", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(True, alpha=0.3)


# --------------------------------------------------------------------------------------------------------
# The sweep: accuracy over lr x batch size, one panel per combination of the other swept settings.

MAX_PANELS = 12


def plot_sweep(
    results: Mapping,
    settings: Sequence[Mapping],
    path: str | os.PathLike | None = None,
    *,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Heatmap(s) of the selection metric over learning rate (rows) and batch size (columns), values in the cells.

    One panel per combination of the other swept settings (the best over them when there are more than
    :data:`MAX_PANELS`); seeds are averaged. The best setting's cell is outlined; diverged runs are grey.

    Parameters
    ----------
    results : mapping
        The sweep's record (``sweep.json``): ``selected_by``, ``swept`` (each swept name with its values, in
        order, ``seed`` last), ``best``, ``config``.
    settings : sequence of mapping
        Each setting the sweep ran, with its swept values (but the seed) and its mean score over the seeds under
        ``results["selected_by"]`` (None when a seed diverged): :func:`npsoftmax.sweep.rank_settings`.
    path : where the PNG goes, or None
    labels : mapping of str to str, or None
        How to name each swept setting in a panel's title; by default its name with spaces for underscores.
    """
    metric, grid = results["selected_by"], results["swept"]
    names = [name for name in grid if name != "seed"]
    labels = {name: (labels or {}).get(name, name.replace("_", " ")) for name in names}
    others = [name for name in names if name not in ("lr", "batch_size") and len(grid[name]) > 1]
    panels = [dict(zip(others, values, strict=True)) for values in itertools.product(*(grid[n] for n in others))]
    best_over_others = len(panels) > MAX_PANELS
    if best_over_others:
        panels = [{}]
    n_lrs, n_batch_sizes = len(grid["lr"]), len(grid["batch_size"])
    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    panel_w, panel_h = max(2.8, 0.95 * n_batch_sizes + 1.2), max(2.0, 0.55 * n_lrs + 1.1)
    fig = Figure(figsize=(max(5.0, panel_w * ncols + 1.2), panel_h * nrows + 1.1), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    scores = [s[metric] for s in settings if s[metric] is not None]
    vmin, vmax = (min(scores), max(scores)) if scores else (0.0, 1.0)
    if vmax - vmin < 1e-3:
        vmin, vmax = vmin - 5e-4, vmax + 5e-4
    best = results["best"]
    best = None if best is None else {name: best[name] for name in names}
    for ax, fixed in zip(axes.ravel(), panels, strict=False):
        image = _sweep_panel(ax, grid, settings, metric, fixed, best, (vmin, vmax))
        if fixed:
            ax.set_title(", ".join(_setting(labels[name], value) for name, value in fixed.items()), fontsize=10)
        elif best_over_others:
            ax.set_title("best over " + ", ".join(labels[name] for name in others), fontsize=10)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    what = "validation accuracy" if metric == "val_acc" else "test accuracy (no --val-split: selection on test)"
    config = results["config"]
    detail = [f"{config['epochs']} epoch{'s' if config['epochs'] != 1 else ''}"]
    if config["val_split"] is not None:
        detail.append(f"{config['val_split']:g} of training held out")
    if len(grid["seed"]) > 1:
        detail.append(f"mean of {len(grid['seed'])} seeds")
    fig.suptitle(f"{what}\n{', '.join(detail)}; best outlined in red", fontsize=10)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9, label=what.split(" (")[0])
    return saved(fig, path)


def _sweep_panel(ax, grid, settings, metric, fixed, best, limits):
    """One panel: the best score of each (lr, batch size) cell among the settings matching ``fixed``."""
    lrs, batch_sizes = sorted(grid["lr"]), sorted(grid["batch_size"])
    vmin, vmax = limits
    values = np.full((len(lrs), len(batch_sizes)), np.nan)
    ran, outline = set(), None
    for setting in settings:
        if any(setting[name] != value for name, value in fixed.items()):
            continue
        cell = lrs.index(setting["lr"]), batch_sizes.index(setting["batch_size"])
        ran.add(cell)
        if setting[metric] is not None and not values[cell] >= setting[metric]:
            values[cell] = setting[metric]
        if best is not None and all(setting[name] == value for name, value in best.items()):
            outline = cell
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_facecolor("0.85")
    for i, j in itertools.product(range(len(lrs)), range(len(batch_sizes))):
        if np.isfinite(values[i, j]):
            dark = (values[i, j] - vmin) / (vmax - vmin) < 0.55  # viridis is dark at the low end
            text, color, size = f"{values[i, j]:.4f}", "white" if dark else "black", 9
        else:
            text, color, size = ("diverged" if (i, j) in ran else "not run"), "black", 8
        ax.text(j, i, text, ha="center", va="center", fontsize=size, color=color)
    if outline is not None:
        i, j = outline
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    ax.set_xticks(range(len(batch_sizes)), [str(b) for b in batch_sizes])
    ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs])
    ax.set_xlabel("batch size")
    ax.set_ylabel("learning rate")
    return image


def _setting(label: str, value: object) -> str:
    return f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}"
