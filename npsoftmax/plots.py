"""The chapter's pictures: training curves, a grid of labelled test images, the confusion matrix, the learned
weights as images, and calibration with the accuracy gained by abstaining.

Figures are built with matplotlib's object-oriented API (``Figure``, never ``pyplot``), so nothing here depends on a
display or ever blocks on ``plt.show()``. Each picture can be written to a PNG atomically, and Jupyter shows it
inline; the curves are redrawn in place after every epoch, like the seed's ``Animator``.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure as MplFigure

from ._io import write_atomic
from .losses import check_float_array
from .metrics import calibration_bins, coverage_curve, expected_calibration_error

__all__ = [
    "Animator",
    "Figure",
    "in_notebook",
    "plot_predictions",
    "plot_confusion",
    "plot_weights",
    "plot_calibration",
]


class Figure(MplFigure):
    """A matplotlib ``Figure`` that Jupyter shows inline as a PNG when it is a cell's value.

    Figures here are built without ``pyplot`` (no display, nothing ever blocks), so no backend shows them;
    ``_repr_png_`` lets Jupyter do it. ``save(path)`` writes the PNG atomically.
    """

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def to_png(self, dpi: int = 100) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()

    def save(self, path: str | os.PathLike, dpi: int = 100) -> Path:
        """Render to PNG at ``path`` in one rename: a reader never sees half a file.

        Not flushed to disk (no fsync): a picture redrawn every epoch is not worth a disk flush each time.
        """
        return write_atomic(Path(path), lambda f: self.savefig(f, format="png", dpi=dpi), durable=False)


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel: classic Jupyter, JupyterLab, VS Code, Colab alike.

    They all run an IPython shell with a ``kernel`` attribute; a terminal IPython has none, and a plain
    script has no IPython at all.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class Animator:
    """Curves that grow one point at a time, as the seed's ``Animator``, without pyplot.

    The parameters are d2l's, plus ``path`` and ``min_interval``. Inside Jupyter the figure is shown once and
    updated in place; with ``path`` it is also written there as a PNG, so a terminal user can watch the file.
    In a plain script without ``path`` it draws nothing visible and never blocks.

    Parameters
    ----------
    xlabel, ylabel : str or None
    legend : sequence of str or None
        One name per curve, e.g. ``("train loss", "train acc", "test acc")``.
    xlim, ylim : (float, float) or None
    xscale, yscale : str, default "linear"
    fmts : sequence of str
        matplotlib format strings, one per curve, reused in turn.
    nrows, ncols : int, default 1
        Subplots in the figure; the curves go into the first, as in d2l.
    figsize : (float, float), default (3.5, 2.5)
    path : path or None
    min_interval : float, default 0.0
        Seconds between two redraws. Rendering takes about 60 ms, as long as an epoch: outside a notebook
        :func:`train_ch3` redraws at most once a second; :meth:`flush` draws what an :meth:`add` left pending.
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim: tuple[float, float] | None = None,
        ylim: tuple[float, float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
        path: str | os.PathLike | None = None,
        min_interval: float = 0.0,
    ) -> None:
        self.fig = Figure(figsize=figsize)
        # Fixed margins rather than a layout engine, which would measure every label again at each redraw.
        self.fig.subplots_adjust(left=0.16, right=0.97, top=0.95, bottom=0.18)
        self.axes = list(self.fig.subplots(nrows, ncols, squeeze=False).ravel())
        ax = self.axes[0]
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xscale(xscale)
        ax.set_yscale(yscale)
        if xlim is not None:
            ax.set_xlim(*_widened(xlim))
        if ylim is not None:
            ax.set_ylim(*_widened(ylim))
        ax.grid(True, alpha=0.3)
        self.legend = list(legend) if legend is not None else []
        self.fmts = list(fmts)
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self.lines: list = []
        self.path = Path(path) if path is not None else None
        self.min_interval = min_interval
        self._pending = False
        self._last_shown = -math.inf
        self._display = None

    def add(self, x: float | Sequence[float], y: float | Sequence[float]) -> None:
        """Append one point to each curve (``y`` in legend order, ``x`` one value or one per curve), redraw."""
        if np.ndim(y) == 0:
            y = [y]
        n = len(y)
        if np.ndim(x) == 0:
            x = [x] * n
        if len(x) != n:
            raise ValueError(f"x has {len(x)} values but y has {n}; give one x, or one per curve")
        if self.X is None:
            self.X, self.Y = [[] for _ in range(n)], [[] for _ in range(n)]
            ax = self.axes[0]
            self.lines = [ax.plot([], [], fmt)[0] for fmt, _ in zip(itertools.cycle(self.fmts), range(n))]
            if self.legend:
                ax.legend(self.lines, self.legend, fontsize="small")
        if n != len(self.Y):
            raise ValueError(f"expected {len(self.Y)} values (one per curve), got {n}")
        for xs, ys, line, a, b in zip(self.X, self.Y, self.lines, x, y, strict=True):
            if a is not None and b is not None:
                xs.append(a)
                ys.append(b)
            line.set_data(xs, ys)
            # A single point would be an invisible line of length 0: give it a marker.
            line.set_marker("o" if len(xs) == 1 else "None")
        self.axes[0].relim()
        self.axes[0].autoscale_view()
        self._pending = True
        if time.monotonic() - self._last_shown >= self.min_interval:
            self.show()

    def show(self) -> None:
        """Draw now: write the PNG (with ``path``) and update the figure in place (inside Jupyter)."""
        if self.path is not None:
            self.fig.save(self.path)
        if in_notebook():
            from IPython.display import Image, display

            image = Image(self.fig.to_png())
            if self._display is None:
                self._display = display(image, display_id=True)
            else:
                self._display.update(image)
        self._pending = False
        self._last_shown = time.monotonic()

    def flush(self) -> None:
        """Draw what an :meth:`add` held back by ``min_interval``, if anything."""
        if self._pending:
            self.show()


