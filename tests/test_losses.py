"""The analytic core against PyTorch autograd, central finite differences and mathematical properties."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import npsoftmax as nps
from npsoftmax.gradcheck import relative_error

TOL = {np.float64: 1e-10, np.float32: 1e-4}


def make_problem(n, d, k, dtype, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = rng.integers(0, k, size=n)
    W = (scale * rng.normal(size=(d, k))).astype(dtype)
    b = rng.normal(size=k).astype(dtype)
    return X, y, W, b


def torch_loss_and_grad(X, y, W, b, weight_decay=0.0):
    """The reference: the same loss written in PyTorch and differentiated by autograd."""
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    Xt = torch.tensor(np.ascontiguousarray(X)).reshape(len(X), -1)
    loss = torch.nn.functional.cross_entropy(Xt @ Wt + bt, torch.tensor(y))
    loss = loss + weight_decay / 2 * (Wt**2).sum()
    loss.backward()
    return loss.item(), Wt.grad.numpy(), bt.grad.numpy()


# ---------------------------------------------------------------------------------------------------------
# Against autograd


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize(
    "n, d, k",
    [(1, 784, 10), (7, 5, 2), (256, 784, 10), (33, 20, 3), (1000, 784, 10)],
    ids=["batch-of-1", "two-classes", "784x10", "small", "large-batch"],
)
def test_loss_and_grad_matches_autograd(n, d, k, dtype, weight_decay):
    X, y, W, b = make_problem(n, d, k, dtype, scale=0.1)
    loss, dW, db = nps.loss_and_grad(X, y, W, b, weight_decay)
    ref_loss, ref_dW, ref_db = torch_loss_and_grad(X, y, W, b, weight_decay)
    assert loss.dtype == dW.dtype == db.dtype == dtype
    assert dW.shape == (d, k) and db.shape == (k,)
    assert abs(float(loss) - ref_loss) / abs(ref_loss) <= TOL[dtype]
    assert relative_error(dW, ref_dW) <= TOL[dtype]
    assert relative_error(db, ref_db) <= TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_and_grad_on_non_contiguous_and_image_shaped_inputs(dtype):
    X, y, W, b = make_problem(64, 784, 10, dtype, scale=0.1)
    wide = np.zeros((64, 2 * 784), dtype)
    wide[:, ::2] = X
    strided = wide[:, ::2]  # every other column: a non-contiguous view
    assert not strided.flags.c_contiguous
    ref = torch_loss_and_grad(X, y, W, b)
    for X_in in (strided, X.reshape(64, 28, 28), X.reshape(64, 1, 28, 28), np.asfortranarray(X)):
        loss, dW, db = nps.loss_and_grad(X_in, y, W, b)
        assert abs(float(loss) - ref[0]) / ref[0] <= TOL[dtype]
        assert relative_error(dW, ref[1]) <= TOL[dtype]
        assert relative_error(db, ref[2]) <= TOL[dtype]


# The worst-case bound of the next test. Each output of loss_and_grad ends a chain of three rounded sums: a
# logit sums d products, the softmax sums k exponentials, a gradient entry sums n products. A rounded sum of m
# terms errs by at most about m * u relative to the sum of the terms' magnitudes, in any summation order, with
# or without FMA (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., section 3.1; u = eps / 2),
# so the lengths of the chain add: 2 (d + k + n) u = (d + k + n) eps leaves a factor 2 for the float64
# reference's own rounding and for the cancellation in dW = X^T (P - onehot(y)) / n. Rounding errors of random
# sign add like a random walk (Higham and Mary, SIAM J. Sci. Comput. 41, 2019), so measured errors lie near
# sqrt(d + k + n) u, some 30 times below the bound: it holds on any BLAS kernel and thread count, while a wrong
# gradient (a relative error of 1e-3 or more) misses it by orders of magnitude.
WORST_CASE_SHAPE = (128, 784, 10)  # n examples, d features, k classes
N, D, K = WORST_CASE_SHAPE
WORST_CASE_BOUND = {dtype: (D + K + N) * float(np.finfo(dtype).eps) for dtype in (np.float64, np.float32)}


def test_worst_case_errors_against_autograd_are_within_tolerance():
    """Worst relative error over 20 random problems against autograd in float64, within the derived bound."""
    for dtype in (np.float64, np.float32):
        against_float64, against_same_dtype = [], []
        for seed in range(20):
            weight_decay = 0.01 * (seed % 3)
            X, y, W, b = make_problem(N, D, K, dtype, seed=seed, scale=0.05 * (seed + 1))
            loss, dW, db = nps.loss_and_grad(X, y, W, b, weight_decay=weight_decay)
            for errors, reference_dtype in ((against_float64, np.float64), (against_same_dtype, dtype)):
                X_ref, W_ref, b_ref = (a.astype(reference_dtype) for a in (X, W, b))
                ref = torch_loss_and_grad(X_ref, y, W_ref, b_ref, weight_decay)
                errors += [abs(float(loss) - ref[0]) / ref[0], relative_error(dW, ref[1]), relative_error(db, ref[2])]
        worst = max(against_float64)
        assert worst <= WORST_CASE_BOUND[dtype], (
            f"{dtype.__name__}: worst relative error {worst:.2e}, expected at most "
            f"(d + k + n) eps = {WORST_CASE_BOUND[dtype]:.2e}"
        )
        assert worst <= TOL[dtype], f"{dtype.__name__}: worst relative error {worst:.2e}, expected <= {TOL[dtype]:.0e}"
        worst_same_dtype = max(against_same_dtype)
        assert worst_same_dtype <= TOL[dtype], (
            f"{dtype.__name__}: worst relative error against autograd in {dtype.__name__} {worst_same_dtype:.2e}, "
            f"expected <= {TOL[dtype]:.0e}"
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("magnitude", [1.0, 50.0, 100.0, 1e3, 1e4])
def test_softmax_and_log_softmax_match_torch(dtype, magnitude):
    rng = np.random.default_rng(1)
    Z = (magnitude * rng.uniform(-1, 1, size=(50, 10))).astype(dtype)
    Z[0] = [magnitude, -magnitude] * 5
    # log-softmax entries near 0 (a dominant class) are differences of numbers of size `magnitude`, so
    # their error is absolute, a few ulps of the logits; probabilities are compared relatively.
    log_atol = 16 * np.finfo(dtype).eps * magnitude
    for ours, theirs, atol in ((nps.softmax, torch.softmax, 1e-30), (nps.log_softmax, torch.log_softmax, log_atol)):
        got = ours(Z)
        expected = theirs(torch.tensor(Z), dim=-1).numpy()
        assert got.dtype == dtype
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=atol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_matches_torch_for_every_reduction(dtype):
    rng = np.random.default_rng(2)
    logits = (30 * rng.normal(size=(40, 10))).astype(dtype)
    y = rng.integers(0, 10, 40)
    for reduction in ("mean", "sum", "none"):
        got = nps.cross_entropy(logits, y, reduction)
        ref = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(y), reduction=reduction)
        np.testing.assert_allclose(got, ref.numpy(), rtol=TOL[dtype])
        assert np.asarray(got).dtype == dtype


# ---------------------------------------------------------------------------------------------------------
# Stability: d2l's naive softmax next to ours


def naive_softmax(X):
    """d2l's definition, verbatim in NumPy: the oracle for nps.naive_softmax."""
    X_exp = np.exp(X)
    return X_exp / X_exp.sum(1, keepdims=True)


