"""npsoftmax.validation: check_scalar against scikit-learn's, and the checks every public function makes through it."""

import itertools
import math
import numbers

import numpy as np
import pytest
from sklearn.utils.validation import check_scalar as sklearn_check_scalar

import npsoftmax as nps
from npsoftmax import metrics
from npsoftmax.validation import check_scalar

# ---------------------------------------------------------------------------------------------------------
# check_scalar


@pytest.mark.parametrize(
    "x, target_type, kwargs, message",
    [
        (True, float, {"min_val": 0}, "lr must be a number in [0, inf), got True"),
        (np.False_, int, {}, "lr must be an integer in (-inf, inf), got False"),
        ("0.1", float, {"min_val": 0}, "lr must be a number in [0, inf), got '0.1'"),
        (None, float, {}, "lr must be a number in (-inf, inf), got None"),
        (np.array(0.1), float, {}, "lr must be a number in (-inf, inf), got array(0.1)"),
        (1.5, int, {"min_val": 1}, "lr must be an integer in [1, inf), got 1.5"),
        (np.float32(2.0), int, {}, "lr must be an integer in (-inf, inf), got 2.0"),
        (-0.5, float, {"min_val": 0}, "lr must be a number in [0, inf), got -0.5"),
        (math.nan, float, {}, "lr must be a finite number in (-inf, inf), got nan"),
        (-math.inf, float, {"min_val": 0}, "lr must be a finite number in [0, inf), got -inf"),
        (np.float64(np.inf), float, {"max_val": 1}, "lr must be a finite number in (-inf, 1], got inf"),
        (0, float, {"min_val": 0, "include_boundaries": "right"}, "lr must be a number in (0, inf), got 0"),
        (1, float, {"max_val": 1, "include_boundaries": "left"}, "lr must be a number in (-inf, 1), got 1"),
        (
            1,
            int,
            {"min_val": 1, "max_val": 3, "include_boundaries": "neither"},
            "lr must be an integer in (1, 3), got 1",
        ),
        (4, int, {"min_val": 1, "max_val": 3}, "lr must be an integer in [1, 3], got 4"),
        (1e-7, float, {"min_val": 1e-6}, "lr must be a number in [1e-06, inf), got 1e-07"),
        (1, str, {}, "lr must be of type str, got 1"),
    ],
)
def test_check_scalar_names_the_argument_its_range_and_what_it_got(x, target_type, kwargs, message):
    with pytest.raises(ValueError) as info:
        check_scalar(x, "lr", target_type, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "x, target_type, expected",
    [
        (3, int, 3),
        (np.int64(3), int, 3),
        (np.uint8(3), numbers.Integral, 3),
        (3, float, 3.0),
        (np.int32(3), float, 3.0),
        (np.float32(0.25), float, 0.25),
        (0.1, numbers.Real, 0.1),
        (True, bool, True),
        ("adam", str, "adam"),
    ],
)
def test_check_scalar_accepts_python_and_numpy_scalars_as_plain_python_values(x, target_type, expected):
    value = check_scalar(x, "x", target_type)
    assert value == expected and type(value) is type(expected)


def test_check_scalar_boundaries_are_included_as_asked():
    accepted = {
        mode: [v for v in (0, 0.5, 1) if _accepts(v, float, min_val=0, max_val=1, include_boundaries=mode)]
        for mode in ("both", "left", "right", "neither")
    }
    assert accepted == {"both": [0, 0.5, 1], "left": [0, 0.5], "right": [0.5, 1], "neither": [0.5]}
    with pytest.raises(ValueError, match="include_boundaries must be 'both', 'left', 'right' or 'neither'"):
        check_scalar(1, "x", int, include_boundaries="all")


def _accepts(x, target_type, **kwargs) -> bool:
    try:
        check_scalar(x, "x", target_type, **kwargs)
    except ValueError:
        return False
    return True


