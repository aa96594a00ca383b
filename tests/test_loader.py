"""The minibatch iterators: d2l's shapes and semantics, reshuffling, seeding, normalization, batch lifetime."""

import itertools
import threading

import numpy as np
import pytest
from conftest import REAL_DATA

import npsoftmax as nps
import npsoftmax.data
import npsoftmax.loader
from npsoftmax.loader import DataIters, normalize_contrast, pixel_stats, stratified_split


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(1000, 28, 28), dtype=np.uint8)
    labels = np.arange(1000) % 10
    return images, labels


def collect(data_iter):
    return [(X.copy(), y.copy()) for X, y in data_iter]


def test_batches_have_the_chapter_s_shapes_and_keep_the_last_partial_batch(data):
    images, labels = data
    batches = collect(nps.MinibatchIter(images, labels, 256))
    assert [len(y) for _, y in batches] == [256, 256, 256, 232]
    assert len(nps.MinibatchIter(images, labels, 256)) == 4
    X, y = batches[0]
    assert X.shape == (256, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X[:, 0], images[:256] / 255.0, rtol=1e-6)
    assert X.min() >= 0 and X.max() <= 1


def test_unshuffled_pass_is_the_data_in_order(data):
    images, labels = data
    X = np.concatenate([X for X, _ in collect(nps.MinibatchIter(images, labels, 300, dtype=np.float64))])
    np.testing.assert_allclose(X[:, 0] * 255, images, rtol=1e-12)


def test_shuffled_passes_cover_every_example_once_in_a_new_order(data):
    images, labels = data
    train_iter = nps.MinibatchIter(images, labels, 256, shuffle=True, seed=1)
    orders = []
    for _ in range(2):
        X = np.concatenate([X for X, _ in collect(train_iter)])
        orders.append(X.reshape(len(X), -1))
    for order in orders:
        # Every image appears exactly once: sort the rows and compare with the sorted originals.
        flat = (order * 255).round().astype(np.uint8)
        assert sorted(map(bytes, flat)) == sorted(map(bytes, images.reshape(1000, -1)))
    assert not np.array_equal(orders[0], orders[1])


def test_shuffled_labels_stay_with_their_images(data):
    images, labels = data
    lookup = {bytes(img): lab for img, lab in zip(images.reshape(1000, -1), labels, strict=True)}
    for X, y in nps.MinibatchIter(images, labels, 128, shuffle=True, seed=2):
        pixels = (X.reshape(len(X), -1) * 255).round().astype(np.uint8)
        assert [lookup[bytes(p)] for p in pixels] == list(y)


def test_same_seed_same_sequence_of_epochs(data):
    images, labels = data
    a = nps.MinibatchIter(images, labels, 100, shuffle=True, seed=7)
    b = nps.MinibatchIter(images, labels, 100, shuffle=True, seed=7)
    for _ in range(2):
        for (Xa, ya), (Xb, yb) in zip(collect(a), collect(b), strict=True):
            np.testing.assert_array_equal(Xa, Xb)
            np.testing.assert_array_equal(ya, yb)


def test_standardization_uses_the_given_statistics(data):
    images, labels = data
    mean, std = pixel_stats(images, chunk=300)
    flat = images.reshape(1000, -1).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, flat.std(0), rtol=1e-9)
    X = np.concatenate([X for X, _ in collect(nps.MinibatchIter(images, labels, 256, mean=mean, std=std))])
    X = X.reshape(1000, -1)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(X.std(0), 1, rtol=1e-4)


def test_constant_pixels_get_unit_std():
    images = np.zeros((10, 2, 2), np.uint8)
    images[:, 0, 0] = np.arange(10)
    _, std = pixel_stats(images)
    assert std[1] == std[2] == std[3] == 1.0


def test_with_batch_size_keeps_data_and_normalization(data):
    images, labels = data
    base = nps.MinibatchIter(images, labels, 32, shuffle=True, seed=0, mean=10.0, std=20.0)
    big = base.with_batch_size(600)
    assert [len(y) for _, y in collect(big)] == [600, 400]
    X, y = next(iter(big))
    np.testing.assert_allclose(X[:, 0], (images[:600] - 10.0) / 20.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels[:600])


