"""The chapter's pictures: d2l's ``Animator``, the training curves, test images titled with their labels, and the
learned weights as templates.

Figures are built with matplotlib's object-oriented API (``Figure``, never ``pyplot``), so nothing here depends on a
display or ever blocks on ``plt.show()``. Inside Jupyter the curves are redrawn in place after every epoch, like
d2l's ``Animator``.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ._figure import (
    TITLE_LINE_INCHES,
    Figure,
    as_images,
    check_weights,
    image_grid,
    mosaic,
    mosaic_figure,
    saved,
    suptitle_at_top,
    tile_shape,
)

__all__ = ["Animator", "Figure", "in_notebook", "plot_curves", "plot_predictions", "plot_weights"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel: classic Jupyter, JupyterLab, VS Code, Colab alike.

    They all run an IPython shell with a ``kernel`` attribute; a terminal IPython has none, and a plain
    script has no IPython at all.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class Animator:
    """Curves that grow one point at a time, as d2l's ``Animator``, without pyplot.

    The parameters are d2l's, plus ``path`` and ``min_interval``. Inside Jupyter the figure is shown once and
    updated in place; with ``path`` it is also written there as a PNG, so a terminal user can watch the file.
    In a plain script without ``path`` it draws nothing visible and never blocks.

    ``xlim`` and ``ylim`` are d2l's view, kept while the data fits in it; a point outside widens that side of the
    axis to take it in (d2l's fixed ``ylim=[0.3, 0.9]`` would leave a loss of 1.7 or 146 off the chart while the
    legend still names it).

    Parameters
    ----------
    xlabel, ylabel : str or None
    legend : sequence of str or None
        One name per curve, e.g. ``("train loss", "train acc", "test acc")``.
    xlim, ylim : (float, float) or None
        The view to show; widened only as far as the data needs.
    xscale, yscale : str, default "linear"
    fmts : str or sequence of str
        matplotlib format strings, one per curve, reused in turn; at least one.
    nrows, ncols : int, default 1
        Subplots in the figure; the curves go into the first, as in d2l.
    figsize : (float, float), default (3.5, 2.5)
    path : path or None
        Where the PNG goes; its folder must exist.
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
        fmts: str | Sequence[str] = ("-", "m--", "g-.", "r:"),
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
        path: str | os.PathLike | None = None,
        min_interval: float = 0.0,
    ) -> None:
        self.fmts = [fmts] if isinstance(fmts, str) else list(fmts)
        if not self.fmts or not all(isinstance(fmt, str) for fmt in self.fmts):
            raise ValueError(f"fmts must be matplotlib format strings, at least one (e.g. ('-', 'm--')); got {fmts!r}")
        self.path = Path(path) if path is not None else None
        if self.path is not None and not self.path.parent.is_dir():
            raise FileNotFoundError(f"the folder of path={str(path)!r} does not exist: create it first")
        self.fig = Figure(figsize=figsize)
        # Fixed margins rather than a layout engine, which would measure every label again at each redraw.
        self.fig.subplots_adjust(left=0.16, right=0.97, top=0.95, bottom=0.18)
        self.axes = list(self.fig.subplots(nrows, ncols, squeeze=False).ravel())
        ax = self.axes[0]
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xscale(xscale)
        ax.set_yscale(yscale)
        self.xlim = _widened(xlim) if xlim is not None else None
        self.ylim = _widened(ylim) if ylim is not None else None
        if self.xlim is not None:
            ax.set_xlim(*self.xlim)
        if self.ylim is not None:
            ax.set_ylim(*self.ylim)
        ax.grid(True, alpha=0.3)
        self.legend = list(legend) if legend is not None else []
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self.lines: list = []
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
        self._rescale()
        self._pending = True
        if time.monotonic() - self._last_shown >= self.min_interval:
            self.show()

    def _rescale(self) -> None:
        ax = self.axes[0]
        ax.relim()
        ax.autoscale_view()
        if self.xlim is not None:
            ax.set_xlim(*_covering(self.xlim, [v for xs in self.X for v in xs], ax.get_xscale()))
        if self.ylim is not None:
            ax.set_ylim(*_covering(self.ylim, [v for ys in self.Y for v in ys], ax.get_yscale()))

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


