"""Fashion-MNIST as NumPy arrays, from verified downloads through a memory-mapped cache.

Everything lives in ``root`` (default ``data/fashion-mnist``)::

    train-images-idx3-ubyte.gz ...   the four downloads (see npsoftmax.download)
    train-images-idx3-ubyte.npy ...  the parsed uint8 arrays, one cache beside each download
    manifest.json                    per file: its pin, its source, and the stamp (size, mtime_ns, ctime_ns)
                                     of the .gz when it was verified and of the .npy when it was written

A warm load reads the manifest, compares those stamps with ``os.stat`` of the eight files, and maps the
caches: no hashing, no decompression. Any difference (a file replaced, touched, truncated, deleted, or pins
that changed) sends the load down the slow path, which re-verifies the downloads whose stamps differ
(re-fetching what fails), re-parses the ``.gz`` whose cache is stale, and writes the new stamps. A changed
file is never used without going through that check. Stamps are a cheap test, not a hash: a change that
keeps the size and lands within one tick of the file system's clock (bit rot, a rewrite in the same instant)
goes unnoticed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._io import write_atomic
from .fetch import (
    FILES,
    DataUnavailableError,
    FashionMNISTFile,
    _check_root,
    _ensure_files,
    _exclusive,
    _Fetcher,
    _pins,
    _read_manifest,
    _show_progress,
    _sources,
    _stamp,
    _write_manifest,
)
from .idx import read_idx

__all__ = ["TEXT_LABELS", "get_fashion_mnist_labels", "load_fashion_mnist"]

logger = logging.getLogger(__name__)

TEXT_LABELS = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)

_TRAIN_IMAGES, _TRAIN_LABELS, _TEST_IMAGES, _TEST_LABELS = FILES
_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def get_fashion_mnist_labels(labels: ArrayLike) -> list[str]:
    """The text labels of numeric Fashion-MNIST labels, as d2l's function of the same name.

    Parameters
    ----------
    labels : int array-like, shape (n,) or ()
        Class indices in 0..9 (a list, an ndarray, a scalar).

    Returns
    -------
    list of str, length n (1 for a scalar)
        ``TEXT_LABELS[label]`` for each label.

    Raises
    ------
    TypeError
        When the labels are not integers.
    ValueError
        When a label is outside 0..9 or the input has more than one dimension.
    """
    array = np.asarray(labels)
    if array.ndim > 1:
        raise ValueError(f"labels must be a scalar or 1-D, got shape {array.shape}")
    if array.size == 0:
        return []
    if array.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {array.dtype}")
    outside = array[(array < 0) | (array >= len(TEXT_LABELS))]
    if outside.size:
        raise ValueError(f"labels must be in 0..{len(TEXT_LABELS) - 1}, got {outside.reshape(-1)[0]}")
    return [TEXT_LABELS[label] for label in array.reshape(-1).tolist()]


def load_fashion_mnist(
    root: str | os.PathLike[str] = "data/fashion-mnist",
    download: bool = True,
    *,
    mirrors: Sequence[str | os.PathLike[str]] | None = None,
    quiet: bool | None = None,
    checksums: Mapping[str, str] | None = None,
) -> _Arrays:
    """Fashion-MNIST's training and test sets, verified, with the images memory-mapped from a cache.

    The first call verifies (or fetches) the four ``.gz`` files, parses them and writes ``.npy`` caches
    beside them; later calls only compare cheap stamps and map the caches (a few milliseconds). Whatever
    changed on disk since it was verified is re-verified, re-fetched or rebuilt first.

    Parameters
    ----------
    root : str or path-like, default "data/fashion-mnist"
        Folder of the downloads, caches and ``manifest.json``.
    download : bool, default True
        With False, the network is never touched: only files already in ``root`` and local folders are
        used (the system copy in ``SYSTEM_DIR`` when ``mirrors`` is None and ``NPSOFTMAX_MIRRORS`` unset,
        else the mirrors that are folders); copying a local file is not a download.
    mirrors : sequence of str or path-like, optional
        As in :func:`npsoftmax.download_fashion_mnist`.
    quiet : bool or None, default None
        Progress bars: ``True`` never, ``False`` always, ``None`` when stderr is a terminal.
    checksums : mapping of str to str, optional
        Pins to use instead of the real ones, as in :func:`npsoftmax.download_fashion_mnist` (for tests
        with small synthetic files; the arrays then have those files' lengths instead of 60000 and 10000).

    Returns
    -------
    X_train : ndarray of uint8, shape (60000, 28, 28)
        Read-only memory map of the training images.
    y_train : ndarray of int64, shape (60000,)
        Training labels in 0..9, in memory.
    X_test : ndarray of uint8, shape (10000, 28, 28)
        Read-only memory map of the test images.
    y_test : ndarray of int64, shape (10000,)
        Test labels in 0..9, in memory.

    Raises
    ------
    DataUnavailableError
        When some file cannot be verified from any allowed source; the message lists the sources tried and
        says how to get the files by hand.
    NotADirectoryError
        When ``root`` exists and is not a folder.
    TypeError, ValueError
        On invalid arguments.
    """
    root = _check_root(root)
    if not isinstance(download, bool):
        raise TypeError(f"download must be a bool, got {download!r}")
    pins = _pins(checksums)
    sources = _sources(mirrors)
    show_progress = _show_progress(quiet)
    arrays = _load_cache(root, pins)
    if arrays is not None:
        return arrays
    with _exclusive(root):
        # Another process may have repaired the cache while this one waited for the lock.
        arrays = _load_cache(root, pins)
        if arrays is None:
            _rebuild(root, pins, sources, allow_network=download, show_progress=show_progress)
            arrays = _open_cache(root)
    return arrays


def _load_cache(root: Path, pins: Mapping[str, str]) -> _Arrays | None:
    """The cached arrays if every stamp still matches the manifest, else None."""
    entries = _read_manifest(root)
    for spec in FILES:
        entry = entries.get(spec.gz_name)
        if not (_download_current(root, spec, entry, pins) and _cache_current(root, spec, entry)):
            return None
    return _open_cache(root)


def _download_current(
    root: Path, spec: FashionMNISTFile, entry: Mapping[str, Any] | None, pins: Mapping[str, str]
) -> bool:
    """Whether the ``.gz`` is unchanged since it was verified against today's pin."""
    if entry is None or entry["sha256"] != pins[spec.name]:
        return False
    stamp = _stamp(root / spec.gz_name)
    return stamp is not None and entry.get("gz") == stamp


def _cache_current(root: Path, spec: FashionMNISTFile, entry: Mapping[str, Any]) -> bool:
    """Whether the ``.npy`` is the one last written (a re-verified ``.gz`` gets an entry without one)."""
    stamp = _stamp(_cache_path(root, spec))
    return stamp is not None and entry.get("cache") == stamp


def _open_cache(root: Path) -> _Arrays:
    return (
        np.load(_cache_path(root, _TRAIN_IMAGES), mmap_mode="r"),
        np.load(_cache_path(root, _TRAIN_LABELS)).astype(np.int64),
        np.load(_cache_path(root, _TEST_IMAGES), mmap_mode="r"),
        np.load(_cache_path(root, _TEST_LABELS)).astype(np.int64),
    )


def _rebuild(
    root: Path, pins: Mapping[str, str], sources: Sequence[str], *, allow_network: bool, show_progress: bool
) -> None:
    """Re-verify the downloads whose stamps changed, re-parse stale caches, record the new stamps."""
    entries = _read_manifest(root)
    unverified = [
        spec for spec in FILES if not _download_current(root, spec, entries.get(spec.gz_name), pins)
    ]
    if unverified:
        with _Fetcher(allow_network=allow_network, show_progress=show_progress) as fetcher:
            _ensure_files(root, unverified, sources, pins, fetcher, force=False)
        entries = _read_manifest(root)
    for images_spec, labels_spec in ((_TRAIN_IMAGES, _TRAIN_LABELS), (_TEST_IMAGES, _TEST_LABELS)):
        stale = [
            spec
            for spec in (images_spec, labels_spec)
            if not _cache_current(root, spec, entries[spec.gz_name])
        ]
        if not stale:
            continue
        images, labels = read_idx(root / images_spec.gz_name), read_idx(root / labels_spec.gz_name)
        _check_pair(root, images_spec, images, labels_spec, labels)
        for spec, array in ((images_spec, images), (labels_spec, labels)):
            if spec in stale:
                path = _cache_path(root, spec)
                write_atomic(path, lambda f, array=array: np.save(f, array, allow_pickle=False))
                entries[spec.gz_name] = {**entries[spec.gz_name], "cache": _stamp(path)}
                logger.info("%s: cached as %s", spec.gz_name, path.name)
    _write_manifest(root, entries)


def _check_pair(
    root: Path,
    images_spec: FashionMNISTFile,
    images: np.ndarray,
    labels_spec: FashionMNISTFile,
    labels: np.ndarray,
) -> None:
    """Images (n, 28, 28) with n labels in 0..9: implied by the real pins, checked for injected ones."""
    if images.ndim != 3 or images.shape[1:] != images_spec.shape[1:]:
        raise DataUnavailableError(
            f"{root / images_spec.gz_name}: images of shape {images.shape}, expected (n, 28, 28)"
        )
    if labels.shape != images.shape[:1]:
        raise DataUnavailableError(
            f"{root / labels_spec.gz_name}: labels of shape {labels.shape} for {images.shape[0]} images"
        )
    if labels.size and labels.max() >= len(TEXT_LABELS):
        raise DataUnavailableError(f"{root / labels_spec.gz_name}: label {labels.max()} outside 0..9")


def _cache_path(root: Path, spec: FashionMNISTFile) -> Path:
    return root / f"{spec.name}.npy"
