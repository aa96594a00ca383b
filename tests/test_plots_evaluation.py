"""The evaluating pictures as real figures: computed results taken as given (the ECE, the thresholds, the
ranking), colours that match their legend, the mistakes as one mosaic, and no warnings."""

import numpy as np
import pytest
from _pictures import all_text, assert_png_of_the_figure, legend_texts, tile_arrays, tiles
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

import npsoftmax as nps
from npsoftmax import metrics, plots
from npsoftmax.plots import Figure, plot_calibration
from npsoftmax.sweep import LABELS, rank_settings

CLASS_NAMES = list(nps.TEXT_LABELS)


pytestmark = pytest.mark.filterwarnings("error")  # a picture that warns is a defect


def probabilities(n=2000, k=10, scale=3.0, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(n, k)).astype(np.float32)
    y = np.where(rng.random(n) < 0.7, logits.argmax(axis=1), rng.integers(0, k, n))
    return nps.softmax(logits), y


def test_confusion_matrix_counts_in_its_cells(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plots.plot_confusion(matrix, ["a", "b", "c"], tmp_path / "confusion.png")
    assert_png_of_the_figure(tmp_path / "confusion.png", fig)
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in fig.axes[0].texts}
    assert cells == {(i, j): str(matrix[i, j]) for i in range(3) for j in range(3)}
    assert f"accuracy {21 / 25:.4f}" in fig.axes[0].get_title()


# --- the most confident mistakes ---------------------------------------------------------------------------------


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
    assert f"{np.count_nonzero(wrong):,} of 500 examples are wrong" in fig.get_suptitle()
    assert [len(row) for row in tiles(ax.images[0].get_array())] == [6] * 4  # six columns: 4 x 6


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


def test_flat_images_take_their_shape_from_a_keyword_or_are_square():
    y = np.array([0, 1, 2])
    probs = np.eye(3)[[1, 2, 0]] * 0.8 + 0.2 / 3
    fig = plots.plot_mistakes(np.zeros((3, 24)), y, probs, class_names=["a", "b", "c"], image_shape=(4, 6))
    assert [tile.shape for tile in tile_arrays(fig.axes[0].images[0].get_array())] == [(4, 6)] * 3
    with pytest.raises(ValueError, match="pass image_shape"):
        plots.plot_mistakes(np.zeros((3, 24)), y, probs, class_names=["a", "b", "c"])
    square = plots.plot_mistakes(np.zeros((3, 784)), y, probs, class_names=["a", "b", "c"])
    assert [tile.shape for tile in tile_arrays(square.axes[0].images[0].get_array())] == [(28, 28)] * 3


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


def test_calibration_shows_each_bin_in_the_colour_its_legend_names():
    """Sparse bins are light and empty ones are left out; every bar is opaque (nothing drawn through another
    colour), in a colour its legend shows; the gap runs from each bar's top to its bin's mean confidence."""
    probs, y = probabilities(n=4000, scale=4.0)
    fig, bins, _ = calibration_figure(probs, y, n_bins=20)
    reliability = fig.axes[0]
    sparse = (bins.count > 0) & (bins.count < 0.01 * bins.count.sum())
    assert sparse.any() and (bins.count == 0).any() and (bins.count >= 40).any()  # the case is a real test
    bars = {round(p.get_x(), 6): p for p in reliability.patches if isinstance(p, Rectangle)}
    occupied = bins.count > 0
    assert len(bars) == np.count_nonzero(occupied)  # empty bins go
    legend = reliability.get_legend()
    handles = dict(zip(legend_texts(reliability), legend.legend_handles, strict=True))
    full_color = handles["accuracy in the bin"].get_facecolor()
    light_color = handles["light: < 1% of the examples (< 40)"].get_facecolor()
    assert full_color != light_color
    for left, count, accuracy, is_sparse in zip(bins.edges[:-1], bins.count, bins.accuracy, sparse, strict=True):
        if count:
            bar = bars[round(left, 6)]
            assert bar.get_height() == pytest.approx(accuracy)
            assert bar.get_facecolor() == (light_color if is_sparse else full_color)
            assert to_rgba(bar.get_facecolor())[3] == 1 and bar.get_alpha() in (None, 1)
    gap_label = "mean confidence in the bin, gap to it"
    gap_color = to_rgba(handles[gap_label].get_color())
    gaps = [c for c in reliability.collections if np.allclose(c.get_colors()[0], gap_color)]
    levels = [s for c in gaps for s in c.get_segments() if s[0][1] == s[1][1]]  # horizontal: the mean confidence
    spans = sorted(sorted((s[0][1], s[1][1])) for c in gaps for s in c.get_segments() if s[0][0] == s[1][0])
    assert sorted(s[0][1] for s in levels) == pytest.approx(sorted(bins.confidence[occupied]))
    expected = sorted(sorted((a, c)) for a, c in zip(bins.accuracy[occupied], bins.confidence[occupied], strict=True))
    np.testing.assert_allclose(spans, expected)
    assert "calibrated: accuracy = confidence" in handles


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


