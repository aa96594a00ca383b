"""The chapter's pictures: training curves, a grid of labelled test images, the confusion matrix.

Figures are built with matplotlib's object-oriented API (``Figure``, never ``pyplot``), so nothing here depends on a
display or ever blocks on ``plt.show()``. Each picture can be written to a PNG atomically, and Jupyter shows it
inline; the curves are redrawn in place after every epoch, like the seed's ``Animator``.
"""

from __future__ import annotations

import io
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure as MplFigure

from ._io import write_atomic

__all__ = ["Animator", "Figure", "in_notebook", "plot_predictions", "plot_confusion"]


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

    The parameters are d2l's, plus ``path``. Inside Jupyter the figure is shown once and updated in place
    after every :meth:`add`; with ``path`` it is also written there as a PNG after every :meth:`add`, so a
    terminal user can watch the file. In a plain script without ``path`` it draws nothing visible and never
    blocks.

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
    ) -> None:
        self.fig = Figure(figsize=figsize)
        axes = self.fig.subplots(nrows, ncols, squeeze=False).ravel()
        self.axes = axes if len(axes) > 1 else [axes[0]]
        self.legend = list(legend) if legend is not None else []
        self.fmts = list(fmts)
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self.path = Path(path) if path is not None else None
        self._display = None

        def config_axes() -> None:
            ax = self.axes[0]
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_xscale(xscale)
            ax.set_yscale(yscale)
            if xlim is not None:
                ax.set_xlim(*_widened(xlim))
            if ylim is not None:
                ax.set_ylim(*_widened(ylim))
            if self.legend:
                ax.legend(self.legend, fontsize="small")
            ax.grid(True, alpha=0.3)

        self.config_axes = config_axes
        # Fixed margins rather than a layout engine: the figure is redrawn every epoch, and constrained
        # layout would measure every label again each time.
        self.fig.subplots_adjust(left=0.16, right=0.97, top=0.95, bottom=0.18)
        self.config_axes()

    def add(self, x: float | Sequence[float], y: float | Sequence[float]) -> None:
        """Append one point to each curve (``y`` in legend order, ``x`` one value or one per curve), redraw."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if len(x) != n:
            raise ValueError(f"x has {len(x)} values but y has {n}; give one x, or one per curve")
        if self.X is None:
            self.X, self.Y = [[] for _ in range(n)], [[] for _ in range(n)]
        if n != len(self.Y):
            raise ValueError(f"expected {len(self.Y)} values (one per curve), got {n}")
        for i, (a, b) in enumerate(zip(x, y, strict=True)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        ax = self.axes[0]
        ax.cla()
        for xs, ys, fmt in zip(self.X, self.Y, itertools.cycle(self.fmts), strict=False):
            # A single point would be an invisible line of length 0: give it a marker.
            ax.plot(xs, ys, fmt, marker="o" if len(xs) == 1 else None)
        self.config_axes()
        self.show()

    def show(self) -> None:
        """Write the PNG (with ``path``) and update the figure in the notebook (inside Jupyter)."""
        if self.path is not None:
            self.fig.save(self.path)
        if in_notebook():
            from IPython.display import Image, display

            image = Image(self.fig.to_png())
            if self._display is None:
                self._display = display(image, display_id=True)
            else:
                self._display.update(image)


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
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > threshold else "black")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"confusion matrix on the test set (accuracy {accuracy:.4f})", fontsize=9)
    if path is not None:
        fig.save(path)
    return fig
