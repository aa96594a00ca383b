"""The chapter's notebook, executed by a real Jupyter kernel, and the Jupyter detection behind its pictures.

The notebook runs with its working folder in an empty temporary directory and the data home pointed at the
repository's ``data/fashion-mnist`` through ``NPSOFTMAX_DATA``, so it must find the data wherever it runs and
leave nothing beside itself; each notebook is executed once per session, in the background
(``tests/conftest.py``). It is committed with the outputs of a real run (``python notebooks/execute.py``
writes them); the outputs stored must be the ones the code gives now: the same cells, the same outputs, each
figure within a tolerance that another BLAS kernel's rounding stays inside.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _scripts import load_script

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "softmax_regression_scratch.ipynb"
BEYOND = REPO / "notebooks" / "beyond_the_chapter.ipynb"
EDITION1 = REPO / "notebooks" / "softmax_regression_scratch_d2l1.ipynb"
FIGURE = re.compile(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?")


execute = load_script(REPO / "notebooks" / "execute.py").execute  # the runner that writes the stored outputs


def code_cell(nb: nbformat.NotebookNode, snippet: str) -> nbformat.NotebookNode:
    """The one code cell whose source contains ``snippet``."""
    cells = [cell for cell in nb.cells if cell.cell_type == "code" and snippet in cell.source]
    assert len(cells) == 1, f"expected one code cell containing {snippet!r}, found {len(cells)}"
    return cells[0]


def text_result(cell: nbformat.NotebookNode) -> str:
    """The ``text/plain`` of a cell's value (its ``execute_result``)."""
    results = [out for out in cell.outputs if out.output_type == "execute_result"]
    assert len(results) == 1, f"cell has no value: {cell.source!r}"
    return results[0].data["text/plain"]


