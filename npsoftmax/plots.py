"""The chapter's pictures and a few beyond it: training curves, labelled test images, the confusion matrix,
the learned weights and how they grow, calibration with abstention, the evidence behind one decision, the
most confident mistakes, and the sweep's grid.

Figures are built with matplotlib's object-oriented API (``Figure``, never ``pyplot``), so nothing here depends on a
display or ever blocks on ``plt.show()``. Each picture can be written to a PNG atomically, and Jupyter shows it
inline; the curves are redrawn in place after every epoch, like d2l's ``Animator``.

Pictures take results already computed (records, bins, probabilities), never recompute a metric. matplotlib's
drawing time grows with the number of Axes and artists, so a grid of images is one mosaic image in one Axes,
with its titles as text, rather than one Axes per image.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import matplotlib
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from ._io import write_atomic
from .data import TEXT_LABELS
from .losses import softmax
from .metrics import CalibrationBins, CoverageCurve, confident_mistakes
from .validation import check_float_array, check_labels, check_scalar, check_scores, flatten_examples

__all__ = [
    "Animator",
    "Figure",
    "in_notebook",
    "plot_curves",
    "plot_predictions",
    "plot_confusion",
    "plot_weights",
    "plot_weights_by_epoch",
    "plot_calibration",
    "evidence",
    "plot_evidence",
    "confident_mistakes",
    "plot_mistakes",
    "plot_sweep",
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
        self._write_png(buffer, dpi)
        return buffer.getvalue()

    def save(self, path: str | os.PathLike, dpi: int = 100) -> Path:
        """Render to PNG at ``path`` in one rename: a reader never sees half a file.

        Not flushed to disk (no fsync): a picture redrawn every epoch is not worth a disk flush each time.
        """
        return write_atomic(Path(path), lambda f: self._write_png(f, dpi), durable=False)

    def _write_png(self, file: BinaryIO, dpi: int) -> None:
        # Unhinted glyphs: matplotlib 3.11 hints each glyph as it lays text out, and text is most of the drawing
        # time of every picture here (a third less without hinting). PNG compression level 1 rather than 6:
        # about 10% faster for files about 7% larger. Measurements in docs/performance.md.
        with matplotlib.rc_context({"text.hinting": "no_hinting"}):
            self.savefig(file, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})


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
        self.xlim = _widened(xlim) if xlim is not None else None
        self.ylim = _widened(ylim) if ylim is not None else None
        if self.xlim is not None:
            ax.set_xlim(*self.xlim)
        if self.ylim is not None:
            ax.set_ylim(*self.ylim)
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
        ax = self.axes[0]
        ax.relim()
        ax.autoscale_view()
        if self.xlim is not None:
            ax.set_xlim(*_covering(self.xlim, [v for xs in self.X for v in xs], ax.get_xscale()))
        if self.ylim is not None:
            ax.set_ylim(*_covering(self.ylim, [v for ys in self.Y for v in ys], ax.get_yscale()))
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
    epochs = [record["epoch"] for record in records]
    fig = Figure(figsize=(8.0, 3.0))
    fig.subplots_adjust(left=0.08, right=0.985, bottom=0.16, top=0.84, wspace=0.22)
    loss_ax, acc_ax = fig.subplots(1, 2)
    marker = "o" if len(records) <= 20 else None
    for ax, keys in ((loss_ax, ("train_loss", "val_loss")), (acc_ax, ("train_acc", "val_acc", "test_acc"))):
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
    if path is not None:
        fig.save(path)
    return fig


# --------------------------------------------------------------------------------------------------------
# Grids of images: one mosaic image in one Axes, the titles as text. A grid of 24 images costs one image to
# draw, not 24 Axes with their spines, ticks and titles.


def _image_shape(n_pixels: int, image_shape: Sequence[int] | None) -> tuple[int, int]:
    """(height, width) of images with ``n_pixels`` pixels: ``image_shape`` if given, else a square."""
    if image_shape is not None:
        if len(image_shape) != 2 or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in image_shape
        ):
            raise ValueError(f"image_shape must be two integers (height, width), got {image_shape!r}")
        height, width = (int(v) for v in image_shape)
        if height < 1 or width < 1 or height * width != n_pixels:
            raise ValueError(
                f"image_shape {tuple(image_shape)} holds {height * width} pixels but each image has {n_pixels}"
            )
        return height, width
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(
            f"{n_pixels} values per image are not the pixels of a square image (784 = 28 × 28); "
            f"pass image_shape=(height, width)"
        )
    return side, side


def _as_images(name: str, images: np.ndarray, image_shape: Sequence[int] | None) -> np.ndarray:
    """``images`` of shape (n, h, w), (n, 1, h, w) or flat (n, h * w) as an array (n, h, w)."""
    images = check_float_array(name, images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim == 2:
        return images.reshape(len(images), *_image_shape(images.shape[1], image_shape))
    if images.ndim != 3 or 0 in images.shape[1:]:
        raise ValueError(f"{name} must be images (n, height, width) or flat rows (n, pixels), got shape {images.shape}")
    if image_shape is not None and tuple(image_shape) != images.shape[1:]:
        raise ValueError(f"image_shape {tuple(image_shape)} differs from the images' shape {images.shape[1:]}")
    return images


def _scaled(images: np.ndarray) -> np.ndarray:
    """Each image mapped onto [0, 1] by its own range, as one Axes per image would; a flat image is 0."""
    low = images.min(axis=(1, 2), keepdims=True)
    span = images.max(axis=(1, 2), keepdims=True) - low
    return np.divide(images - low, span, out=np.zeros(images.shape), where=span > 0)


def _mosaic(tiles: np.ndarray, num_cols: int, gap: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Tiles laid out in rows, with NaN (drawn transparent) between them.

    Parameters
    ----------
    tiles : ndarray of shape (n, h, w) or (n, h, w, 4)
        Values, or RGBA colours.
    num_cols : int
    gap : (int, int)
        Empty pixels above each row (room for titles), and beside every tile and below the last row.

    Returns
    -------
    mosaic : ndarray of shape (rows * (h + gap[0]) + gap[1], num_cols * (w + gap[1]) + gap[1], ...)
    origins : ndarray of int, shape (n, 2)
        The (x, y) of each tile's top-left pixel in the mosaic.
    """
    n, height, width = tiles.shape[:3]
    num_rows = -(-n // num_cols)
    gap_y, gap_x = gap
    mosaic = np.full(
        (num_rows * (height + gap_y) + gap_x, num_cols * (width + gap_x) + gap_x, *tiles.shape[3:]), np.nan
    )
    rows, cols = np.divmod(np.arange(n), num_cols)
    ys, xs = rows * (height + gap_y) + gap_y, cols * (width + gap_x) + gap_x
    for tile, y, x in zip(tiles, ys, xs, strict=True):
        mosaic[y : y + height, x : x + width] = tile
    return mosaic, np.stack([xs, ys], axis=1)


def _mosaic_figure(
    mosaic: np.ndarray,
    inches_per_pixel: float,
    *,
    top: float,
    bottom: float = 0.05,
    left: float = 0.05,
    right: float = 0.05,
    **imshow: object,
):
    """A figure holding ``mosaic`` at ``inches_per_pixel``, with margins in inches: no empty band anywhere.

    The Axes has exactly the mosaic's aspect, so the image fills it; text placed in its data coordinates
    (pixels, y down) lands on the tiles. Returns ``(fig, ax)``.
    """
    height, width = mosaic.shape[:2]
    # Whole pixels at 100 dpi, so that the PNG is the figure's size exactly; the rounding goes to the top right.
    fig_width = math.ceil(100 * (left + width * inches_per_pixel + right)) / 100
    fig_height = math.ceil(100 * (top + height * inches_per_pixel + bottom)) / 100
    fig = Figure(figsize=(fig_width, fig_height))
    ax = fig.add_axes(
        (
            left / fig_width,
            bottom / fig_height,
            width * inches_per_pixel / fig_width,
            height * inches_per_pixel / fig_height,
        )
    )
    ax.imshow(mosaic, interpolation="nearest", aspect="auto", **imshow)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()
    return fig, ax


# Size of one image in a grid, and the height of one line of its 8-point title.
_TILE_INCHES = 1.3
_TITLE_LINE_INCHES = 0.15


def _image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    colors: Sequence[str],
    framed: Sequence[bool],
    num_cols: int,
    suptitle: str,
) -> Figure:
    """``images`` (n, h, w) in a grid of ``num_cols``, each with a two-line title, the ``framed`` ones in red."""
    n, height, width = images.shape
    num_cols = max(1, min(num_cols, n))
    inches_per_pixel = _TILE_INCHES / max(height, width)
    gap = (math.ceil((2 * _TITLE_LINE_INCHES + 0.08) / inches_per_pixel), 3)
    mosaic, origins = _mosaic(_scaled(images), num_cols, gap)
    fig, ax = _mosaic_figure(mosaic, inches_per_pixel, top=0.3, cmap="gray_r", vmin=0, vmax=1)
    for (x, y), title, color, frame in zip(origins, titles, colors, framed, strict=True):
        ax.text(x + (width - 1) / 2, y - 1.5, title, ha="center", va="bottom", fontsize=8, color=color)
        if frame:
            ax.add_patch(
                Rectangle((x - 1.5, y - 1.5), width + 2, height + 2, fill=False, edgecolor="tab:red", linewidth=1.5)
            )
    fig.suptitle(suptitle, fontsize=9, y=1 - 0.06 / fig.get_figheight(), va="top")
    return fig


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
    images = _as_images("images", images, None)
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
    fig = _image_grid(images, titles, colors, wrong, num_cols, suptitle)
    if path is not None:
        fig.save(path)
    return fig


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
    predicted = probs[chosen].argmax(axis=1)
    titles = [
        f"{class_names[labels[i]]} →\n{class_names[c]} (p = {_prob(probs[i, c])})"
        for i, c in zip(chosen, predicted, strict=True)
    ]
    suptitle = (
        f"the {len(chosen)} most confident mistakes: true → predicted (p = its probability); "
        f"{len(mistakes):,} of {len(labels):,} examples are wrong"
    )
    if len(chosen) == 0:
        fig = Figure(figsize=(6.0, 1.0))
        fig.text(0.5, 0.5, f"no mistakes: all {len(labels)} examples are predicted right", ha="center", va="center")
    else:
        shown = _as_images("images", images[chosen], image_shape)
        fig = _image_grid(shown, titles, ["black"] * len(chosen), [False] * len(chosen), num_cols, suptitle)
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
    W = _check_weights("W", W, class_names)
    n_pixels, k = W.shape
    height, width = _image_shape(n_pixels, image_shape)
    num_cols = min(k, 5)
    limit = float(np.abs(W).max()) or 1.0
    inches_per_pixel = 1.6 / max(height, width)
    gap = (math.ceil((_TITLE_LINE_INCHES + 0.08) / inches_per_pixel), 3)
    mosaic, origins = _mosaic(W.T.reshape(k, height, width), num_cols, gap)
    fig, ax = _mosaic_figure(mosaic, inches_per_pixel, top=0.35, right=1.0, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (x, y), name in zip(origins, class_names, strict=True):
        ax.text(x + (width - 1) / 2, y - 1.5, name, ha="center", va="bottom", fontsize=9)
    fig_width, fig_height = fig.get_size_inches()
    colorbar_axes = fig.add_axes((1 - 0.7 / fig_width, 0.1, 0.15 / fig_width, 0.75))
    colorbar = fig.colorbar(ax.images[0], cax=colorbar_axes)
    colorbar.ax.tick_params(labelsize=8)
    colorbar.set_label("weight", fontsize=9)
    fig.suptitle(
        f"learned weights, one {height}×{width} template per class (red: ink here raises the score, blue: lowers it)",
        fontsize=9,
        y=1 - 0.06 / fig_height,
        va="top",
    )
    if path is not None:
        fig.save(path)
    return fig


def _check_weights(name: str, W: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    W = check_float_array(name, W)
    if W.ndim != 2 or 0 in W.shape:
        raise ValueError(f"{name} must be 2-D of shape (n_pixels, n_classes), got shape {W.shape}")
    if len(class_names) != W.shape[1]:
        raise ValueError(f"class_names has {len(class_names)} names but {name} has {W.shape[1]} columns")
    return W


def plot_weights_by_epoch(
    snapshots: Mapping[int, np.ndarray],
    class_names: Sequence[str] = TEXT_LABELS,
    path: str | os.PathLike | None = None,
    *,
    image_shape: Sequence[int] | None = None,
) -> Figure:
    """The templates as they learn: one row of k templates per recorded epoch, one colour scale per row.

    Each row has its own scale, ``±max |W|`` of that epoch (printed at its left), so a row shows the shape of
    the templates at that epoch, not how the weights grow: the templates sharpen from row to row. Drawn as one
    mosaic image.

    Parameters
    ----------
    snapshots : mapping of int to ndarray of shape (height * width, k)
        ``W`` after each recorded epoch, e.g. epochs 1, 2, 5 and the last; drawn in increasing epoch order.
    class_names : sequence of k str
    path : where the PNG goes, or None
    image_shape : (height, width) or None
        By default a square.

    Returns
    -------
    Figure
        One Axes holding the mosaic, values scaled into [-1, 1] by each row's maximum.
    """
    if len(snapshots) == 0:
        raise ValueError("snapshots is empty: record W after at least one epoch")
    epochs = sorted(snapshots)
    weights = [_check_weights(f"snapshots[{epoch}]", snapshots[epoch], class_names) for epoch in epochs]
    if len({w.shape for w in weights}) != 1:
        raise ValueError(f"every snapshot must have one shape, got {sorted({w.shape for w in weights})}")
    n_pixels, k = weights[0].shape
    height, width = _image_shape(n_pixels, image_shape)
    limits = [float(np.abs(w).max()) or 1.0 for w in weights]
    tiles = np.concatenate([(w / limit).T.reshape(k, height, width) for w, limit in zip(weights, limits, strict=True)])
    inches_per_pixel = 0.95 / max(height, width)
    mosaic, origins = _mosaic(tiles, k, (2, 2))
    fig, ax = _mosaic_figure(mosaic, inches_per_pixel, top=0.55, left=0.95, cmap="RdBu_r", vmin=-1, vmax=1)
    for (x, y), name in zip(origins[:k], class_names, strict=True):
        ax.text(x + (width - 1) / 2, y - 1.5, name, ha="center", va="bottom", fontsize=8)
    for (_, y), epoch, limit in zip(origins[::k], epochs, limits, strict=True):
        ax.text(-2, y + (height - 1) / 2, f"epoch {epoch}\n±{limit:.3g}", ha="right", va="center", fontsize=8)
    fig.suptitle(
        "the templates as they learn, one row per epoch, each row on its own scale ±max |w| "
        "(red: ink here raises the score)",
        fontsize=9,
        y=1 - 0.06 / fig.get_figheight(),
        va="top",
    )
    if path is not None:
        fig.save(path)
    return fig


# --------------------------------------------------------------------------------------------------------
# Calibration and abstention, from the bins and the curve the run computed.

# Confidence thresholds marked on the coverage curve.
_MARKED_THRESHOLDS = (0.99, 0.9, 0.8, 0.5)
# A bin holding less than this fraction of the examples is drawn faded: its accuracy is a noisy estimate (its
# standard error, up to 0.5 / sqrt(count), exceeds 0.05 below 100 examples of 10,000).
_SPARSE_BIN_FRACTION = 0.01


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

    Left: in equal-width bins of confidence (the top probability), the fraction of right answers beside the
    diagonal a calibrated model would follow, the gap shaded, and below it how many examples fall in each
    bin. Bins with less than 1% of the examples are faded (their accuracy is noise), empty ones are left out.
    Right: the chapter's question "is the most likely label always a good idea?": answering only when the top
    probability reaches a threshold raises the accuracy on what is answered, at the cost of answering less.

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
    _draw_reliability(reliability, fig.add_subplot(grid[1, 0], sharex=reliability), bins, ece)
    _draw_coverage(fig.add_subplot(grid[:, 1]), coverage)
    fig.suptitle("is the most likely label always a good idea? calibration and abstention on the test set", fontsize=11)
    if path is not None:
        fig.save(path)
    return fig


def _draw_reliability(reliability, histogram, bins: CalibrationBins, ece: float | None) -> None:
    """The reliability diagram and, below it, the examples per bin; sparse bins faded, empty ones left out."""
    n_bins = len(bins.count)
    n_examples = int(bins.count.sum())
    width = np.diff(bins.edges)
    min_count = _SPARSE_BIN_FRACTION * n_examples
    occupied = bins.count > 0
    for full in (True, False):
        chosen = occupied & ((bins.count >= min_count) == full)
        alpha = 1.0 if full else 0.3
        left = bins.edges[:-1][chosen]
        accuracy, confidence = bins.accuracy[chosen], bins.confidence[chosen]
        reliability.bar(left, accuracy, width[chosen], align="edge", color="tab:blue", edgecolor="white", alpha=alpha)
        reliability.bar(
            left,
            np.abs(confidence - accuracy),
            width[chosen],
            bottom=np.minimum(confidence, accuracy),
            align="edge",
            color="tab:red",
            alpha=0.3 * alpha,
        )
        histogram.bar(
            bins.edges[:-1][chosen], bins.count[chosen], width[chosen], align="edge", color="0.45", alpha=alpha
        )
    reliability.plot([0, 1], [0, 1], "k--", linewidth=1)
    handles = [
        Patch(color="tab:blue", label="accuracy in the bin"),
        Patch(color="tab:red", alpha=0.3, label="gap to the bin's mean confidence"),
        reliability.get_lines()[0],
    ]
    handles[-1].set_label("calibrated: accuracy = confidence")
    if np.any(occupied & (bins.count < min_count)):
        faded = f"faded: bin with < 1% of the examples (< {math.ceil(min_count)})"
        handles.insert(2, Patch(color="tab:blue", alpha=0.3, label=faded))
    reliability.legend(handles=handles, loc="upper left", fontsize=8)
    reliability.set_xlim(0, 1)
    reliability.set_ylim(0, 1)
    reliability.set_ylabel("accuracy")
    summary = f"({n_bins} bins, {n_examples} examples)"
    reliability.text(
        0.97,
        0.05,
        f"ECE = {ece:.4f}\n{summary}" if ece is not None else summary,
        transform=reliability.transAxes,
        ha="right",
        va="bottom",
        fontsize=10,
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
    )
    reliability.set_title("reliability diagram: is a confidence of p right a fraction p of the time?", fontsize=10)
    reliability.tick_params(labelbottom=False)
    reliability.grid(True, alpha=0.3)

    histogram.set_xlabel("confidence (top predicted probability)")
    histogram.set_ylabel("examples")
    histogram.grid(True, alpha=0.3)


def _draw_coverage(right, coverage: CoverageCurve) -> None:
    """Accuracy against coverage, the marked thresholds as points and in a table."""
    right.plot(
        coverage.coverage,
        coverage.accuracy,
        color="tab:blue",
        linewidth=1.5,
        label="answer when the top probability ≥ threshold",
    )
    full_coverage, full_accuracy = _at_threshold(coverage, -math.inf)
    right.axhline(
        full_accuracy,
        color="0.4",
        linestyle="--",
        linewidth=1,
        label=f"always answer the most likely label: {full_accuracy:.3f}"
        if full_coverage == 1
        else f"answer at the lowest threshold: {full_accuracy:.3f}",
    )
    # Short labels below-left of the points, where the decreasing curve leaves room; the numbers in a table.
    table = [f"{'threshold':<9}  {'answered':>8}  {'accuracy':>8}"]
    points: list[tuple[float, float, list[str]]] = []  # marked points, with the thresholds each one stands for
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
    for fraction, accuracy, labels in points:
        right.plot(fraction, accuracy, "o", color="tab:red", markersize=5)
        near_the_left = fraction < 0.12  # a label to the left would run off the axes
        right.annotate(
            ", ".join(labels),
            (fraction, accuracy),
            xytext=(5 if near_the_left else -5, -5),
            textcoords="offset points",
            ha="left" if near_the_left else "right",
            va="top",
            fontsize=8,
            color="tab:red",
        )
    right.text(
        0.03,
        0.3,
        "\n".join(table),
        transform=right.transAxes,
        ha="left",
        va="bottom",
        fontsize=8,
        family="monospace",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.6"},
    )
    right.set_xlim(0, 1.02)
    lowest = np.nanmin(coverage.accuracy) if np.isfinite(coverage.accuracy).any() else 0.0
    right.set_ylim(min(0.8, lowest - 0.03), 1.005)
    right.set_xlabel("coverage (fraction of examples answered)")
    right.set_ylabel("accuracy on the answered examples")
    right.set_title("abstaining below a confidence threshold", fontsize=10)
    right.legend(loc="lower left", fontsize=8)
    right.grid(True, alpha=0.3)


# --------------------------------------------------------------------------------------------------------
# Why did it say "shirt"? The exact evidence behind a linear classifier's logits.


def evidence(net, X: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """How much each pixel pushed the logit of each chosen class: the map ``W[:, c] * x``, exactly.

    Parameters
    ----------
    net : SoftmaxRegression
        Anything with weights ``W`` (d, k) and bias ``b`` (k,) whose logits are ``X @ W + b``.
    X : ndarray of shape (n, d), or images (n, height, width)
        Scaled as the model was trained on them.
    classes : ndarray of int, shape (n,) or (n, m)
        The class (or m classes) whose evidence to give for each example.

    Returns
    -------
    maps : ndarray of float64, shape (n, d) or (n, m, d)
        ``maps[i, j, p] = W[p, classes[i, j]] * X[i, p]``.

    Notes
    -----
    The logit of class ``c`` is ``b_c + Σ_p W[p, c] X[p]``, so ``maps[i, j].sum() + b[classes[i, j]]`` *is*
    the logit, with no approximation: this is what a linear model's decision rests on, pixel by pixel. The
    products are formed in float64 from the model's float32 (or float64) values, and the product of two
    float32 numbers (24 significant bits each) fits float64's 53 bits exactly; the maps carry no rounding, and
    their float64 sum differs from ``net(X)``'s float32 logit only by the rounding of the matrix product.
    """
    W = check_float_array("net.W", net.W)
    k = W.shape[1]
    pixels = flatten_examples(X, W.shape[0]).astype(W.dtype, copy=False)
    classes = np.asarray(classes)
    if classes.dtype == bool or not np.issubdtype(classes.dtype, np.integer):
        raise ValueError(f"classes must be integers, got dtype {classes.dtype}")
    if classes.ndim not in (1, 2) or classes.shape[0] != len(pixels):
        raise ValueError(
            f"classes must be ({len(pixels)},) or ({len(pixels)}, m), one row per example; got {classes.shape}"
        )
    if classes.size and (classes.min() < 0 or classes.max() >= k):
        raise ValueError(f"classes must lie in [0, {k}) for {k} classes, got {classes.min()}..{classes.max()}")
    per_example = pixels.astype(np.float64)
    return W.T.astype(np.float64)[classes] * (per_example[:, None, :] if classes.ndim == 2 else per_example)


_PIXEL_SUM_COLOR = "tab:purple"
_BIAS_COLOR = "0.6"
# Inches above the first row of the evidence picture: the title and the legend.
_EVIDENCE_TOP = 0.35


def plot_evidence(
    net,
    X: np.ndarray,
    y: np.ndarray | None = None,
    *,
    n: int = 3,
    class_names: Sequence[str] = TEXT_LABELS,
    path: str | os.PathLike | None = None,
    image_shape: Sequence[int] | None = None,
    n_bars: int = 3,
) -> Figure:
    """Why the model said what it said: for a few examples, the pixels' evidence for two classes and the logits.

    Each row is one example: the image; the evidence map (:func:`evidence`) of the predicted class and of the
    true class (of the runner-up when the prediction is right or ``y`` is None); their difference, what tipped
    the decision; then the top logits as bars, each split into its pixel sum (the map's sum) and its bias. The
    three maps of a row share one diverging colour scale centred on 0 (red: this pixel pushes toward the
    class, blue: away), printed in the row's title with the labels and probabilities.

    Parameters
    ----------
    net : SoftmaxRegression
    X : ndarray of shape (N, d) or images (N, height, width)
        The examples to choose from, e.g. the test set, scaled as the model was trained on them (the loader's
        batches, not the raw 0-255 pixels).
    y : ndarray of int, shape (N,), or None
        With labels, the rows are the ``n`` most confident mistakes (:func:`confident_mistakes`); without, or
        with no mistake, the first ``n`` examples.
    n : int, default 3
    class_names : sequence of k str
    path : where the PNG goes, or None
    image_shape : (height, width) or None
        For flat rows; by default a square (images given as (N, h, w) bring their own).
    n_bars : int, default 3
        The top logits shown as bars (at most all k), plus the true class when it is not among them.

    Returns
    -------
    Figure
        One mosaic Axes (the images and maps, one RGBA image) and one Axes of bars per row.
    """
    W = check_float_array("net.W", net.W)
    k = W.shape[1]
    if len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names but the model has {k} classes")
    n = check_scalar(n, "n", int, min_val=1)
    n_bars = min(check_scalar(n_bars, "n_bars", int, min_val=1), k)
    if image_shape is None and np.ndim(X) == 3:
        image_shape = np.shape(X)[1:]
    pixels = flatten_examples(X, W.shape[0])
    if len(pixels) == 0:
        raise ValueError("X holds no example; plot_evidence needs at least one")
    shape = _image_shape(pixels.shape[1], image_shape)
    probs = softmax(net(pixels))
    rows = np.arange(min(n, len(pixels)))
    if y is not None:
        y = check_labels(y, len(pixels), k)
        rows = confident_mistakes(probs, y, n) if np.any(probs.argmax(axis=1) != y) else rows
    # Ranked by probability, ties by index, as argmax and confident_mistakes break them.
    ranked = np.argsort(-probs[rows], axis=1, kind="stable")
    predicted = ranked[:, 0]
    true = y[rows] if y is not None else None
    wrong = predicted != true if true is not None else np.zeros(len(rows), bool)
    compared = np.where(wrong, true if true is not None else 0, ranked[:, 1] if k > 1 else predicted)
    maps = evidence(net, pixels[rows], np.broadcast_to(np.arange(k), (len(rows), k)))
    pixel_sums = maps.sum(axis=2)

    gray, diverging = colormaps["gray_r"], colormaps["RdBu_r"]
    tiles, limits = [], []
    for r, i in enumerate(rows):
        shown = np.stack([maps[r, predicted[r]], maps[r, compared[r]], maps[r, predicted[r]] - maps[r, compared[r]]])
        limit = float(np.abs(shown).max()) or 1.0
        limits.append(limit)
        tiles.append(gray(_scaled(pixels[i].reshape(1, *shape))[0]))
        tiles.extend(diverging(Normalize(-limit, limit)(shown.reshape(3, *shape))))
    height, width = shape
    inches_per_pixel = 1.45 / max(height, width)
    mosaic, origins = _mosaic(np.stack(tiles), 4, (math.ceil(0.5 / inches_per_pixel), 3))
    bars_inches = 4.5  # class names, bars and their numbers to the right of the mosaic
    fig, ax = _mosaic_figure(
        np.nan_to_num(mosaic, nan=1.0), inches_per_pixel, top=_EVIDENCE_TOP, bottom=0.45, right=bars_inches
    )
    fig_width, fig_height = fig.get_size_inches()
    mosaic_right = 0.05 + mosaic.shape[1] * inches_per_pixel
    for r, i in enumerate(rows):
        p, c = predicted[r], compared[r]
        x0, y0 = origins[4 * r]
        predicted_text = f"predicted {class_names[p]} (p = {_prob(probs[i, p])})"
        compared_text = f"{class_names[c]} (p = {_prob(probs[i, c])})"
        if wrong[r]:
            row_title = f"true {compared_text}  →  {predicted_text}"
        else:
            row_title = f"{'true and ' if true is not None else ''}{predicted_text}; runner-up {compared_text}"
        ax.text(
            x0 - 1,
            y0 - 0.24 / inches_per_pixel,
            f"{row_title};  colour scale ±{limits[r]:.3g} per pixel",
            ha="left",
            va="bottom",
            fontsize=9,
            color="tab:red" if wrong[r] else "black",
        )
        tile_titles = [
            "image",
            f"{class_names[p]}: Σ = {pixel_sums[r, p]:+.2f}",
            f"{class_names[c]}: Σ = {pixel_sums[r, c]:+.2f}",
            f"difference: Σ = {pixel_sums[r, p] - pixel_sums[r, c]:+.2f}",
        ]
        for (x, y_top), title in zip(origins[4 * r : 4 * r + 4], tile_titles, strict=True):
            ax.text(x + (width - 1) / 2, y_top - 1.5, title, ha="center", va="bottom", fontsize=8)
        shown = list(ranked[r, :n_bars]) + ([c] if wrong[r] and c not in ranked[r, :n_bars] else [])
        bottom = fig_height - _EVIDENCE_TOP - (y0 + height) * inches_per_pixel
        bars = fig.add_axes(
            (
                (mosaic_right + 1.0) / fig_width,
                bottom / fig_height,
                (bars_inches - 1.9) / fig_width,
                height * inches_per_pixel / fig_height,
            )
        )
        _logit_bars(bars, shown, pixel_sums[r], np.asarray(net.b, dtype=np.float64), probs[i], class_names)
        if wrong[r]:  # the true class in green, the wrong prediction in red
            for label, cls in zip(bars.get_yticklabels(), shown, strict=True):
                label.set_color({c: "tab:green", p: "tab:red"}.get(cls, "black"))
    fig.axes[-1].set_xlabel("logit = pixel sum + bias", fontsize=8)
    fig.suptitle(
        "evidence W[:, c] · x: how much each pixel pushed the logit of class c (red: toward c, blue: away)",
        fontsize=10,
        x=0.05 / fig_width,
        ha="left",
        y=1 - 0.06 / fig_height,
        va="top",
    )
    fig.legend(
        handles=[
            Patch(color=_PIXEL_SUM_COLOR, label="pixel sum Σ W[:, c] · x"),
            Patch(color=_BIAS_COLOR, label="bias b_c (drawn back if < 0)"),
        ],
        loc="upper left",
        bbox_to_anchor=((mosaic_right + 0.1) / fig_width, 1 - 0.12 / fig_height),
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    if path is not None:
        fig.save(path)
    return fig


def _prob(p: float) -> str:
    """A probability in a title: two decimals, or one significant digit below 0.005 (so that it is not 0.00)."""
    return f"{p:.2f}" if p >= 0.005 or p == 0 else f"{p:.0e}"


def _logit_bars(ax, classes, pixel_sums, bias, probs, class_names) -> None:
    """Bars for ``classes`` (top first): the pixel sum from 0, the bias stacked on it, a tick at the logit."""
    positions = np.arange(len(classes))[::-1]
    sums, biases = pixel_sums[classes], bias[classes]
    logits = sums + biases
    ax.barh(positions, sums, color=_PIXEL_SUM_COLOR, height=0.6)
    ax.barh(positions, biases, left=sums, color=_BIAS_COLOR, height=0.6)
    ax.plot(logits, positions, "|", color="black", markersize=12, markeredgewidth=1.5)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ends = np.stack([np.zeros_like(sums), sums, logits])
    low, high = float(ends.min()), float(ends.max())
    span = (high - low) or 1.0
    ax.set_xlim(low - 0.05 * span, high + 0.55 * span)
    for position, end, logit, cls in zip(positions, ends.max(axis=0), logits, classes, strict=True):
        ax.text(end + 0.03 * span, position, f"{logit:+.2f}  p = {_prob(probs[cls])}", va="center", fontsize=8)
    ax.set_yticks(positions, [class_names[c] for c in classes], fontsize=8)
    ax.set_xticks([])  # each bar prints its logit: an x axis would repeat it, and ticks are slow to draw
    ax.set_ylim(-0.6, len(classes) - 0.4)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# --------------------------------------------------------------------------------------------------------
# The picture: accuracy over lr x batch size, one panel per combination of the other swept settings.

MAX_PANELS = 12


def plot_sweep(results: Mapping, path: str | os.PathLike | None) -> Figure:
    """Heatmap(s) of the selection metric over learning rate (rows) and batch size (columns), values in the cells.

    One panel per combination of the other swept settings (the best over them when there are more than
    :data:`MAX_PANELS`); seeds are averaged. The best setting's cell is outlined; diverged runs are grey.
    """
    from .sweep import LABELS, SWEPT, rank_settings

    metric = results["selected_by"]
    grid = results["swept"]
    lrs, batch_sizes = sorted(grid["lr"]), sorted(grid["batch_size"])
    others = [name for name in SWEPT if name not in ("lr", "batch_size", "seed") and len(grid[name]) > 1]
    ranked = rank_settings(results["runs"], metric)
    panels = [dict(zip(others, values, strict=True)) for values in itertools.product(*(grid[n] for n in others))]
    best_over_others = len(panels) > MAX_PANELS
    if best_over_others:
        panels = [{}]
    best = results["best"]

    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    cell_w, cell_h = 0.95, 0.55
    panel_w, panel_h = max(2.8, cell_w * len(batch_sizes) + 1.2), max(2.0, cell_h * len(lrs) + 1.1)
    fig = Figure(figsize=(max(5.0, panel_w * ncols + 1.2), panel_h * nrows + 1.1), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    norm_values = [s[metric] for s in ranked if s[metric] is not None]
    vmin, vmax = (min(norm_values), max(norm_values)) if norm_values else (0.0, 1.0)
    if vmax - vmin < 1e-3:
        vmin, vmax = vmin - 5e-4, vmax + 5e-4
    image = None
    for ax, fixed in zip(axes.ravel(), panels, strict=False):
        values = np.full((len(lrs), len(batch_sizes)), np.nan)
        ran, outline = set(), None
        for setting in ranked:
            if any(setting[name] != value for name, value in fixed.items()):
                continue
            cell = lrs.index(setting["lr"]), batch_sizes.index(setting["batch_size"])
            ran.add(cell)
            if setting[metric] is not None and not values[cell] >= setting[metric]:
                values[cell] = setting[metric]
            if best is not None and all(setting[name] == best[name] for name in SWEPT if name != "seed"):
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
        if fixed:
            ax.set_title(", ".join(_setting(LABELS[name], value) for name, value in fixed.items()), fontsize=10)
        elif best_over_others:
            ax.set_title("best over " + ", ".join(LABELS[name] for name in others), fontsize=10)
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
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9, label=what.split(" (")[0])
    if path is not None:
        fig.save(path)
    return fig


def _setting(label: str, value: object) -> str:
    return f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}"
