"""The training loop, which draws nothing: train_epoch_ch3, fit_epochs and EarlyStopping, on small synthetic images."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from _scripts import REPO, load_script
from _synthetic import synthetic_iters
from threadpoolctl import threadpool_limits

import npsoftmax as nps
from npsoftmax.ch3 import train_ch3
from npsoftmax.training import EarlyStopping, fit_epochs

HISTORY_KEYS = {"epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "eval_seconds"}

# The loop, and d2l's train_ch3 over it: both refuse what the loop refuses, before anything is trained or drawn.
FITS = pytest.mark.parametrize("fit", [fit_epochs, train_ch3], ids=["fit_epochs", "train_ch3"])


@pytest.fixture
def iters() -> tuple[nps.MinibatchIter, nps.MinibatchIter]:
    return synthetic_iters()


def test_train_epoch_ch3_equals_a_loop_over_loss_and_grad(iters) -> None:
    train_iter, _ = iters
    net = nps.SoftmaxRegression(784, 10, seed=0)
    train_loss, train_acc = nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, nps.SGD(net.params, lr=0.1))

    reference = nps.SoftmaxRegression(784, 10, seed=0)
    updater = nps.SGD(reference.params, lr=0.1)
    same_batches = nps.MinibatchIter(train_iter.images, train_iter.labels, 32, shuffle=True, seed=0)
    metric = nps.Accumulator(3)
    # On one BLAS thread, as train_epoch_ch3 runs: the same products in the same order, so the counts of correct
    # predictions agree exactly, not up to a near-tie the thread count could flip.
    with threadpool_limits(limits=1, user_api="blas"):
        for X, y in same_batches:
            X, y = X.copy(), y.copy()  # the loader reuses its buffers
            n_correct = nps.accuracy(reference(X), y)  # scored before the update, as in the chapter
            loss, dW, db = nps.loss_and_grad(X, y, *reference.params)
            updater.step((dW, db))
            metric.add(float(loss) * len(y), n_correct, len(y))

    assert train_loss == pytest.approx(metric[0] / metric[2], rel=1e-6)
    assert train_acc == metric[1] / metric[2]
    np.testing.assert_allclose(net.W, reference.W, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.b, reference.b, rtol=1e-5, atol=1e-7)
    # Plausible: below the loss of a uniform guess (log 10 = 2.30), and learning the separable classes.
    assert 0 < train_loss < np.log(10)
    assert 0.5 < train_acc <= 1


def test_train_epoch_ch3_refuses_a_loss_without_a_known_gradient(iters) -> None:
    train_iter, _ = iters
    net = nps.SoftmaxRegression(784, 10, seed=0)
    W_before = net.W.copy()
    with pytest.raises(TypeError, match="cross_entropy"):
        nps.train_epoch_ch3(net, train_iter, lambda logits, y: nps.cross_entropy(logits, y), nps.SGD(net.params, 0.1))
    np.testing.assert_array_equal(net.W, W_before)


def test_train_epoch_ch3_checks_batches_it_did_not_make(iters) -> None:
    net = nps.SoftmaxRegression(seed=0)
    X = np.random.default_rng(0).random((8, 784), dtype=np.float32)
    updater = nps.SGD(net.params, lr=0.1)
    for y, message in ((np.full(8, -1), r"labels must lie in \[0, 10\)"), (np.zeros(8), "integer array")):
        with pytest.raises(ValueError, match=message):
            nps.train_epoch_ch3(net, [(X, y)], nps.cross_entropy, updater)
    with pytest.raises(ValueError, match="yielded no examples"):
        nps.train_epoch_ch3(net, [], nps.cross_entropy, updater)
    with pytest.raises(TypeError, match="step"):
        nps.train_epoch_ch3(net, [(X, np.zeros(8, int))], nps.cross_entropy, lambda batch_size: None)


@FITS
@pytest.mark.parametrize("num_epochs", [0, -3, 2.5, True, "3"])
def test_a_bad_number_of_epochs_is_refused(iters, fit, num_epochs) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    W_before = net.W.copy()
    shown = repr(num_epochs) if isinstance(num_epochs, str) else num_epochs
    with pytest.raises(ValueError, match=rf"^num_epochs must be an integer in \[1, inf\), got {shown}$"):
        fit(net, train_iter, test_iter, nps.cross_entropy, num_epochs, nps.SGD(net.params, lr=0.1))
    np.testing.assert_array_equal(net.W, W_before)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"patience": 0}, r"^patience must be an integer in \[1, inf\), got 0$"),
        ({"patience": True}, r"^patience must be an integer in \[1, inf\), got True$"),
        ({"patience": 2.0}, r"^patience must be an integer in \[1, inf\), got 2.0$"),
        ({"patience": 2, "val_iter": None}, r"^early stopping \(patience 2\) needs a val_iter"),
        ({"schedule": lambda base_lr, epoch, num_epochs: float("nan")}, "the schedule's lr must be a finite number"),
        (
            {"schedule": lambda base_lr, epoch, num_epochs: -base_lr},
            r"the schedule's lr must be a number in \[0, inf\)",
        ),
    ],
)
@FITS
def test_bad_early_stopping_and_schedules_are_refused(iters, fit, kwargs, message) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    updater = nps.SGD(net.params, lr=0.1)
    kwargs = {"val_iter": test_iter} | kwargs
    with pytest.raises(ValueError, match=message):
        fit(net, train_iter, test_iter, nps.cross_entropy, 2, updater, **kwargs)
    assert updater.lr == 0.1  # the base rate is put back


@FITS
@pytest.mark.parametrize(
    "updater", [lambda batch_size: None, type("StepOnly", (), {"step": lambda self, grads: None})()]
)
def test_an_updater_needs_lr_and_step(iters, fit, updater) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    with pytest.raises(TypeError, match="updater must have a learning rate lr and a step"):
        fit(net, train_iter, test_iter, nps.cross_entropy, 1, updater)


def test_any_updater_with_lr_and_step_trains_as_sgd_does(iters) -> None:
    """The protocol, not the class: a hand-written updater doing SGD's arithmetic gives SGD's weights."""

    class PlainSGD:
        def __init__(self, params, lr):
            self.params, self.lr = params, lr

        def step(self, grads):
            for param, grad in zip(self.params, grads, strict=True):
                param -= param.dtype.type(self.lr) * grad

    train_iter, test_iter = iters
    nets = [nps.SoftmaxRegression(seed=0) for _ in range(2)]
    updaters = [nps.SGD(nets[0].params, lr=0.1), PlainSGD(nets[1].params, lr=0.1)]
    assert all(isinstance(updater, nps.Updater) for updater in updaters)
    histories = [
        fit_epochs(
            net,
            nps.MinibatchIter(train_iter.images, train_iter.labels, 32, shuffle=True, seed=0),  # the same batches
            test_iter,
            nps.cross_entropy,
            2,
            updater,
            schedule=nps.cosine_lr,
        )
        for net, updater in zip(nets, updaters, strict=True)
    ]
    np.testing.assert_array_equal(nets[0].W, nets[1].W)
    assert [r["lr"] for r in histories[0]] == [r["lr"] for r in histories[1]] == [0.1, 0.05]
    assert updaters[1].lr == 0.1


def test_a_progress_bar_wraps_the_iterator_itself_and_other_batches_are_still_checked(iters) -> None:
    """A MinibatchIter reaches the progress bar as it is (so the bar knows its length); a list's batches are
    checked even through a progress bar."""
    train_iter, test_iter = iters
    wrapped = []

    def progress(batches):
        wrapped.append(batches)
        return iter(batches)

    net = nps.SoftmaxRegression(seed=0)
    fit_epochs(net, train_iter, test_iter, nps.cross_entropy, 1, nps.SGD(net.params, lr=0.1), progress=progress)
    assert wrapped == [train_iter]
    X, y = next(iter(train_iter))
    W_before = net.W.copy()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        fit_epochs(
            net,
            [(X, np.full(len(y), 10))],
            test_iter,
            nps.cross_entropy,
            1,
            nps.SGD(net.params, 0.1),
            progress=progress,
        )
    np.testing.assert_array_equal(net.W, W_before)


def test_fit_epochs_returns_a_history_of_every_epoch(iters) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    records = []
    history = fit_epochs(
        net, train_iter, test_iter, nps.cross_entropy, 3, nps.SGD(net.params, lr=0.1), on_epoch=records.append
    )
    assert isinstance(history, nps.History) and history == records
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert all(set(record) == HISTORY_KEYS for record in history)
    assert history[-1]["test_acc"] == nps.evaluate_accuracy(net, test_iter) >= 0.9
    assert history.best_epoch is None and not history.stopped_early


def test_fit_epochs_stops_early_and_keeps_the_best_epochs_weights(iters) -> None:
    """From epoch 2 on the rate is 0, so the validation loss never improves on epoch 1's: with patience 2 the
    run stops after epoch 3, holding epoch 1's weights."""
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    weights = []
    history = fit_epochs(
        net,
        train_iter,
        test_iter,
        nps.cross_entropy,
        5,
        nps.SGD(net.params, lr=0.5),
        val_iter=test_iter,
        patience=2,
        schedule=lambda base_lr, epoch, num_epochs: base_lr if epoch == 0 else 0.0,
        on_epoch=lambda record: weights.append(net.W.copy()),
    )
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert history.stopped_early and history.best_epoch == 1
    assert history[0]["val_loss"] == history[1]["val_loss"] == history[2]["val_loss"]
    np.testing.assert_array_equal(net.W, weights[0])