# --- the sweep's grid, from the sweep's ranking --------------------------------------------------------------


def sweep_results(momentums=(0.0,)):
    runs = []
    settings = [(lr, bs, m) for m in momentums for lr, bs in [(0.1, 64), (0.1, 256), (1.0, 64), (1.0, 256)]]
    for run, (lr, batch_size, momentum) in enumerate(settings, start=1):
        diverged = lr == 1.0 and batch_size == 64
        runs.append(
            {"run": run, "lr": lr, "batch_size": batch_size, "momentum": momentum, "weight_decay": 0.0}
            | {"schedule": "constant", "seed": 0, "status": "diverged" if diverged else "completed"}
            | ({} if diverged else {"test_acc": 0.8 + run / 100})
        )
    grid = {"lr": [0.1, 1.0], "batch_size": [64, 256], "momentum": list(momentums), "weight_decay": [0.0]}
    grid |= {"schedule": ["constant"], "seed": [0]}
    results = {"selected_by": "test_acc", "swept": grid, "runs": runs, "config": {"epochs": 3, "val_split": None}}
    results["best"] = rank_settings(runs, "test_acc")[0]
    return results


def test_sweep_grid_has_a_cell_per_setting_the_best_outlined_and_diverged_runs_named(tmp_path):
    results = sweep_results()
    ranked = rank_settings(results["runs"], "test_acc")
    fig = plots.plot_sweep(results, ranked, tmp_path / "sweep.png")
    assert_png_of_the_figure(tmp_path / "sweep.png", fig)
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(0, 0): "0.8100", (0, 1): "0.8200", (1, 0): "diverged", (1, 1): "0.8400"}
    (outline,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert outline.get_xy() == (0.5, 0.5)  # lr 1.0, batch size 256: the best
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.1", "1"]
    assert "selection on test" in fig.get_suptitle()
    assert plots.plot_sweep(results, ranked).axes[0].texts  # without a path: drawn, nothing written


def test_sweep_grid_has_a_panel_per_other_setting_titled_with_the_sweeps_labels():
    results = sweep_results(momentums=(0.0, 0.9))
    ranked = rank_settings(results["runs"], "test_acc")
    fig = plots.plot_sweep(results, ranked, labels={**LABELS, "momentum": "β"})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["β 0", "β 0.9"]
    default = plots.plot_sweep(results, ranked)
    assert [ax.get_title() for ax in default.axes if ax.get_title()] == ["momentum 0", "momentum 0.9"]
    # The best (0.88: lr 1, batch size 256, momentum 0.9) outlined in its own panel only.
    outlined = [ax.get_title() for ax in fig.axes if any(isinstance(p, Rectangle) for p in ax.patches)]
    assert outlined == ["β 0.9"]
