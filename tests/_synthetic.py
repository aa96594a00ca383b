"""Small synthetic images shaped like Fashion-MNIST's, for the tests of the loop and of its façades."""

from __future__ import annotations

import numpy as np

import npsoftmax as nps


def separable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 28x28 images of ten classes under noise: class ``c`` lights rows ``2c+2 .. 2c+6``."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    images = rng.integers(0, 80, size=(n, 28, 28), dtype=np.uint8)
    for c in range(10):
        images[labels == c, 2 * c + 2 : 2 * c + 7] += 150
    return images, labels


def synthetic_iters() -> tuple[nps.MinibatchIter, nps.MinibatchIter]:
    """``(train_iter, test_iter)`` of 600 and 200 synthetic images, like ``load_data_fashion_mnist``'s pair."""
    train_images, train_labels = separable_images(600, seed=1)
    test_images, test_labels = separable_images(200, seed=2)
    return (
        nps.MinibatchIter(train_images, train_labels, 32, shuffle=True, seed=0),
        nps.MinibatchIter(test_images, test_labels, 64),
    )
