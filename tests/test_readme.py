"""The README's Python examples and its seed-to-npsoftmax table run, and print what the README says they print."""

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

import npsoftmax as nps

README = Path(__file__).resolve().parents[1] / "README.md"


def python_examples():
    """Fenced Python blocks that are whole programs (they import npsoftmax); excerpts are left out."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [block for block in blocks if "import npsoftmax" in block]


def run_block(block):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {})
    return out.getvalue().splitlines()


def test_the_math_example_prints_what_it_claims():
    (block,) = [b for b in python_examples() if "check_gradient" in b]
    printed = run_block(block)
    assert printed[0] == "[[1.0e+00 3.8e-44 0.0e+00]]"
    np.testing.assert_allclose(np.array(printed[1].strip("[]").split(), dtype=float), [2.3026, 0.6931], atol=1e-4)
    assert max(float(x) for x in printed[2].strip("[]").split(",")) < 1e-7


@pytest.mark.parametrize("index", [i for i, b in enumerate(python_examples()) if "check_gradient" not in b])
def test_every_other_example_prints_the_value_in_its_comment(index):
    """Each ``print(...)  # VALUE ...`` line prints exactly VALUE."""
    block = python_examples()[index]
    claims = re.findall(r"^print\(.*\)\s+# (\S+?)[,;:]?(?:\s|$)", block, flags=re.MULTILINE)
    assert claims, "an example that prints nothing checkable"
    assert run_block(block) == claims


def table_rows(heading="## From the seed to npsoftmax"):
    """The code that opens each npsoftmax cell of the table: its first code span and any joined by '; '."""
    section = README.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [row.split(" | ")[1] for row in rows]
    return [re.findall(r"`([^`]*)`", re.match(r"^(`[^`]*`(?:; `[^`]*`)*)", cell).group(1)) for cell in cells]


def test_every_row_of_the_seed_table_runs():
    rows = table_rows()
    assert len(rows) >= 15
    namespace = {
        "np": np,
        "nps": nps,
        "batch_size": 256,
        "num_epochs": 2,
        "Z": np.array([[100.0, 0.0, -1.0]], np.float32),
        "y_hat": np.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]),
        "y2": np.array([0, 2]),
    }
    values = {}
    for statements in rows:
        for code in statements:
            try:
                values[code] = eval(code, namespace)
            except SyntaxError:
                exec(code, namespace)
    assert namespace["X"].shape == (256, 1, 28, 28) and namespace["y"].dtype == np.int64
    np.testing.assert_array_equal(values["y_hat[[0, 1], y2]"], [0.1, 0.5])
    assert values["nps.accuracy(y_hat, y2) / len(y2)"] == 0.5
    assert np.all(np.isfinite(values["nps.softmax(Z)"]))
    assert values["metric[0]"] == 3
    assert 0.0 <= values["nps.evaluate_accuracy(net, test_iter)"] <= 1.0
    history = namespace["history"]
    assert len(history) == 2 and history[-1]["test_acc"] > 0.8


def section(heading):
    return README.read_text().split(heading, 1)[1].split("\n## ", 1)[0]


def test_the_train_section_lists_every_output_and_only_real_flags():
    from npsoftmax import train

    text = section("## Train")
    outputs = re.findall(r"^\| `([\w.]+)` \|", text, flags=re.MULTILINE)
    assert outputs == [name for name in train.OUTPUTS if name in outputs] and set(outputs) == set(train.OUTPUTS)
    known = {flag for action in train.build_parser()._actions for flag in action.option_strings}
    mentioned = set(re.findall(r"(--[a-z][a-z-]*)", text))
    abbreviations = mentioned - known  # the README cites them as refused
    assert abbreviations == {"--epoch"}
    with pytest.raises(SystemExit) as refused:
        train.build_parser().parse_args(["--epoch", "5"])
    assert refused.value.code == 2
    assert {f for f in known if f not in ("-h", "--help")} <= mentioned, "a flag the README does not mention"


