"""The chapter's training functions, on small synthetic images: train_epoch_ch3, train_ch3, predict_ch3, Animator."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

import npsoftmax as nps
from npsoftmax.plots import in_notebook

HISTORY_KEYS = {"epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "eval_seconds"}


def separable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 28x28 images of ten classes under noise: class ``c`` lights rows ``2c+2 .. 2c+6``."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    images = rng.integers(0, 80, size=(n, 28, 28), dtype=np.uint8)
    for c in range(10):
        images[labels == c, 2 * c + 2 : 2 * c + 7] += 150
    return images, labels


@pytest.fixture
def iters() -> tuple[nps.MinibatchIter, nps.MinibatchIter]:
    """``(train_iter, test_iter)`` of 600 and 200 synthetic images, like ``load_data_fashion_mnist``'s pair."""
    train_images, train_labels = separable_images(600, seed=1)
    test_images, test_labels = separable_images(200, seed=2)
    return (
        nps.MinibatchIter(train_images, train_labels, 32, shuffle=True, seed=0),
        nps.MinibatchIter(test_images, test_labels, 64),
    )


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


def test_train_ch3_returns_a_history_shown_in_one_line(iters, tmp_path: Path, monkeypatch) -> None:
    train_iter, test_iter = iters
    monkeypatch.chdir(tmp_path)
    net = nps.SoftmaxRegression(784, 10, seed=0)
    history = nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, 3, nps.SGD(net.params, lr=0.1))

    assert isinstance(history, nps.History) and isinstance(history, list) and len(history) == 3
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert all(set(record) == HISTORY_KEYS for record in history)
    assert history[-1]["test_acc"] >= 0.9
    text = repr(history)
    assert text.startswith("History(3 epochs;") and "\n" not in text and len(text) < 120
    assert f"test_acc {history[-1]['test_acc']:.4f}" in text
    # Outside Jupyter and without a path, the live plot is drawn nowhere: no file, no window.
    assert not in_notebook()
    assert list(tmp_path.iterdir()) == []


def test_train_ch3_with_a_path_writes_a_png(iters, tmp_path: Path) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(784, 10, seed=0)
    path = tmp_path / "curves.png"
    nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, 2, nps.SGD(net.params, lr=0.1), path=path)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_train_ch3_for_one_epoch_draws_a_visible_point_without_warnings(iters, tmp_path: Path) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(784, 10, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = nps.train_ch3(
            net, train_iter, test_iter, nps.cross_entropy, 1, nps.SGD(net.params, lr=0.1), path=tmp_path / "c.png"
        )
    assert len(history) == 1
    assert matplotlib.image.imread(tmp_path / "c.png").ndim == 3


@pytest.mark.parametrize("n", [6, 8])
def test_predict_ch3_titles_each_image_with_its_true_and_predicted_label(iters, tmp_path: Path, n: int) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(784, 10, seed=0)
    nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, nps.SGD(net.params, lr=0.1))
    path = tmp_path / "predictions.png"
    fig = nps.predict_ch3(net, test_iter, n=n, path=path)

    assert isinstance(fig, Figure)
    (grid,) = fig.axes  # one mosaic image, its titles as text in image order
    titles = [text.get_text() for text in grid.texts]
    assert len(titles) == n
    X = test_iter.images[:n].astype(np.float32) / 255
    trues = nps.get_fashion_mnist_labels(test_iter.labels[:n])
    preds = nps.get_fashion_mnist_labels(net.predict(X))
    for title, true, pred in zip(titles, trues, preds, strict=True):
        first, second = title.split("\n")
        assert (first, second.removeprefix("✗ ")) == (true, pred)
    assert matplotlib.image.imread(path).ndim == 3
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_predict_ch3_without_a_path_writes_nothing(iters, tmp_path: Path, monkeypatch) -> None:
    _, test_iter = iters
    monkeypatch.chdir(tmp_path)
    nps.predict_ch3(nps.SoftmaxRegression(784, 10, seed=0), test_iter)
    assert list(tmp_path.iterdir()) == []


def test_animator_takes_d2l_full_signature() -> None:
    animator = nps.Animator(
        xlabel="epoch",
        ylabel="value",
        legend=["train loss", "train acc", "test acc"],
        xlim=[1, 10],
        ylim=[0.3, 0.9],
        xscale="linear",
        yscale="log",
        fmts=("-", "m--", "g-.", "r:"),
        nrows=1,
        ncols=2,
        figsize=(7, 2.5),
    )
    for epoch in range(1, 4):
        animator.add(epoch, [1 / epoch, 0.5 + epoch / 10, 0.4 + epoch / 10])
    ax = animator.axes[0]
    assert len(animator.axes) == 2
    np.testing.assert_allclose(
        [line.get_ydata() for line in ax.get_lines()], [[1, 1 / 2, 1 / 3], [0.6, 0.7, 0.8], [0.5, 0.6, 0.7]]
    )
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale(), ax.get_xlim()) == ("epoch", "value", "log", (1, 10))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train loss", "train acc", "test acc"]


def test_animator_adds_a_scalar() -> None:
    animator = nps.Animator(xlabel="step", ylabel="loss")
    animator.add(1, 2.0)
    animator.add(2, 1.5)
    (line,) = animator.axes[0].get_lines()
    assert list(line.get_xdata()) == [1, 2] and list(line.get_ydata()) == [2.0, 1.5]


