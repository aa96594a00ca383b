"""accuracy, Accumulator, evaluate_accuracy and the confusion matrix."""

import numpy as np
import pytest

import npsoftmax as nps


def test_accuracy_counts_correct_predictions_like_the_seed():
    y_hat = np.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert nps.accuracy(y_hat, np.array([0, 2])) == 1
    assert nps.accuracy(np.array([2, 2]), np.array([0, 2])) == 1
    assert nps.accuracy(y_hat, np.array([2, 2])) == 2


def test_accuracy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="3 rows but y has 2 labels"):
        nps.accuracy(np.zeros((3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError, match="y_hat must be scores"):
        nps.accuracy(np.zeros(3), np.array([0, 1]))


def test_accumulator():
    metric = nps.Accumulator(2)
    metric.add(1, 2)
    metric.add(3.5, 4)
    assert (metric[0], metric[1]) == (4.5, 6.0)
    metric.reset()
    assert metric[0] == 0.0
    with pytest.raises(ValueError, match="holds 2 sums"):
        metric.add(1)


class Threshold:
    """A stand-in net: class 1 when the first feature is positive."""

    def __call__(self, X):
        X = X.reshape(len(X), -1)
        return np.stack([-X[:, 0], X[:, 0]], axis=1)


def test_evaluate_accuracy_on_plain_and_npsoftmax_iterators():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(1000, 2, 2), dtype=np.uint8)
    labels = (images[:, 0, 0] > 100).astype(np.int64)
    labels[:10] = 1 - labels[:10]  # ten known mistakes
    net = Threshold()
    # With mean 100 and std 1 the first feature is positive exactly when the pixel is above 100.
    data_iter = nps.MinibatchIter(images, labels, 64, mean=100.0, std=1.0)
    assert nps.evaluate_accuracy(net, data_iter) == pytest.approx(0.99)
    plain = [(X.copy(), y.copy()) for X, y in data_iter]
    assert nps.evaluate_accuracy(net, plain) == pytest.approx(0.99)
    with pytest.raises(ValueError, match="no examples"):
        nps.evaluate_accuracy(net, [])


def test_confusion_matrix_counts():
    C = nps.confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    np.testing.assert_array_equal(C, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match=r"y_pred must lie in \[0, 3\)"):
        nps.confusion_matrix(np.array([0]), np.array([3]), 3)