def test_the_exercises_state_what_the_commands_give(tmp_path, fashion_mnist_home, capsys):
    """Every number of the Exercises section, from the commands it gives (same machine, same numbers)."""
    from npsoftmax import sweep, train

    text = " ".join(section("## Exercises").split())
    home = ["--data-dir", str(fashion_mnist_home), "--no-download"]

    def run(module, *args):
        capsys.readouterr()
        status = module.main([*home, "--out", str(tmp_path / str(len(list(tmp_path.iterdir())))), *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    status, out, _ = run(
        sweep,
        "--lr",
        "0.03",
        "0.1",
        "0.3",
        "--batch-size",
        "64",
        "256",
        "1024",
        "--epochs",
        "10",
        "--val-split",
        "0.1",
        "--quiet",
    )
    assert status == 0
    console = section("## Exercises").split("```console")[1].split("```")[0].splitlines()
    assert [line for line in console if line.startswith(("best setting", "its test"))] == out.splitlines()[:2]
    records = {(r["lr"], r["batch_size"]): r for r in json.loads((tmp_path / "0" / "sweep.json").read_text())["runs"]}
    for key in ((0.03, 64), (0.03, 1024), (0.3, 64)):
        assert f"{records[key]['val_acc']:.4f}" in text

    status, _, err = run(train, "--loss", "naive", "--lr", "100", "--quiet")
    assert status == 1 and text.split('stops in epoch 1, "')[1].split('", exit')[0] in " ".join(err.split())
    status, out, _ = run(train, "--lr", "100", "--quiet")
    metrics = json.loads((tmp_path / "2" / "metrics.json").read_text())
    assert status == 0 and f"accuracy {metrics['test_acc']:.4f}" in text
    assert f"its loss, {metrics['epochs'][-1]['train_loss']:.1f}" in text

    for name, args in (("constant", ()), ("cosine", ("--schedule", "cosine"))):
        assert run(train, "--val-split", "0.1", "--epochs", "100", "--quiet", *args)[0] == 0
        epochs = json.loads(
            sorted(tmp_path.iterdir(), key=lambda p: int(p.name))[-1].joinpath("metrics.json").read_text()
        )
        epochs = epochs["epochs"]
        train_loss = np.array([e["train_loss"] for e in epochs])
        val_loss = np.array([e["val_loss"] for e in epochs])
        test_acc = np.array([e["test_acc"] for e in epochs])
        gap = val_loss - train_loss
        if name == "constant":
            for value in (train_loss[9], train_loss[99], val_loss[9], val_loss[99], val_loss.min()):
                assert f"{value:.4f}" in text, value
            assert f"lowest {val_loss.min():.4f} at epoch {val_loss.argmin() + 1}" in text
            assert f"from {gap[9]:.3f} to {gap[99]:.3f}" in text
            assert (
                f"peaks at {test_acc.max():.4f} in epoch {test_acc.argmax() + 1} and ends at {test_acc[-1]:.4f}" in text
            )
        else:
            assert f"halves the gap ({gap[99]:.3f})" in text

    # The committed default run: its calibration and the coverage when abstaining below 0.9.
    figures = README.parent / "benchmarks" / "figures"
    assert f"calibration error {json.loads((figures / 'metrics.json').read_text())['ece']:.4f}" in text
    model = nps.SoftmaxRegression.load(figures / "model.npz")
    _, test_iter = nps.load_data_fashion_mnist(10000, fashion_mnist_home, download=False)
    X, y = next(iter(test_iter))
    curve = nps.metrics.coverage_curve(model.predict_proba(X), y, thresholds=[0.9])
    assert (
        f"covers {100 * curve.coverage[0]:.1f}% of the test images at {100 * curve.accuracy[0]:.1f}% accuracy" in text
    )

    rows = {
        row["classes"]: row for row in json.loads((README.parent / "benchmarks" / "classes.json").read_text())["rows"]
    }
    assert f"`W` alone is {rows[100_000]['params_mib']:.1f} MiB" in text
    assert (
        f"took {rows[100_000]['epoch_seconds']:.1f} s" in text and f"against {rows[10]['epoch_seconds']:.3f} s" in text
    )
    assert f"{100 * rows[100_000]['gemms_share']:.0f}% of it in the two GEMMs" in text


def test_the_performance_section_quotes_the_committed_benchmark():
    text = " ".join(section("## Performance").split())
    results = json.loads((README.parent / "benchmarks" / "results.json").read_text())
    for entry in results["systems"].values():
        acc = "n/a" if entry["test_acc"] is None else f"{entry['test_acc']:.4f}"
        row = (
            f"| {entry['label']} | {entry['median_epoch_seconds']:.4f} | {entry['ratio_vs_npsoftmax']:.2f} | {acc} | "
            f"{entry['peak_rss_mb']:.0f} |"
        )
        assert row in text, row
    cli = results["cli"]
    assert f"took {cli['wall_seconds']:.2f} s of wall time for {cli['train_eval_seconds']:.2f} s" in text
    assert f"peak RSS of {cli['peak_rss_mb']:.0f} MB" in text
    for target in results["targets"]:
        assert f"{target['value']:.2f}×" in text or f"({target['value']:.0f} MB)" in text, target
    float64 = json.loads((README.parent / "benchmarks" / "results-float64.json").read_text())
    assert f"an epoch takes {float64['systems']['npsoftmax']['median_epoch_seconds']:.4f} s" in text
    assert f"{float64['targets'][0]['value']:.2f}× its float64 floor" in text


def test_the_accuracy_table_quotes_real_runs():
    text = section("### Accuracy")
    default = json.loads((README.parent / "benchmarks" / "figures" / "metrics.json").read_text())
    first, last = default["epochs"][0]["train_loss"], default["epochs"][-1]["train_loss"]
    assert f"**{default['test_acc']:.4f}** (train loss {first:.4f} → {last:.4f})" in text
    systems = json.loads((README.parent / "benchmarks" / "results.json").read_text())["systems"]
    for name in ("torch-scratch", "sklearn-logreg", "sklearn-sgd"):
        assert f"| {systems[name]['test_acc']:.4f} |" in text, name
    assert f"until converged, {systems['sklearn-logreg']['median_epoch_seconds']:.1f} s" in text


def test_the_opening_console_shows_what_the_command_prints(tmp_path, fashion_mnist_home, capsys):
    """The default run's lines as the README opens with them, timings and the output folder aside."""
    from npsoftmax import train

    block = README.read_text().split("```console\n$ python -m npsoftmax.train\n", 1)[1].split("```", 1)[0]
    shown = [line for line in block.splitlines() if line != "..."]
    out = tmp_path / "run"
    assert train.main(["--data-dir", str(fashion_mnist_home), "--no-download", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()

    def untimed(line):
        return re.sub(r"[\d.]+ s \(\+[\d.]+ s eval\)|to \S+$", "", line)

    printed = [untimed(line) for line in printed]
    for line in shown:
        assert untimed(line) in printed, line
