"""accuracy, Accumulator, evaluate_accuracy, the confusion matrix, per-class scores, top-k, ECE and coverage."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support, top_k_accuracy_score

import npsoftmax as nps
from npsoftmax import metrics


def test_accuracy_counts_correct_predictions_like_d2l():
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


# --------------------------------------------------------------------------------------------------------
# Per-class scores, top-k, calibration and coverage, each against an independent oracle.


def random_problem(n=500, k=10, seed=0, dtype=np.float64):
    """Softmax probabilities of random logits, and labels that agree with the argmax about half the time."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(n, k))
    y = np.where(rng.random(n) < 0.5, logits.argmax(axis=1), rng.integers(0, k, n))
    return nps.softmax(logits.astype(dtype)), y


@pytest.mark.parametrize("seed", range(5))
def test_precision_recall_f1_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    k = 6
    y_true = rng.integers(0, k, 300)
    # Class 4 is never predicted and class 5 never present: both ways of dividing 0 by 0.
    y_true[y_true == 5] = 0
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, k, 300))
    y_pred[y_pred == 4] = 1
    scores = metrics.precision_recall_f1(nps.confusion_matrix(y_true, y_pred, k))
    expected = precision_recall_fscore_support(y_true, y_pred, labels=range(k), zero_division=0)
    for name, oracle in zip(("precision", "recall", "f1", "support"), expected, strict=True):
        np.testing.assert_allclose(scores[name], oracle, rtol=1e-12, atol=0, err_msg=name)
    assert scores["precision"][4] == scores["f1"][5] == 0.0


def test_per_class_report_is_keyed_by_class_name_with_plain_floats():
    confusion = np.array([[3, 1], [0, 0]])
    report = metrics.per_class_report(confusion, ["shirt", "bag"])
    assert report == {
        "shirt": {"precision": 1.0, "recall": 0.75, "f1": pytest.approx(6 / 7)},
        "bag": {"precision": 0.0, "recall": 0.0, "f1": 0.0},
    }
    assert all(type(value) is float for scores in report.values() for value in scores.values())
    with pytest.raises(ValueError, match="class_names has 3 names but confusion has 2 classes"):
        metrics.per_class_report(confusion, ["a", "b", "c"])


@pytest.mark.parametrize(
    ("confusion", "message"),
    [
        (np.zeros((2, 3)), "square"),
        (np.zeros((0, 0)), "square"),
        (np.array([[1, -1], [0, 2]]), ">= 0"),
        (np.array([[1.0, np.nan], [0, 2]]), "NaN"),
    ],
)
def test_precision_recall_f1_rejects_bad_confusion_matrices(confusion, message):
    with pytest.raises(ValueError, match=message):
        metrics.precision_recall_f1(confusion)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 9])
def test_top_k_accuracy_matches_scikit_learn_and_torch_topk(k):
    probs, y = random_problem(seed=k)
    expected = top_k_accuracy_score(y, probs, k=k, labels=range(10))
    assert metrics.top_k_accuracy(probs, y, k) == pytest.approx(expected, abs=1e-12)
    top = torch.topk(torch.from_numpy(probs), k, dim=1).indices.numpy()
    assert metrics.top_k_accuracy(probs, y, k) == pytest.approx(np.mean((top == y[:, None]).any(axis=1)), abs=1e-12)


def test_top_k_accuracy_with_k_equal_to_the_number_of_classes_is_1():
    probs, y = random_problem()
    assert metrics.top_k_accuracy(probs, y, 10) == 1.0


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_top_k_accuracy_breaks_ties_by_lower_class_index_like_a_stable_sort(k):
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 3, size=(400, 5)).astype(np.float32)  # many ties
    y = rng.integers(0, 5, 400)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    assert metrics.top_k_accuracy(scores, y, k) == pytest.approx(np.mean((top == y[:, None]).any(axis=1)))
    # scikit-learn ranks the higher index first among ties: on reversed columns it follows our rule.
    reversed_sklearn = top_k_accuracy_score(4 - y, scores[:, ::-1], k=k, labels=range(5))
    assert metrics.top_k_accuracy(scores, y, k) == pytest.approx(reversed_sklearn)
    if k == 1:
        assert metrics.top_k_accuracy(scores, y, 1) == nps.accuracy(scores, y) / len(y)


