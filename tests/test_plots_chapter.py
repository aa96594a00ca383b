"""The chapter's pictures as real figures: every value drawn inside its axes, the legends and titles they claim,
d2l's Animator with nothing off the chart, the grids as one mosaic, and no warnings."""

import io
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from _pictures import assert_png_of_the_figure, legend_texts, tile_arrays, tiles
from matplotlib.image import imread
from matplotlib.patches import Rectangle

import npsoftmax as nps
from npsoftmax import plots
from npsoftmax.plots import Animator, Figure, plot_curves, plot_weights

CLASS_NAMES = list(nps.TEXT_LABELS)


pytestmark = pytest.mark.filterwarnings("error")  # a picture that warns is a defect


PUBLIC = ["Animator", "Figure", "in_notebook", "plot_curves", "plot_predictions", "plot_confusion", "plot_weights"]
PUBLIC += ["plot_weights_by_epoch", "plot_calibration", "evidence", "plot_evidence", "confident_mistakes"]
PUBLIC += ["plot_mistakes", "plot_sweep", "MAX_PANELS"]


def test_the_package_keeps_every_public_name_and_the_roots_lazy_ones():
    assert sorted(plots.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(plots, name) is not None
    assert nps.Animator is plots.Animator and nps.plot_evidence is plots.plot_evidence and nps.plots is plots
    for name in ("chapter", "evaluation", "explain"):
        module = getattr(plots, name)
        assert all(getattr(plots, public) is getattr(module, public) for public in module.__all__)


def test_a_figure_is_drawn_unhinted_and_leaves_the_users_settings_as_they_were(tmp_path):
    fig = nps.plots.plot_confusion(np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]]), ["a", "b", "c"])
    with matplotlib.rc_context({"text.hinting": "force_autohint"}):
        png = fig.to_png()
        saved = fig.save(tmp_path / "confusion.png").read_bytes()
        assert matplotlib.rcParams["text.hinting"] == "force_autohint"
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        reference = io.BytesIO()
        fig.savefig(reference, format="png", dpi=100)  # matplotlib's own PNG, at its default compression
    assert saved == png
    np.testing.assert_array_equal(imread(io.BytesIO(png)), imread(io.BytesIO(reference.getvalue())))


def test_a_figure_saved_into_a_missing_folder_names_the_path_asked_for(tmp_path):
    path = tmp_path / "no such folder" / "weights.png"
    with pytest.raises(FileNotFoundError) as error:
        plot_weights(np.zeros((4, 2)), ["a", "b"], path)
    assert error.value.filename == str(path) and ".npsoftmax-tmp" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


# --- the training curves ------------------------------------------------------------------------------------


def records_of(train_loss, val=False, seed=0):
    """train_ch3-like records: accuracies rising towards 0.85, the given training losses."""
    rng = np.random.default_rng(seed)
    records = []
    for epoch, loss in enumerate(train_loss, start=1):
        acc = 0.85 - 0.1 / epoch + rng.normal(scale=0.005)
        record = {"epoch": epoch, "lr": 0.1, "train_loss": loss, "train_acc": acc, "test_acc": acc - 0.01}
        if val:
            record |= {"val_loss": loss * 1.05, "val_acc": acc - 0.005}
        records.append(record)
    return records


def assert_curves_show_every_value(fig, records):
    loss_ax, acc_ax = fig.axes
    for ax in (loss_ax, acc_ax):
        low, high = ax.get_ylim()
        for line in ax.get_lines():
            assert np.all((low <= line.get_ydata()) & (line.get_ydata() <= high)), (ax.get_ylabel(), low, high)
            np.testing.assert_array_equal(line.get_xdata(), [r["epoch"] for r in records])
        left, right = ax.get_xlim()
        assert left < records[0]["epoch"] and records[-1]["epoch"] < right
        ticks = [t for t in ax.get_xticks() if left <= t <= right]
        assert ticks and all(float(t).is_integer() for t in ticks)  # whole epochs only
        assert ax.get_xlabel() == "epoch"
    assert acc_ax.get_ylim()[1] == 1.0 and acc_ax.get_ylim()[0] >= 0
    assert acc_ax.get_ylabel() == "accuracy" and "loss" in loss_ax.get_ylabel()
    if loss_ax.get_yscale() == "linear":
        assert loss_ax.get_ylim()[0] == 0


