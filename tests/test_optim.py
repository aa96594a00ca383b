"""SGD (against torch.optim.SGD), the updater protocol and the learning-rate schedules."""

import math

import numpy as np
import pytest
import torch

import npsoftmax as nps
from npsoftmax.gradcheck import relative_error


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


@pytest.mark.parametrize(
    "lr, message",
    [
        (-0.1, r"^lr must be a number in \[0, inf\), got -0.1$"),
        (math.nan, r"^lr must be a finite number in \[0, inf\), got nan$"),
        (math.inf, r"^lr must be a finite number in \[0, inf\), got inf$"),
        (True, r"^lr must be a number in \[0, inf\), got True$"),
        (np.True_, r"^lr must be a number in \[0, inf\), got True$"),
        ("0.1", r"^lr must be a number in \[0, inf\), got '0.1'$"),
        (None, r"^lr must be a number in \[0, inf\), got None$"),
    ],
)
def test_sgd_rejects_a_bad_learning_rate(lr, message):
    with pytest.raises(ValueError, match=message):
        nps.SGD([np.zeros(2)], lr=lr)


@pytest.mark.parametrize("momentum", [1.0, -0.1, True])
def test_sgd_rejects_a_bad_momentum(momentum):
    with pytest.raises(ValueError, match=rf"^momentum must be a number in \[0, 1\), got {momentum}$"):
        nps.SGD([np.zeros(2)], lr=0.1, momentum=momentum)


def test_sgd_takes_numpy_scalars_as_python_floats():
    sgd = nps.SGD([np.zeros(2)], lr=np.float32(0.25), momentum=np.float64(0.5))
    assert (type(sgd.lr), sgd.lr, type(sgd.momentum), sgd.momentum) == (float, 0.25, float, 0.5)
    assert nps.SGD([np.zeros(2)], lr=1).lr == 1.0 and nps.SGD([np.zeros(2)], lr=0).lr == 0.0


def test_sgd_is_an_updater_and_so_is_any_object_with_lr_and_step():
    from npsoftmax.optim import Updater

    class Halver:
        lr = 0.5

        def step(self, grads):
            pass

    assert isinstance(nps.SGD([np.zeros(2)], lr=0.1), Updater)
    assert isinstance(Halver(), Updater)
    assert nps.Updater is Updater
    assert not isinstance(lambda batch_size: None, Updater)


def test_schedules():
    assert nps.constant_lr(0.1, 7, 10) == 0.1
    lrs = [nps.cosine_lr(0.1, e, 10) for e in range(10)]
    assert lrs[0] == 0.1 and all(a > b > 0 for a, b in zip(lrs, lrs[1:], strict=False))
    assert lrs[5] == pytest.approx(0.05)


def test_sgd_refuses_what_it_cannot_update_and_a_gradient_count_that_does_not_fit():
    W, b = np.zeros((4, 3), np.float32), np.zeros(3, np.float32)
    for params in ([np.zeros(3, int)], [(1.0, 2.0)]):
        with pytest.raises(TypeError, match="float32 or float64 arrays"):
            nps.SGD(params, lr=0.1)
    sgd = nps.SGD([W, b], lr=0.1)
    for grads in ([np.ones((4, 3))], [np.ones((4, 3)), np.ones(3), np.ones(3)]):
        with pytest.raises(
            ValueError, match=rf"^step needs one gradient per parameter, 2 of shapes .*, got {len(grads)}$"
        ):
            sgd.step(grads)
    assert not W.any() and not b.any()  # refused before anything was updated