def test_package_naive_softmax_is_the_chapters_formula():
    Z = np.array([[89.0, 0.0, -1.0], [1.0, 2.0, 3.0], [-200.0, -200.0, -199.0]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        np.testing.assert_array_equal(nps.naive_softmax(Z), naive_softmax(Z))
    y_hat = np.array([[0.1, 0.3, 0.6], [0.0, 0.2, 0.8]])
    np.testing.assert_allclose(nps.naive_cross_entropy(y_hat, [0, 0], reduction="none"), [-np.log(0.1), np.inf])


def test_naive_forward_in_loss_and_grad_breaks_where_the_chapters_does():
    X = np.ones((2, 1), np.float32)
    W = np.array([[100.0, 0.0, -1.0]], np.float32)  # logit 100 > 88.7: exp overflows in float32
    b = np.zeros(3, np.float32)
    y = np.array([0, 1])
    loss, dW, db = nps.loss_and_grad(X, y, W, b, naive=True)
    assert np.isnan(loss) and np.isnan(dW).any()
    stable = nps.loss_and_grad(X, y, W, b)
    assert np.isfinite(stable[0]) and float(stable[0]) == pytest.approx(50.0, rel=1e-5)
    # Where the naive formulas are finite, both forward passes give the same loss and gradient.
    X, y, W, b = make_problem(32, 20, 4, np.float64, scale=0.1)
    for got, expected in zip(nps.loss_and_grad(X, y, W, b, naive=True), nps.loss_and_grad(X, y, W, b), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_naive_softmax_overflows_where_stable_softmax_does_not():
    Z = np.array([[89.0, 0.0, -1.0], [1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 + 2]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = naive_softmax(Z)
    stable = nps.softmax(Z)
    assert np.isnan(naive[0]).any() and np.isnan(naive[1]).any()  # inf / inf
    assert np.isnan(naive[2]).all()  # 0 / 0: every exp underflowed
    assert np.all(np.isfinite(stable))
    np.testing.assert_allclose(stable.sum(axis=1), 1.0, rtol=1e-6)
    expected = torch.softmax(torch.tensor(Z), dim=1).numpy()
    np.testing.assert_allclose(stable, expected, rtol=1e-5, atol=1e-38)
    # Where the naive form is finite it agrees with ours.
    Z_small = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(naive_softmax(Z_small), nps.softmax(Z_small), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_and_grad_finite_for_huge_logits(dtype):
    X = np.ones((2, 1), dtype)
    W = np.array([[1e4, -1e4, 0.0]], dtype)
    b = np.zeros(3, dtype)
    loss, dW, db = nps.loss_and_grad(X, np.array([1, 0]), W, b)
    assert np.isfinite(loss) and np.all(np.isfinite(dW)) and np.all(np.isfinite(db))
    # Example 0 puts probability ~1 on class 0 but is labelled 1: loss 2e4; example 1 is right: loss 0.
    assert float(loss) == pytest.approx(1e4, rel=1e-6)


def test_the_chapters_worked_example():
    """d2l's example: probabilities [[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]], labels [0, 2]."""
    y_hat = np.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    y = np.array([0, 2])
    losses = nps.cross_entropy(np.log(y_hat), y, reduction="none")
    np.testing.assert_allclose(losses, [2.3026, 0.6931], atol=5e-5)
    np.testing.assert_allclose(losses, -np.log([0.1, 0.5]), rtol=1e-12)
    assert nps.cross_entropy(np.log(y_hat), y) == pytest.approx(np.mean(-np.log([0.1, 0.5])), rel=1e-12)
    assert nps.accuracy(y_hat, y) == 1


# ---------------------------------------------------------------------------------------------------------
# Against central finite differences


@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
@pytest.mark.parametrize("n, d, k", [(1, 3, 2), (6, 4, 3), (10, 7, 5)])
def test_loss_and_grad_matches_finite_differences(n, d, k, weight_decay):
    X, y, W, b = make_problem(n, d, k, np.float64, seed=n + d + k)
    _, dW, db = nps.loss_and_grad(X, y, W, b, weight_decay)
    errors = nps.check_gradient(lambda: nps.loss_and_grad(X, y, W, b, weight_decay)[0], [W, b], [dW, db])
    assert max(errors) <= 1e-7, errors


def test_gradient_checker_catches_a_wrong_gradient():
    X, y, W, b = make_problem(5, 4, 3, np.float64)
    _, dW, db = nps.loss_and_grad(X, y, W, b)
    wrong_dW = dW.copy()
    wrong_dW[0, 0] += 1e-3  # one entry off
    errors = nps.check_gradient(lambda: nps.loss_and_grad(X, y, W, b)[0], [W, b], [wrong_dW, db])
    assert errors[0] > 1e-4 and errors[1] <= 1e-7


def test_gradient_checker_rejects_float32():
    with pytest.raises(ValueError, match="float64"):
        nps.numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))


# ---------------------------------------------------------------------------------------------------------
# The training loop's fast path (check_input=False) is the same computation


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unchecked_fast_path_is_the_checked_computation(dtype):
    for n in (256, 17, 1):
        X, y, W, b = make_problem(n, 784, 10, dtype, seed=n, scale=0.1)
        images = X.reshape(n, 1, 28, 28)
        loss, dW, db, logits = nps.loss_and_grad(images, y, W, b, 0.01, check_input=False, return_logits=True)
        ref_loss, ref_dW, ref_db = nps.loss_and_grad(X, y, W, b, 0.01)
        assert loss == ref_loss
        np.testing.assert_array_equal(dW, ref_dW)
        np.testing.assert_array_equal(db, ref_db)
        np.testing.assert_array_equal(logits, X @ W + b)
        assert loss.dtype == dW.dtype == logits.dtype == dtype


def plain_loss_and_grad(X, y, W, b, weight_decay=0.0, naive=False):
    """The textbook computation, NumPy's plainest calls in the order the derivation gives them: the row max by
    ``max``, the labels indexed by (row, label) pairs, every array a new one."""
    n = len(X)
    X = X.reshape(n, -1)
    logits = X @ W + b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if naive:
            log_probs = np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
        else:
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].sum() / n + W.dtype.type(0.5 * weight_decay) * np.vdot(W, W)
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), y] -= 1
    dlogits /= n
    return loss, X.T @ dlogits + W.dtype.type(weight_decay) * W, dlogits.sum(axis=0), logits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"naive": True}, {"weight_decay": 3e-3}])
