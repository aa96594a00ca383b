"""The chapter's pictures: training curves, a grid of labelled test images, the confusion matrix.

Figures are built with matplotlib's object-oriented API (``Figure``, never ``pyplot``), so nothing here depends on a
display or ever blocks on ``plt.show()``. Each picture is written to a PNG atomically; inside Jupyter the
curves are also redrawn in place after every epoch, like the seed's ``Animator``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ._io import write_atomic

__all__ = ["Animator", "plot_predictions", "plot_confusion", "save_figure"]


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Render ``fig`` to PNG at ``path`` in one rename: a reader never sees half a file.

    Not flushed to disk (no fsync): a picture redrawn every epoch is not worth a disk flush each time.
    """
    return write_atomic(Path(path), lambda f: fig.savefig(f, format="png", dpi=dpi), durable=False)


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class Animator:
    """Curves that grow one point per epoch, as the seed's ``Animator``.

    Parameters
    ----------
    xlabel : str
    legend : sequence of str
        One name per curve, e.g. ``("train loss", "train acc", "test acc")``.
    xlim, ylim : (float, float) or None
    path : path or None
        When given, the figure is written there (PNG) after every :meth:`add`, so it can be watched.
    """

    def __init__(
        self,
        xlabel: str = "epoch",
        legend: Sequence[str] = ("train loss", "train acc", "test acc"),
        xlim: tuple[float, float] | None = None,
        ylim: tuple[float, float] | None = None,
        path: str | os.PathLike | None = None,
        figsize: tuple[float, float] = (4.5, 3.2),
    ) -> None:
        # Fixed margins rather than a layout engine: the figure is redrawn every epoch, and constrained
        # layout would measure every label again each time (half of a default run's wall time).
        self.fig = Figure(figsize=figsize)
        self.fig.subplots_adjust(left=0.13, right=0.97, top=0.96, bottom=0.15)
        self.ax = self.fig.add_subplot()
        self.ax.set_xlabel(xlabel)
        if xlim is not None:
            self.ax.set_xlim(*xlim)
        if ylim is not None:
            self.ax.set_ylim(*ylim)
        self.ax.grid(True, alpha=0.3)
        styles = ("-", "m--", "g-.", "r:")
        self.lines = [self.ax.plot([], [], styles[i % len(styles)], label=name)[0] for i, name in enumerate(legend)]
        self.ax.legend(loc="center right")
        self.path = Path(path) if path is not None else None
        self.X: list[float] = []
        self.Y: list[list[float]] = [[] for _ in legend]
        self._notebook = _in_notebook()

    def add(self, x: float, ys: Sequence[float]) -> None:
        """Append one point to each curve (``ys`` in legend order), then redraw."""
        if len(ys) != len(self.lines):
            raise ValueError(f"expected {len(self.lines)} values (one per curve), got {len(ys)}")
        self.X.append(x)
        for series, line, y in zip(self.Y, self.lines, ys, strict=True):
            series.append(y)
            line.set_data(self.X, series)
        self.ax.relim()
        self.ax.autoscale_view()
        if self.path is not None:
            save_figure(self.fig, self.path)
        if self._notebook:
            from IPython import display

            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png")
            display.clear_output(wait=True)
            display.display(display.Image(buffer.getvalue()))


def plot_predictions(
    images: np.ndarray,
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    path: str | os.PathLike,
    num_cols: int = 6,
) -> Path:
    """A grid of images, each titled "true / predicted"; wrong predictions in red with a red frame.

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28)
    true_labels, predicted_labels : sequences of n str
    path : where the PNG goes
    """
    n = len(images)
    num_rows = -(-n // num_cols)
    fig = Figure(figsize=(1.55 * num_cols, 1.85 * num_rows + 0.4))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.75 / (1.85 * num_rows + 0.4), hspace=0.45)
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
    return save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike) -> Path:
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
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > threshold else "black")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"confusion matrix on the test set (accuracy {accuracy:.4f})", fontsize=9)
    return save_figure(fig, path)