@pytest.mark.parametrize(
    "losses",
    [
        [0.79],  # one epoch
        [1.68, 1.05, 0.90],  # --epochs 3 --lr 0.5: off d2l's fixed 0.3-0.9 chart
        list(np.linspace(0.8, 0.45, 10)),
        list(0.38 + 0.4 / np.arange(1, 101)),
        [344.2, 202.4, 179.8],  # --lr 100
        [146.0, 150.0, 143.0, 149.0],
    ],
    ids=["1 epoch", "3 epochs lr 0.5", "10 epochs", "100 epochs", "lr 100", "loss 146"],
)
def test_curves_show_the_loss_and_the_accuracy_whatever_their_size(losses, tmp_path):
    records = records_of(losses)
    fig = plot_curves(records, tmp_path / "curves.png")
    assert_png_of_the_figure(tmp_path / "curves.png", fig)
    assert_curves_show_every_value(fig, records)
    loss_ax, acc_ax = fig.axes
    assert legend_texts(loss_ax) == ["train loss"] and legend_texts(acc_ax) == ["train acc", "test acc"]
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_ydata(), losses)
    assert f"test acc {records[-1]['test_acc']:.4f}" in fig.get_suptitle()
    markers = {line.get_marker() for line in fig.findobj(lambda a: hasattr(a, "get_marker"))}
    assert ("o" in markers) == (len(losses) <= 20)  # a single epoch is a visible point


def test_curves_with_validation_are_five_lines_on_two_axes_and_a_loss_falling_a_hundredfold_is_on_a_log_axis():
    records = records_of([50.0, 5.0, 0.5, 0.45], val=True)
    fig = plot_curves(records)
    assert_curves_show_every_value(fig, records)
    loss_ax, acc_ax = fig.axes
    assert legend_texts(loss_ax) == ["train loss", "val loss"]
    assert legend_texts(acc_ax) == ["train acc", "val acc", "test acc"]
    assert loss_ax.get_yscale() == "log" and "log scale" in loss_ax.get_ylabel()
    assert "val acc" in fig.get_suptitle()
    assert plot_curves(records_of([0.8, 0.5], val=True)).axes[0].get_yscale() == "linear"


def test_curves_refuse_what_is_not_train_ch3s_records():
    with pytest.raises(ValueError, match="at least one epoch"):
        plot_curves([])
    with pytest.raises(ValueError, match="missing test_acc"):
        plot_curves([{"epoch": 1, "train_loss": 0.5, "train_acc": 0.8}])


def test_curves_from_a_real_train_ch3_history(synthetic_data):
    train_iter, test_iter = nps.load_data_fashion_mnist(64, seed=0)[:2]
    net = nps.SoftmaxRegression(seed=0)
    history = nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, 2, nps.SGD(net.params, 0.1), animate=False)
    fig = plot_curves(history)
    assert_curves_show_every_value(fig, history)


# --- the Animator: d2l's look, nothing off the chart --------------------------------------------------------


def test_animator_keeps_d2ls_view_while_the_data_fits():
    animator = Animator(xlabel="epoch", ylabel="loss / accuracy", xlim=(1, 3), ylim=(0.3, 0.9), legend=["a", "b"])
    for epoch in (1, 2, 3):
        animator.add(epoch, [0.5, 0.8])
    ax = animator.axes[0]
    assert ax.get_ylim() == (0.3, 0.9) and ax.get_xlim() == (1, 3)
    assert ax.get_ylabel() == "loss / accuracy"


