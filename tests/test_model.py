"""SoftmaxRegression, SGD and the schedules."""

import math
import zipfile

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


def test_save_and_load_round_trip(tmp_path):
    net = nps.SoftmaxRegression(seed=3, dtype=np.float64)
    net.b += 0.5
    path = net.save(tmp_path / "model.npz")
    loaded = nps.SoftmaxRegression.load(path)
    np.testing.assert_array_equal(loaded.W, net.W)
    np.testing.assert_array_equal(loaded.b, net.b)
    assert loaded.dtype == np.float64
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def _npz_with_forged_header(path, shape):
    """An .npz whose W header claims ``shape`` while holding only a few bytes of data."""
    np.savez(path, W=np.zeros((4, 3), np.float32), b=np.zeros(3, np.float32))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    old = members["W.npy"]
    header_end = old.index(b"\n") + 1
    header = old[:header_end].replace(b"(4, 3)", repr(shape).encode())
    header = header[:-1].ljust(header_end - 1) + b"\n" if len(header) <= header_end else header
    members["W.npy"] = header + old[header_end:]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _write(path, maker):
    maker(path)
    return path


BAD_MODEL_FILES = {
    "empty": (lambda p: p.write_bytes(b""), "not an .npz file"),
    "bare-npy": (lambda p: np.save(open(p, "wb"), np.zeros((4, 3))), "not an .npz file"),
    "text": (lambda p: p.write_text("W = 1"), "not an .npz file"),
    "missing-arrays": (lambda p: np.savez(p, weights=np.zeros(3)), "no array 'W'"),
    "b-mismatch": (lambda p: np.savez(p, W=np.zeros((4, 3)), b=np.zeros(2)), r"b must have shape \(3,\)"),
    "zero-rows": (lambda p: np.savez(p, W=np.zeros((0, 10)), b=np.zeros(10)), "both >= 1"),
    "1-D-W": (lambda p: np.savez(p, W=np.zeros(12), b=np.zeros(3)), "W must be 2-D"),
    "integer": (lambda p: np.savez(p, W=np.zeros((4, 3), int), b=np.zeros(3, int)), "float32 or float64, got int64"),
    "complex-b": (lambda p: np.savez(p, W=np.zeros((4, 3)), b=np.zeros(3) + 1j), "float32 or float64, got complex"),
    "object": (lambda p: np.savez(p, W=np.array([None] * 12).reshape(4, 3), b=np.zeros(3)), "got object"),
    "nan": (lambda p: np.savez(p, W=np.full((4, 3), np.nan), b=np.zeros(3)), "NaN or infinite"),
    "huge-header": (lambda p: _npz_with_forged_header(p, (10**13, 3)), "claims shape"),
    "truncated-zip": (
        lambda p: (np.savez(p, W=np.zeros((40, 30)), b=np.zeros(30)), p.write_bytes(p.read_bytes()[:300])),
        "not an .npz file",
    ),
}


@pytest.mark.parametrize("case", BAD_MODEL_FILES)
def test_load_rejects_every_bad_file_with_a_value_error_naming_it(tmp_path, case):
    maker, message = BAD_MODEL_FILES[case]
    path = _write(tmp_path / "model.npz", maker)
    with pytest.raises(ValueError, match=message) as info:
        nps.SoftmaxRegression.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dtype": np.int32}, "float32 or float64"),
        ({"num_inputs": 0}, "num_inputs must be a positive integer"),
        ({"num_outputs": 2.5}, "num_outputs must be a positive integer"),
    ],
)
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


def test_sgd_refuses_what_it_cannot_update_and_gradients_that_do_not_fit():
    W, b = np.zeros((4, 3), np.float32), np.zeros(3, np.float32)
    for params in ([np.zeros(3, int)], [(1.0, 2.0)]):
        with pytest.raises(TypeError, match="float32 or float64 arrays"):
            nps.SGD(params, lr=0.1)
    sgd = nps.SGD([W, b], lr=0.1)
    for grads in ([np.zeros((4, 3)), np.zeros(1)], [np.zeros((4, 3))]):
        with pytest.raises(ValueError, match="one gradient per parameter"):
            sgd.step(grads)
    assert not W.any() and not b.any()