@pytest.mark.parametrize("check_input", [True, False])
def test_loss_and_grad_gives_the_plain_computations_bits(dtype, options, check_input):
    # Full batches, then a partial one, of images as a loader gives them: the same operations on the same
    # arrays, so the same bits on any machine, whatever the fast path does in between.
    X, y, W, b = make_problem(600, 784, 10, dtype, scale=0.1)
    images = X.reshape(600, 1, 28, 28)
    for start in (0, 256, 512):
        batch = images[start : start + 256], y[start : start + 256]
        got = nps.loss_and_grad(*batch, W, b, **options, check_input=check_input, return_logits=True)
        expected = plain_loss_and_grad(*batch, W, b, **options)
        for got_array, expected_array in zip(got, expected, strict=True):
            assert np.asarray(got_array).dtype == dtype
            np.testing.assert_array_equal(got_array, expected_array, strict=True)


# ---------------------------------------------------------------------------------------------------------
# Properties (hypothesis)

logit_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=st.floats(-1e4, 1e4, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(logit_rows)
def test_softmax_rows_sum_to_one(Z):
    P = nps.softmax(Z)
    assert np.all(P >= 0) and np.all(P <= 1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    P32 = nps.softmax(Z.astype(np.float32))
    assert P32.dtype == np.float32
    np.testing.assert_allclose(P32.sum(axis=1), 1.0, rtol=1e-5)


@settings(max_examples=200, deadline=None)
@given(logit_rows, st.floats(-1e3, 1e3))
def test_softmax_is_shift_invariant(Z, c):
    np.testing.assert_allclose(nps.softmax(Z + c), nps.softmax(Z), rtol=1e-9, atol=1e-12)
    # log-softmax shifts by the same amount in every entry, so differences stay put.
    np.testing.assert_allclose(nps.log_softmax(Z + c), nps.log_softmax(Z), rtol=1e-9, atol=1e-8)


@settings(max_examples=200, deadline=None)
@given(logit_rows)
def test_log_softmax_equals_log_of_softmax_where_finite(Z):
    P = nps.softmax(Z)
    with np.errstate(divide="ignore"):
        log_P = np.log(P)
    finite = np.isfinite(log_P) & (P > 1e-300)
    np.testing.assert_allclose(nps.log_softmax(Z)[finite], log_P[finite], rtol=1e-9, atol=1e-12)
    assert np.all(np.isfinite(nps.log_softmax(Z)))


@settings(max_examples=200, deadline=None)
@given(logit_rows, st.data())
def test_cross_entropy_is_nonnegative_and_finite(Z, data):
    y = data.draw(hnp.arrays(np.int64, Z.shape[0], elements=st.integers(0, Z.shape[1] - 1)))
    losses = nps.cross_entropy(Z, y, reduction="none")
    assert np.all(losses >= 0) and np.all(np.isfinite(losses))
    assert nps.cross_entropy(Z, y, "sum") == pytest.approx(losses.sum(), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Bad input: a ValueError that names the problem, never an IndexError or a silent wrong answer


def test_label_out_of_range_is_rejected():
    X, y, W, b = make_problem(4, 3, 3, np.float64)
    for bad in ([0, 1, 2, 3], [0, -1, 2, 1]):
        with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\).*" + str(bad[1] if -1 in bad else 3)):
            nps.loss_and_grad(X, np.array(bad), W, b)
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            nps.cross_entropy(X @ W, np.array(bad))


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0.0, 1.0, 2.0, 0.0]), "integer array, got dtype float64"),
        (np.array([True, False, True, False]), "integer array, got dtype bool"),
        (np.array(["a", "b", "c", "d"]), "integer array"),
        (np.array([0, 1, 2]), "3 entries but there are 4 examples"),
        (np.array([[0, 1, 2, 0]]), "1-D"),
    ],
)
def test_bad_label_arrays_are_rejected(labels, message):
    X, _, W, b = make_problem(4, 3, 3, np.float64)
    with pytest.raises(ValueError, match=message):
        nps.loss_and_grad(X, labels, W, b)


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((4, 5), (3, 3), (3,)), "5 features per example .* W has 3 rows"),
        (((4, 3), (3, 3), (4,)), r"b must have shape \(3,\)"),
        (((4, 3), (3,), (3,)), "W must be 2-D"),
        (((4,), (3, 3), (3,)), "X must be"),
        (((4, 3, 3, 3, 1), (27, 3), (3,)), "X must be"),
        (((0, 3), (3, 3), (3,)), "no examples"),
    ],
)
def test_shapes_that_do_not_fit_are_rejected(shapes, message):
    (x_shape, w_shape, b_shape) = shapes
    X, W, b = np.ones(x_shape), np.ones(w_shape), np.ones(b_shape)
    with pytest.raises(ValueError, match=message):
        nps.loss_and_grad(X, np.zeros(x_shape[0], int), W, b)