@pytest.mark.parametrize("loss", [1.68, 146.0, 0.05])
def test_animator_widens_its_view_to_a_value_that_leaves_it(loss):
    animator = Animator(xlabel="epoch", xlim=(1, 2), ylim=(0.3, 0.9), legend=["train loss", "train acc", "test acc"])
    animator.add(1, [loss, 0.75, 0.77])
    animator.add(2, [loss * 0.9, 0.8, 0.79])
    animator.add(3, [loss * 0.8, 0.82, 0.8])  # also past xlim
    ax = animator.axes[0]
    low, high = ax.get_ylim()
    values = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    assert low < values.min() and values.max() < high  # every point inside, with a margin
    assert (low == 0.3) == (values.min() >= 0.3) and (high == 0.9) == (values.max() <= 0.9)  # only that side moved
    assert ax.get_xlim()[0] == 1 and ax.get_xlim()[1] > 3
    assert legend_texts(ax) == ["train loss", "train acc", "test acc"]
    animator.fig.to_png()


def test_animator_widens_a_log_axis_by_a_factor():
    animator = Animator(ylim=(0.3, 0.9), yscale="log")
    animator.add(1, [146.0, 0.1])
    low, high = animator.axes[0].get_ylim()
    assert 0 < low < 0.1 and 146 < high < 146 * 10


@pytest.mark.parametrize("fmts", [[], (), [1]], ids=["empty list", "empty tuple", "not a string"])
def test_animator_refuses_formats_it_cannot_draw_in_the_users_terms(fmts):
    with pytest.raises(ValueError, match=r"fmts must be matplotlib format strings, at least one") as error:
        Animator(fmts=fmts)
    assert "zip" not in str(error.value)


def test_animator_takes_one_format_string_for_every_curve(tmp_path):
    animator = Animator(fmts="r--", path=tmp_path / "curves.png")
    animator.add(1, [0.5, 0.6])
    assert [(line.get_color(), line.get_linestyle()) for line in animator.axes[0].get_lines()] == [("r", "--")] * 2
    assert_png_of_the_figure(tmp_path / "curves.png", animator.fig)


def test_animator_with_a_path_in_a_missing_folder_names_that_path_before_drawing(tmp_path):
    path = tmp_path / "runs" / "curves.png"
    with pytest.raises(FileNotFoundError, match="runs/curves.png") as error:
        Animator(path=path)
    assert ".npsoftmax-tmp" not in str(error.value)


# --- grids of images: one mosaic -----------------------------------------------------------------------------


