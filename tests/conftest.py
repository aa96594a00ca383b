"""Project-wide test policy (a skipped test is a failure) and shared fixtures: Fashion-MNIST, synthetic and real,
a small synthetic data set of another shape and class count, and the long runs on the real data (the commands
that several tests assert on, the notebooks, the README's longest blocks), each run once per session in the
background (``default_run``, ``best_run``, ``chapter_notebook_run``, ...: see ``REAL_RUNS``, ``NOTEBOOK_RUNS`` and
``README_BLOCK_RUNS``).

A skip hides a test that did not run (a missing dependency, a missing data set) behind a green result, so
this hook turns any skip into a failing exit status and names the skipped tests.
"""

import contextlib
import dataclasses
import functools
import gzip
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from threadpoolctl import threadpool_limits

from npsoftmax import data
from npsoftmax.idx import write_idx

# One thread per process. pytest-xdist gives each worker one core; left alone, each worker's BLAS and PyTorch,
# and every command, notebook and benchmark it starts, would run a thread per core, and those threads would spin
# against the other worker's: about 30 s of the suite's CPU. The variables reach the children (and PyTorch, which
# the test modules import after this); threadpoolctl limits the BLAS this process has loaded already. No test
# asserts a thread count of the machine's: those that record one read it as threadpoolctl sees it.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
threadpool_limits(limits=1)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped)
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; every test must run: {names}", red=True)
        session.exitstatus = 1


# --- data sets for tests: synthetic files and their records, and the real Fashion-MNIST -------------------

REAL_DATA = Path("/usr/share/datasets/fashion-mnist")
REPO = Path(__file__).resolve().parents[1]


def synthetic_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ten separable classes: class c lights up rows 2c+2..2c+5 of the image, under noise."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, 28, 28))
    for c in range(10):
        images[labels == c, 2 * c + 2 : 2 * c + 6, 4:24] += 150
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.uint8)


def synthetic_dataset(folder: Path, arrays: list[np.ndarray], **fields) -> data.Dataset:
    """Write ``arrays`` (training images, labels, test images, labels) as IDX .gz files of Fashion-MNIST's names
    in ``folder``, and return Fashion-MNIST's record with those files pinned instead, and ``fields`` replaced."""
    files = []
    for spec, array in zip(data.FASHION_MNIST.files, arrays, strict=True):
        write_idx(folder / spec.gz_name, array)
        content = gzip.decompress((folder / spec.gz_name).read_bytes())
        files.append(spec._replace(sha256=hashlib.sha256(content).hexdigest(), shape=array.shape))
    return dataclasses.replace(data.FASHION_MNIST, files=tuple(files), **fields)


@pytest.fixture(scope="session")
def synthetic_files(tmp_path_factory) -> tuple[Path, data.Dataset]:
    """Four small IDX .gz files (2000 training, 500 test images) of Fashion-MNIST's names and shape in a folder,
    and the record that pins them."""
    folder = tmp_path_factory.mktemp("synthetic-mirror")
    rng = np.random.default_rng(0)
    return folder, synthetic_dataset(folder, [*synthetic_images(2000, rng), *synthetic_images(500, rng)])


def small_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four separable classes of 12x12 images: class c lights up rows 3c..3c+2, under noise."""
    labels = np.arange(n) % 4
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, 12, 12))
    for c in range(4):
        images[labels == c, 3 * c : 3 * c + 3, 2:10] += 150
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> tuple[Path, data.Dataset]:
    """A data set of another shape and class count (400 training and 100 test images of 12x12, 4 classes), its
    files in a folder, and its record; the record has no mirrors or system folder: give it yours with
    ``dataclasses.replace(record, mirrors=(url,))``, or pass ``mirrors=[folder]``."""
    folder = tmp_path_factory.mktemp("small-mirror")
    rng = np.random.default_rng(1)
    arrays = [*small_images(400, rng), *small_images(100, rng)]
    fields = {"name": "small", "title": "Small", "class_names": ("top", "upper", "lower", "bottom")}
    fields |= {"image_shape": (12, 12), "mirrors": (), "system_dir": None, "system_package": None, "homepage": None}
    return folder, synthetic_dataset(folder, arrays, **fields)


@pytest.fixture
def synthetic_data(synthetic_files, tmp_path, monkeypatch) -> Path:
    """The synthetic files pinned in place of the real ones, ``NPSOFTMAX_MIRRORS`` set to their folder and
    ``NPSOFTMAX_DATA`` to an empty data home in ``tmp_path``; returns the folder (do not modify it).

    Every default argument holds the one FASHION_MNIST record, so its ``files`` are replaced in place, for
    this test only: the one field that differs, whoever calls with the default.
    """
    folder, dataset = synthetic_files
    monkeypatch.setitem(vars(data.FASHION_MNIST), "files", dataset.files)
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", str(folder))
    monkeypatch.setenv("NPSOFTMAX_DATA", str(tmp_path / "data-home"))
    return folder


def verified_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new data home with the real Fashion-MNIST verified and cached: from Debian's copy (CI installs it), else
    from the user's own data home (the first ``python -m npsoftmax.train`` fills it), verified all the same."""
    mirrors = [REAL_DATA] if REAL_DATA.is_dir() else [data.get_data_home()]
    return data.download_fashion_mnist(tmp_path_factory.mktemp("fashion-mnist"), mirrors=mirrors, quiet=True)