@pytest.mark.parametrize(
    "options",
    [{}, {"mean": 10.0, "std": 20.0}, {"normalize_images": True, "std": 1.0}, {"dtype": np.float64}],
)
def test_examples_are_what_a_pass_gives_for_those_indices(data, options):
    images, labels = data
    test_iter = nps.MinibatchIter(images, labels, 300, **options)
    X_all = np.concatenate([X for X, _ in collect(test_iter)])
    indices = np.array([999, 0, 457, 3, 457])
    X, y = test_iter.examples(indices)
    assert X.shape == (5, 1, 28, 28) and X.dtype == test_iter.dtype and y.dtype == np.int64
    np.testing.assert_allclose(X, X_all[indices], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(y, labels[indices])
    X_again, _ = test_iter.examples(indices[:2])  # arrays of their own: a later call leaves the first alone
    np.testing.assert_allclose(X, X_all[indices], rtol=1e-6, atol=1e-6)
    empty_X, empty_y = test_iter.examples(np.array([], dtype=int))
    assert empty_X.shape == (0, 1, 28, 28) and empty_y.shape == (0,)


@pytest.mark.parametrize(
    "indices, message",
    [
        (np.array([[0, 1]]), "1-D array of integers"),
        (np.array([0.0, 1.0]), "1-D array of integers"),
        (np.array([True, False]), "1-D array of integers"),
        (np.array([0, 1000]), r"in \[0, 1000\), got 0 to 1000"),
        (np.array([-1, 2]), r"in \[0, 1000\), got -1 to 2"),
    ],
)
def test_examples_refuses_indices_it_cannot_give(data, indices, message):
    with pytest.raises(ValueError, match=message):
        nps.MinibatchIter(*data, 10).examples(indices)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, inf\), got 0"),
        ({"batch_size": 2.5}, r"batch_size must be an integer in \[1, inf\), got 2.5"),
        ({"batch_size": True}, r"batch_size must be an integer in \[1, inf\), got True"),
        ({"batch_size": "8"}, r"batch_size must be an integer in \[1, inf\), got '8'"),
        ({"shuffle": 1}, "shuffle must be of type bool, got 1"),
        ({"seed": -1}, r"seed must be an integer in \[0, inf\), got -1"),
        ({"seed": 1.5}, r"seed must be an integer in \[0, inf\), got 1.5"),
        ({"normalize_images": "yes"}, "normalize_images must be of type bool, got 'yes'"),
        ({"std": 0.0}, "std must be > 0"),
        ({"std": np.inf}, "std must be a finite number"),
        ({"std": True}, "std must be a number"),
        ({"mean": np.zeros(3)}, r"mean must be a finite number or a finite \(784,\) array"),
        ({"mean": np.full(784, np.nan)}, r"mean must be a finite number or a finite \(784,\) array"),
        ({"dtype": np.int32}, "dtype must be float32 or float64"),
        ({"dtype": np.float16}, "dtype must be float32 or float64"),
    ],
)
def test_bad_iterator_arguments(data, kwargs, message):
    images, labels = data
    with pytest.raises(ValueError, match=message):
        nps.MinibatchIter(images, labels, **({"batch_size": 8} | kwargs))


def test_arguments_after_the_batch_size_are_keywords(data):
    images, labels = data
    with pytest.raises(TypeError, match="positional"):
        nps.MinibatchIter(images, labels, 8, True)
    numpy_scalars = nps.MinibatchIter(
        images, labels, np.int64(8), seed=np.uint32(3), mean=np.float32(1), std=np.array(2.0)
    )
    assert (numpy_scalars.batch_size, numpy_scalars.seed) == (8, 3) and type(numpy_scalars.batch_size) is int


def test_bad_arrays(data):
    images, labels = data
    with pytest.raises(ValueError, match="uint8"):
        nps.MinibatchIter(images.astype(np.float32), labels, 8)
    with pytest.raises(ValueError, match=r"labels must have shape \(1000,\)"):
        nps.MinibatchIter(images, labels[:-1], 8)