def _widened(limits: tuple[float, float]) -> tuple[float, float]:
    """Axis limits, widened by 0.5 on each side when both are equal (matplotlib warns and draws nothing)."""
    low, high = limits
    return (low - 0.5, high + 0.5) if low == high else (low, high)


def plot_predictions(
    images: np.ndarray,
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    path: str | os.PathLike | None = None,
    num_cols: int = 6,
) -> Figure:
    """A grid of images, each titled "true / predicted"; wrong predictions in red with a red frame.

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28)
    true_labels, predicted_labels : sequences of n str
    path : where the PNG goes, or None
    """
    n = len(images)
    num_cols = min(num_cols, n)
    num_rows = -(-n // num_cols)
    fig = Figure(figsize=(1.55 * num_cols, 1.85 * num_rows + 0.4))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.62 / (1.85 * num_rows + 0.4), hspace=0.45)
    axes = fig.subplots(num_rows, num_cols, squeeze=False).ravel()
    for ax, image, true, pred in zip(axes, images, true_labels, predicted_labels, strict=False):
        wrong = true != pred
        color = "tab:red" if wrong else "black"
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"{true}\n{'✗ ' if wrong else ''}{pred}", fontsize=8, color=color)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(2 if wrong else 0.5)
    for ax in axes[n:]:
        ax.set_axis_off()
    n_wrong = sum(t != p for t, p in zip(true_labels, predicted_labels, strict=True))
    fig.suptitle(f"test images: true label / prediction ({n - n_wrong} of {n} right)", fontsize=9)
    if path is not None:
        fig.save(path)
    return fig


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
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if matrix[i, j] > threshold else "black",
            )
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"confusion matrix on the test set (accuracy {accuracy:.4f})", fontsize=9)
    if path is not None:
        fig.save(path)
    return fig


