"""``loss_and_grad(out=GradientBuffers)``: the same numbers as fresh arrays, computed into reused ones."""

import numpy as np
import pytest

import npsoftmax as nps
from npsoftmax.losses import GradientBuffers


def problem(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, n)
    W = rng.normal(0.0, 0.1, (784, 10)).astype(dtype)
    b = rng.normal(0.0, 1.0, 10).astype(dtype)
    return X, y, W, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"naive": True}, {"weight_decay": 3e-3}])
@pytest.mark.parametrize("check_input", [True, False])
def test_buffers_give_the_numbers_of_fresh_arrays_bit_for_bit(dtype, options, check_input):
    # One set of buffers for a pass: full batches, then a partial one; each call's results against a call
    # without buffers on the same arrays (the same operations in the same order, so the same bits).
    X, y, W, b = problem(600, dtype)
    buffers = GradientBuffers.empty(256, W)
    for start in (0, 256, 512):
        Xb, yb = X[start : start + 256], y[start : start + 256]
        fresh = nps.loss_and_grad(Xb, yb, W, b, **options, check_input=check_input, return_logits=True)
        reused = nps.loss_and_grad(Xb, yb, W, b, **options, check_input=check_input, return_logits=True, out=buffers)
        for expected, got in zip(fresh, reused, strict=True):
            assert np.asarray(got).dtype == dtype
            np.testing.assert_array_equal(got, expected, strict=True)


def test_results_are_views_into_the_buffers_until_the_next_call():
    X, y, W, b = problem(300, np.float32)
    buffers = GradientBuffers.empty(256, W)
    _, dW, db, logits = nps.loss_and_grad(X[:256], y[:256], W, b, return_logits=True, out=buffers)
    assert dW is buffers.dW and db is buffers.db and np.shares_memory(logits, buffers.logits)
    kept = dW.copy()
    nps.loss_and_grad(X[256:], y[256:], W, b, out=buffers)
    assert not np.array_equal(buffers.dW, kept)  # another batch, another gradient, in the same array


def test_empty_makes_buffers_in_the_weights_dtype_and_shapes():
    W = np.zeros((784, 7), np.float64)
    buffers = GradientBuffers.empty(np.int64(50), W)
    assert [a.shape for a in buffers] == [(50, 7), (50, 7), (50, 7), (784, 7), (7,), (50,)]
    assert all(a.dtype == np.float64 for a in buffers[:5])
    np.testing.assert_array_equal(buffers.rows, np.arange(50))


@pytest.mark.parametrize("max_rows", [0, True, 2.5])
def test_empty_refuses_a_bad_number_of_rows(max_rows):
    with pytest.raises(ValueError, match=r"max_rows must be an integer in \[1, inf\)"):
        GradientBuffers.empty(max_rows, np.zeros((784, 10), np.float32))


@pytest.mark.parametrize(
    "buffers, message",
    [
        (GradientBuffers.empty(100, np.zeros((784, 10), np.float32)), "buffers for 100 rows"),
        (GradientBuffers.empty(256, np.zeros((784, 10), np.float64)), "float64 logits, but the batch has 256 rows"),
        (GradientBuffers.empty(256, np.zeros((784, 5), np.float32)), r"of \(5,\) float32 logits"),
        ((np.zeros((256, 10)),) * 6, "out must be a GradientBuffers"),
        (
            GradientBuffers.empty(256, np.zeros((784, 10), np.float32))._replace(
                dlogits=np.asfortranarray(np.zeros((256, 10), np.float32))
            ),
            "must be C-contiguous",
        ),
    ],
)
def test_checked_calls_refuse_buffers_that_do_not_fit(buffers, message):
    X, y, W, b = problem(256, np.float32)
    with pytest.raises(ValueError, match=message):
        nps.loss_and_grad(X, y, W, b, out=buffers)
