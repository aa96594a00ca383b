"""SoftmaxClassifier on Dask: dask-ml's ``Incremental`` streams a chunked array, block by block, through
``partial_fit`` on a ``LocalCluster`` of two worker processes, and gives what the same calls give in one process;
the streaming benchmark's report follows from its own measurements."""

from __future__ import annotations

import json
import multiprocessing.forkserver
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from _dask import load_block
from _processes import popen_interruptible

import npsoftmax as nps
from npsoftmax.sklearn import SoftmaxClassifier

if TYPE_CHECKING:  # imported where used: every pytest-xdist worker collects this module, one runs it
    import dask.array as da
    from dask.distributed import Client

N_TRAIN, N_TEST, BLOCK_ROWS = 12_000, 2_000, 1_500
# one worker for the module under pytest-xdist: the cluster is started once
pytestmark = pytest.mark.xdist_group("dask")
# what the workers unpickle and run, imported once by the server they are forked from
WORKER_MODULES = ["distributed", "dask.array", "dask_ml._partial", "npsoftmax.sklearn", "_dask"]


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, so each model really travels between processes (the dashboard on
    any free port: another cluster, such as the README block's, may hold the default one). The workers are forked
    from a server that has imported what they run, as in distributed's own tests: a worker spawned anew would
    import scikit-learn again, some 3 CPU seconds each, and a killed one is replaced."""
    import dask
    from dask.distributed import Client, LocalCluster
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context().set_forkserver_preload(WORKER_MODULES)
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GiB", dashboard_address=":0") as cluster,
            Client(cluster) as client,
        ):
            yield client
    multiprocessing.forkserver._forkserver._stop()  # reaped now, so its CPU is this process's


@pytest.fixture(scope="module")
def blocks(fashion_mnist_home):
    """``(X, y, X_test, y_test)``: the first real training images as float32 pixels in [0, 1], and labels."""
    images, labels, test_images, test_labels = nps.load_fashion_mnist(fashion_mnist_home, download=False)

    def as_pixels(a: np.ndarray) -> np.ndarray:
        return a.reshape(len(a), -1).astype(np.float32) / np.float32(255)

    return as_pixels(images[:N_TRAIN]), labels[:N_TRAIN], as_pixels(test_images[:N_TEST]), test_labels[:N_TEST]


def on_the_workers(client: Client, a: np.ndarray) -> da.Array:
    """``a`` as a dask array of ``BLOCK_ROWS``-row blocks held by the workers, as data read by the cluster is."""
    import dask
    import dask.array as da

    pieces = [a[start : start + BLOCK_ROWS] for start in range(0, len(a), BLOCK_ROWS)]
    # Keys of their own, not the data's hash: the same blocks scattered by the test before are being released.
    futures = client.scatter(pieces, hash=False)
    return da.concatenate(
        [da.from_delayed(dask.delayed(f), p.shape, a.dtype) for f, p in zip(futures, pieces, strict=True)]
    )


def test_the_streaming_benchmark_reports_what_it_measured(fashion_mnist_home, tmp_path) -> None:
    out = tmp_path / "results"
    argv = ["--examples", "30000", "--block-rows", "5000", "--workers", "1", "--worker-memory", "600MiB"]
    bench = Path(__file__).parents[1] / "benchmarks" / "bench_dask.py"
    subprocess.run(
        [sys.executable, str(bench), *argv, "--data-dir", str(fashion_mnist_home), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in out.iterdir()) == ["results-dask.json", "results-dask.md"]  # no temporaries
    (run,) = json.loads((out / "results-dask.json").read_text())["runs"]
    assert (run["examples"], run["blocks"], run["partial_fit_calls"], run["n_iter"]) == (30000, 6, 6, 6)
    assert run["examples_per_second"] == pytest.approx(run["examples"] / run["wall_seconds"])
    assert run["partial_fit_seconds"] < run["wall_seconds"]
    assert run["array_gb"] == pytest.approx(30000 * 784 * 4 / 2**30)
    (memory,) = run["worker_memory_mb"].values()
    assert memory["baseline_rss_mb"] < memory["peak_mb"] < 600
    assert 0.6 < run["test_acc"] < 0.9
    assert f"| {run['test_acc']:.4f} |" in (out / "results-dask.md").read_text()


# Ctrl-C arrives while the cluster trains: the benchmark run as a script whose worker, making the second block
# (the first is made, and the fit waits on it), sends it to the benchmark's process, its parent.
CTRL_C_IN_TRAINING = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import bench_dask
make_block = bench_dask.augmented_pixels
def make_block_then_ctrl_c(root, rows, block_id):
    if block_id[0] == 1:
        os.kill(os.getppid(), signal.SIGINT)
    return make_block(root, rows, block_id)
bench_dask.augmented_pixels = make_block_then_ctrl_c
if __name__ == "__main__":
    sys.exit(bench_dask.main(sys.argv[2:]))
"""


def test_the_streaming_benchmark_stopped_by_ctrl_c_writes_nothing_and_exits_130(fashion_mnist_home, tmp_path) -> None:
    script, out = tmp_path / "ctrl_c_in_training.py", tmp_path / "results"
    script.write_text(CTRL_C_IN_TRAINING)
    argv = ["--examples", "30000", "--block-rows", "5000", "--workers", "1", "--worker-memory", "600MiB"]
    argv += ["--data-dir", str(fashion_mnist_home), "--out", str(out)]
    bench_dir = Path(__file__).parents[1] / "benchmarks"
    proc = popen_interruptible(
        [sys.executable, str(script), str(bench_dir), *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and stderr == "bench_dask: interrupted; nothing written\n", stderr
    assert stdout == "" and not out.exists()


# Ctrl-C arrives while the cluster's worker starts: the benchmark run as a script whose nanny sends it mid-start.
CTRL_C_IN_WORKER_START = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import distributed.nanny
start = distributed.nanny.Nanny.start_unsafe
async def start_then_ctrl_c(self):
    os.kill(os.getpid(), signal.SIGINT)
    return await start(self)
distributed.nanny.Nanny.start_unsafe = start_then_ctrl_c
import bench_dask
if __name__ == "__main__":
    sys.exit(bench_dask.main(sys.argv[2:]))
"""


def test_ctrl_c_while_the_cluster_starts_ends_in_one_line_not_an_exit_handlers_traceback(
    fashion_mnist_home, tmp_path
) -> None:
    script, out = tmp_path / "ctrl_c_in_worker_start.py", tmp_path / "results"
    script.write_text(CTRL_C_IN_WORKER_START)
    argv = ["--examples", "30000", "--block-rows", "5000", "--workers", "1", "--worker-memory", "600MiB"]
    argv += ["--data-dir", str(fashion_mnist_home), "--out", str(out)]
    bench_dir = Path(__file__).parents[1] / "benchmarks"
    proc = subprocess.run(
        [sys.executable, str(script), str(bench_dir), *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert (proc.returncode, proc.stderr) == (130, "bench_dask: interrupted; nothing written\n")
    assert proc.stdout == "" and not out.exists()


# The module's cluster starts with the first test below and stops with the module: these come after the
# benchmark's runs, so that its idle workers do not poll beside them.
def test_incremental_passes_the_model_from_block_to_block(client, blocks) -> None:
    from dask_ml.wrappers import Incremental

    X, y, X_test, y_test = blocks
    dX, dy = on_the_workers(client, X), on_the_workers(client, y)
    assert len(client.has_what()) == 2 and all(client.has_what().values()), "both workers hold blocks"
    classes = np.arange(10)

    inc = Incremental(SoftmaxClassifier(random_state=0), shuffle_blocks=False)
    for _ in range(2):  # each Incremental.partial_fit is one pass over the blocks
        inc.partial_fit(dX, dy, classes=classes)

    # In one process: the same partial_fit calls on the same blocks, in the same order.
    local = SoftmaxClassifier(random_state=0)
    for _ in range(2):
        for start in range(0, N_TRAIN, BLOCK_ROWS):
            local.partial_fit(X[start : start + BLOCK_ROWS], y[start : start + BLOCK_ROWS], classes=classes)

    model = inc.estimator_
    assert model.n_iter_ == local.n_iter_ == 2 * N_TRAIN // BLOCK_ROWS
    np.testing.assert_allclose(model.coef_, local.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, local.intercept_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.loss_curve_, local.loss_curve_, rtol=1e-6)

    # Prediction on a dask array runs block by block on the cluster too.
    dX_test = on_the_workers(client, X_test)
    np.testing.assert_array_equal(inc.predict(dX_test).compute(), local.predict(X_test))
    assert inc.score(dX_test, on_the_workers(client, y_test)) > 0.75


def test_incremental_fit_shuffles_the_blocks_and_learns(client, blocks) -> None:
    from dask_ml.wrappers import Incremental

    X, y, X_test, y_test = blocks
    dX, dy = on_the_workers(client, X), on_the_workers(client, y)
    inc = Incremental(SoftmaxClassifier(random_state=0), random_state=0).fit(dX, dy, classes=np.arange(10))
    first_pass = inc.estimator_.loss_curve_
    for _ in range(2):
        inc.partial_fit(dX, dy)  # classes_ is known from here on
    model = inc.estimator_
    assert model.classes_.tolist() == list(range(10)) and model.coef_.shape == (10, 784)
    assert model.n_iter_ == 3 * N_TRAIN // BLOCK_ROWS
    assert np.mean(model.loss_curve_[-len(first_pass) :]) < np.mean(first_pass)
    assert model.score(X_test, y_test) > 0.75


def test_nan_in_the_stream_is_refused_and_the_model_keeps_the_blocks_before(client, blocks) -> None:
    from dask_ml.wrappers import Incremental

    X, y, X_test, _ = blocks
    dy, classes = on_the_workers(client, y), np.arange(10)
    inc = Incremental(SoftmaxClassifier(random_state=0), shuffle_blocks=False).partial_fit(
        on_the_workers(client, X), dy, classes=classes
    )
    before = inc.estimator_
    proba = before.predict_proba(X_test)
    dirty = X.copy()
    dirty[5 * BLOCK_ROWS + 7, 100] = np.nan  # in the sixth block: five are trained on before it arrives
    with pytest.raises(ValueError, match="NaN"):
        inc.partial_fit(on_the_workers(client, dirty), dy)
    assert inc.estimator_ is before and before.n_iter_ == N_TRAIN // BLOCK_ROWS
    np.testing.assert_array_equal(inc.estimator_.predict_proba(X_test), proba)

    # The stream goes on from the model before the refused pass, as in one process.
    inc.partial_fit(on_the_workers(client, X), dy)
    local = SoftmaxClassifier(random_state=0)
    for _ in range(2):
        for start in range(0, N_TRAIN, BLOCK_ROWS):
            local.partial_fit(X[start : start + BLOCK_ROWS], y[start : start + BLOCK_ROWS], classes=classes)
    np.testing.assert_allclose(inc.estimator_.coef_, local.coef_, rtol=0, atol=1e-6)
    assert inc.estimator_.n_iter_ == local.n_iter_


def test_a_worker_killed_mid_stream_changes_nothing(client, fashion_mnist_home, blocks, tmp_path) -> None:
    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, y, _, _ = blocks
    die_at = 4 * BLOCK_ROWS  # four blocks are trained on when the fifth's worker dies
    pieces = [
        da.from_delayed(
            dask.delayed(load_block)(
                str(fashion_mnist_home), start, BLOCK_ROWS, str(tmp_path / "died") if start == die_at else None
            ),
            (BLOCK_ROWS, 784),
            np.float32,
        )
        for start in range(0, N_TRAIN, BLOCK_ROWS)
    ]
    dX, dy = da.concatenate(pieces), da.from_array(y, chunks=BLOCK_ROWS)
    workers = set(client.scheduler_info()["workers"])
    inc = Incremental(SoftmaxClassifier(momentum=0.9, random_state=0), shuffle_blocks=False)
    inc.partial_fit(dX, dy, classes=np.arange(10))
    assert (tmp_path / "died").exists(), "a worker was killed"

    local = SoftmaxClassifier(momentum=0.9, random_state=0)
    for start in range(0, N_TRAIN, BLOCK_ROWS):
        local.partial_fit(X[start : start + BLOCK_ROWS], y[start : start + BLOCK_ROWS], classes=np.arange(10))
    assert inc.estimator_.n_iter_ == local.n_iter_ == N_TRAIN // BLOCK_ROWS
    np.testing.assert_allclose(inc.estimator_.coef_, local.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(inc.estimator_.loss_curve_, local.loss_curve_, rtol=1e-6)

    # The scheduler let the dead worker go before it gave its block to another; its nanny starts a new one.
    client.wait_for_workers(2, timeout=120)
    assert len(set(client.scheduler_info()["workers"]) - workers) == 1, "a new worker in the killed one's place"
