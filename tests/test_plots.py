"""The pictures as real figures: every value drawn inside its axes, the legends and titles they claim, the grids as
one mosaic, computed results taken as given, and no warnings."""

import io
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.image import imread
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation, Text

import npsoftmax as nps
from npsoftmax import metrics, plots
from npsoftmax.plots import Animator, Figure, plot_calibration, plot_curves, plot_weights

CLASS_NAMES = list(nps.TEXT_LABELS)


pytestmark = pytest.mark.filterwarnings("error")  # a picture that warns is a defect


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


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


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


def test_a_figure_is_drawn_unhinted_and_leaves_the_users_settings_as_they_were(tmp_path):
    fig = plot_confusion_of_three()
    with matplotlib.rc_context({"text.hinting": "force_autohint"}):
        png = fig.to_png()
        saved = fig.save(tmp_path / "confusion.png").read_bytes()
        assert matplotlib.rcParams["text.hinting"] == "force_autohint"
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        reference = io.BytesIO()
        fig.savefig(reference, format="png", dpi=100)  # matplotlib's own PNG, at its default compression
    assert saved == png
    np.testing.assert_array_equal(imread(io.BytesIO(png)), imread(io.BytesIO(reference.getvalue())))


def plot_confusion_of_three():
    return nps.plots.plot_confusion(np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]]), ["a", "b", "c"])


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
    assert f"test acc {records[-1]['test_acc']:.4f}" in fig._suptitle.get_text()
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
    assert "val acc" in fig._suptitle.get_text()
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
    assert fig._suptitle.get_text().endswith("(6 of 8 right)")
    mosaic = ax.images[0].get_array()
    assert mosaic.shape[1] == 3 * 31 + 3  # three tiles of 28 + 3-pixel gaps
    # Each tile is its image on its own scale, at the place its title names.
    row_height = (mosaic.shape[0] - 3) // 3  # three rows of titles and tiles, 3 pixels below the last
    for i, image in enumerate(images):
        row, col = divmod(i, 3)
        x, y = col * 31 + 3, (row + 1) * row_height - 28
        tile = mosaic[y : y + 28, x : x + 28]
        np.testing.assert_allclose(tile, (image - image.min()) / np.ptp(image))
        assert titles[i].get_position()[0] == pytest.approx(x + 13.5)
    # No wide empty band: the mosaic fills the figure but for the 0.3-inch title line and 0.05-inch margins.
    left, bottom, width, height = ax.get_position().bounds
    fig_width, fig_height = fig.get_size_inches()
    assert (1 - bottom - height) * fig_height == pytest.approx(0.3, abs=0.01)
    assert bottom * fig_height == pytest.approx(0.05) and left * fig_width == pytest.approx(0.05)
    assert fig_height < 3 * 1.9 + 0.4  # three rows: d2l's grid was 1.85 inches a row plus a 0.4-inch band


def test_mistakes_are_all_wrong_most_confident_first(tmp_path):
    probs, y = probabilities(n=500)
    images = np.random.default_rng(1).random((500, 784)).astype(np.float32)
    fig = plots.plot_mistakes(images, y, probs, n=24, path=tmp_path / "mistakes.png")
    assert_png_of_the_figure(tmp_path / "mistakes.png", fig)
    chosen = plots.confident_mistakes(probs, y, 24)
    assert len(chosen) == 24
    assert np.all(probs[chosen].argmax(axis=1) != y[chosen])
    confidence = probs[chosen].max(axis=1)
    assert np.all(np.diff(confidence) <= 0)
    wrong = probs.argmax(axis=1) != y
    assert confidence[-1] >= np.sort(probs[wrong].max(axis=1))[-24]  # no more confident mistake left out
    (ax,) = fig.axes
    assert len(ax.images) == 1 and len(ax.texts) == 24
    for text, i in zip(ax.texts, chosen, strict=True):
        c = probs[i].argmax()
        assert text.get_text().replace("\n", " ") == f"{CLASS_NAMES[y[i]]} → {CLASS_NAMES[c]} (p = {probs[i, c]:.2f})"
    assert f"{np.count_nonzero(wrong):,} of 500 examples are wrong" in fig._suptitle.get_text()
    assert ax.images[0].get_array().shape[1] == 6 * 31 + 3  # six columns: 4 x 6