def images(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The outputs of a cell that carry a PNG (display_data, updated in place, or the cell's value)."""
    return [out for out in cell.outputs if "image/png" in out.get("data", {})]


def executed_notebook(run) -> tuple[nbformat.NotebookNode, Path]:
    """A notebook the session executed, and the (empty before) folder it ran in."""
    assert run.returncode == 0, run.stderr
    return nbformat.read(run.record / "executed.ipynb", as_version=4), run.folder


@pytest.fixture(scope="module")
def executed(chapter_notebook_run) -> tuple[nbformat.NotebookNode, Path]:
    """The chapter's notebook executed once, and the (empty before) folder it ran in."""
    return executed_notebook(chapter_notebook_run)


@pytest.fixture(scope="module")
def beyond(beyond_notebook_run) -> tuple[nbformat.NotebookNode, Path]:
    """The second notebook executed once, and the (empty before) folder it ran in."""
    return executed_notebook(beyond_notebook_run)


@pytest.fixture(scope="module")
def edition1(edition1_notebook_run) -> tuple[nbformat.NotebookNode, Path]:
    """The d2l 1.0 notebook (section 4.4) executed once, and the (empty before) folder it ran in."""
    return executed_notebook(edition1_notebook_run)


def output_texts(cell: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """Each output of a code cell as (kind, text): the text of streams and values, or the fact of an image."""
    texts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            texts.append(("stream", out.text))
        elif "image/png" in out.get("data", {}):
            texts.append((out.output_type, "an image"))
        else:
            texts.append((out.output_type, out.get("data", {}).get("text/plain", "")))
    return texts


def assert_same_outputs(stored: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> None:
    """The same cells with the same outputs; figures (decimal numbers) within 0.003 or 0.1% of the stored ones."""
    assert [cell.source for cell in stored.cells] == [cell.source for cell in fresh.cells]
    for old, new in zip(stored.cells, fresh.cells, strict=True):
        if old.cell_type != "code":
            continue
        old_texts, new_texts = output_texts(old), output_texts(new)
        assert [kind for kind, _ in old_texts] == [kind for kind, _ in new_texts], old.source
        for (_, old_text), (_, new_text) in zip(old_texts, new_texts, strict=True):
            assert FIGURE.sub("#", old_text) == FIGURE.sub("#", new_text), (old.source, old_text, new_text)
            for a, b in zip(FIGURE.findall(old_text), FIGURE.findall(new_text), strict=True):
                a, b = float(a), float(b)
                assert abs(a - b) <= max(0.003, 1e-3 * abs(a)), f"{old.source!r}: stored {a}, now {b}"


@pytest.mark.parametrize("name", ["executed", "beyond", "edition1"])
def test_notebook_is_stored_with_the_outputs_the_code_gives_now(name, request) -> None:
    executed = request.getfixturevalue(name)
    stored = nbformat.read({"executed": NOTEBOOK, "beyond": BEYOND, "edition1": EDITION1}[name], as_version=4)
    nbformat.validate(stored)
    assert stored.metadata.kernelspec.name == "python3"
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), "stored without outputs: run notebooks/execute.py"
    assert_same_outputs(stored, executed[0])


@pytest.mark.parametrize("name", ["executed", "beyond"])
def test_notebook_runs_without_errors_and_leaves_nothing_beside_it(name, request) -> None:
    nb, cwd = request.getfixturevalue(name)
    errors = [
        out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"
    ]
    assert errors == []
    assert sorted(p.name for p in cwd.rglob("*")) == [], "the notebook wrote files into its working folder"


def test_notebook_shows_the_chapter_values(executed) -> None:
    nb, _ = executed
    sums = text_result(code_cell(nb, "X.sum(0, keepdims=True)"))
    assert "array([[5., 7., 9.]])" in sums and "[15.]]" in sums
    assert "array([1., 1.])" in text_result(code_cell(nb, "X_prob.sum(1)"))
    naive, stable = text_result(code_cell(nb, "nps.naive_softmax(Z)")).split("),")
    assert "nan" in naive and "nan" not in stable
    assert text_result(code_cell(nb, "y_hat[[0, 1], y]")) == "array([0.1, 0.5])"
    assert re.findall(r"\d\.\d{4}", text_result(code_cell(nb, "nps.naive_cross_entropy("))) == ["2.3025", "0.6931"] * 2
    assert text_result(code_cell(nb, "nps.accuracy(y_hat, y) / len(y)")) == "0.5"
    assert 0.05 < float(text_result(code_cell(nb, "nps.evaluate_accuracy(net, test_iter)"))) < 0.15
    assert text_result(code_cell(nb, "metric[0], metric[1]")) == "(4.0, 5.0)"


def test_notebook_hand_written_step_equals_loss_and_grad(executed) -> None:
    nb, _ = executed
    loop = code_cell(nb, "for X, y in hand_iter:")
    loss, acc = map(float, re.search(r"loss (\d\.\d+), train acc (\d\.\d+)", loop.outputs[0].text).groups())
    assert loss < 1.0 and acc > 0.7
    assert text_result(code_cell(nb, "nps.loss_and_grad(X, y, W, b)")) == "(True, True, True)"


def test_notebook_trains_to_082_with_one_live_figure(executed) -> None:
    nb, _ = executed
    training = code_cell(nb, "nps.train_ch3(")
    # The Animator displays once and then updates that display in place (update_display_data), which nbclient
    # applies to the original output: one figure, not one per epoch.
    figures = images(training)
    assert [out.output_type for out in figures] == ["display_data"]
    history = text_result(training)
    assert history.startswith("History(10 epochs;") and "\n" not in history
    test_acc = float(re.search(r"test_acc (\d\.\d+)", history).group(1))
    assert test_acc >= 0.82


def test_notebook_shows_the_predictions(executed) -> None:
    nb, _ = executed
    prediction = code_cell(nb, "nps.predict_ch3(")
    assert [out.output_type for out in images(prediction)] == ["execute_result"]
    assert re.fullmatch(r"<Figure size \d+x\d+ with 1 Axes>", text_result(prediction)), "one mosaic of the images"


# --------------------------------------------------------------------------------------------------------
# The second notebook: beyond the chapter.


@pytest.mark.parametrize(
    "snippet",
    [
        "nps.train_ch3(net, train_iter, test_iter",
        "nps.plots.plot_calibration(",
        "nps.plots.plot_sweep(",
        "nps.plots.plot_weights_by_epoch(",
        "nps.plot_evidence(",
        "nps.plots.plot_mistakes(",
    ],
)
def test_beyond_shows_each_picture_inline(beyond, snippet) -> None:
    assert len(images(code_cell(beyond[0], snippet))) == 1


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(out.text for out in cell.outputs if out.output_type == "stream")


def test_beyond_quotes_the_numbers_it_prints(beyond) -> None:
    """Each figure a paragraph quotes is the one the cells print, within what another BLAS kernel changes."""
    nb, _ = beyond
    text = " ".join(" ".join(cell.source.split()) for cell in nb.cells if cell.cell_type == "markdown")

    def quoted(pattern: str) -> list[float]:
        match = re.search(pattern, text)
        assert match, f"the notebook no longer says {pattern!r}"
        return [float(group) for group in match.groups()]

    def close(quoted_values, printed_values, tol) -> None:
        for q, p in zip(quoted_values, printed_values, strict=True):
            assert abs(q - p) <= tol, f"the text says {q}, the cell prints {p}"

    best = re.search(r"val acc (\d\.\d+), test acc (\d\.\d+)", printed(code_cell(nb, "history.best_epoch")))
    close(
        quoted(r"validation accuracy of (\d\.\d+) and a test accuracy of (\d\.\d+)"), map(float, best.groups()), 0.003
    )
    calibration = printed(code_cell(nb, "calibration_bins("))
    ece, coverage, accuracy = re.search(
        r"error (\d\.\d+).* covers ([\d.]+)% .* at ([\d.]+)% accuracy", calibration
    ).groups()
    close(quoted(r"calibration error is (\d\.\d+)"), [float(ece)], 0.002)
    close(quoted(r"covers ([\d.]+)% of the test images at ([\d.]+)% accuracy"), [float(coverage), float(accuracy)], 0.5)
    check = printed(code_cell(nb, "confident_mistakes("))
    mistakes, confident, worst = re.search(r"(\d+) mistakes, (\d+) of them .* logit\| (\S+)", check).groups()
    n_confident, n_mistakes = quoted(r"(\d+) of the model's (\d+) mistakes come with p")
    close([n_mistakes], [int(mistakes)], 0.02 * n_mistakes)
    close([n_confident], [int(confident)], 0.1 * n_confident)
    assert float(worst) < 1e-4, "every evidence map plus its bias is the model's logit"
    naive = printed(code_cell(nb, "nps.naive_cross_entropy, 3"))
    assert "naive: the training loss became nan" in naive and "every loss finite: True" in naive


# --------------------------------------------------------------------------------------------------------
# The d2l 1.0 notebook: section 4.4 with the Trainer.


def test_edition1_trains_to_080_with_one_live_board_and_shows_the_wrong_images(edition1) -> None:
    nb, cwd = edition1
    errors = [
        out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"
    ]
    assert errors == [] and list(cwd.rglob("*")) == []
    training = code_cell(nb, "trainer.fit(model, data)")
    assert [out.output_type for out in images(training)] == ["display_data"], "one board, updated in place"
    last = text_result(code_cell(nb, "model.board.data.items()"))
    val_acc = float(re.search(r"'val_acc': (\d\.\d+)", last).group(1))
    assert val_acc >= 0.80
    # The README quotes it to three digits; another BLAS kernel moves the fourth.
    quoted = re.search(r"validation accuracy (0\.\d+) after 10 epochs", (REPO / "README.md").read_text())
    assert abs(val_acc - float(quoted.group(1))) < 0.005, (val_acc, quoted.group(0))
    wrong = code_cell(nb, "data.visualize([X, y], labels=labels)")
    assert [out.output_type for out in images(wrong)] == ["display_data"]
    assert [out.output_type for out in images(code_cell(nb, "data.visualize(batch)"))] == ["display_data"]


# --------------------------------------------------------------------------------------------------------
# Jupyter detection: a running kernel, not a class name.

DETECT = "from npsoftmax.plots import in_notebook; print(in_notebook())"


def test_in_notebook_inside_a_kernel_and_the_animator_updates_one_display(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from npsoftmax.plots import in_notebook\nin_notebook()"),
            nbformat.v4.new_code_cell(
                "import npsoftmax as nps\n"
                "animator = nps.Animator(xlabel='epoch', ylabel='value', legend=['a', 'b'], xlim=(1, 3))\n"
                "for epoch in (1, 2, 3):\n"
                "    animator.add(epoch, [1 / epoch, epoch / 3])"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    execute(nb, tmp_path)
    assert text_result(nb.cells[0]) == "True"
    assert [out.output_type for out in images(nb.cells[1])] == ["display_data"]
    assert list(tmp_path.iterdir()) == []


def run_python(args: list[str], cwd: Path) -> str:
    completed = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=True
    )
    return completed.stdout.strip()


# One plain Python process, one state after another (each only adds to the last): the Animator with nothing of
# IPython imported, then the detection with no IPython, with IPython imported, and with a terminal-like IPython
# shell (one without a kernel). Each line printed is one state's answer.
PLAIN_SCRIPT = """import sys
assert "IPython" not in sys.modules
import npsoftmax as nps
animator = nps.Animator(xlabel='epoch', ylabel='loss', legend=['train loss', 'train acc', 'test acc'])
for epoch in range(1, 4):
    animator.add(epoch, [1 / epoch, 0.5, 0.6])
print('matplotlib.pyplot' in sys.modules)
from npsoftmax.plots import in_notebook
assert "IPython" not in sys.modules
print(in_notebook())
import IPython
print(in_notebook())
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance()
print(in_notebook())
"""


@pytest.fixture(scope="module")
def plain_script(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """What :data:`PLAIN_SCRIPT` printed in each state, and the (empty before) folder it ran in."""
    cwd = tmp_path_factory.mktemp("plain-script")
    states = ["pyplot imported after the animator", "no IPython", "IPython imported", "IPython shell, no kernel"]
    return dict(zip(states, run_python(["-c", PLAIN_SCRIPT], cwd).splitlines(), strict=True)), cwd


def test_not_in_notebook_in_a_plain_script(plain_script) -> None:
    printed, _ = plain_script
    assert printed["no IPython"] == "False"
    assert printed["IPython imported"] == "False"


def test_not_in_notebook_in_terminal_ipython(tmp_path: Path, plain_script) -> None:
    assert run_python(["-m", "IPython", "--no-banner", "--quick", "-c", DETECT], tmp_path).splitlines()[-1] == "False"
    printed, _ = plain_script
    assert printed["IPython shell, no kernel"] == "False"


def test_animator_in_a_plain_script_writes_nothing_and_never_touches_pyplot(plain_script) -> None:
    printed, cwd = plain_script
    # pyplot is what opens windows and blocks in plt.show(); the Animator never imports it.
    assert printed["pyplot imported after the animator"] == "False"
    assert list(cwd.iterdir()) == []