def test_contrast_normalization_per_image(data):
    images, labels = data
    images = images.copy()
    images[0] = 7  # a blank image must not divide by zero
    X = np.concatenate([X for X, _ in collect(nps.MinibatchIter(images, labels, 300, normalize_images=True, std=1.0))])
    X = X.reshape(1000, -1).astype(np.float64)
    np.testing.assert_array_equal(X[0], 0)
    np.testing.assert_allclose(X[1:].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(X[1:].std(axis=1), 1, rtol=1e-4)
    flat = images[1:].reshape(999, -1).astype(np.float64)
    expected = (flat - flat.mean(1, keepdims=True)) / flat.std(1, keepdims=True)
    np.testing.assert_allclose(X[1:], expected, rtol=1e-4, atol=1e-5)


def test_pixel_stats_of_contrast_normalized_images(data):
    images, labels = data
    mean, std = pixel_stats(images, chunk=300, normalize_images=True)
    flat = images.reshape(1000, -1).astype(np.float64)
    normalized = (flat - flat.mean(1, keepdims=True)) / flat.std(1, keepdims=True)
    np.testing.assert_allclose(mean, normalized.mean(0), atol=1e-12)
    np.testing.assert_allclose(std, normalized.std(0), rtol=1e-9)
    train_iter = nps.MinibatchIter(images, labels, 256, mean=mean, std=std, normalize_images=True)
    X = np.concatenate([X for X, _ in collect(train_iter.with_batch_size(1000))]).reshape(1000, -1)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(X.std(0), 1, rtol=1e-3)


# The same batches as a plain loop would give: one batch at a time, cast, normalized, scaled, shifted.


def reference_passes(
    images,
    labels,
    batch_size,
    n_passes,
    *,
    shuffle=False,
    seed=None,
    mean=0.0,
    std=255.0,
    dtype=np.float32,
    normalize_images=False,
):
    n = len(images)
    flat = images.reshape(n, -1)
    scale = (1.0 / np.asarray(std, np.float64)).astype(dtype)
    shift = (-np.asarray(mean, np.float64) / np.asarray(std, np.float64)).astype(dtype)
    rng = np.random.default_rng(seed)
    passes = []
    for _ in range(n_passes):
        order = rng.permutation(n) if shuffle else np.arange(n)
        batches = []
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            X = flat[rows].astype(dtype)
            if normalize_images:
                normalize_contrast(X)
            X *= scale
            if np.any(shift):
                X += shift
            batches.append((X.reshape(len(rows), 1, 28, 28), labels[rows]))
        passes.append(batches)
    return passes


@pytest.mark.parametrize("batch_size", [1, 7, 100, 256, 512, 513, 1024, 3000])
@pytest.mark.parametrize(
    "options",
    [
        {"shuffle": True, "seed": 3},
        {"shuffle": False},
        {"shuffle": True, "seed": 4, "normalize_images": True, "std": 1.0},
        {"shuffle": True, "seed": 5, "dtype": np.float64, "mean": "pixel", "std": "pixel"},
    ],
)
def test_batches_are_bit_identical_to_a_plain_loop(batch_size, options):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(2500, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=2500)
    if options.get("mean") == "pixel":
        mean, std = pixel_stats(images)
        options = options | {"mean": mean, "std": std}
    data_iter = nps.MinibatchIter(images, labels, batch_size, **options)
    expected = reference_passes(images, labels, batch_size, 3, **options)
    for expected_batches in expected:
        batches = collect(data_iter)
        assert len(batches) == len(expected_batches) == len(data_iter)
        assert_same_batches(batches, expected_batches)


def assert_same_batches(batches, expected_batches):
    """Batch by batch the same shapes and dtypes, and the same values bit for bit: compared all at once, as the
    batches laid end to end, since thousands of batches of one image cost more to compare one by one than to make."""
    layout = [(X.shape, X.dtype, y.shape, y.dtype) for X, y in batches]
    assert layout == [(X.shape, X.dtype, y.shape, np.dtype(np.int64)) for X, y in expected_batches]
    for part in (0, 1):
        got, expected = (np.concatenate([batch[part] for batch in b]) for b in (batches, expected_batches))
        np.testing.assert_array_equal(got, expected, strict=True)


# np.byte_bounds before NumPy 2
byte_bounds = getattr(np, "byte_bounds", None) or np.lib.array_utils.byte_bounds


@pytest.mark.parametrize("batch_size", [1, 100, 256, 2500, 4000])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_batch_stays_valid_after_the_next_one_is_requested(batch_size, shuffle):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(2500, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=2500)
    data_iter = nps.MinibatchIter(images, labels, batch_size, shuffle=shuffle, seed=0)
    expected = reference_passes(images, labels, batch_size, 1, shuffle=shuffle, seed=0)[0]
    batches = iter(data_iter)
    kept = [next(batches) for _ in expected]
    with pytest.raises(StopIteration):
        next(batches)
    # Nothing a later batch is made into: the byte ranges of all the batches' arrays are disjoint, which implies
    # np.shares_memory is false for every pair (checked in n log n rather than n^2: 2,500 batches of one image).
    ranges = sorted(byte_bounds(array) for batch in kept for array in batch if array.size)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(ranges))
    for (X, y), (X_ref, y_ref) in zip(kept, expected, strict=True):
        np.testing.assert_array_equal(X, X_ref, strict=True)
        np.testing.assert_array_equal(y, y_ref, strict=True)