@pytest.mark.parametrize("where", ["X", "W", "b"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_are_rejected(where, value):
    X, y, W, b = make_problem(4, 3, 3, np.float64)
    {"X": X, "W": W, "b": b}[where].flat[1] = value
    with pytest.raises(ValueError, match=f"{where} contains 1 NaN or infinite"):
        nps.loss_and_grad(X, y, W, b)


def test_bad_logits_reduction_and_weight_decay_are_rejected():
    with pytest.raises(ValueError, match="logits contains 1 NaN"):
        nps.cross_entropy(np.array([[0.0, np.nan]]), np.array([0]))
    with pytest.raises(ValueError, match="logits must be 2-D"):
        nps.cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="reduction must be"):
        nps.cross_entropy(np.zeros((1, 3)), np.array([0]), reduction="avg")
    X, y, W, b = make_problem(4, 3, 3, np.float64)
    for bad, message in (
        (-0.1, r"weight_decay must be a number in \[0, inf\), got -0.1$"),
        (np.nan, r"weight_decay must be a finite number in \[0, inf\), got nan$"),
        (np.inf, r"weight_decay must be a finite number in \[0, inf\), got inf$"),
        (True, r"weight_decay must be a number in \[0, inf\), got True$"),
    ):
        with pytest.raises(ValueError, match=message):
            nps.loss_and_grad(X, y, W, b, weight_decay=bad)
    with pytest.raises(ValueError, match="weight_decay"):
        nps.CrossEntropyLoss(weight_decay=-1)


def test_mixed_dtypes_promote_and_integer_images_are_accepted():
    X, y, W, b = make_problem(4, 3, 3, np.float32)
    loss, dW, db = nps.loss_and_grad(X.astype(np.float64), y, W, b)
    assert dW.dtype == np.float64
    pixels = np.arange(4 * 3, dtype=np.uint8).reshape(4, 3)
    loss, dW, db = nps.loss_and_grad(pixels, y, W, b)
    ref = nps.loss_and_grad(pixels.astype(np.float32), y, W, b)
    assert dW.dtype == np.float32 and loss == ref[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda Z: nps.softmax(Z),
        lambda Z: nps.log_softmax(Z),
        lambda Z: nps.naive_softmax(Z),
        lambda Z: nps.cross_entropy(Z, [0, 1]),
        lambda Z: nps.loss_and_grad(Z, [0, 1], np.ones((3, 3)), np.zeros(3)),
        lambda Z: nps.loss_and_grad(np.ones((2, 3)), [0, 1], Z, np.zeros(3)),
        lambda Z: nps.SoftmaxRegression(3, 3)(Z),
    ],
    ids=["softmax", "log_softmax", "naive_softmax", "cross_entropy", "loss_and_grad-X", "loss_and_grad-W", "model"],
)
def test_complex_input_is_a_type_error_everywhere(call):
    Z = np.ones((2, 3)) + 1j
    with pytest.raises(TypeError, match="complex"):
        call(Z)