def test_top_k_accuracy_rejects_bad_input():
    scores, y = np.zeros((3, 4)), np.array([0, 1, 2])
    for k in (0, 5, 1.0, True):
        with pytest.raises(ValueError, match=r"k must be an integer in \[1, 4\]"):
            metrics.top_k_accuracy(scores, y, k)
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\)"):
        metrics.top_k_accuracy(scores, np.array([0, 1, 4]), 1)
    with pytest.raises(ValueError, match="integer array"):
        metrics.top_k_accuracy(scores, np.array([0.0, 1.0, 2.0]), 1)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        metrics.top_k_accuracy(scores, np.array([0, 1]), 1)
    with pytest.raises(ValueError, match="2-D"):
        metrics.top_k_accuracy(np.zeros(3), y, 1)
    with pytest.raises(ValueError, match="NaN"):
        metrics.top_k_accuracy(np.full((3, 4), np.nan), y, 1)


def ece_by_loop(probs, y, n_bins):
    """The textbook definition, one example and one bin at a time."""
    total = 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for b in range(n_bins):
        members = []
        for i in range(len(y)):
            confidence = float(np.max(probs[i]))
            if edges[b] < confidence <= edges[b + 1] or (b == 0 and confidence == 0.0):
                members.append((confidence, int(np.argmax(probs[i])) == y[i]))
        if members:
            mean_confidence = sum(c for c, _ in members) / len(members)
            mean_accuracy = sum(r for _, r in members) / len(members)
            total += len(members) / len(y) * abs(mean_accuracy - mean_confidence)
    return total


@pytest.mark.parametrize(
    ("seed", "n_bins", "dtype"), [(0, 15, np.float64), (1, 10, np.float32), (2, 1, np.float64), (3, 7, np.float32)]
)
def test_ece_matches_a_straightforward_loop(seed, n_bins, dtype):
    probs, y = random_problem(n=300, seed=seed, dtype=dtype)
    assert metrics.expected_calibration_error(probs, y, n_bins) == pytest.approx(
        ece_by_loop(probs, y, n_bins), abs=1e-12
    )


def test_ece_by_hand():
    # Confidences 0.9, 0.9, 0.6, 0.3 and 0.2 (the first class when it wins): with 5 bins
    # (0.8, 1] holds two examples, one right: |0.5 - 0.9| = 0.4, weight 2/5;
    # (0.4, 0.6] holds one, right: |1 - 0.6| = 0.4, weight 1/5 (0.6 lies on an edge and belongs below it);
    # (0.2, 0.4] holds one, wrong: |0 - 0.3| = 0.3, weight 1/5; [0, 0.2] holds the 0.2 row of six classes
    # (argmax: class 0), right: |1 - 0.2| = 0.8, weight 1/5.
    probs = np.array(
        [
            [0.9, 0.1, 0, 0, 0, 0],
            [0.1, 0.9, 0, 0, 0, 0],
            [0.6, 0.4, 0, 0, 0, 0],
            [0.3, 0.3, 0.2, 0.2, 0, 0],
            [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],
        ]
    )
    y = np.array([0, 0, 0, 1, 0])
    bins = metrics.calibration_bins(probs, y, n_bins=5)
    np.testing.assert_array_equal(bins.count, [1, 1, 1, 0, 2])
    np.testing.assert_allclose(bins.confidence, [0.2, 0.3, 0.6, np.nan, 0.9])
    np.testing.assert_allclose(bins.accuracy, [1, 0, 1, np.nan, 0.5])
    expected = (2 * 0.4 + 0.4 + 0.3 + 0.8) / 5
    assert metrics.expected_calibration_error(probs, y, n_bins=5) == pytest.approx(expected)
    assert expected == pytest.approx(0.46)


