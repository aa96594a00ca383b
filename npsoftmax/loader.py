"""Minibatch iterators in the shape of d2l's ``load_data_fashion_mnist``, built for speed.

The images stay ``uint8`` (47 MB for the training set, memory-mapped from the cache), and each batch is
gathered, cast and scaled when it is asked for: a shuffled batch costs a gather of its rows of bytes, a cast
and a multiply in place, not a float copy of the whole set. The measurements behind this design, a worker
thread among them, are in ``docs/performance.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .data import FASHION_MNIST, Dataset, load
from .validation import check_indices, check_problem, check_scalar

__all__ = [
    "DataIters",
    "MinibatchIter",
    "checked_batches",
    "load_data_fashion_mnist",
    "normalize_contrast",
    "pixel_stats",
    "stratified_split",
]


class MinibatchIter:
    """Re-iterable minibatches ``(X, y)`` over uint8 images, as d2l's ``DataLoader`` gives them.

    ``X`` is float in the shape ``(b, 1, height, width)`` of the chapter's batches, ``(images - mean) / std``
    with ``mean = 0`` and ``std = 255`` by default (so pixels in [0, 1]); ``y`` is int64 of shape (b,).
    With ``normalize_images=True`` each image is first brought to mean 0 and standard deviation 1 over its
    own pixels (contrast normalization), and ``mean`` / ``std`` then apply to those values.
    The last partial batch is kept. With ``shuffle=True`` every pass visits the examples in a new order,
    drawn from a generator seeded once at construction, so a seed fixes the whole sequence of epochs.

    Every batch is a pair of arrays of its own: a batch can be kept, and two passes can run at once.

    Parameters
    ----------
    images : ndarray of uint8, shape (n, height, width)
    labels : ndarray of int, shape (n,)
    batch_size : int, >= 1
    shuffle : bool, default False
    seed : int >= 0 or None
        Seeds the order of the shuffled passes; None draws fresh entropy.
    mean, std : float or ndarray of shape (height * width,)
        In pixel units (0..255), or in contrast-normalized units with ``normalize_images``; ``std > 0``.
    dtype : float32 or float64, default float32
    normalize_images : bool, default False
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int | None = None,
        mean: float | np.ndarray = 0.0,
        std: float | np.ndarray = 255.0,
        dtype: DTypeLike = np.float32,
        normalize_images: bool = False,
    ) -> None:
        self.batch_size = check_scalar(batch_size, "batch_size", int, min_val=1)
        self.shuffle = check_scalar(shuffle, "shuffle", bool)
        self.seed = None if seed is None else check_scalar(seed, "seed", int, min_val=0)
        self.normalize_images = check_scalar(normalize_images, "normalize_images", bool)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 of shape (n, height, width), got {images.dtype} {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
        self.images, self.labels = images, labels.astype(np.int64, copy=False)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        n_features = images.shape[1] * images.shape[2]
        self.mean, self.std = _check_pixel_stat(mean, "mean", n_features), _check_pixel_stat(std, "std", n_features)
        if np.any(np.asarray(self.std) <= 0):
            raise ValueError("std must be > 0 everywhere (pixel_stats gives constant pixels std 1)")
        mean64, std64 = np.asarray(self.mean, np.float64), np.asarray(self.std, np.float64)
        # X = pixels * scale + shift, with one fused multiply when the shift is 0 (the default).
        self._scale = (1.0 / std64).astype(self.dtype)
        self._shift = (-mean64 / std64).astype(self.dtype)
        self._has_shift = bool(np.any(self._shift))
        self._rng = np.random.default_rng(self.seed)

    @property
    def num_examples(self) -> int:
        return self.images.shape[0]

    def __len__(self) -> int:
        """Number of batches in a pass, the last partial one included."""
        return -(-self.num_examples // self.batch_size)

    def with_batch_size(self, batch_size: int, shuffle: bool = False) -> MinibatchIter:
        """The same data and normalization in batches of another size (evaluation uses large ones)."""
        return self._like(self.images, self.labels, batch_size, shuffle=shuffle)

    def examples(self, indices: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of the examples at ``indices``, as a pass gives them, in arrays of their own: what a picture
        of a few examples needs, without keeping a float copy of them all.

        Raises
        ------
        ValueError
            ``indices`` not a 1-D array of integers in ``[0, num_examples)``.
        """
        indices = check_indices("indices", indices, self.num_examples)
        if not indices.size:
            return np.empty((0, 1, *self.images.shape[1:]), self.dtype), np.empty(0, np.int64)
        subset = self._like(self.images[indices], self.labels[indices], len(indices))
        return next(iter(subset))

    def _like(self, images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool = False) -> MinibatchIter:
        """An iterator over ``images`` and ``labels`` with this one's seed and normalization."""
        return MinibatchIter(
            images,
            labels,
            batch_size,
            shuffle=shuffle,
            seed=self.seed,
            mean=self.mean,
            std=self.std,
            dtype=self.dtype,
            normalize_images=self.normalize_images,
        )

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n, height, width = self.images.shape
        pixels = np.asarray(self.images).reshape(n, height * width)  # a memory map's batches are plain arrays
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            X = pixels.take(rows, axis=0).astype(self.dtype)  # take: 20 ms an epoch less than pixels[rows]
            if self.normalize_images:
                normalize_contrast(X)
            X *= self._scale  # a cast, then a float multiply in place: twice as fast as one uint8 * float ufunc
            if self._has_shift:
                X += self._shift
            yield X.reshape(len(X), 1, height, width), self.labels.take(rows)

    def __repr__(self) -> str:
        return (
            f"MinibatchIter(num_examples={self.num_examples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, batches={len(self)})"
        )


def checked_batches(batches: Iterable, W: np.ndarray, b: np.ndarray) -> Iterable:
    """``batches`` of ``(X, y)`` for a model of weights ``W`` and ``b``, each batch checked and converted as
    :func:`npsoftmax.loss_and_grad` checks its input; a :class:`MinibatchIter`'s, valid by construction, as they are
    (checking them would cost about 20 ms an epoch of Fashion-MNIST, a sixth of it).

    Raises
    ------
    ValueError, TypeError
        As the batches are read: a batch that does not fit the model (see
        :func:`npsoftmax.validation.check_problem`).
    """
    if isinstance(batches, MinibatchIter):
        return batches
    return (check_problem(X, y, W, b)[:2] for X, y in batches)


def _check_pixel_stat(value: float | np.ndarray, name: str, n_features: int) -> float | np.ndarray:
    """``mean`` or ``std``: a finite number, or a finite array of one value per pixel."""
    if np.ndim(value) == 0:
        return check_scalar(value[()] if isinstance(value, np.ndarray) else value, name, float)
    array = np.asarray(value)
    if array.shape != (n_features,) or not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} must be a finite number or a finite ({n_features},) array, got {array.dtype} of shape "
            f"{array.shape}"
        )
    return value


def normalize_contrast(X: np.ndarray) -> np.ndarray:
    """Bring each row of the float array ``X`` (n, d) to mean 0 and standard deviation 1, in place.

    A blank image (every pixel equal) stays all zeros instead of dividing by zero.
    """
    X -= X.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X) / X.shape[1])
    X /= np.maximum(norms, np.finfo(X.dtype).tiny)[:, None]
    return X