def test_early_stopping_counts_epochs_without_improvement_and_restores_the_best():
    W = np.zeros(3)
    stopping = EarlyStopping(patience=2)
    decisions = []
    for epoch, val_loss in enumerate([1.0, 0.5, 0.7, 0.6], start=1):
        W[:] = epoch
        decisions.append(stopping.update(epoch, val_loss, [W]))
    assert decisions == [False, False, False, True]
    assert stopping.restore([W]) == 2
    np.testing.assert_array_equal(W, [2, 2, 2])
    never = EarlyStopping(2)
    assert never.update(1, float("nan"), [W]) is False and never.restore([W]) is None
    for patience in (0, True, 1.5):
        with pytest.raises(ValueError, match=r"^patience must be an integer in \[1, inf\)"):
            EarlyStopping(patience)


@FITS
@pytest.mark.parametrize("with_validation", [False, True])
def test_a_divergence_first_seen_in_evaluation_is_a_divergence(iters, fit, with_validation) -> None:
    """One batch of every example at lr 1e38: the batch's loss and the weights after it are finite, but the
    logits they give overflow, first in the evaluation (the command's --lr 1e38 --batch-size 60000 --epochs 1)."""
    train_iter, test_iter = iters
    one_batch = nps.MinibatchIter(train_iter.images, train_iter.labels, 600, shuffle=True, seed=0)
    net = nps.SoftmaxRegression(seed=0)
    val_iter = test_iter if with_validation else None
    with warnings.catch_warnings(), pytest.raises(nps.TrainingDiverged, match="logits became NaN or infinite"):
        warnings.simplefilter("error")
        fit(net, one_batch, test_iter, nps.cross_entropy, 1, nps.SGD(net.params, lr=1e38), val_iter=val_iter)
    assert np.isfinite(net.W).all()