def _sklearn_accepts(x, target_type, **kwargs) -> bool:
    try:
        sklearn_check_scalar(x, "x", target_type, **kwargs)
    except (TypeError, ValueError):
        return False
    return True


def test_check_scalar_decides_as_scikit_learns_where_a_bool_or_nan_is_not_involved():
    """The oracle: scikit-learn's check_scalar, over values, types, ranges and every boundary mode."""
    values = [-2, -1, 0, 1, 2, 3, -0.5, 0.0, 0.5, 1.0, 2.5, np.int64(2), np.float32(0.5), "1", None]
    ranges = [(None, None), (0, None), (None, 2), (0, 2), (1, 1)]
    modes = ["both", "left", "right", "neither"]
    compared = 0
    for x, target_type, (low, high), mode in itertools.product(values, (numbers.Integral, numbers.Real), ranges, modes):
        if (mode in ("left", "neither") and low is None) or (mode in ("right", "neither") and high is None):
            continue  # scikit-learn refuses to include an absent bound; ours reads it as open
        kwargs = {"min_val": low, "max_val": high, "include_boundaries": mode}
        ours, theirs = _accepts(x, target_type, **kwargs), _sklearn_accepts(x, target_type, **kwargs)
        assert ours == theirs, f"check_scalar({x!r}, {target_type.__name__}, {kwargs}): ours {ours}, sklearn {theirs}"
        compared += 1
    assert compared > 300  # every pair of the grid that both can express


def test_a_bool_is_a_number_for_scikit_learn_but_not_for_us():
    assert _sklearn_accepts(True, numbers.Real, min_val=0)
    assert not _accepts(True, numbers.Real, min_val=0) and not _accepts(np.True_, numbers.Integral)


# ---------------------------------------------------------------------------------------------------------
# The public functions that check numbers through check_scalar


@pytest.mark.parametrize("n", [-1, 0, True, 2.0, "3"])
def test_accumulator_needs_a_positive_integer(n):
    shown = repr(n) if isinstance(n, str) else n
    with pytest.raises(ValueError, match=rf"^n must be an integer in \[1, inf\), got {shown}$"):
        nps.Accumulator(n)


def test_accumulator_takes_a_numpy_integer():
    metric = nps.Accumulator(np.int64(2))
    metric.add(1, np.float32(2.5))
    assert (metric[0], metric[1]) == (1.0, 2.5)


@pytest.mark.parametrize("num_classes", [0, True, 2.5])
def test_confusion_matrix_needs_a_positive_integer_number_of_classes(num_classes):
    with pytest.raises(ValueError, match=rf"^num_classes must be an integer in \[1, inf\), got {num_classes}$"):
        nps.confusion_matrix(np.array([0, 1]), np.array([1, 0]), num_classes)


def test_confusion_matrix_needs_integer_labels():
    with pytest.raises(ValueError, match=r"^y_pred must be an integer array, got dtype float64"):
        nps.confusion_matrix(np.array([0, 1]), np.array([1.0, 0.0]), 2)


@pytest.mark.parametrize("eps", [0, -1e-6, math.nan, True])
def test_numerical_gradient_needs_a_positive_finite_step(eps):
    with pytest.raises(ValueError, match=r"^eps must be a (finite )?number in \(0, inf\), got"):
        nps.numerical_gradient(lambda: 0.0, np.zeros(3), eps)


@pytest.mark.parametrize("schedule", [nps.constant_lr, nps.cosine_lr])
@pytest.mark.parametrize(
    "args, message",
    [
        ((0.1, 0, 0), r"^num_epochs must be an integer in \[1, inf\), got 0$"),
        ((0.1, 10, 10), r"^epoch must be an integer in \[0, 9\], got 10$"),
        ((0.1, True, 10), r"^epoch must be an integer in \[0, 9\], got True$"),
        ((-0.1, 0, 10), r"^base_lr must be a number in \[0, inf\), got -0.1$"),
        ((math.nan, 0, 10), r"^base_lr must be a finite number in \[0, inf\), got nan$"),
    ],
)
def test_schedules_check_their_arguments(schedule, args, message):
    with pytest.raises(ValueError, match=message):
        schedule(*args)