@pytest.fixture(scope="session")
def fashion_mnist_home(tmp_path_factory) -> Path:
    """A data home with the real Fashion-MNIST verified and cached (:func:`verified_home`), for the session."""
    return verified_home(tmp_path_factory)


# --- the long runs on the real data that tests assert on: each run once per session, beside the tests --------

# name: the command after ``python -m``, as the README quotes it; the data and output flags are added
REAL_RUNS = {
    "default": ["npsoftmax.train"],
    "best": ["npsoftmax.train", "--preset", "best"],
    "naive_lr_100": ["npsoftmax.train", "--loss", "naive", "--lr", "100"],
    "lr_100": ["npsoftmax.train", "--lr", "100"],
    "hundred_epochs": ["npsoftmax.train", "--val-split", "0.1", "--epochs", "100"],
    "hundred_epochs_cosine": ["npsoftmax.train", "--val-split", "0.1", "--epochs", "100", "--schedule", "cosine"],
    "sweep": [
        *("npsoftmax.sweep", "--lr", "0.03", "0.1", "0.3", "--batch-size", "64", "256", "1024"),
        *("--epochs", "10", "--val-split", "0.1"),
    ],
}


# name: the notebook, executed by a real kernel in an empty working folder with the data home of a source
# checkout (the repository's data/fashion-mnist), as notebooks/execute.py runs it
NOTEBOOK_RUNS = {
    "chapter_notebook": "softmax_regression_scratch.ipynb",
    "beyond_notebook": "beyond_the_chapter.ipynb",
    "edition1_notebook": "softmax_regression_scratch_d2l1.ipynb",
}
EXECUTE_NOTEBOOK = """import pathlib, sys
import nbformat
sys.path.insert(0, sys.argv[1])
from execute import execute
source, cwd, executed = sys.argv[2:]
nb = nbformat.read(source, as_version=4)
execute(nb, pathlib.Path(cwd))
nbformat.write(nb, executed)
"""
# name: a word of the README's Python block that runs, alone in a fresh interpreter with the data home set
README_BLOCK_RUNS = {"sklearn_block": "SoftmaxClassifier(random_state=0).fit", "dask_block": "Incremental("}
RUN_ENV = os.environ | {"MPLBACKEND": "Agg"}
RUN_TIMEOUT = 1200  # seconds a test waits for its run, those before it in the queue included


