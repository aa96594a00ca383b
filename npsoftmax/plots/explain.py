"""Pictures that explain a linear model: the exact evidence behind a decision, pixel by pixel, and the templates
as they learn.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..data import TEXT_LABELS
from ..losses import softmax
from ..metrics import confident_mistakes
from ..validation import check_float_array, check_labels, check_scalar, flatten_examples
from ._figure import (
    Figure,
    check_weights,
    mosaic,
    mosaic_figure,
    prob_text,
    saved,
    scaled,
    suptitle_at_top,
    tile_shape,
)

__all__ = ["evidence", "plot_evidence", "plot_weights_by_epoch"]


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
_BIAS_COLOR = "0.55"
# Inches above the first row of the evidence picture (the title and the legend), and to the right of the mosaic
# (the class names, the bars and their sums).
_EVIDENCE_TOP = 0.55
_BARS_INCHES = 4.6


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
    true class (of the runner-up when the prediction is right or ``y`` is None), each titled with its sum; their
    difference, what tipped the decision; then the top logits on a numeric axis, each as its pixel sum (the
    map's sum) and its bias, both drawn from 0 with their sign, a tick at the logit, and the sum written out
    (``pixel sum + bias = logit``). The three maps of a row share one diverging colour scale centred on 0 (red:
    this pixel pushes toward the class, blue: away), printed in the row's title with the labels and
    probabilities.

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
        One mosaic Axes (the images and maps, one RGBA image, transparent between the tiles) and one Axes of
        bars per row.
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
    shape = tile_shape(pixels.shape[1], image_shape)
    probs = softmax(net(pixels))
    if y is not None:
        y = check_labels(y, len(pixels), k)
    rows, ranked, compared, wrong = _explained(probs, y, n)
    predicted = ranked[:, 0]
    maps = evidence(net, pixels[rows], np.broadcast_to(np.arange(k), (len(rows), k)))
    pixel_sums, bias = maps.sum(axis=2), np.asarray(net.b, dtype=np.float64)
    fig, ax, origins, limits = _evidence_mosaic(pixels[rows], maps, predicted, compared, shape)
    bar_classes = [
        list(ranked[r, :n_bars]) + ([c] if wrong[r] and c not in ranked[r, :n_bars] else [])
        for r, c in enumerate(compared)
    ]
    # One x axis for every row's bars: the same logit is the same length in each.
    ends = [np.r_[0.0, pixel_sums[r, cs], bias[cs], pixel_sums[r, cs] + bias[cs]] for r, cs in enumerate(bar_classes)]
    xlim = _bar_limits(np.concatenate(ends))
    for r, i in enumerate(rows):
        p, c = predicted[r], compared[r]
        sums = pixel_sums[r]
        row_title, tile_titles = _row_texts(class_names, probs[i], sums, (p, c), wrong[r], y is not None, limits[r])
        color = "tab:red" if wrong[r] else "black"
        _title_row(ax, origins[4 * r : 4 * r + 4], shape, row_title, tile_titles, color)
        bars = _bars_axes(fig, ax, origins[4 * r], shape)
        _logit_bars(bars, bar_classes[r], sums, bias, class_names, xlim, labelled=r == len(rows) - 1)
        if wrong[r]:  # the true class in green, the wrong prediction in red
            for label, cls in zip(bars.get_yticklabels(), bar_classes[r], strict=True):
                label.set_color({c: "tab:green", p: "tab:red"}.get(cls, "black"))
    bars.set_xlabel("pixel sum + bias = logit", fontsize=8)
    _evidence_heading(fig)
    return saved(fig, path)


def _row_texts(class_names, probs, sums, classes, wrong, labelled, limit):
    """A row's title (the decision, the maps' colour scale) and its tiles' titles (each map's sum)."""
    p, c = classes
    predicted_text = f"predicted {class_names[p]} (p = {prob_text(probs[p])})"
    compared_text = f"{class_names[c]} (p = {prob_text(probs[c])})"
    if wrong:
        row_title = f"true {compared_text}  →  {predicted_text}"
    else:
        row_title = f"{'true and ' if labelled else ''}{predicted_text}; runner-up {compared_text}"
    row_title += f";  maps on ±{limit:.3g} per pixel"
    tile_titles = [
        "image",
        f"{class_names[p]}: Σ = {_signed(sums[p])}",
        f"{class_names[c]}: Σ = {_signed(sums[c])}",
        f"difference: Σ = {_signed(sums[p] - sums[c])}",
    ]
    return row_title, tile_titles


def _signed(value: float, sign: str = "+") -> str:
    """A sum in the picture, with its sign (``sign="+"``) or without (``""``): two decimals, none from 100 on (the
    sums' room is 1.5 inches)."""
    return f"{value:{sign}.2f}" if abs(value) < 100 else f"{value:{sign}.0f}"


def _explained(probs: np.ndarray, y: np.ndarray | None, n: int):
    """The rows to explain (the n most confident mistakes, else the first n), their classes ranked by probability,
    the class each prediction is compared with (the true one when wrong, else the runner-up), and which are wrong."""
    k = probs.shape[1]
    rows = np.arange(min(n, len(probs)))
    if y is not None and np.any(probs.argmax(axis=1) != y):
        rows = confident_mistakes(probs, y, n)
    # Ranked by probability, ties by index, as argmax and confident_mistakes break them.
    ranked = np.argsort(-probs[rows], axis=1, kind="stable")
    wrong = ranked[:, 0] != y[rows] if y is not None else np.zeros(len(rows), bool)
    runner_up = ranked[:, 1] if k > 1 else ranked[:, 0]
    compared = np.where(wrong, y[rows] if y is not None else 0, runner_up)
    return rows, ranked, compared, wrong


def _evidence_mosaic(images, maps, predicted, compared, shape):
    """The figure and its mosaic: per row the image in grey, then the maps of the predicted and compared classes
    and their difference on one diverging scale. Returns ``(fig, ax, origins, limits)``, a scale per row."""
    gray, diverging = colormaps["gray_r"], colormaps["RdBu_r"]
    tiles, limits = [], []
    for r, image in enumerate(images):
        p, c = predicted[r], compared[r]
        shown = np.stack([maps[r, p], maps[r, c], maps[r, p] - maps[r, c]])
        limit = float(np.abs(shown).max()) or 1.0
        limits.append(limit)
        tiles.append(gray(scaled(image.reshape(1, *shape))[0]))
        tiles.extend(diverging(Normalize(-limit, limit)(shown.reshape(3, *shape))))
    inches_per_pixel = 1.45 / max(shape)
    grid, origins = mosaic(np.stack(tiles), 4, (math.ceil(0.55 / inches_per_pixel), 3))
    grid = np.nan_to_num(grid, nan=0.0)  # between the tiles: transparent
    fig, ax = mosaic_figure(grid, inches_per_pixel, top=_EVIDENCE_TOP, bottom=0.4, right=_BARS_INCHES)
    return fig, ax, origins, limits


def _pixel_inches(ax) -> float:
    """Inches per pixel of the mosaic in ``ax``."""
    return ax.get_position().height * ax.figure.get_figheight() / ax.images[0].get_array().shape[0]


def _title_row(ax, origins, shape, row_title: str, tile_titles: Sequence[str], color: str) -> None:
    """The row's title above its first tile, and each tile's title centred above it."""
    x0, y0 = origins[0]
    ax.text(x0 - 1, y0 - 0.26 / _pixel_inches(ax), row_title, ha="left", va="bottom", fontsize=9, color=color)
    for (x, y_top), title in zip(origins, tile_titles, strict=True):
        ax.text(x + (shape[1] - 1) / 2, y_top - 1.5, title, ha="center", va="bottom", fontsize=8)


def _bars_axes(fig, ax, origin, shape):
    """An Axes for a row's bars, right of the mosaic, as high as the row's tiles: 0.95 inch for the class names,
    2.1 inches of bars, the rest of _BARS_INCHES for the sums written out."""
    fig_width, fig_height = fig.get_size_inches()
    inches_per_pixel = _pixel_inches(ax)
    left, top = ax.get_position().x1 * fig_width, ax.get_position().y1 * fig_height
    height = shape[0] * inches_per_pixel
    bottom = top - (origin[1] + shape[0]) * inches_per_pixel
    return fig.add_axes(((left + 0.95) / fig_width, bottom / fig_height, 2.1 / fig_width, height / fig_height))


def _bar_limits(values: np.ndarray) -> tuple[float, float]:
    """x limits that hold ``values`` with a margin of 4% of their span on each side."""
    low, high = float(values.min()), float(values.max())
    span = (high - low) or 1.0
    return low - 0.04 * span, high + 0.04 * span


def _logit_bars(ax, classes, pixel_sums, bias, class_names, xlim, labelled: bool) -> None:
    """For each of ``classes`` (top first): its pixel sum (upper bar) and bias (lower bar), both from 0 with their
    sign, a tick at the logit across both, and the sum written out on the right; the axis's numbers if
    ``labelled`` (the rows share one axis: the last row's numbers serve all)."""
    positions = np.arange(len(classes))[::-1].astype(float)
    sums, biases = pixel_sums[classes], bias[classes]
    logits = sums + biases
    ax.barh(positions + 0.14, sums, color=_PIXEL_SUM_COLOR, height=0.3)
    ax.barh(positions - 0.14, biases, color=_BIAS_COLOR, height=0.3)
    ax.plot(logits, positions, "|", color="black", markersize=15, markeredgewidth=1.8)
    ax.axvline(0, color="0.2", linewidth=0.8)
    right = xlim[1] + 0.03 * (xlim[1] - xlim[0])
    for position, total, bias_c, logit in zip(positions, sums, biases, logits, strict=True):
        sign = "−" if bias_c < 0 else "+"
        written = f"{_signed(total)} {sign} {_signed(abs(bias_c), sign='')} = {_signed(logit)}"
        ax.text(right, position, written, va="center", fontsize=8)
    ax.set_yticks(positions, [class_names[c] for c in classes], fontsize=8)
    ax.set_xlim(*xlim)
    ax.set_ylim(-0.6, len(classes) - 0.4)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    ax.tick_params(axis="x", labelsize=7, length=2, pad=1, labelbottom=labelled)
    ax.grid(True, axis="x", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _evidence_heading(fig) -> None:
    """The title, centred, and below it the legend of the bars."""
    suptitle_at_top(
        fig,
        "why the model said it: each pixel's evidence W[:, c] · x for class c (red: toward c, blue: away), "
        "summed into the logit",
        fontsize=10,
    )
    fig.legend(
        handles=[
            Patch(color=_PIXEL_SUM_COLOR, label="pixel sum Σ W[:, c] · x (the map's Σ)"),
            Patch(color=_BIAS_COLOR, label="bias b_c"),
            Line2D([], [], color="black", marker="|", linestyle="none", markersize=10, label="logit"),
        ],
        loc="upper right",
        bbox_to_anchor=(1 - 0.1 / fig.get_figwidth(), 1 - 0.3 / fig.get_figheight()),
        ncols=3,
        fontsize=8,
        frameon=False,
        handlelength=1.2,
        columnspacing=1.2,
    )


# --------------------------------------------------------------------------------------------------------
# The templates as they learn.


def plot_weights_by_epoch(
    snapshots: Mapping[int, np.ndarray],
    class_names: Sequence[str] = TEXT_LABELS,
    path: str | os.PathLike | None = None,
    *,
    image_shape: Sequence[int] | None = None,
) -> Figure:
    """The templates as they learn: one row of k templates per recorded epoch, all on one colour scale, and a last
    row with what the epochs after the first added.

    One scale for every row, ``±max |W|`` over all of them, so that the rows compare: the templates grow and
    sharpen from row to row. Each row's own ``max |W|`` is printed at its left, the scale in the title. Drawn as
    one mosaic image.

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
        One Axes holding the mosaic: the weights as they are, the gaps masked.
    """
    if len(snapshots) == 0:
        raise ValueError("snapshots is empty: record W after at least one epoch")
    epochs = sorted(snapshots)
    weights = [check_weights(f"snapshots[{epoch}]", snapshots[epoch], class_names) for epoch in epochs]
    if len({w.shape for w in weights}) != 1:
        raise ValueError(f"every snapshot must have one shape, got {sorted({w.shape for w in weights})}")
    n_pixels, k = weights[0].shape
    height, width = tile_shape(n_pixels, image_shape)
    rows = [w.astype(np.float64) for w in weights]
    row_labels = [
        f"epoch {epoch}\nmax |w| {_magnitude(np.abs(w).max())}" for epoch, w in zip(epochs, rows, strict=True)
    ]
    if len(epochs) > 1:
        rows.append(rows[-1] - rows[0])
        row_labels.append(f"epoch {epochs[-1]}\nminus epoch {epochs[0]}")
    limit = max(float(np.abs(w).max()) for w in rows) or 1.0
    tiles = np.concatenate([w.T.reshape(k, height, width) for w in rows])
    inches_per_pixel = 0.95 / max(height, width)
    grid, origins = mosaic(tiles, k, (3, 2))
    grid = np.ma.masked_invalid(grid)
    fig, ax = mosaic_figure(grid, inches_per_pixel, top=0.6, left=1.0, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (x, y), name in zip(origins[:k], class_names, strict=True):
        ax.text(x + (width - 1) / 2, y - 1.5, name, ha="center", va="bottom", fontsize=8)
    for (_, y), label in zip(origins[::k], row_labels, strict=True):
        ax.text(-2, y + (height - 1) / 2, label, ha="right", va="center", fontsize=8)
    if len(epochs) == 1:
        title = f"the templates after epoch {epochs[0]}"
    else:
        shown = ", ".join(str(epoch) for epoch in epochs[:-1]) + f" and {epochs[-1]}"
        later = f"epoch {epochs[1]}" if len(epochs) == 2 else f"epochs {epochs[1]} to {epochs[-1]}"
        title = (
            f"the templates after epochs {shown}, on one colour scale so that the rows compare; "
            f"last row: what {later} added"
        )
    scale = f"white 0, full red +{_magnitude(limit)}, full blue −{_magnitude(limit)}"
    suptitle_at_top(fig, f"{title}\n(red: ink here raises the score, blue: lowers it; {scale})")
    return saved(fig, path)


def _magnitude(value: float) -> str:
    """A weight's size in a label: two significant digits, whole numbers from 10 on (not 1.5e+02)."""
    return f"{value:.2g}" if value < 10 else f"{value:.0f}"