# ---------------------------------------------------------------------------------------------------------
# Arrays: a softmax over no classes, and the two cross-entropies sharing one check


@pytest.mark.parametrize("function", [nps.softmax, nps.log_softmax, nps.naive_softmax])
def test_a_softmax_over_no_classes_is_refused_and_over_no_rows_is_empty(function):
    with pytest.raises(ValueError, match=r"^Z has no classes along axis 1 \(shape \(3, 0\)\); softmax needs at least"):
        function(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"^Z has no classes along axis 0 \(shape \(0, 10\)\)"):
        function(np.zeros((0, 10), np.float32), axis=0)
    empty = function(np.zeros((0, 10), np.float32))
    assert empty.shape == (0, 10) and empty.dtype == np.float32
    with pytest.raises(ValueError, match=r"^axis must be an integer in \[-2, 1\], got 2$"):
        function(np.zeros((3, 4)), axis=2)
    with pytest.raises(ValueError, match=r"^axis must be an integer in \[-2, 1\], got True$"):
        function(np.zeros((3, 4)), axis=True)
    with pytest.raises(ValueError, match="^Z must have at least one axis of classes, got a scalar"):
        function(3.0)
    np.testing.assert_allclose(function(np.zeros((2, 4)), axis=0), function(np.zeros((4, 2))).T)


def _message(function, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        function(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "scores, y, reduction",
    [
        (np.zeros(3), np.array([0]), "mean"),  # not 2-D
        (np.zeros((2, 0)), np.array([0, 0]), "mean"),  # no class
        (np.zeros((2, 3)), np.array([0, 3]), "mean"),  # a label out of range
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "mean"),  # float labels
        (np.zeros((2, 3)), np.array([0]), "mean"),  # one label for two rows
        (np.zeros((2, 3)), np.array([0, 1]), "avg"),  # an unknown reduction
        (np.zeros((0, 3)), np.zeros(0, int), "mean"),  # the mean of nothing
    ],
)
def test_cross_entropy_and_naive_cross_entropy_refuse_alike(scores, y, reduction):
    stable = _message(nps.cross_entropy, scores, y, reduction)
    naive = _message(nps.naive_cross_entropy, scores, y, reduction)
    assert naive == stable.replace("logits", "y_hat"), f"cross_entropy: {stable!r}; naive_cross_entropy: {naive!r}"


def test_only_the_naive_cross_entropy_takes_non_finite_input():
    """Its NaN and infinity are the lesson; the stable one refuses them."""
    assert "logits contains 1 NaN" in _message(nps.cross_entropy, np.array([[0.0, np.nan]]), np.array([0]))
    assert np.isnan(nps.naive_cross_entropy(np.array([[np.nan, 1.0]]), np.array([0])))
    assert nps.cross_entropy(np.zeros((0, 3)), np.zeros(0, int), reduction="sum") == 0


def test_metrics_refuse_scores_without_examples():
    with pytest.raises(ValueError, match=r"^scores must hold at least one example \(row\), got shape \(0, 3\)$"):
        metrics.top_k_accuracy(np.zeros((0, 3)), np.zeros(0, int), 1)


def test_check_float_dtype_gives_a_native_float32_or_float64():
    from npsoftmax.validation import check_float_dtype

    for given, expected in ((np.float32, np.float32), ("f8", np.float64), (">f4", np.float32), ("<f8", np.float64)):
        dtype = check_float_dtype(given)
        assert dtype == np.dtype(expected) and dtype.isnative
    for bad, shown in ((np.float16, "float16"), (int, "int64"), ("fp32", "fp32"), (np.complex64, "complex64")):
        with pytest.raises(ValueError, match=f"^dtype must be float32 or float64, got {shown}$"):
            check_float_dtype(bad)
