"""d2l 0.17's drawing functions over the loop: train_ch3 with its Animator, and predict_ch3."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from _synthetic import synthetic_iters
from matplotlib.figure import Figure

import npsoftmax as nps
from npsoftmax.plots import in_notebook

HISTORY_KEYS = {"epoch", "lr", "train_loss", "train_acc", "test_acc", "seconds", "eval_seconds"}


@pytest.fixture
def iters() -> tuple[nps.MinibatchIter, nps.MinibatchIter]:
    return synthetic_iters()


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