def pixel_stats(images: np.ndarray, chunk: int = 8192, normalize_images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation (float64 of shape (h * w,)) of uint8 images.

    In pixel units, or of the contrast-normalized images with ``normalize_images``. Accumulated in chunks so
    that no float copy of the whole set is made. Pixels that never vary get std 1, so standardizing leaves
    them at 0 instead of dividing by zero.
    """
    chunk = check_scalar(chunk, "chunk", int, min_val=1)
    normalize_images = check_scalar(normalize_images, "normalize_images", bool)
    n = images.shape[0]
    flat = images.reshape(n, -1)
    total = np.zeros(flat.shape[1])
    total_sq = np.zeros(flat.shape[1])
    for start in range(0, n, chunk):
        block = flat[start : start + chunk].astype(np.float64)
        if normalize_images:
            normalize_contrast(block)
        total += block.sum(axis=0)
        total_sq += np.einsum("ij,ij->j", block, block)
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean**2, 0.0))
    return mean, np.where(std > 1e-6, std, 1.0)


def split_seed(seed: int | None) -> np.random.SeedSequence:
    """The seed of the validation split drawn from a loader's ``seed``: a stream of its own, so that the split
    does not depend on the order of the batches (and ``SoftmaxClassifier`` splits as the loader does)."""
    return np.random.SeedSequence(seed).spawn(1)[0]


def stratified_split(
    labels: ArrayLike, fraction: float, seed: int | np.random.SeedSequence | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split example indices into a training and a held-out part, class by class.

    From each class ``c`` with ``n_c`` examples, ``fraction * n_c`` rounded to the nearest integer (halves up)
    examples, chosen at random, are held out, so every class keeps its share on both sides.

    Parameters
    ----------
    labels : array of int, shape (n,)
    fraction : float in (0, 1)
        The share of each class to hold out.
    seed : int, SeedSequence or None
        The same seed gives the same split.

    Returns
    -------
    train_idx, val_idx : ndarray of int64
        Disjoint, together ``0..n-1``, each in increasing order.

    Raises
    ------
    ValueError
        ``fraction`` is not a finite number in (0, 1), ``labels`` is not a 1-D integer array, or some
        class would have no example on one side.
    """
    fraction = check_scalar(fraction, "fraction", float, min_val=0, max_val=1, include_boundaries="neither")
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} of shape {labels.shape}")
    rng = np.random.default_rng(seed)
    held_out = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_held_out = math.floor(fraction * len(members) + 0.5)
        if not 1 <= n_held_out < len(members):
            raise ValueError(
                f"a split of {fraction} leaves class {c} ({len(members)} examples) with {n_held_out} held out "
                f"and {len(members) - n_held_out} for training; each side needs at least one"
            )
        held_out.append(rng.choice(members, n_held_out, replace=False))
    is_held_out = np.zeros(len(labels), bool)
    is_held_out[np.concatenate(held_out)] = True
    return np.flatnonzero(~is_held_out), np.flatnonzero(is_held_out)