def test_a_pass_is_one_generator_in_the_calling_thread(data):
    images, labels = data
    before = threading.active_count()
    batches = iter(nps.MinibatchIter(images, labels, 64, shuffle=True, seed=0))
    next(batches)
    assert threading.active_count() == before
    batches.close()
    with pytest.raises(StopIteration):
        next(batches)


def test_two_passes_at_once_do_not_share_buffers(data):
    images, labels = data
    data_iter = nps.MinibatchIter(images, labels, 100)
    for (Xa, ya), (Xb, yb) in zip(data_iter, data_iter, strict=True):
        np.testing.assert_array_equal(Xa, Xb)
        np.testing.assert_array_equal(ya, yb)


# Validation split


def test_stratified_split_holds_out_each_class_in_proportion():
    labels = np.repeat([3, 0, 7, 1], [100, 50, 30, 7])
    np.random.default_rng(0).shuffle(labels)
    train_idx, val_idx = stratified_split(labels, 0.2, seed=0)
    assert train_idx.dtype == val_idx.dtype == np.int64
    assert np.intersect1d(train_idx, val_idx).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, val_idx])), np.arange(len(labels)))
    assert np.all(np.diff(train_idx) > 0) and np.all(np.diff(val_idx) > 0)
    held_out = {c: int(np.sum(labels[val_idx] == c)) for c in (3, 0, 7, 1)}
    assert held_out == {3: 20, 0: 10, 7: 6, 1: 1}  # 0.2 of 100, 50, 30 and 7 (1.4), rounded


def test_stratified_split_is_fixed_by_its_seed():
    labels = np.arange(1000) % 10
    first = stratified_split(labels, 0.3, seed=5)
    again = stratified_split(labels, 0.3, seed=5)
    other = stratified_split(labels, 0.3, seed=6)
    from_sequence = stratified_split(labels, 0.3, seed=np.random.SeedSequence(5))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first, from_sequence, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("fraction", [0, 1, 0.0, 1.0, 1.5, -0.1, float("nan"), float("inf"), True, "0.1", None])
def test_stratified_split_rejects_fractions_outside_0_1(fraction):
    with pytest.raises(ValueError, match=r"fraction must be (a|a finite) number in \(0, 1\), got"):
        stratified_split(np.arange(100) % 10, fraction, seed=0)