def test_a_divergence_is_training_diverged_even_with_warnings_as_errors(iters) -> None:
    train_iter, _ = iters
    net = nps.SoftmaxRegression(seed=0)
    updater = nps.SGD(net.params, lr=1e38)
    with warnings.catch_warnings(), pytest.raises(nps.TrainingDiverged):
        warnings.simplefilter("error")
        for _ in range(5):
            nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, updater)


@FITS
@pytest.mark.parametrize("which", ["train_iter", "test_iter", "val_iter"])
def test_a_one_shot_iterator_is_refused_before_training(iters, fit, which) -> None:
    train_iter, test_iter = iters
    given = {"train_iter": train_iter, "test_iter": test_iter, "val_iter": test_iter}
    given[which] = (batch for batch in given[which])
    net = nps.SoftmaxRegression(seed=0)
    W_before = net.W.copy()
    message = (
        rf"^{which} is a one-shot iterator \(generator\), empty after one epoch; pass a list of \(X, y\) batches, "
        r"a MinibatchIter, or the iterators of load_data_fashion_mnist$"
    )
    with pytest.raises(ValueError, match=message):
        fit(
            net,
            given["train_iter"],
            given["test_iter"],
            nps.cross_entropy,
            2,
            nps.SGD(net.params, 0.1),
            val_iter=given["val_iter"],
        )
    np.testing.assert_array_equal(net.W, W_before)


def test_a_one_shot_iterator_serves_a_single_epoch(iters) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    batches = ((X.copy(), y.copy()) for X, y in train_iter)
    history = fit_epochs(net, batches, iter(list(test_iter)), nps.cross_entropy, 1, nps.SGD(net.params, 0.1))
    assert len(history) == 1 and history[0]["train_acc"] > 0.5


def test_the_loop_draws_nothing() -> None:
    """Training and evaluating never import matplotlib or the pictures."""
    code = (
        "import sys, numpy as np\n"
        "from npsoftmax.training import fit_epochs\n"
        "from npsoftmax import SGD, SoftmaxRegression, cross_entropy\n"
        "X, y = np.random.default_rng(0).random((40, 784), dtype=np.float32), np.arange(40) % 10\n"
        "net = SoftmaxRegression(seed=0)\n"
        "fit_epochs(net, [(X, y)], [(X, y)], cross_entropy, 2, SGD(net.params, 0.1), val_iter=[(X, y)], patience=1)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'npsoftmax.plots'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]"


def test_one_epoch_reads_in_one_sitting() -> None:
    """Every package function one train_epoch_ch3 pass runs: at most about 120 code lines, in at most 5 files."""
    trace = load_script(REPO / "benchmarks" / "trace_epoch.py")
    rows = trace.epoch_table(trace.one_epoch())
    functions = {name for _, name, _ in rows}
    assert {"train_epoch_ch3", "loss_and_grad", "SGD.step", "accuracy", "MinibatchIter.__iter__"} <= functions
    assert sum(lines for _, _, lines in rows) <= 120
    assert len({file for file, _, _ in rows}) <= 5