def test_animator_gives_a_single_point_a_marker_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        animator = nps.Animator(xlabel="epoch", xlim=(1, 1), ylim=(0.3, 0.9), legend=["train loss", "test acc"])
        animator.add(1, [0.5, 0.8])
        png = animator.fig.to_png()
    assert png.startswith(b"\x89PNG")
    assert [line.get_marker() for line in animator.axes[0].get_lines()] == ["o", "o"]
    animator.add(2, [0.4, 0.85])
    assert [line.get_marker() for line in animator.axes[0].get_lines()] == ["None", "None"]


def test_animator_takes_numpy_scalars_and_zero_d_arrays():
    animator = nps.Animator(legend=["train loss", "train acc"])
    animator.add(np.int64(1), [np.float32(0.5), np.array(0.7)])
    animator.add(2, np.array([0.4, 0.8]))
    assert [[float(v) for v in ys] for ys in animator.Y] == [[0.5, 0.4], [pytest.approx(0.7), pytest.approx(0.8)]]


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


@pytest.mark.parametrize("num_epochs", [0, -3, 2.5, True, "3"])
def test_train_ch3_refuses_a_bad_number_of_epochs(iters, num_epochs) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    W_before = net.W.copy()
    shown = repr(num_epochs) if isinstance(num_epochs, str) else num_epochs
    with pytest.raises(ValueError, match=rf"^num_epochs must be an integer in \[1, inf\), got {shown}$"):
        nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, num_epochs, nps.SGD(net.params, lr=0.1))
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
def test_train_ch3_refuses_bad_early_stopping_and_schedules(iters, kwargs, message) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    updater = nps.SGD(net.params, lr=0.1)
    kwargs = {"val_iter": test_iter, "animate": False} | kwargs
    with pytest.raises(ValueError, match=message):
        nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, 2, updater, **kwargs)
    assert updater.lr == 0.1  # the base rate is put back


def test_train_ch3_needs_an_updater_with_lr_and_step(iters) -> None:
    train_iter, test_iter = iters
    net = nps.SoftmaxRegression(seed=0)
    for updater in (lambda batch_size: None, type("StepOnly", (), {"step": lambda self, grads: None})()):
        with pytest.raises(TypeError, match="updater must have a learning rate lr and a step"):
            nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, 1, updater, animate=False)


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
        nps.train_ch3(
            net,
            nps.MinibatchIter(train_iter.images, train_iter.labels, 32, shuffle=True, seed=0),  # the same batches
            test_iter,
            nps.cross_entropy,
            2,
            updater,
            schedule=nps.cosine_lr,
            animate=False,
        )
        for net, updater in zip(nets, updaters, strict=True)
    ]
    np.testing.assert_array_equal(nets[0].W, nets[1].W)
    assert [r["lr"] for r in histories[0]] == [r["lr"] for r in histories[1]] == [0.1, 0.05]
    assert updaters[1].lr == 0.1


def test_the_batch_check_is_decided_on_the_iterator_not_on_its_progress_wrapper(iters, monkeypatch) -> None:
    """A MinibatchIter's batches are trusted even when a progress bar wraps them; any other iterable's are checked."""
    from npsoftmax import training

    seen = []

    def recording_loss_and_grad(*args, check_input, **kwargs):
        seen.append(check_input)
        return nps.loss_and_grad(*args, check_input=check_input, **kwargs)

    monkeypatch.setattr(training, "loss_and_grad", recording_loss_and_grad)
    train_iter, test_iter = iters
    wrapped = []
    net = nps.SoftmaxRegression(seed=0)
    nps.train_ch3(
        net,
        train_iter,
        test_iter,
        nps.cross_entropy,
        1,
        nps.SGD(net.params, lr=0.1),
        animate=False,
        progress=lambda batches: wrapped.append(batches) or iter(batches),
    )
    assert wrapped == [train_iter] and seen == [False] * len(train_iter)
    seen.clear()
    batches = [(X.copy(), y.copy()) for X, y in train_iter]
    nps.train_ch3(net, batches, test_iter, nps.cross_entropy, 1, nps.SGD(net.params, lr=0.1), animate=False)
    assert seen == [True] * len(batches)


@pytest.mark.parametrize("n", [0, 101, 2.0, True])
def test_predict_ch3_refuses_an_unreadable_grid(iters, n) -> None:
    with pytest.raises(ValueError, match=rf"^n must be an integer in \[1, 100\], got {n}$"):
        nps.predict_ch3(nps.SoftmaxRegression(seed=0), iters[1], n=n)


@pytest.mark.parametrize("test_iter", [[], iter([]), [(np.zeros((0, 784), np.float32), np.zeros(0, int))]])
def test_predict_ch3_says_when_the_iterator_yields_no_images(test_iter) -> None:
    with pytest.raises(ValueError, match=r"^test_iter yielded no images"):
        nps.predict_ch3(nps.SoftmaxRegression(seed=0), test_iter)


def test_predict_ch3_shows_fewer_images_when_there_are_fewer(iters) -> None:
    _, test_iter = iters
    X, y = next(iter(test_iter))
    fig = nps.predict_ch3(nps.SoftmaxRegression(seed=0), [(X[:3], y[:3])], n=6)
    assert len(fig.axes[0].texts) == 3
