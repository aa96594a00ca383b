"""The explaining pictures. The evidence behind a decision, on a model trained on the real Fashion-MNIST: each map
W[:, c] * x is exact (its sum plus the bias is the model's logit, and it is PyTorch's input-times-gradient), and the
picture shows it, the bias with its sign. The templates as they learn, on one colour scale, with what was added."""

import numpy as np
import pytest
import torch
from _pictures import assert_png_of_the_figure, tile_arrays, tiles
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.text import Text

import npsoftmax as nps
from npsoftmax import plots
from npsoftmax.plots import evidence, plot_evidence

CLASS_NAMES = list(nps.TEXT_LABELS)


pytestmark = pytest.mark.filterwarnings("error")  # a picture that warns is a defect


@pytest.fixture(scope="module")
def trained(fashion_mnist_home):
    """A model after one epoch on the real training set, and 2000 real test images (float32 in [0, 1])."""
    train_iter, test_iter = nps.load_data_fashion_mnist(256, str(fashion_mnist_home), download=False, seed=0)
    net = nps.SoftmaxRegression(seed=0)
    nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, nps.SGD(net.params, lr=0.1))
    X = test_iter.images[:2000].reshape(2000, 784).astype(np.float32) / 255
    return net, X, test_iter.labels[:2000].astype(np.int64)


def unit_roundoff(dtype):
    return np.finfo(dtype).eps / 2


def gamma(n, dtype):
    """Higham's γ_n = n u / (1 - n u): the bound on the relative error of a sum or dot product of n terms."""
    nu = n * unit_roundoff(dtype)
    return nu / (1 - nu)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_map_plus_its_bias_is_the_models_logit(trained, dtype):
    trained_net, X, _ = trained
    net = nps.SoftmaxRegression(dtype=dtype)
    net.W[...], net.b[...] = trained_net.W, trained_net.b
    k, d = net.W.shape[1], net.W.shape[0]
    maps = evidence(net, X, np.broadcast_to(np.arange(k), (len(X), k)))
    assert maps.shape == (len(X), k, d) and maps.dtype == np.float64
    logits = net(X)
    # Bound: net(X) rounds a dot product of d terms and adds b in `dtype`, at most γ_{d+1} (Σ|W x| + |b|) from the
    # exact logit (Higham, Accuracy and Stability, eq. 3.5). The maps are exact products (24 + 24 bits fit
    # float64's 53), so their float64 sum with b is within γ_{d+1}(float64) of the same exact logit.
    scale = np.abs(maps).sum(axis=2) + np.abs(net.b.astype(np.float64))
    tolerance = (gamma(d + 1, dtype) + gamma(d + 1, np.float64)) * scale
    error = np.abs(maps.sum(axis=2) + net.b - logits)
    assert np.all(error <= tolerance), float((error / tolerance).max())
    assert float(np.median(scale)) > 1  # the logits are not trivially small after an epoch of training
    # One class per example: (n,) classes give (n, d) maps.
    predicted = logits.argmax(axis=1)
    np.testing.assert_array_equal(evidence(net, X, predicted), maps[np.arange(len(X)), predicted])


def test_the_maps_are_pytorchs_input_times_gradient(trained):
    net, X, _ = trained
    x = torch.tensor(X[:50], dtype=torch.float64, requires_grad=True)
    logits = x @ torch.tensor(net.W, dtype=torch.float64) + torch.tensor(net.b, dtype=torch.float64)
    classes = np.random.default_rng(0).integers(0, 10, size=(50, 3))
    maps = evidence(net, X[:50], classes)
    for j in range(3):
        (gradient,) = torch.autograd.grad(logits[torch.arange(50), classes[:, j]].sum(), x, retain_graph=True)
        # Captum's InputXGradient: x times d logit_c / dx; exact products, so equal to the last bit.
        np.testing.assert_array_equal(maps[:, j], (x * gradient).detach().numpy())


def test_evidence_takes_images_and_refuses_what_does_not_fit(trained):
    net, X, _ = trained
    np.testing.assert_array_equal(
        evidence(net, X[:4].reshape(4, 28, 28), [1, 2, 3, 4]), evidence(net, X[:4], [1, 2, 3, 4])
    )
    with pytest.raises(ValueError, match="integers"):
        evidence(net, X[:2], [0.0, 1.0])
    with pytest.raises(ValueError, match=r"lie in \[0, 10\)"):
        evidence(net, X[:2], [0, 10])
    with pytest.raises(ValueError, match="one row per example"):
        evidence(net, X[:2], [0, 1, 2])
    with pytest.raises(ValueError, match="features per example"):
        evidence(net, X[:2, :700], [0, 1])


def row_tiles(fig, row):
    """The four RGBA tiles of ``row`` in plot_evidence's mosaic (image, predicted, compared, difference)."""
    mosaic = fig.axes[0].images[0].get_array()
    return [mosaic[rows, cols] for rows, cols in tiles(mosaic)[row]]