def test_ece_extremes():
    one_hot = np.eye(4)[[0, 1, 2, 3]]
    assert metrics.expected_calibration_error(one_hot, np.array([0, 1, 2, 3])) == 0.0
    assert metrics.expected_calibration_error(one_hot, np.array([1, 2, 3, 0])) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(2, 12), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_ece_lies_in_0_1_and_bins_count_every_example(n, k, n_bins, seed):
    probs, y = random_problem(n=n, k=k, seed=seed)
    ece = metrics.expected_calibration_error(probs, y, n_bins)
    assert 0.0 <= ece <= 1.0
    bins = metrics.calibration_bins(probs, y, n_bins)
    assert bins.count.sum() == n
    occupied = bins.count > 0
    assert np.all(
        (bins.confidence[occupied] > bins.edges[:-1][occupied] - 1e-12)
        & (bins.confidence[occupied] <= bins.edges[1:][occupied] + 1e-12)
    )


def test_calibration_rejects_what_is_not_probabilities():
    y = np.array([0, 1])
    with pytest.raises(ValueError, match="must hold probabilities.*softmax"):
        metrics.expected_calibration_error(np.array([[2.0, -1.0], [0.5, 0.5]]), y)
    with pytest.raises(ValueError, match="must hold probabilities"):
        metrics.coverage_curve(np.array([[0.5, 0.6], [0.5, 0.5]]), y)
    for n_bins in (0, 2.5, True):
        with pytest.raises(ValueError, match=rf"^n_bins must be an integer in \[1, inf\), got {n_bins}$"):
            metrics.calibration_bins(np.eye(2), y, n_bins)


def coverage_by_brute_force(probs, y, thresholds):
    confidence, correct = probs.max(axis=1).astype(np.float64), probs.argmax(axis=1) == y
    coverage, accuracy = [], []
    for t in thresholds:
        answered = confidence >= t
        coverage.append(answered.mean())
        accuracy.append(correct[answered].mean() if answered.any() else np.nan)
    return np.array(coverage), np.array(accuracy)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_coverage_curve_matches_brute_force(dtype):
    probs, y = random_problem(n=400, seed=7, dtype=dtype)
    probs[:50] = probs[50:100]  # repeated confidences
    curve = metrics.coverage_curve(probs, y)
    np.testing.assert_array_equal(curve.thresholds, np.unique(probs.max(axis=1).astype(np.float64))[::-1])
    coverage, accuracy = coverage_by_brute_force(probs, y, curve.thresholds)
    np.testing.assert_allclose(curve.coverage, coverage, rtol=0, atol=1e-15)
    np.testing.assert_allclose(curve.accuracy, accuracy, rtol=1e-12)
    given = np.array([1.01, 0.99, 0.9, 0.5, 0.3, 0.0, -1.0])
    curve = metrics.coverage_curve(probs, y, given)
    coverage, accuracy = coverage_by_brute_force(probs, y, given)
    np.testing.assert_array_equal(curve.thresholds, given)
    np.testing.assert_allclose(curve.coverage, coverage, rtol=0, atol=1e-15)
    np.testing.assert_allclose(curve.accuracy, accuracy, rtol=1e-12)
    assert np.isnan(curve.accuracy[0]) and curve.coverage[0] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_coverage_grows_as_the_threshold_falls_and_ends_at_plain_accuracy(n, k, seed):
    probs, y = random_problem(n=n, k=k, seed=seed)
    curve = metrics.coverage_curve(probs, y)
    assert np.all(np.diff(curve.thresholds) < 0)
    assert np.all(np.diff(curve.coverage) > 0)
    assert curve.coverage[-1] == 1.0
    assert curve.accuracy[-1] == pytest.approx(nps.accuracy(probs, y) / n)
    assert np.all((curve.accuracy >= 0) & (curve.accuracy <= 1))


def test_coverage_curve_rejects_nan_thresholds():
    with pytest.raises(ValueError, match="thresholds must be 1-D without NaN"):
        metrics.coverage_curve(np.eye(2), np.array([0, 1]), [0.5, np.nan])