def _covering(limits: tuple[float, float], values: Sequence[float], scale: str) -> tuple[float, float]:
    """``limits``, each side moved out just past the data (5% of the span) where the data leaves them."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite) & ((finite > 0) if scale == "log" else True)]
    low, high = limits
    if finite.size == 0 or (finite.min() >= low and finite.max() <= high):
        return low, high
    if scale == "log":
        # On a log axis the margin is a factor: 5% of the span in log space.
        log_low, log_high = np.log10(min(low, finite.min())), np.log10(max(high, finite.max()))
        pad = 0.05 * (log_high - log_low)
        return (
            low if finite.min() >= low else 10 ** (log_low - pad),
            high if finite.max() <= high else 10 ** (log_high + pad),
        )
    new_low, new_high = min(low, float(finite.min())), max(high, float(finite.max()))
    pad = 0.05 * (new_high - new_low)
    return (low if finite.min() >= low else new_low - pad, high if finite.max() <= high else new_high + pad)


# --------------------------------------------------------------------------------------------------------
# Training curves from train_ch3's records.

# Record key: (legend label, colour, line style). Train and validation share a colour per quantity kind.
_CURVES = {
    "train_loss": ("train loss", "tab:blue", "-"),
    "val_loss": ("val loss", "tab:orange", "--"),
    "train_acc": ("train acc", "tab:blue", "-"),
    "val_acc": ("val acc", "tab:orange", "--"),
    "test_acc": ("test acc", "tab:green", "-."),
}
# A loss spanning more than this factor is drawn on a log axis, where a first epoch of 146 does not flatten the rest.
_LOG_LOSS_RATIO = 10.0


def plot_curves(records: Sequence[dict], path: str | os.PathLike | None = None) -> Figure:
    """Loss (left) and accuracy (right) per epoch from :func:`npsoftmax.train_ch3`'s records.

    The loss axis starts at 0 and reaches past the largest loss, whatever its size (146 at ``--lr 100`` as well as
    0.4); when the loss spans more than a factor of 10 it is drawn on a log axis. The accuracy axis ends at 1 and
    starts at the tenth below the lowest accuracy. Epoch ticks are integers; with 20 epochs or fewer each epoch
    is marked by a point, so a single epoch shows.

    Parameters
    ----------
    records : sequence of dict
        One per epoch, with ``epoch``, ``train_loss``, ``train_acc`` and ``test_acc``, and optionally ``val_loss``
        and ``val_acc`` (the :class:`npsoftmax.History` that ``train_ch3`` returns).
    path : where the PNG goes, or None

    Returns
    -------
    Figure
        Two Axes: loss, then accuracy.
    """
    if len(records) == 0:
        raise ValueError("records is empty: plot_curves needs at least one epoch's record")
    required = ("epoch", "train_loss", "train_acc", "test_acc")
    missing = [key for key in required if any(key not in record for record in records)]
    if missing:
        raise ValueError(f"every record needs {', '.join(required)}; missing {', '.join(missing)}")
    fig = Figure(figsize=(8.0, 3.0))
    fig.subplots_adjust(left=0.08, right=0.985, bottom=0.16, top=0.84, wspace=0.22)
    loss_ax, acc_ax = fig.subplots(1, 2)
    _draw_curves(loss_ax, records, ("train_loss", "val_loss"))
    _draw_curves(acc_ax, records, ("train_acc", "val_acc", "test_acc"))
    losses = np.array([line.get_ydata() for line in loss_ax.get_lines()], dtype=float)
    accuracies = np.array([line.get_ydata() for line in acc_ax.get_lines()], dtype=float)
    finite_losses = losses[np.isfinite(losses)]
    low, high = (finite_losses.min(), finite_losses.max()) if finite_losses.size else (0.0, 1.0)
    if low > 0 and high / low > _LOG_LOSS_RATIO:
        loss_ax.set_yscale("log")
        loss_ax.set_ylim(low / 1.25, high * 1.25)
        loss_ax.set_ylabel("cross-entropy loss (log scale)")
    else:
        loss_ax.set_ylim(0, high * 1.08 or 1.0)
        loss_ax.set_ylabel("cross-entropy loss")
    lowest = float(np.nanmin(accuracies)) if np.isfinite(accuracies).any() else 0.0
    acc_ax.set_ylim(max(0.0, math.floor(10 * lowest - 0.3) / 10), 1.0)
    acc_ax.set_ylabel("accuracy")
    loss_ax.legend(loc="upper right", fontsize=8)
    acc_ax.legend(loc="lower right", fontsize=8, ncols=len(acc_ax.get_lines()))
    last = records[-1]
    scores = [f"train loss {last['train_loss']:.4g}"]
    scores += [f"val acc {last['val_acc']:.4f}"] if "val_acc" in last else []
    scores.append(f"test acc {last['test_acc']:.4f}")
    n = len(records)
    fig.suptitle(f"training curves, {n} epoch{'s' if n != 1 else ''}; last epoch: {', '.join(scores)}", fontsize=10)
    return saved(fig, path)


def _draw_curves(ax, records: Sequence[dict], keys: Sequence[str]) -> None:
    """The curves of ``keys`` that every record has, against whole epochs."""
    epochs = [record["epoch"] for record in records]
    marker = "o" if len(records) <= 20 else None
    for key in keys:
        if all(key in record for record in records):
            label, color, style = _CURVES[key]
            values = [record[key] for record in records]
            ax.plot(epochs, values, linestyle=style, color=color, marker=marker, markersize=3.5, label=label)
    # Whole epochs only: a locator alone would tick 0.5, 0.6, ... around a single epoch.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10], min_n_ticks=1))
    first, last = min(epochs), max(epochs)
    pad = 0.03 * (last - first)
    ax.set_xlim(*_widened((first - pad, last + pad)))
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)


# --------------------------------------------------------------------------------------------------------
# Images: one mosaic image in one Axes, the titles as text.


def plot_predictions(
    images: np.ndarray,
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    path: str | os.PathLike | None = None,
    num_cols: int = 6,
) -> Figure:
    """A grid of images, each titled "true / predicted"; wrong predictions in red with a red frame.

    Drawn as one mosaic image with its titles as text (``fig.axes[0].texts``, in image order).

    Parameters
    ----------
    images : ndarray of shape (n, height, width)
        Each shown on its own grey scale, as ``imshow`` would scale it.
    true_labels, predicted_labels : sequences of n str
    path : where the PNG goes, or None
    num_cols : int, default 6
    """
    images = as_images("images", images, None)
    n = len(images)
    if not len(true_labels) == len(predicted_labels) == n:
        raise ValueError(
            f"{n} images need {n} true and predicted labels, got {len(true_labels)} and {len(predicted_labels)}"
        )
    wrong = [true != pred for true, pred in zip(true_labels, predicted_labels, strict=True)]
    titles = [
        f"{true}\n{'✗ ' if bad else ''}{pred}"
        for true, pred, bad in zip(true_labels, predicted_labels, wrong, strict=True)
    ]
    colors = ["tab:red" if bad else "black" for bad in wrong]
    suptitle = f"test images: true label / prediction ({n - sum(wrong)} of {n} right)"
    return saved(image_grid(images, titles, colors, wrong, num_cols, suptitle), path)


def plot_weights(
    W: np.ndarray,
    class_names: Sequence[str],
    path: str | os.PathLike | None = None,
    *,
    image_shape: Sequence[int] | None = None,
) -> Figure:
    """Each column of ``W`` as an image: the template a linear classifier matches against (cs231n's picture).

    The colour map is diverging and centred on 0 with one scale for all classes: red pixels raise the class's
    score where the image has ink, blue pixels lower it, white ones do not matter. Drawn as one mosaic image
    (``fig.axes[0]``, titled by its texts) and a colour bar.

    Parameters
    ----------
    W : ndarray of shape (height * width, k)
        The weights of ``SoftmaxRegression`` (784 × 10 for Fashion-MNIST).
    class_names : sequence of k str
        The titles, one per column.
    path : where the PNG goes, or None
    image_shape : (height, width) or None
        By default a square.
    """
    W = check_weights("W", W, class_names)
    n_pixels, k = W.shape
    height, width = tile_shape(n_pixels, image_shape)
    limit = float(np.abs(W).max()) or 1.0
    inches_per_pixel = 1.6 / max(height, width)
    gap = (math.ceil((TITLE_LINE_INCHES + 0.08) / inches_per_pixel), 3)
    grid, origins = mosaic(W.T.reshape(k, height, width), min(k, 5), gap)
    fig, ax = mosaic_figure(grid, inches_per_pixel, top=0.35, right=1.0, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (x, y), name in zip(origins, class_names, strict=True):
        ax.text(x + (width - 1) / 2, y - 1.5, name, ha="center", va="bottom", fontsize=9)
    colorbar = fig.colorbar(
        ax.images[0], cax=fig.add_axes((1 - 0.7 / fig.get_figwidth(), 0.1, 0.15 / fig.get_figwidth(), 0.75))
    )
    colorbar.ax.tick_params(labelsize=8)
    colorbar.set_label("weight", fontsize=9)
    suptitle_at_top(
        fig,
        f"learned weights, one {height}×{width} template per class (red: ink here raises the score, blue: lowers it)",
    )
    return saved(fig, path)