def bar_texts(bars):
    return [text.get_text() for text in bars.texts]


@pytest.fixture(scope="module")
def drawn(trained, tmp_path_factory):
    """The picture of the trained model's evidence on its test images with their labels, drawn once for the tests
    that read it (none changes it), written to a PNG: the figure and the PNG's path."""
    net, X, y = trained
    path = tmp_path_factory.mktemp("evidence") / "evidence.png"
    return plot_evidence(net, X, y, path=path), path


def test_the_picture_shows_the_most_confident_mistakes_with_their_exact_evidence(trained, drawn):
    net, X, y = trained
    fig, path = drawn
    assert_png_of_the_figure(path, fig)
    probs = net.predict_proba(X)
    rows = plots.confident_mistakes(probs, y, 3)
    assert len(fig.axes) == 4  # one mosaic and one Axes of bars per row: cheap to draw
    mosaic_ax, *bar_axes = fig.axes
    row_titles = [t.get_text() for t in mosaic_ax.texts if t.get_text().startswith("true")]
    diverging = colormaps["RdBu_r"]
    for r, (i, title, bars) in enumerate(zip(rows, row_titles, bar_axes, strict=True)):
        p, t = probs[i].argmax(), y[i]
        assert p != t
        assert (
            title.startswith(f"true {CLASS_NAMES[t]} (p = ")
            and f"predicted {CLASS_NAMES[p]} (p = {probs[i, p]:.2f})" in title
        )
        maps = evidence(net, X[i : i + 1], [[p, t]])[0]
        shown = np.stack([maps[0], maps[1], maps[0] - maps[1]])
        limit = np.abs(shown).max()
        assert f"±{limit:.3g}" in title
        # The three maps on one colour scale centred on 0, shared by the row.
        for tile, values in zip(row_tiles(fig, r)[1:], shown, strict=True):
            np.testing.assert_allclose(tile, diverging(Normalize(-limit, limit)(values.reshape(28, 28))))
        np.testing.assert_allclose(row_tiles(fig, r)[1][0, 0], diverging(0.5))  # a blank corner pixel: exactly 0
        # The bars: the top 3 logits, and the true class, each its pixel sum then its bias, ticked at the logit.
        labels = [label.get_text() for label in bars.get_yticklabels()]
        top = list(np.argsort(-probs[i], kind="stable")[:3])
        classes = top + ([t] if t not in top else [])
        assert labels == [CLASS_NAMES[c] for c in classes]
        sums, biases = bars.patches[: len(classes)], bars.patches[len(classes) :]
        class_maps = evidence(net, X[i : i + 1], [classes])[0]
        pixel_sums = class_maps.sum(axis=1)
        np.testing.assert_allclose([bar.get_width() for bar in sums], pixel_sums)
        # Both from 0 with their sign: a negative bias reaches left of 0.
        np.testing.assert_allclose([bar.get_width() for bar in biases], net.b[classes])
        assert [bar.get_x() for bar in (*sums, *biases)] == [0] * 2 * len(classes)
        ticks, zero = bars.get_lines()
        assert list(zero.get_xdata()) == [0, 0]
        low, high = bars.get_xlim()
        ends = np.r_[pixel_sums, net.b[classes], ticks.get_xdata()]
        assert low < ends.min() and ends.max() < high and [t for t in bars.get_xticks() if low <= t <= high]
        # The sum written out: the map's Σ (as its tile's title prints it), the bias, the logit.
        for text, total, bias in zip(bar_texts(bars), pixel_sums, net.b[classes], strict=True):
            assert text.startswith(f"{total:+.2f} {'−' if bias < 0 else '+'} {abs(bias):.2f} = ")
        # ... and the map's Σ in its tile's title is the pixel sum the bar writes out.
        map_titles = [t.get_text() for t in mosaic_ax.texts if ": Σ = " in t.get_text()][3 * r : 3 * r + 2]
        for title, cls in zip(map_titles, (p, t), strict=True):
            name, total = title.split(": Σ = ")
            assert name == CLASS_NAMES[cls] and bar_texts(bars)[classes.index(cls)].startswith(f"{total} ")
        tolerance = (gamma(785, np.float32) + gamma(785, np.float64)) * (
            np.abs(class_maps).sum(axis=1) + np.abs(net.b[classes])
        )
        assert np.all(np.abs(ticks.get_xdata() - net(X[i : i + 1])[0, classes]) <= tolerance)


def test_without_labels_the_first_examples_against_their_runner_up(trained):
    net, X, _ = trained
    fig = plot_evidence(net, X, n=2)
    logits = net(X[:2])
    titles = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("predicted")]
    assert len(titles) == 2 and len(fig.axes) == 3
    for title, row in zip(titles, logits, strict=True):
        first, second = np.argsort(-row, kind="stable")[:2]
        assert title.startswith(f"predicted {CLASS_NAMES[first]}") and f"runner-up {CLASS_NAMES[second]}" in title