def test_mistakes_with_fewer_mistakes_than_asked_and_with_none():
    y = np.arange(30) % 10
    probs = np.full((30, 10), 0.01)
    probs[np.arange(30), y] = 0.91
    probs[[3, 17], :] = 0.01
    probs[3, 5], probs[17, 0] = 0.91, 0.91  # two mistakes, ties broken by index
    fig = plots.plot_mistakes(np.zeros((30, 28, 28)), y, probs)
    assert list(plots.confident_mistakes(probs, y)) == [3, 17]
    assert [t.get_text().split(" →")[0] for t in fig.axes[0].texts] == [CLASS_NAMES[3], CLASS_NAMES[7]]
    none = plots.plot_mistakes(np.zeros((30, 28, 28)), y, np.eye(10)[y])
    assert any("no mistakes" in text for text in all_text(none))
    none.to_png()
    with pytest.raises(ValueError, match="class_names has 9 names"):
        plots.plot_mistakes(np.zeros((30, 28, 28)), y, probs, class_names=CLASS_NAMES[:9])
    with pytest.raises(ValueError, match="images has 29 examples"):
        plots.plot_mistakes(np.zeros((29, 28, 28)), y, probs)
    with pytest.raises(ValueError, match="must be images"):
        plots.plot_mistakes(np.zeros(30), y, probs)
    # Raw uint8 pixels show as their floats do: each image on its own grey scale.
    pixels = np.random.default_rng(0).integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    raw = plots.plot_mistakes(pixels, y, probs).axes[0].images[0].get_array()
    scaled = plots.plot_mistakes(pixels / 255, y, probs).axes[0].images[0].get_array()
    np.testing.assert_allclose(raw, scaled, rtol=1e-12, atol=1e-15)  # a few float64 roundings apart at most


# --- weights ---------------------------------------------------------------------------------------------------