class DataIters(tuple):
    """``(train_iter, test_iter)``, the pair d2l's ``load_data_fashion_mnist`` returns, and what came with it.

    It unpacks as d2l's pair whatever the options, ``train_iter, test_iter = load_data_fashion_mnist(256)``;
    the validation iterator, the data set and the data's provenance are attributes.

    Attributes
    ----------
    train_iter : MinibatchIter
        Shuffled every pass.
    test_iter : MinibatchIter
        In file order.
    val_iter : MinibatchIter or None
        The held-out part of the training set, in file order; None without ``val_split``.
    dataset : Dataset
        The record of the data set: ``dataset.n_features`` and ``dataset.n_classes`` size the model,
        ``dataset.class_names`` name the labels.
    source : str
        Where the files came from (folders and URLs, credentials redacted), for a run to record.
    """

    val_iter: MinibatchIter | None
    dataset: Dataset
    source: str

    def __new__(
        cls,
        train_iter: MinibatchIter,
        test_iter: MinibatchIter,
        *,
        val_iter: MinibatchIter | None,
        dataset: Dataset,
        source: str,
    ) -> DataIters:
        pair = super().__new__(cls, (train_iter, test_iter))
        pair.val_iter, pair.dataset, pair.source = val_iter, dataset, source
        return pair

    @property
    def train_iter(self) -> MinibatchIter:
        return self[0]

    @property
    def test_iter(self) -> MinibatchIter:
        return self[1]

    def __repr__(self) -> str:
        return (
            f"DataIters({self.dataset.title}: train_iter={self[0]!r}, test_iter={self[1]!r}, "
            f"val_iter={self.val_iter!r})"
        )


