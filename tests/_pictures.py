"""What the picture tests share: a PNG of the figure's size, a figure's texts, and the tiles of a mosaic."""

from __future__ import annotations

import numpy as np
from matplotlib.image import imread
from matplotlib.text import Text


def assert_png_of_the_figure(path, fig) -> None:
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    width, height = np.round(fig.get_size_inches() * 100).astype(int)
    image = imread(path)
    assert image.shape == (height, width, 4)
    assert image[..., :3].std() > 0.05  # something is drawn


def all_text(fig) -> list[str]:
    return [text.get_text() for text in fig.findobj(Text)]


def legend_texts(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.flatnonzero(np.diff(np.r_[0, filled.astype(int), 0]))
    return list(zip(edges[::2], edges[1::2], strict=True))


def tiles(mosaic) -> list[list[tuple[slice, slice]]]:
    """The tiles of a mosaic image, found by what is drawn (the gaps are masked, NaN, or transparent), as rows of
    (rows, columns) slices in reading order."""
    if np.ndim(mosaic) == 3:  # RGBA: the gaps are transparent
        filled = np.asarray(mosaic)[..., 3] > 0
    else:
        filled = ~np.ma.getmaskarray(mosaic) & np.isfinite(np.ma.getdata(mosaic))
    grid = []
    for top, bottom in _runs(filled.any(axis=1)):
        band = filled[top:bottom]
        grid.append([(slice(top, bottom), slice(left, right)) for left, right in _runs(band.any(axis=0))])
    return grid


def tile_arrays(mosaic) -> list[np.ndarray]:
    """The tiles of a mosaic image in reading order, as arrays."""
    return [np.ma.getdata(mosaic)[rows, cols] for row in tiles(mosaic) for rows, cols in row]