def weight_tiles(fig, k, height=28, width=28, num_cols=5):
    """The k templates in plot_weights' mosaic, in class order."""
    mosaic = fig.axes[0].images[0].get_array()
    num_rows = -(-k // num_cols)
    row_height = (mosaic.shape[0] - 3) // num_rows  # titles and a tile per row, 3 pixels below the last
    tiles = []
    for c in range(k):
        row, col = divmod(c, num_cols)
        y, x = (row + 1) * row_height - height, 3 + col * (width + 3)
        tiles.append(mosaic[y : y + height, x : x + width])
    return tiles


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
    for tile, column in zip(weight_tiles(fig, 10), W.T, strict=True):
        np.testing.assert_array_equal(tile, column.reshape(28, 28))
    # Each title centred over its own template.
    assert [round(t.get_position()[0], 1) for t in mosaic_ax.texts[:5]] == [3 + 13.5 + 31 * c for c in range(5)]
    assert np.ma.count(image.get_array()) == 10 * 784  # the gaps are masked: nothing else is drawn


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
    np.testing.assert_array_equal(weight_tiles(wide, 2, 4, 6)[0], np.arange(0.0, 48, 2).reshape(4, 6))
    with pytest.raises(ValueError, match="holds 25 pixels but each image has 24"):
        plot_weights(np.zeros((24, 2)), ["a", "b"], image_shape=(5, 5))


def test_weights_by_epoch_one_row_per_epoch_in_order_each_on_its_own_scale(tmp_path):
    rng = np.random.default_rng(0)
    snapshots = {epoch: rng.normal(scale=0.05 * epoch, size=(784, 10)) for epoch in (10, 1, 5, 2)}
    fig = plots.plot_weights_by_epoch(snapshots, path=tmp_path / "weights_by_epoch.png")
    assert_png_of_the_figure(tmp_path / "weights_by_epoch.png", fig)
    (ax,) = fig.axes
    (image,) = ax.images
    assert (image.norm.vmin, image.norm.vmax, image.get_cmap().name) == (-1, 1, "RdBu_r")
    mosaic = image.get_array()
    texts = [t.get_text() for t in ax.texts]
    assert texts[:10] == CLASS_NAMES
    for row, epoch in enumerate((1, 2, 5, 10)):
        W = snapshots[epoch]
        limit = np.abs(W).max()
        assert texts[10 + row] == f"epoch {epoch}\n±{limit:.3g}"
        for c in range(10):
            y, x = 2 + row * 30, 2 + c * 30
            np.testing.assert_allclose(mosaic[y : y + 28, x : x + 28], W[:, c].reshape(28, 28) / limit)
        assert np.abs(mosaic[2 + row * 30 : row * 30 + 30]).max() == pytest.approx(1)  # the row fills its scale
    with pytest.raises(ValueError, match="snapshots is empty"):
        plots.plot_weights_by_epoch({})
    with pytest.raises(ValueError, match="one shape"):
        plots.plot_weights_by_epoch({1: np.zeros((784, 10)), 2: np.zeros((16, 10))})


# --- calibration from the computed bins and curve ----------------------------------------------------------


def calibration_figure(probs, y, n_bins=15, path=None):
    bins = metrics.calibration_bins(probs, y, n_bins)
    ece = metrics.expected_calibration_error(probs, y, n_bins)
    return plot_calibration(bins, metrics.coverage_curve(probs, y), path, ece=ece), bins, ece


def test_calibration_png_shows_the_ece_that_metrics_computes(tmp_path):
    probs, y = probabilities()
    fig, _, ece = calibration_figure(probs, y, path=tmp_path / "calibration.png")
    assert isinstance(fig, Figure)
    assert_png_of_the_figure(tmp_path / "calibration.png", fig)
    assert 0.01 < ece < 0.5
    assert any(f"ECE = {ece:.4f}" in text for text in all_text(fig))
    text = "\n".join(all_text(fig))
    assert "abstaining below a confidence threshold" in text
    assert "p ≥ 0.9" in text
    assert f"{nps.accuracy(probs, y) / len(y):.3f}" in text  # full coverage: the plain accuracy


def test_calibration_marks_the_thresholds_exactly_as_coverage_curve_computes_them():
    probs, y = probabilities(seed=2)
    fig, _, _ = calibration_figure(probs, y)
    table = next(text for text in all_text(fig) if text.startswith("threshold"))
    marked = metrics.coverage_curve(probs, y, [0.99, 0.9, 0.8, 0.5])
    for line, threshold, coverage, accuracy in zip(table.splitlines()[1:], *marked, strict=True):
        assert line.split() == ["p", "≥", f"{threshold:g}", f"{coverage:.1%}", f"{accuracy:.1%}"]


def test_calibration_bins_follow_n_bins_and_the_ece_is_optional():
    probs, y = probabilities(seed=1)
    fig, _, ece = calibration_figure(probs, y, n_bins=7)
    assert any(f"ECE = {ece:.4f}" in text for text in all_text(fig))
    assert any("7 bins" in text for text in all_text(fig))
    bare = plot_calibration(metrics.calibration_bins(probs, y, 7), metrics.coverage_curve(probs, y))
    assert not any("ECE" in text for text in all_text(bare)) and any("7 bins" in text for text in all_text(bare))


def test_calibration_fades_sparse_bins_drops_empty_ones_and_says_so():
    probs, y = probabilities(n=4000, scale=4.0)
    fig, bins, _ = calibration_figure(probs, y, n_bins=20)
    reliability = fig.axes[0]
    accuracy_bars = [
        p for p in reliability.patches if p.get_facecolor()[:3] == pytest.approx((0.122, 0.467, 0.706), abs=1e-3)
    ]
    sparse = (bins.count > 0) & (bins.count < 0.01 * bins.count.sum())
    assert sparse.any() and (bins.count == 0).any() and (bins.count >= 40).any()  # the case is a real test
    assert len(accuracy_bars) == np.count_nonzero(bins.count)  # empty bins go
    by_left = {round(p.get_x(), 6): p for p in accuracy_bars}
    for left, count, accuracy in zip(bins.edges[:-1], bins.count, bins.accuracy, strict=True):
        if count:
            bar = by_left[round(left, 6)]
            assert bar.get_height() == pytest.approx(accuracy)
            assert bar.get_alpha() == (0.3 if count < 0.01 * bins.count.sum() else 1.0)
    labels = legend_texts(reliability)
    assert "accuracy in the bin" in labels and "calibrated: accuracy = confidence" in labels
    assert "faded: bin with < 1% of the examples (< 40)" in labels


@pytest.mark.parametrize("case", ["unsure", "certain and right", "certain and wrong", "one example"])
def test_calibration_figure_draws_extreme_models_without_warnings(case):
    if case == "unsure":  # every top probability under 0.5: most marked thresholds answer nothing
        probs, y = probabilities(scale=0.3)
    elif case == "one example":
        probs, y = np.array([[0.25, 0.75]]), np.array([1])
    else:
        y = np.arange(100) % 10
        probs = np.eye(10)[y if case == "certain and right" else (y + 1) % 10]
    fig, _, _ = calibration_figure(probs, y)
    fig.to_png()
    if case == "unsure":
        assert any("n/a" in text for text in all_text(fig))  # no answer at p >= 0.9: no accuracy to give
    if case == "certain and right":  # every threshold answers everything: one point, one label, no overlap
        labels = [t.get_text() for t in fig.axes[2].texts if isinstance(t, Annotation)]
        assert labels == ["p ≥ 0.99, 0.9, 0.8, 0.5"]


def test_calibration_takes_logits_from_nothing_but_metrics_refuses_them():
    with pytest.raises(ValueError, match="must hold probabilities"):
        metrics.calibration_bins(np.array([[3.0, -1.0]]), np.array([0]))


# --- the sweep's grid ------------------------------------------------------------------------------------------


def test_sweep_grid_has_a_cell_per_setting_the_best_outlined_and_diverged_runs_named(tmp_path):
    from npsoftmax.sweep import rank_settings

    runs = []
    for run, (lr, batch_size) in enumerate([(0.1, 64), (0.1, 256), (1.0, 64), (1.0, 256)], start=1):
        diverged = lr == 1.0 and batch_size == 64
        runs.append(
            {"run": run, "lr": lr, "batch_size": batch_size, "momentum": 0.0, "weight_decay": 0.0}
            | {"schedule": "constant", "seed": 0, "status": "diverged" if diverged else "completed"}
            | ({} if diverged else {"test_acc": 0.8 + run / 100})
        )
    grid = {"lr": [0.1, 1.0], "batch_size": [64, 256], "momentum": [0.0], "weight_decay": [0.0]}
    grid |= {"schedule": ["constant"], "seed": [0]}
    results = {"selected_by": "test_acc", "swept": grid, "runs": runs, "config": {"epochs": 3, "val_split": None}}
    results["best"] = rank_settings(runs, "test_acc")[0]
    fig = plots.plot_sweep(results, tmp_path / "sweep.png")
    assert_png_of_the_figure(tmp_path / "sweep.png", fig)
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(0, 0): "0.8100", (0, 1): "0.8200", (1, 0): "diverged", (1, 1): "0.8400"}
    (outline,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert outline.get_xy() == (0.5, 0.5)  # lr 1.0, batch size 256: the best
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.1", "1"]
    assert "selection on test" in fig._suptitle.get_text()
    assert plots.plot_sweep(results, None).axes[0].texts  # without a path: drawn, nothing written


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


def test_image_shapes_come_from_the_data_or_a_keyword():
    assert plots._image_shape(784, None) == (28, 28)
    assert plots._image_shape(24, (4, 6)) == (4, 6)
    with pytest.raises(ValueError, match="pass image_shape"):
        plots._image_shape(24, None)
    with pytest.raises(ValueError, match="two integers"):
        plots._image_shape(24, (4.0, 6))
    y = np.array([0, 1, 2])
    probs = np.eye(3)[[1, 2, 0]] * 0.8 + 0.2 / 3
    fig = plots.plot_mistakes(np.zeros((3, 24)), y, probs, class_names=["a", "b", "c"], image_shape=(4, 6))
    assert fig.axes[0].images[0].get_array().shape[1] == 3 * 9 + 3  # tiles 6 wide, not 28 or 5
    assert fig.get_size_inches()[0] == pytest.approx(0.1 + 30 * 1.3 / 6, abs=0.01)