def test_a_model_without_mistakes_shows_its_first_examples_and_other_shapes_work():
    rng = np.random.default_rng(0)
    images = rng.random((5, 4, 6)).astype(np.float32)  # 4 x 6 pixels, three classes
    net = nps.SoftmaxRegression(24, 3, seed=0)
    y = net.predict(images)
    fig = plot_evidence(net, images, y, n=4, class_names=["a", "b", "c"])
    titles = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("true and predicted")]
    assert len(titles) == 4
    assert [[tile.shape for tile in row_tiles(fig, r)] for r in range(4)] == [[(4, 6, 4)] * 4] * 4
    with pytest.raises(ValueError, match="class_names has 10 names but the model has 3 classes"):
        plot_evidence(net, images)
    with pytest.raises(ValueError, match="no example"):
        plot_evidence(net, images[:0], class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="n must be"):
        plot_evidence(net, images, n=0, class_names=["a", "b", "c"])


@pytest.mark.parametrize("scale", [1, 100], ids=["trained", "weights x100 (lr 100)"])
def test_every_text_lies_inside_the_figure_whatever_the_logits(trained, drawn, scale):
    net, X, y = trained
    if scale == 1:
        fig, _ = drawn
    else:
        big = nps.SoftmaxRegression()
        big.W[...], big.b[...] = scale * net.W, scale * net.b
        fig = plot_evidence(big, X, y)
        fig.to_png()
    width, height = fig.bbox.width, fig.bbox.height
    for text in fig.findobj(Text):
        if text.get_text() and text.get_visible():
            box = text.get_window_extent()
            assert -1 <= box.x0 and box.x1 <= width + 1 and -1 <= box.y0 and box.y1 <= height + 1, text.get_text()


def test_the_title_is_centred_and_the_legend_names_the_bars(drawn):
    fig, _ = drawn
    (title,) = [text for text in fig.texts if text.get_text() == fig.get_suptitle()]
    extent = title.get_window_extent()
    assert (extent.x0 + extent.x1) / 2 == pytest.approx(fig.bbox.width / 2, abs=1)
    (legend,) = fig.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[0].startswith("pixel sum") and labels[1].startswith("bias") and labels[2] == "logit"


# --- the templates as they learn --------------------------------------------------------------------------------


def test_weights_by_epoch_one_row_per_epoch_in_order_on_one_scale_then_what_was_added(tmp_path):
    rng = np.random.default_rng(0)
    snapshots = {epoch: rng.normal(scale=0.05 * epoch, size=(784, 10)) for epoch in (10, 1, 5, 2)}
    fig = plots.plot_weights_by_epoch(snapshots, path=tmp_path / "weights_by_epoch.png")
    assert_png_of_the_figure(tmp_path / "weights_by_epoch.png", fig)
    (ax,) = fig.axes  # one mosaic: cheap to draw
    (image,) = ax.images
    rows = [snapshots[epoch] for epoch in (1, 2, 5, 10)] + [snapshots[10] - snapshots[1]]
    limit = max(np.abs(W).max() for W in rows)
    assert (image.norm.vmin, image.norm.vmax, image.get_cmap().name) == (-limit, limit, "RdBu_r")
    assert f"full red +{limit:.2g}, full blue −{limit:.2g}" in fig.get_suptitle()  # limit < 10
    mosaic = image.get_array()
    assert [len(row) for row in tiles(mosaic)] == [10] * 5
    for tile, expected in zip(tile_arrays(mosaic), (W[:, c] for W in rows for c in range(10)), strict=True):
        np.testing.assert_allclose(tile, expected.reshape(28, 28), rtol=0, atol=1e-15)
    texts = [t.get_text() for t in ax.texts]
    assert texts[:10] == CLASS_NAMES
    assert texts[10:14] == [f"epoch {e}\nmax |w| {np.abs(snapshots[e]).max():.2g}" for e in (1, 2, 5, 10)]
    assert texts[14] == "epoch 10\nminus epoch 1"
    assert "after epochs 1, 2, 5 and 10, on one colour scale" in fig.get_suptitle()
    assert "what epochs 2 to 10 added" in fig.get_suptitle()
    two = plots.plot_weights_by_epoch({1: rows[0], 2: rows[1]})
    assert "after epochs 1 and 2" in two.get_suptitle() and "what epoch 2 added" in two.get_suptitle()


def test_weights_by_epoch_of_one_epoch_and_bad_input():
    fig = plots.plot_weights_by_epoch({3: np.ones((4, 2))}, ["a", "b"])
    assert [len(row) for row in tiles(fig.axes[0].images[0].get_array())] == [2]  # no change to show
    assert "the templates after epoch 3" in fig.get_suptitle() and "epochs" not in fig.get_suptitle()
    with pytest.raises(ValueError, match="snapshots is empty"):
        plots.plot_weights_by_epoch({})
    with pytest.raises(ValueError, match="one shape"):
        plots.plot_weights_by_epoch({1: np.zeros((784, 10)), 2: np.zeros((16, 10))})