def plot_weights(W: np.ndarray, class_names: Sequence[str], path: str | os.PathLike | None = None) -> Figure:
    """Each column of ``W`` as an image: the template a linear classifier matches against (cs231n's picture).

    The colour map is diverging and centred on 0 with one scale for all classes: red pixels raise the class's
    score where the image has ink, blue pixels lower it, white ones do not matter.

    Parameters
    ----------
    W : ndarray of shape (height * width, k)
        The weights of ``SoftmaxRegression`` (784 × 10 for Fashion-MNIST); the images must be square.
    class_names : sequence of k str
        The titles, one per column.
    path : where the PNG goes, or None
    """
    W = check_float_array("W", W)
    if W.ndim != 2 or 0 in W.shape:
        raise ValueError(f"W must be 2-D of shape (n_pixels, n_classes), got shape {W.shape}")
    n_pixels, k = W.shape
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(f"W has {n_pixels} rows, not the pixels of a square image (784 = 28 × 28)")
    if len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names but W has {k} columns")
    num_cols = min(k, 5)
    num_rows = -(-k // num_cols)
    height = 1.9 * num_rows + 0.6
    fig = Figure(figsize=(1.75 * num_cols + 1.0, height))
    fig.subplots_adjust(left=0.02, right=0.86, bottom=0.03, top=1 - 0.55 / height, wspace=0.08, hspace=0.3)
    axes = fig.subplots(num_rows, num_cols, squeeze=False).ravel()
    limit = float(np.abs(W).max()) or 1.0
    for ax, column, name in zip(axes, W.T, class_names, strict=False):
        image = ax.imshow(column.reshape(side, side), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[k:]:
        ax.set_axis_off()
    colorbar_axes = fig.add_axes((0.89, 0.1, 0.025, 0.75))
    colorbar = fig.colorbar(image, cax=colorbar_axes)
    colorbar.ax.tick_params(labelsize=8)
    colorbar.set_label("weight", fontsize=9)
    fig.suptitle(
        "learned weights, one 28×28 template per class (red: ink here raises the score, blue: lowers it)", fontsize=9
    )
    if path is not None:
        fig.save(path)
    return fig


# Confidence thresholds marked on the coverage curve.
_MARKED_THRESHOLDS = (0.99, 0.9, 0.8, 0.5)


def plot_calibration(
    probs: np.ndarray, y: np.ndarray, path: str | os.PathLike | None = None, n_bins: int = 15
) -> Figure:
    """A reliability diagram with its ECE, and accuracy against coverage when the model may abstain.

    Left: in equal-width bins of confidence (the top probability), the fraction of right answers beside the
    diagonal a calibrated model would follow, the gap shaded, and below it how many examples fall in each
    bin. Right: the chapter's question "is the most likely label always a good idea?" answered with
    :func:`~npsoftmax.metrics.coverage_curve`: answering only when the top probability reaches a threshold
    raises the accuracy on what is answered, at the cost of answering less.

    Parameters
    ----------
    probs : ndarray of shape (n, k)
        Predicted probabilities, rows summing to 1 (``net.predict_proba(X)``).
    y : ndarray of int, shape (n,)
        True labels.
    path : where the PNG goes, or None
    n_bins : int, default 15
    """
    bins = calibration_bins(probs, y, n_bins)
    ece = expected_calibration_error(probs, y, n_bins)
    curve = coverage_curve(probs, y)
    marked = coverage_curve(probs, y, _MARKED_THRESHOLDS)

    fig = Figure(figsize=(11, 4.9))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.11, top=0.86, wspace=0.25, hspace=0.08)
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 1))
    reliability = fig.add_subplot(grid[0, 0])
    histogram = fig.add_subplot(grid[1, 0], sharex=reliability)
    coverage = fig.add_subplot(grid[:, 1])

    width = np.diff(bins.edges)
    occupied = bins.count > 0
    left = bins.edges[:-1][occupied]
    accuracy, confidence = bins.accuracy[occupied], bins.confidence[occupied]
    reliability.bar(
        left, accuracy, width[occupied], align="edge", color="tab:blue", edgecolor="white", label="accuracy in the bin"
    )
    reliability.bar(
        left,
        np.abs(confidence - accuracy),
        width[occupied],
        bottom=np.minimum(confidence, accuracy),
        align="edge",
        color="tab:red",
        alpha=0.3,
        edgecolor="tab:red",
        hatch="//",
        label="gap to the mean confidence",
    )
    reliability.plot([0, 1], [0, 1], "k--", linewidth=1, label="calibrated: accuracy = confidence")
    reliability.set_xlim(0, 1)
    reliability.set_ylim(0, 1)
    reliability.set_ylabel("accuracy")
    reliability.legend(loc="upper left", fontsize=8)
    reliability.text(
        0.97,
        0.05,
        f"ECE = {ece:.4f}\n({n_bins} bins, {bins.count.sum()} examples)",
        transform=reliability.transAxes,
        ha="right",
        va="bottom",
        fontsize=10,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
    )
    reliability.set_title("reliability diagram: is a confidence of p right a fraction p of the time?", fontsize=10)
    reliability.tick_params(labelbottom=False)
    reliability.grid(True, alpha=0.3)

    histogram.bar(bins.edges[:-1], bins.count, width, align="edge", color="0.55", edgecolor="white")
    histogram.set_xlabel("confidence (top predicted probability)")
    histogram.set_ylabel("examples")
    histogram.grid(True, alpha=0.3)

    full_accuracy = curve.accuracy[-1]
    coverage.plot(
        curve.coverage,
        curve.accuracy,
        color="tab:blue",
        linewidth=1.5,
        label="answer when the top probability ≥ threshold",
    )
    coverage.axhline(
        full_accuracy,
        color="0.4",
        linestyle="--",
        linewidth=1,
        label=f"always answer the most likely label: {full_accuracy:.3f}",
    )
    # Short labels below-left of the points, where the decreasing curve leaves room; the numbers in a table.
    table = [f"{'threshold':<9}  {'answered':>8}  {'accuracy':>8}"]
    for threshold, fraction, right in zip(marked.thresholds, marked.coverage, marked.accuracy, strict=True):
        label = f"p ≥ {threshold:g}"
        if fraction == 0:
            table.append(f"{label:<9}  {fraction:>8.1%}  {'n/a':>8}")
            continue
        coverage.plot(fraction, right, "o", color="tab:red", markersize=5)
        coverage.annotate(
            label,
            (fraction, right),
            xytext=(-5, -5),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color="tab:red",
        )
        table.append(f"{label:<9}  {fraction:>8.1%}  {right:>8.1%}")
    coverage.text(
        0.03,
        0.3,
        "\n".join(table),
        transform=coverage.transAxes,
        ha="left",
        va="bottom",
        fontsize=8,
        family="monospace",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
    )
    coverage.set_xlim(0, 1.02)
    coverage.set_ylim(min(0.8, curve.accuracy.min() - 0.03), 1.005)
    coverage.set_xlabel("coverage (fraction of examples answered)")
    coverage.set_ylabel("accuracy on the answered examples")
    coverage.set_title("abstaining below a confidence threshold", fontsize=10)
    coverage.legend(loc="lower left", fontsize=8)
    coverage.grid(True, alpha=0.3)

    fig.suptitle("is the most likely label always a good idea? calibration and abstention on the test set", fontsize=11)
    if path is not None:
        fig.save(path)
    return fig
