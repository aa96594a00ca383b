"""What the pictures share: the figure that Jupyter shows and that saves atomically, and grids of images drawn as
one mosaic.

matplotlib's drawing time grows with the number of Axes and artists, so a grid of images is one mosaic image in
one Axes, with its titles as text, rather than one Axes per image: a grid of 24 images costs one image to draw,
not 24 Axes with their spines, ticks and titles.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import matplotlib
import numpy as np
from matplotlib.figure import Figure as MplFigure
from matplotlib.patches import Rectangle

from .._io import write_atomic
from ..validation import check_float_array

# Size of one image in a grid, and the height of one line of its 8-point title.
TILE_INCHES = 1.3
TITLE_LINE_INCHES = 0.15


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
        path = Path(path)
        try:
            return write_atomic(path, lambda f: self._write_png(f, dpi), durable=False)
        except OSError as exc:
            if exc.errno is None:
                raise
            # The error names the temporary file written beside the picture: say it of the file asked for.
            raise type(exc)(exc.errno, exc.strerror, str(path)) from None

    def _write_png(self, file: BinaryIO, dpi: int) -> None:
        # Unhinted glyphs: matplotlib 3.11 hints each glyph as it lays text out, and text is most of the drawing
        # time of every picture here (a third less without hinting). PNG compression level 1 rather than 6:
        # about 10% faster for files about 7% larger. Measurements in docs/performance.md.
        with matplotlib.rc_context({"text.hinting": "no_hinting"}):
            self.savefig(file, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})


def saved(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """``fig``, written to ``path`` first when there is one."""
    if path is not None:
        fig.save(path)
    return fig


def prob_text(p: float) -> str:
    """A probability in a title: two decimals, or one significant digit below 0.005 (so that it is not 0.00)."""
    return f"{p:.2f}" if p >= 0.005 or p == 0 else f"{p:.0e}"


def tile_shape(n_pixels: int, shape: Sequence[int] | None) -> tuple[int, int]:
    """(height, width) of images with ``n_pixels`` pixels: ``shape`` if given, else a square."""
    if shape is not None:
        if len(shape) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in shape):
            raise ValueError(f"image_shape must be two integers (height, width), got {shape!r}")
        height, width = (int(v) for v in shape)
        if height < 1 or width < 1 or height * width != n_pixels:
            raise ValueError(f"image_shape {tuple(shape)} holds {height * width} pixels but each image has {n_pixels}")
        return height, width
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(
            f"{n_pixels} values per image are not the pixels of a square image (784 = 28 × 28); "
            f"pass image_shape=(height, width)"
        )
    return side, side


def as_images(name: str, images: np.ndarray, shape: Sequence[int] | None) -> np.ndarray:
    """``images`` of shape (n, h, w), (n, 1, h, w) or flat (n, h * w) as an array (n, h, w)."""
    images = check_float_array(name, images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim == 2:
        return images.reshape(len(images), *tile_shape(images.shape[1], shape))
    if images.ndim != 3 or 0 in images.shape[1:]:
        raise ValueError(f"{name} must be images (n, height, width) or flat rows (n, pixels), got shape {images.shape}")
    if shape is not None and tuple(shape) != images.shape[1:]:
        raise ValueError(f"image_shape {tuple(shape)} differs from the images' shape {images.shape[1:]}")
    return images


def check_weights(name: str, W: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """``W`` as a 2-D float array (n_pixels, k) with one of ``class_names`` per column."""
    W = check_float_array(name, W)
    if W.ndim != 2 or 0 in W.shape:
        raise ValueError(f"{name} must be 2-D of shape (n_pixels, n_classes), got shape {W.shape}")
    if len(class_names) != W.shape[1]:
        raise ValueError(f"class_names has {len(class_names)} names but {name} has {W.shape[1]} columns")
    return W


def scaled(images: np.ndarray) -> np.ndarray:
    """Each image mapped onto [0, 1] by its own range, as one Axes per image would; a flat image is 0."""
    low = images.min(axis=(1, 2), keepdims=True)
    span = images.max(axis=(1, 2), keepdims=True) - low
    return np.divide(images - low, span, out=np.zeros(images.shape), where=span > 0)


def mosaic(tiles: np.ndarray, num_cols: int, gap: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
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
    grid = np.full((num_rows * (height + gap_y) + gap_x, num_cols * (width + gap_x) + gap_x, *tiles.shape[3:]), np.nan)
    rows, cols = np.divmod(np.arange(n), num_cols)
    ys, xs = rows * (height + gap_y) + gap_y, cols * (width + gap_x) + gap_x
    for tile, y, x in zip(tiles, ys, xs, strict=True):
        grid[y : y + height, x : x + width] = tile
    return grid, np.stack([xs, ys], axis=1)


def mosaic_figure(
    grid: np.ndarray,
    inches_per_pixel: float,
    *,
    top: float,
    bottom: float = 0.05,
    left: float = 0.05,
    right: float = 0.05,
    **imshow: object,
):
    """A figure holding the mosaic ``grid`` at ``inches_per_pixel``, margins in inches: no empty band anywhere.

    The Axes has exactly the mosaic's aspect, so the image fills it; text placed in its data coordinates
    (pixels, y down) lands on the tiles. Returns ``(fig, ax)``.
    """
    height, width = grid.shape[:2]
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
    ax.imshow(grid, interpolation="nearest", aspect="auto", **imshow)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()
    return fig, ax


def suptitle_at_top(fig: Figure, text: str, fontsize: float = 9) -> None:
    """The figure's title, centred, 0.06 inch below its top edge whatever the figure's height."""
    fig.suptitle(text, fontsize=fontsize, y=1 - 0.06 / fig.get_figheight(), va="top")


def image_grid(
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
    inches_per_pixel = TILE_INCHES / max(height, width)
    gap = (math.ceil((2 * TITLE_LINE_INCHES + 0.08) / inches_per_pixel), 3)
    grid, origins = mosaic(scaled(images), num_cols, gap)
    fig, ax = mosaic_figure(grid, inches_per_pixel, top=0.3, cmap="gray_r", vmin=0, vmax=1)
    for (x, y), title, color, frame in zip(origins, titles, colors, framed, strict=True):
        ax.text(x + (width - 1) / 2, y - 1.5, title, ha="center", va="bottom", fontsize=8, color=color)
        if frame:
            ax.add_patch(
                Rectangle((x - 1.5, y - 1.5), width + 2, height + 2, fill=False, edgecolor="tab:red", linewidth=1.5)
            )
    suptitle_at_top(fig, suptitle)
    return fig
