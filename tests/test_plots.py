"""The learned-weights picture and the calibration picture: real PNGs, the right content, no warnings."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.image import imread
from matplotlib.text import Text

import npsoftmax as nps
from npsoftmax import metrics
from npsoftmax.plots import Figure, plot_calibration, plot_weights

CLASS_NAMES = list(nps.TEXT_LABELS)


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def probabilities(n=2000, k=10, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(n, k)).astype(np.float32)
    y = np.where(rng.random(n) < 0.7, logits.argmax(axis=1), rng.integers(0, k, n))
    return nps.softmax(logits), y


def assert_png_of_the_figure(path, fig):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    width, height = np.round(fig.get_size_inches() * 100).astype(int)
    image = imread(path)
    assert image.shape == (height, width, 4)
    assert image[..., :3].std() > 0.05  # something is drawn


def all_text(fig):
    return [text.get_text() for text in fig.findobj(Text)]


def test_weights_png_has_ten_titled_templates_on_one_scale_centred_on_0(tmp_path):
    W = np.random.default_rng(0).normal(scale=0.1, size=(784, 10)).astype(np.float32)
    W[5, 3] = 0.9  # the largest magnitude is positive: the scale must still be symmetric
    fig = plot_weights(W, CLASS_NAMES, path=tmp_path / "weights.png")
    assert isinstance(fig, Figure)
    assert_png_of_the_figure(tmp_path / "weights.png", fig)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 10
    assert [ax.get_title() for ax in image_axes] == CLASS_NAMES
    for ax, column in zip(image_axes, W.T, strict=True):
        image = ax.images[0]
        np.testing.assert_array_equal(image.get_array(), column.reshape(28, 28))
        assert image.norm.vmin == -image.norm.vmax == pytest.approx(-0.9)
        assert image.get_cmap().name == "RdBu_r"
    colorbars = [ax for ax in fig.axes if not ax.images]
    assert len(colorbars) == 1


def test_weights_figure_for_other_class_counts_and_bad_input():
    fig = plot_weights(np.zeros((16, 3)), ["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["a", "b", "c"]
    assert fig.axes[0].images[0].norm.vmin == -fig.axes[0].images[0].norm.vmax
    fig.to_png()
    with pytest.raises(ValueError, match="not the pixels of a square image"):
        plot_weights(np.zeros((783, 10)), CLASS_NAMES)
    with pytest.raises(ValueError, match="class_names has 9 names but W has 10 columns"):
        plot_weights(np.zeros((784, 10)), CLASS_NAMES[:9])
    with pytest.raises(ValueError, match="2-D"):
        plot_weights(np.zeros(784), CLASS_NAMES)


def test_calibration_png_shows_the_ece_that_metrics_computes(tmp_path):
    probs, y = probabilities()
    fig = plot_calibration(probs, y, path=tmp_path / "calibration.png")
    assert isinstance(fig, Figure)
    assert_png_of_the_figure(tmp_path / "calibration.png", fig)
    ece = metrics.expected_calibration_error(probs, y)
    assert 0.01 < ece < 0.5
    assert any(f"ECE = {ece:.4f}" in text for text in all_text(fig))
    text = "\n".join(all_text(fig))
    assert "abstaining below a confidence threshold" in text
    assert "p ≥ 0.9" in text
    assert f"{nps.accuracy(probs, y) / len(y):.3f}" in text  # full coverage: the plain accuracy


def test_calibration_bins_follow_n_bins():
    probs, y = probabilities(seed=1)
    fig = plot_calibration(probs, y, n_bins=7)
    ece = metrics.expected_calibration_error(probs, y, n_bins=7)
    assert any(f"ECE = {ece:.4f}" in text for text in all_text(fig))
    assert any("7 bins" in text for text in all_text(fig))


@pytest.mark.parametrize("case", ["unsure", "certain and right", "certain and wrong", "one example"])
def test_calibration_figure_draws_extreme_models_without_warnings(case):
    if case == "unsure":  # every top probability under 0.5: most marked thresholds answer nothing
        probs, y = probabilities(scale=0.3)
    elif case == "one example":
        probs, y = np.array([[0.25, 0.75]]), np.array([1])
    else:
        y = np.arange(100) % 10
        probs = np.eye(10)[y if case == "certain and right" else (y + 1) % 10]
    fig = plot_calibration(probs, y)
    fig.to_png()
    if case == "unsure":
        assert any("n/a" in text for text in all_text(fig))  # no answer at p >= 0.9: no accuracy to give


def test_calibration_refuses_logits():
    with pytest.raises(ValueError, match="must hold probabilities"):
        plot_calibration(np.array([[3.0, -1.0]]), np.array([0]))


def test_pictures_never_import_pyplot():
    code = (
        "import sys, numpy as np\n"
        "from npsoftmax.plots import plot_calibration, plot_weights\n"
        "plot_weights(np.ones((4, 2)), ['a', 'b']).to_png()\n"
        "plot_calibration(np.array([[0.3, 0.7]]), np.array([1])).to_png()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