def test_predictions_are_one_mosaic_with_a_title_per_image_and_no_empty_band(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((8, 28, 28))
    trues = ["shirt", "bag", "coat", "dress", "bag", "sandal", "sneaker", "trouser"]
    preds = ["shirt", "bag", "pullover", "dress", "bag", "sneaker", "sneaker", "trouser"]
    fig = plots.plot_predictions(images, trues, preds, tmp_path / "predictions.png", num_cols=3)
    assert_png_of_the_figure(tmp_path / "predictions.png", fig)
    (ax,) = fig.axes
    assert len(ax.images) == 1
    titles = ax.texts
    assert [t.get_text().split("\n")[0] for t in titles] == trues
    assert [t.get_text().split("\n")[1].removeprefix("✗ ") for t in titles] == preds
    assert [t.get_color() == "tab:red" for t in titles] == [t != p for t, p in zip(trues, preds, strict=True)]
    frames = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(frames) == 2
    assert fig.get_suptitle().endswith("(6 of 8 right)")
    mosaic = ax.images[0].get_array()
    grid = tiles(mosaic)
    assert [len(row) for row in grid] == [3, 3, 2]  # three columns
    # Each tile is its image on its own scale, its title centred above it.
    placed = [place for row in grid for place in row]
    for image, tile, (rows, cols), title in zip(images, tile_arrays(mosaic), placed, titles, strict=True):
        np.testing.assert_allclose(tile, (image - image.min()) / np.ptp(image))
        x, y = title.get_position()
        assert x == pytest.approx((cols.start + cols.stop - 1) / 2) and y < rows.start
    # No wide empty band: the mosaic fills the figure but for a title line and thin margins.
    left, bottom, width, height = ax.get_position().bounds
    fig_width, fig_height = fig.get_size_inches()
    assert (1 - bottom - height) * fig_height < 0.4
    assert bottom * fig_height < 0.1 and left * fig_width < 0.1 and (1 - left - width) * fig_width < 0.1
    assert fig_height < 3 * 1.9 + 0.4  # three rows: d2l's grid was 1.85 inches a row plus a 0.4-inch band


# --- weights ---------------------------------------------------------------------------------------------------


def test_weights_png_has_ten_titled_templates_on_one_scale_centred_on_0(tmp_path):
    W = np.random.default_rng(0).normal(scale=0.1, size=(784, 10)).astype(np.float32)
    W[5, 3] = 0.9  # the largest magnitude is positive: the scale must still be symmetric
    fig = plot_weights(W, CLASS_NAMES, path=tmp_path / "weights.png")
    assert isinstance(fig, Figure)
    assert_png_of_the_figure(tmp_path / "weights.png", fig)
    mosaic_ax, colorbar = fig.axes  # one mosaic image and its colour bar: cheap to draw
    (image,) = mosaic_ax.images
    assert not colorbar.images
    assert [text.get_text() for text in mosaic_ax.texts] == CLASS_NAMES
    assert image.norm.vmin == -image.norm.vmax == pytest.approx(-0.9)
    assert image.get_cmap().name == "RdBu_r"
    mosaic = image.get_array()
    assert [len(row) for row in tiles(mosaic)] == [5, 5]
    for tile, column in zip(tile_arrays(mosaic), W.T, strict=True):
        np.testing.assert_array_equal(tile, column.reshape(28, 28))
    # Each title centred over its own template.
    first_row = tiles(mosaic)[0]
    centres = [(cols.start + cols.stop - 1) / 2 for _, cols in first_row]
    assert [t.get_position()[0] for t in mosaic_ax.texts[:5]] == pytest.approx(centres)
    assert np.ma.count(mosaic) == 10 * 784  # the gaps are masked: nothing else is drawn


def test_weights_figure_for_other_class_counts_and_bad_input():
    fig = plot_weights(np.zeros((16, 3)), ["a", "b", "c"])
    assert [text.get_text() for text in fig.axes[0].texts] == ["a", "b", "c"]
    assert fig.axes[0].images[0].norm.vmin == -fig.axes[0].images[0].norm.vmax
    fig.to_png()
    with pytest.raises(ValueError, match="not the pixels of a square image"):
        plot_weights(np.zeros((783, 10)), CLASS_NAMES)
    with pytest.raises(ValueError, match="class_names has 9 names but W has 10 columns"):
        plot_weights(np.zeros((784, 10)), CLASS_NAMES[:9])
    with pytest.raises(ValueError, match="2-D"):
        plot_weights(np.zeros(784), CLASS_NAMES)
    wide = plot_weights(np.arange(24.0 * 2).reshape(24, 2), ["a", "b"], image_shape=(4, 6))
    np.testing.assert_array_equal(
        tile_arrays(wide.axes[0].images[0].get_array())[0], np.arange(0.0, 48, 2).reshape(4, 6)
    )
    with pytest.raises(ValueError, match="holds 25 pixels but each image has 24"):
        plot_weights(np.zeros((24, 2)), ["a", "b"], image_shape=(5, 5))
    with pytest.raises(ValueError, match="two integers"):
        plot_weights(np.zeros((24, 2)), ["a", "b"], image_shape=(4.0, 6))


def test_pictures_never_import_pyplot():
    code = (
        "import sys, numpy as np\n"
        "from npsoftmax import plots, metrics\n"
        "plots.plot_weights(np.ones((4, 2)), ['a', 'b']).to_png()\n"
        "probs, y = np.array([[0.3, 0.7]]), np.array([1])\n"
        "plots.plot_calibration(metrics.calibration_bins(probs, y), metrics.coverage_curve(probs, y)).to_png()\n"
        "plots.plot_curves([{'epoch': 1, 'train_loss': 0.5, 'train_acc': 0.8, 'test_acc': 0.8}]).to_png()\n"
        "plots.plot_mistakes(np.ones((1, 2, 2)), y, probs[:, ::-1], class_names=['a', 'b']).to_png()\n"
        "plots.plot_weights_by_epoch({1: np.ones((4, 2))}, ['a', 'b']).to_png()\n"
        "import npsoftmax as nps\n"
        "plots.plot_evidence(nps.SoftmaxRegression(4, 2, seed=0), np.ones((1, 4)), class_names=['a', 'b']).to_png()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