def load_data_fashion_mnist(
    batch_size: int,
    root: str | None = None,
    *,
    download: bool = True,
    seed: int | None = None,
    standardize: bool = False,
    normalize_images: bool = False,
    val_split: float | None = None,
    dtype: DTypeLike = np.float32,
    mirrors: list[str] | None = None,
    quiet: bool | None = None,
    dataset: Dataset = FASHION_MNIST,
) -> DataIters:
    """Fashion-MNIST (or another ``dataset``) as ``(train_iter, test_iter)``, like d2l's function of the same name.

    With ``val_split`` a stratified part of the training set is held out as ``val_iter``; the result still
    unpacks as the pair (see :class:`DataIters`).

    Parameters
    ----------
    batch_size : int, >= 1
    root : str or None, default None
        Folder of the downloads and caches; None means the data home (see :func:`npsoftmax.data.load`).
    download : bool, default True
        Fetch missing files; with False, raise :class:`npsoftmax.DataUnavailableError` instead.
    seed : int >= 0 or None
        Seeds the order of the shuffled training batches, and the choice of the held-out examples.
    standardize : bool, default False
        Scale each pixel by the mean and std of the training examples (without the held-out ones), the
        same transform for every iterator, instead of mapping 0..255 to [0, 1].
    normalize_images : bool, default False
        First bring each image to mean 0 and std 1 over its own pixels (see :class:`MinibatchIter`).
    val_split : float in (0, 1) or None, default None
        The share of each class of the training set to hold out for validation (see :func:`stratified_split`).
    dtype : float32 or float64
    mirrors, quiet
        As :func:`npsoftmax.data.load` takes them.
    dataset : Dataset, default FASHION_MNIST
        The record of the data set to load (see :class:`npsoftmax.data.Dataset`).

    Returns
    -------
    DataIters
        ``(train_iter, test_iter)`` with ``val_iter``, ``dataset`` and ``source`` attributes. Every iterator
        yields ``X`` float of shape (b, 1, height, width), (b, 1, 28, 28) for Fashion-MNIST, and ``y`` int64
        of shape (b,).

    Raises
    ------
    ValueError
        A scalar argument of the wrong type or outside its range (``batch_size=True`` among them), or a
        ``val_split`` that leaves a class empty on one side; checked before any data is read.
    """
    batch_size = check_scalar(batch_size, "batch_size", int, min_val=1)
    seed = None if seed is None else check_scalar(seed, "seed", int, min_val=0)
    for name, flag in (("download", download), ("standardize", standardize), ("normalize_images", normalize_images)):
        check_scalar(flag, name, bool)
    if quiet is not None:
        check_scalar(quiet, "quiet", bool)
    if val_split is not None:
        val_split = check_scalar(val_split, "val_split", float, min_val=0, max_val=1, include_boundaries="neither")
    X_train, y_train, X_test, y_test, source = load(dataset, root, download=download, mirrors=mirrors, quiet=quiet)
    X_val = y_val = None
    if val_split is not None:
        train_idx, val_idx = stratified_split(y_train, val_split, split_seed(seed))
        X_train, y_train, X_val, y_val = X_train[train_idx], y_train[train_idx], X_train[val_idx], y_train[val_idx]
    if standardize:
        mean, std = pixel_stats(X_train, normalize_images=normalize_images)
    else:
        mean, std = 0.0, (1.0 if normalize_images else 255.0)
    transform = {"mean": mean, "std": std, "dtype": dtype, "normalize_images": normalize_images}
    return DataIters(
        MinibatchIter(X_train, y_train, batch_size, shuffle=True, seed=seed, **transform),
        MinibatchIter(X_test, y_test, batch_size, **transform),
        val_iter=None if val_split is None else MinibatchIter(X_val, y_val, batch_size, **transform),
        dataset=dataset,
        source=source,
    )
