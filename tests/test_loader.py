"""The minibatch iterators: d2l's shapes and semantics, reshuffling, seeding, normalization."""

import numpy as np
import pytest

import npsoftmax as nps
from npsoftmax.loader import pixel_stats


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(1000, 28, 28), dtype=np.uint8)
    labels = np.arange(1000) % 10
    return images, labels


def collect(data_iter):
    return [(X.copy(), y.copy()) for X, y in data_iter]


def test_batches_have_the_seed_shapes_and_keep_the_last_partial_batch(data):
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


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"std": 0.0}, "std must be > 0"),
    ({"std": np.inf}, "std must be a finite scalar"),
    ({"mean": np.zeros(3)}, "mean must be a finite scalar"),
])  # fmt: skip
def test_bad_iterator_arguments(data, kwargs, message):
    images, labels = data
    with pytest.raises(ValueError, match=message):
        nps.MinibatchIter(images, labels, **({"batch_size": 8} | kwargs))


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