def readme_python_blocks(text: str | None = None) -> list[str]:
    """The fenced Python blocks of the README (or of ``text``, a part of it)."""
    text = (REPO / "README.md").read_text() if text is None else text
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished run: its argument list, the folder it wrote into (a command's ``--out``, a notebook's working
    folder), its exit status and output, and the folder of its record (``executed.ipynb`` for a notebook)."""

    argv: list[str]
    folder: Path
    returncode: int
    stdout: str
    stderr: str
    record: Path

    def metrics(self) -> dict:
        return json.loads((self.folder / "metrics.json").read_text())


class RealRuns:
    """The long runs a session's tests need, run one after another by one shell in the background, in the order
    the tests first need them: while the tests run, the runs use the other core.

    Under pytest-xdist every worker collects every test, so each computes the same ``names``; they share ``root``
    (a folder of the test run), the first to take its lock starts the shell, and the others wait on its files.
    Each run writes its output into ``root/NAME`` and then, atomically, its exit status; :meth:`result` waits for
    that status. A run that no collected test declared (a fixture asked for by name inside a test) runs when it
    is first asked for, once. The last process of the test run to :meth:`close` kills the shell and its run, if
    still running.
    """

    def __init__(self, root: Path, home: Callable[[], Path], names: list[str], *, processes: int = 1) -> None:
        self.root, self.names, self.shell, self.processes = root, list(names), None, processes
        self._home = functools.cache(home)
        with FileLock(root / "shell.lock"):
            if names and not (root / "shell.pid").exists():
                steps = "\n".join([*(self._step(name) for name in names), f"touch {shlex.quote(str(root / 'ended'))}"])
                self.shell = subprocess.Popen(["sh", "-c", steps], cwd=root, env=RUN_ENV, start_new_session=True)
                (root / "shell.pid").write_text(str(self.shell.pid))

    def _step(self, name: str) -> str:
        """The shell line of a run: its command, its output into files, its exit status written last."""
        folder = self.root / name
        (folder / "out").mkdir(parents=True)  # --out, new; a notebook's or a block's working folder, empty
        (folder / "argv.json").write_text(json.dumps(self.argv(name)))  # the run's own, whoever waits for it
        out, err, status, cwd = (shlex.quote(str(folder / f)) for f in ("stdout", "stderr", "status", "out"))
        command = f"(cd {cwd} && {shlex.join(self.argv(name))})"
        return f"{command} >{out} 2>{err}; echo $? >{status}.part; mv {status}.part {status}"

    def argv(self, name: str) -> list[str]:
        folder = self.root / name / "out"
        if name in NOTEBOOK_RUNS:
            notebooks, data_home = REPO / "notebooks", REPO / "data" / "fashion-mnist"
            argv = [sys.executable, "-c", EXECUTE_NOTEBOOK, str(notebooks), str(notebooks / NOTEBOOK_RUNS[name])]
            return ["env", f"NPSOFTMAX_DATA={data_home}", *argv, str(folder), str(self.root / name / "executed.ipynb")]
        if name in README_BLOCK_RUNS:
            (block,) = [b for b in readme_python_blocks() if README_BLOCK_RUNS[name] in b]
            return ["env", f"NPSOFTMAX_DATA={self._home()}", sys.executable, "-c", block]
        home = ["--data-dir", str(self._home()), "--no-download"]
        return [sys.executable, "-m", *REAL_RUNS[name], *home, "--out", str(folder)]

    def result(self, name: str) -> Run:
        folder = self.root / name
        if name not in self.names:
            with FileLock(self.root / f"{name}.lock"):
                if not (folder / "status").exists():
                    step = self._step(name)
                    subprocess.run(["sh", "-c", step], cwd=self.root, env=RUN_ENV, timeout=RUN_TIMEOUT)
        status, deadline = folder / "status", time.monotonic() + RUN_TIMEOUT
        while not status.exists():
            running = (self.root / "shell.pid").exists() and not (self.root / "ended").exists()
            assert running or status.exists(), f"the shell ended before {name} did"
            assert time.monotonic() < deadline, f"{name} has not ended in {RUN_TIMEOUT} s"
            time.sleep(0.05)
        files = ("stdout", "stderr", "status", "argv.json")
        text = {f: (folder / f).read_text(encoding="utf-8", errors="replace") for f in files}
        argv = json.loads(text["argv.json"])
        return Run(argv, folder / "out", int(text["status"]), text["stdout"], text["stderr"], folder)

    def close(self) -> None:
        with FileLock(self.root / "shell.lock"):
            closed = self.root / "closed"
            closed.write_text(closed.read_text() + "x" if closed.exists() else "x")
            last = len(closed.read_text()) == self.processes
            shell = self.root / "shell.pid"
            if last and shell.exists() and not (self.root / "ended").exists():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(shell.read_text()), signal.SIGKILL)
        if self.shell is not None and (last or self.shell.poll() is not None):
            self.shell.wait()


@pytest.fixture(scope="session", autouse=True)
def real_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRuns]:
    """Starts, before the first test, the long runs that the collected tests declare (through the ``NAME_run``
    fixtures), in the order they first need them; once for the test run, under pytest-xdist too."""
    needed = [f"{name}_run" for name in [*REAL_RUNS, *NOTEBOOK_RUNS, *README_BLOCK_RUNS]]
    first_use = {}
    for index, item in enumerate(request.session.items):
        for fixture in set(needed) & set(item.fixturenames):
            first_use.setdefault(fixture.removesuffix("_run"), index)
    worker = getattr(request.config, "workerinput", None)  # set in a pytest-xdist worker
    if worker is None:
        root, processes = tmp_path_factory.mktemp("real-runs"), 1
    else:  # beside the workers' own temporary folders, in the test run's
        root = tmp_path_factory.getbasetemp().parent / f"real-runs-{worker['testrunuid']}"
        root.mkdir(exist_ok=True)
        processes = worker["workercount"]
    try:
        home = request.getfixturevalue("fashion_mnist_home") if first_use else None
    except Exception:  # no real data: nothing in the background, and each test that needs a run fails itself
        first_use = {}
    if first_use:
        runs = RealRuns(root, lambda: home, sorted(first_use, key=first_use.get), processes=processes)
    else:  # runs asked for by name only: a data home of their own, verified when the first needs it
        runs = RealRuns(root, lambda: verified_home(tmp_path_factory), [], processes=processes)
    yield runs
    runs.close()


def _real_run_fixture(name: str) -> Callable[[RealRuns], Run]:
    """The session fixture ``NAME_run``: the run, waited for."""

    def fixture(real_runs: RealRuns) -> Run:
        return real_runs.result(name)

    if name in NOTEBOOK_RUNS:
        what = f"notebooks/{NOTEBOOK_RUNS[name]}"
    elif name in README_BLOCK_RUNS:
        what = f"the README's Python block with {README_BLOCK_RUNS[name]!r}"
    else:
        what = f"``python -m {shlex.join(REAL_RUNS[name])}``"
    fixture.__doc__ = f"{what} on the real data, run once per session."
    return pytest.fixture(scope="session", name=f"{name}_run")(fixture)


globals().update({f"_{name}_run": _real_run_fixture(name) for name in [*REAL_RUNS, *NOTEBOOK_RUNS, *README_BLOCK_RUNS]})