def test_float16_is_computed_in_float32():
    Z = np.array([[100.0, 0.0, -100.0]], np.float16)  # exp(100) overflows float16's 65504
    P = nps.softmax(Z)
    assert P.dtype == np.float32 and np.all(np.isfinite(P))
    np.testing.assert_allclose(P, nps.softmax(Z.astype(np.float32)))
    assert nps.cross_entropy(Z, [2]).dtype == np.float32


def test_log_softmax_is_minus_infinity_only_below_the_dtype_range():
    Z = np.array([[3e38, -3e38]], np.float32)  # the true log-probability -6e38 is no float32
    got = nps.log_softmax(Z)
    assert got[0, 0] == 0 and got[0, 1] == -np.inf
    Z64 = Z.astype(np.float64)
    np.testing.assert_allclose(nps.log_softmax(Z64), [[0.0, Z64[0, 1] - Z64[0, 0]]], rtol=1e-15)


def test_empty_batches_sum_to_zero_without_a_warning_and_have_no_mean():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nps.cross_entropy(np.zeros((0, 10)), np.zeros(0, int), reduction="sum") == 0
        assert nps.naive_cross_entropy(np.zeros((0, 10)), np.zeros(0, int), reduction="sum") == 0
    for loss in (nps.cross_entropy, nps.naive_cross_entropy):
        with pytest.raises(ValueError, match="mean cross-entropy of 0 examples"):
            loss(np.zeros((0, 10)), np.zeros(0, int))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_row_max_of_2d_logits_is_the_general_one_bit_for_bit(dtype):
    # Rows of a 2-D array, of a 3-D one and columns of a Fortran-ordered one: the same softmax, bit for bit.
    rng = np.random.default_rng(0)
    Z = (rng.normal(size=(257, 10)) * 40).astype(dtype)
    Z[3] = -np.inf
    Z[4, 2] = np.inf
    Z[5, 7] = np.nan
    Z[6] = Z[6, 0]  # a tie: every entry the max
    for function in (nps.softmax, nps.log_softmax):
        with np.errstate(invalid="ignore", divide="ignore"):
            flat = function(Z)
            general = function(Z[None], axis=-1)[0]  # 3-D: the general path
            from_columns = function(np.asfortranarray(Z.T), axis=0).T
        np.testing.assert_array_equal(flat, general, strict=True)
        np.testing.assert_array_equal(flat, from_columns, strict=True)