@pytest.mark.parametrize(
    "labels, fraction, message",
    [
        ([0, 0, 0, 1], 0.5, r"class 1 \(1 examples\) with 1 held out and 0 for training"),
        (np.arange(100) % 10, 0.01, r"class 0 \(10 examples\) with 0 held out and 10 for training"),
        (np.arange(100) % 10, 0.99, r"with 10 held out and 0 for training"),
        ([0.0, 1.0, 0.0, 1.0], 0.5, "labels must be a 1-D integer array"),
    ],
)
def test_stratified_split_needs_an_example_of_each_class_on_each_side(labels, fraction, message):
    with pytest.raises(ValueError, match=message):
        stratified_split(labels, fraction, seed=0)


@pytest.fixture
def fake_fashion_mnist(monkeypatch):
    """npsoftmax.data.load, as the loader calls it, replaced by 2000 training and 300 test images; the calls it got."""
    rng = np.random.default_rng(4)
    arrays = (
        rng.integers(0, 256, size=(2000, 28, 28), dtype=np.uint8),
        np.arange(2000) % 10,
        rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8),
        np.arange(300) % 10,
    )
    calls = []

    def load(dataset=npsoftmax.data.FASHION_MNIST, root=None, *, download=True, mirrors=None, quiet=None):
        calls.append({"dataset": dataset, "root": root, "download": download, "mirrors": mirrors, "quiet": quiet})
        return npsoftmax.data.LoadedData(*arrays, source=f"the files of {root}")

    monkeypatch.setattr(npsoftmax.loader, "load", load)
    return arrays, calls


def test_without_val_split_two_iterators_from_the_data_home(fake_fashion_mnist):
    (X_train, y_train, X_test, y_test), calls = fake_fashion_mnist
    iterators = nps.load_data_fashion_mnist(256, seed=3)
    assert calls == [
        {"dataset": npsoftmax.data.FASHION_MNIST, "root": None, "download": True, "mirrors": None, "quiet": None}
    ]
    assert isinstance(iterators, DataIters) and isinstance(iterators, tuple) and len(iterators) == 2
    train_iter, test_iter = iterators  # d2l's call
    assert iterators.train_iter is train_iter and iterators.test_iter is test_iter and iterators.val_iter is None
    assert iterators.source == "the files of None" and iterators.dataset is npsoftmax.data.FASHION_MNIST
    assert train_iter.images is X_train and test_iter.images is X_test
    assert train_iter.shuffle and not test_iter.shuffle
    expected = nps.MinibatchIter(X_train, y_train, 256, shuffle=True, seed=3)
    for (X, y), (X_ref, y_ref) in zip(collect(train_iter), collect(expected), strict=True):
        np.testing.assert_array_equal(X, X_ref)
        np.testing.assert_array_equal(y, y_ref)


def test_val_split_holds_out_a_stratified_part_of_the_training_set(fake_fashion_mnist):
    (X_train, y_train, X_test, _), _ = fake_fashion_mnist
    iterators = nps.load_data_fashion_mnist(100, "somewhere", seed=3, val_split=0.25)
    assert len(iterators) == 2 and iterators.source == "the files of somewhere"
    (train_iter, test_iter), val_iter = iterators, iterators.val_iter
    assert (train_iter.num_examples, val_iter.num_examples, test_iter.num_examples) == (1500, 500, 300)
    assert np.array_equal(np.bincount(val_iter.labels), [50] * 10)
    assert test_iter.images is X_test
    # Held out and kept are the training set, split: every image once, with its label.
    train_idx, val_idx = stratified_split(y_train, 0.25, np.random.SeedSequence(3).spawn(1)[0])
    np.testing.assert_array_equal(train_iter.images, X_train[train_idx])
    np.testing.assert_array_equal(val_iter.images, X_train[val_idx])
    np.testing.assert_array_equal(val_iter.labels, y_train[val_idx])
    # The validation batches come in order, every pass the same, in batches of the training size.
    assert not val_iter.shuffle and val_iter.batch_size == 100
    first, second = (np.concatenate([X for X, _ in collect(val_iter)]) for _ in range(2))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first[:, 0], X_train[val_idx] / 255.0, rtol=1e-6)


