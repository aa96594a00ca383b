"""SoftmaxRegression, SGD and the schedules."""

import math

import numpy as np
import pytest
import torch

import npsoftmax as nps
from npsoftmax.gradcheck import relative_error


def test_initialization_follows_the_seed():
    net = nps.SoftmaxRegression(seed=0)
    assert net.W.shape == (784, 10) and net.b.shape == (10,)
    assert net.W.dtype == net.b.dtype == np.float32
    assert np.all(net.b == 0)
    assert abs(net.W.mean()) < 1e-3 and net.W.std() == pytest.approx(0.01, rel=0.02)
    assert np.array_equal(net.W, nps.SoftmaxRegression(seed=0).W)
    assert not np.array_equal(net.W, nps.SoftmaxRegression(seed=1).W)
    assert nps.SoftmaxRegression(dtype=np.float64).W.dtype == np.float64


def test_forward_matches_torch_linear_and_accepts_images():
    rng = np.random.default_rng(0)
    net = nps.SoftmaxRegression(seed=0, dtype=np.float64)
    net.b[:] = rng.normal(size=10)
    X = rng.uniform(size=(5, 1, 28, 28))
    expected = torch.tensor(X).reshape(5, -1) @ torch.tensor(net.W) + torch.tensor(net.b)
    np.testing.assert_allclose(net(X), expected.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(net.forward(X.reshape(5, 28, 28)), net(X))
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba, torch.softmax(expected, 1).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(net.predict(X), expected.argmax(1).numpy())


def test_model_loss_and_grad_is_the_functional_one():
    rng = np.random.default_rng(1)
    net = nps.SoftmaxRegression(seed=0)
    X, y = rng.uniform(size=(8, 784)).astype(np.float32), rng.integers(0, 10, 8)
    for got, expected in zip(net.loss_and_grad(X, y, 0.1), nps.loss_and_grad(X, y, net.W, net.b, 0.1), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_save_and_load_round_trip(tmp_path):
    net = nps.SoftmaxRegression(seed=3, dtype=np.float64)
    net.b += 0.5
    path = net.save(tmp_path / "model.npz")
    loaded = nps.SoftmaxRegression.load(path)
    np.testing.assert_array_equal(loaded.W, net.W)
    np.testing.assert_array_equal(loaded.b, net.b)
    assert loaded.dtype == np.float64
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def test_load_rejects_a_file_that_is_not_a_model(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match=r"missing arrays \['W', 'b'\]"):
        nps.SoftmaxRegression.load(tmp_path / "other.npz")
    np.savez(tmp_path / "bad.npz", W=np.zeros((4, 3)), b=np.zeros(2))
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        nps.SoftmaxRegression.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": np.int32}, "float32 or float64"),
    ({"num_inputs": 0}, "num_inputs must be a positive integer"),
    ({"num_outputs": 2.5}, "num_outputs must be a positive integer"),
])  # fmt: skip
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nps.SoftmaxRegression(**kwargs)


def test_forward_rejects_the_wrong_number_of_features():
    with pytest.raises(ValueError, match="100 features per example"):
        nps.SoftmaxRegression()(np.zeros((2, 10, 10)))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_optim_sgd(momentum):
    rng = np.random.default_rng(2)
    W = rng.normal(size=(6, 3))
    Wt = torch.tensor(W.copy(), requires_grad=True)
    opt = nps.SGD([W], lr=0.05, momentum=momentum)
    opt_t = torch.optim.SGD([Wt], lr=0.05, momentum=momentum)
    for _ in range(5):
        grad = rng.normal(size=W.shape)
        opt.step([grad])
        Wt.grad = torch.tensor(grad)
        opt_t.step()
    assert relative_error(W, Wt.detach().numpy()) <= 1e-14


def test_sgd_rejects_bad_hyperparameters():
    for lr in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="lr must be a finite number >= 0"):
            nps.SGD([np.zeros(2)], lr=lr)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        nps.SGD([np.zeros(2)], lr=0.1, momentum=1.0)


def test_schedules():
    assert nps.constant_lr(0.1, 7, 10) == 0.1
    lrs = [nps.cosine_lr(0.1, e, 10) for e in range(10)]
    assert lrs[0] == 0.1 and all(a > b > 0 for a, b in zip(lrs, lrs[1:], strict=False))
    assert lrs[5] == pytest.approx(0.05)