def test_val_split_is_fixed_by_the_seed(fake_fashion_mnist):
    def held_out(seed):
        return nps.load_data_fashion_mnist(100, seed=seed, val_split=0.1).val_iter.images

    np.testing.assert_array_equal(held_out(1), held_out(1))
    assert not np.array_equal(held_out(1), held_out(2))


@pytest.mark.parametrize("normalize_images", [False, True])
def test_standardize_with_val_split_uses_the_remaining_training_part(fake_fashion_mnist, normalize_images):
    iterators = nps.load_data_fashion_mnist(
        100, seed=0, val_split=0.2, standardize=True, normalize_images=normalize_images
    )
    (train_iter, test_iter), val_iter = iterators, iterators.val_iter
    mean, std = pixel_stats(train_iter.images, normalize_images=normalize_images)
    for data_iter in (train_iter, val_iter, test_iter):
        np.testing.assert_array_equal(data_iter.mean, mean)
        np.testing.assert_array_equal(data_iter.std, std)
        assert data_iter.normalize_images == normalize_images


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"val_split": 0}, r"val_split must be a number in \(0, 1\), got 0"),
        ({"val_split": 1}, r"val_split must be a number in \(0, 1\), got 1"),
        ({"val_split": 1.5}, r"val_split must be a number in \(0, 1\), got 1.5"),
        ({"val_split": -0.5}, r"val_split must be a number in \(0, 1\), got -0.5"),
        ({"val_split": float("nan")}, r"val_split must be a finite number in \(0, 1\), got nan"),
        ({"val_split": "0.2"}, r"val_split must be a number in \(0, 1\), got '0.2'"),
        ({"val_split": True}, r"val_split must be a number in \(0, 1\), got True"),
        ({"batch_size": True}, r"batch_size must be an integer in \[1, inf\), got True"),
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, inf\), got 0"),
        ({"batch_size": 256.0}, r"batch_size must be an integer in \[1, inf\), got 256.0"),
        ({"seed": -3}, r"seed must be an integer in \[0, inf\), got -3"),
        ({"download": "no"}, "download must be of type bool, got 'no'"),
        ({"standardize": 1}, "standardize must be of type bool, got 1"),
        ({"normalize_images": None}, "normalize_images must be of type bool, got None"),
        ({"quiet": 0}, "quiet must be of type bool, got 0"),
    ],
)
def test_bad_scalar_arguments_fail_before_loading(fake_fashion_mnist, kwargs, message):
    _, calls = fake_fashion_mnist
    with pytest.raises(ValueError, match=message):
        nps.load_data_fashion_mnist(**({"batch_size": 100} | kwargs))
    assert calls == []


def test_another_dataset_sizes_the_batches_and_the_model(small_dataset, tmp_path):
    folder, small = small_dataset
    iterators = nps.load_data_fashion_mnist(
        50, tmp_path / "home", seed=0, val_split=0.2, mirrors=[folder], dataset=small
    )
    assert iterators.dataset is small and iterators.source == str(folder)
    (train_iter, test_iter), val_iter = iterators, iterators.val_iter
    assert (train_iter.num_examples, val_iter.num_examples, test_iter.num_examples) == (320, 80, 100)
    X, y = next(iter(train_iter))
    assert X.shape == (50, 1, 12, 12) and set(np.unique(y)) <= set(range(small.n_classes))
    net = nps.SoftmaxRegression(small.n_features, small.n_classes, seed=0)
    updater = nps.SGD(net.params, lr=0.5)
    for _ in range(5):
        nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, updater)
    assert nps.evaluate_accuracy(net, test_iter) > 0.9  # the four classes are bands of light, far apart


def test_the_real_data_and_where_it_came_from(fashion_mnist_home):
    iterators = nps.load_data_fashion_mnist(256, fashion_mnist_home, download=False)
    train_iter, test_iter = iterators
    assert (train_iter.num_examples, test_iter.num_examples, len(train_iter)) == (60000, 10000, 235)
    assert iterators.source == str(REAL_DATA) and iterators.dataset is npsoftmax.data.FASHION_MNIST
    assert "Fashion-MNIST" in repr(iterators)
