"""Streaming SoftmaxClassifier through dask-ml's ``Incremental`` on a ``LocalCluster``, on more data than a worker
may hold.

Run from the repository root::

    python benchmarks/bench_dask.py                      # -> bench-results/results-dask.{json,md}
    python benchmarks/bench_dask.py --write-results      # -> benchmarks/results-dask.{json,md}
    python benchmarks/bench_dask.py --examples 200000    # a shorter run

The training array is made lazily, block by block, on the workers: each block draws ``--block-rows`` of the
real Fashion-MNIST training images (memory-mapped from the data home each worker reads), shifts each image by
up to one pixel in each direction, and scales it to float32 in [0, 1]. The whole array (``--examples`` rows of
784 float32, 3.1 KB each) is several times the memory each worker may use (``--worker-memory``), and no process
ever holds it. ``Incremental(SoftmaxClassifier()).fit`` passes the model from block to block: one
``partial_fit``, that is one epoch of minibatches of 256, per block, one block after the other.

One run per ``--workers`` value, each on a fresh ``LocalCluster``. With one worker, blocks are made and trained
on in turn. With more, the training is still one block at a time, and the idle workers make blocks ahead of
it; dask spills those to disk once a worker passes 60% of its limit, and the table counts the reads back.

Each run reports examples per second (the whole fit's wall time, the making of the blocks included, and the
``partial_fit`` calls alone, from the cluster's task stream), how many ``partial_fit`` calls ran on the worker
that made their block, the peak resident memory of each worker process (``VmHWM``), and the model's accuracy
on the real test set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from typing import Any

import harness
import numpy as np

SHIFT, SEED = 1, 0


def _draws(index: int, rows: int, n_images: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block ``index``'s images (sorted: the memory map is read front to back) and each one's shift."""
    rng = np.random.default_rng([SEED, index])
    picks = np.sort(rng.integers(0, n_images, rows))
    dy, dx = rng.integers(0, 2 * SHIFT + 1, size=(2, rows))
    return picks, dy, dx


def augmented_pixels(root: str | None, rows: int, block_id: tuple[int, int]) -> np.ndarray:
    """Block ``block_id[0]``: ``rows`` random training images, each shifted by up to ``SHIFT`` pixels in each
    direction, as float32 (rows, 784) in [0, 1]. Runs on a worker, reading the data home's memory map."""
    import npsoftmax as nps

    images = nps.load_fashion_mnist(root, download=False)[0]
    picks, dy, dx = _draws(block_id[0], rows, len(images))
    padded = np.pad(images[picks], ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (28, 28), axis=(1, 2))
    X = windows[np.arange(rows), dy, dx].reshape(rows, 784).astype(np.float32)
    X *= np.float32(1 / 255)  # in place, as the chapter's loader scales its batches: one float array per block
    return X


def augmented_labels(root: str | None, rows: int, block_id: tuple[int]) -> np.ndarray:
    """The labels of :func:`augmented_pixels`'s block ``block_id[0]``, int64 (rows,)."""
    import npsoftmax as nps

    labels = nps.load_fashion_mnist(root, download=False)[1]
    return labels[_draws(block_id[0], rows, len(labels))[0]].astype(np.int64)


def worker_memory() -> dict[str, float]:
    """This process's resident memory now and at its peak, MB (``/proc/self/status``)."""
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {name: int(fields[key].split()[0]) / 1024 for name, key in (("rss_mb", "VmRSS"), ("peak_mb", "VmHWM"))}


def run(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """One ``Incremental(...).fit`` over the whole array on a new cluster of ``workers`` processes."""
    import dask.array as da
    from dask.distributed import Client, LocalCluster, get_task_stream
    from dask.utils import parse_bytes
    from dask_ml.wrappers import Incremental

    import npsoftmax as nps
    from npsoftmax._signals import held, stop_on_signals
    from npsoftmax.sklearn import SoftmaxClassifier

    n_blocks = -(-args.examples // args.block_rows)
    examples = n_blocks * args.block_rows
    memory_limit = parse_bytes(args.worker_memory)
    with contextlib.ExitStack() as cluster_open:
        # A signal is held while the cluster starts, then raised: a cluster stopped half-way through its start
        # has workers that distributed cannot close, and its exit handler would print a traceback.
        with stop_on_signals(), held():
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                memory_limit=memory_limit,
                dashboard_address=":0",  # any free port: another cluster may hold the default one
                silence_logs=logging.CRITICAL,  # Ctrl-C cancels tasks, and each worker would log each of them
            )
            cluster_open.enter_context(cluster)
            client = cluster_open.enter_context(Client(cluster))
        client.run(__import__, "npsoftmax.sklearn")  # imported before the baseline memory is read
        before = client.run(worker_memory)
        # One task per block and array, nothing else: no alias of a block for dask to count (and spill) twice.
        rows = (args.block_rows,) * n_blocks
        X = da.map_blocks(augmented_pixels, args.data_dir, args.block_rows, chunks=(rows, (784,)), dtype=np.float32)
        y = da.map_blocks(augmented_labels, args.data_dir, args.block_rows, chunks=(rows,), dtype=np.int64)
        inc = Incremental(SoftmaxClassifier(random_state=SEED), random_state=SEED)
        with get_task_stream(client) as stream:
            start = time.perf_counter()
            inc.fit(X, y, classes=np.arange(10))
            wall = time.perf_counter() - start
        after = client.run(worker_memory)

    made_on = {}
    fit_seconds, local_fits, fits = 0.0, 0, []
    disk_reads = sum(any(s["action"] == "disk-read" for s in task["startstops"]) for task in stream.data)
    for task in stream.data:
        if task["key"][0].startswith("augmented_pixels"):
            made_on[task["key"][1]] = task["worker"]
    for task in stream.data:
        if task["key"][0].startswith("fit-") and task["key"][1] >= 0:
            fits.append(task)
            fit_seconds += sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
            local_fits += not any(s["action"] == "transfer" for s in task["startstops"])
    _, _, test_images, test_labels = nps.load_fashion_mnist(args.data_dir, download=False)
    test_acc = inc.estimator_.score(test_images.reshape(-1, 784) / 255, test_labels)
    return {
        "examples": examples,
        "blocks": n_blocks,
        "block_rows": args.block_rows,
        "block_mb": args.block_rows * 784 * 4 / 2**20,
        "array_gb": examples * 784 * 4 / 2**30,
        "workers": workers,
        "worker_memory_limit_mb": memory_limit / 2**20,
        "wall_seconds": wall,
        "examples_per_second": examples / wall,
        "partial_fit_seconds": fit_seconds,
        "partial_fit_examples_per_second": examples / fit_seconds,
        "partial_fit_calls": len(fits),
        "partial_fit_calls_without_transfer": local_fits,
        "workers_that_made_blocks": len(set(made_on.values())),
        "tasks_reading_spilled_data": disk_reads,
        "worker_memory_mb": {
            address: {"baseline_rss_mb": before[address]["rss_mb"], "peak_mb": after[address]["peak_mb"]}
            for address in sorted(after)
        },
        "test_acc": float(test_acc),
        "n_iter": inc.estimator_.n_iter_,
    }


def markdown(report: dict[str, Any]) -> str:
    runs = report["runs"]
    first = runs[0]
    ratio = first["array_gb"] * 1024 / first["worker_memory_limit_mb"]

    def row(what: str, cell) -> str:
        return f"| {what} | " + " | ".join(cell(r) for r in runs) + " |"

    lines = [
        *harness.markdown_head(
            "SoftmaxClassifier on Dask: Incremental over an array larger than a worker's memory", report
        ),
        "",
        f"The array: {first['examples']:,} augmented Fashion-MNIST images, float32, {first['array_gb']:.2f} GB "
        f"({ratio:.1f}x a worker's memory limit of {first['worker_memory_limit_mb']:.0f} MB), in {first['blocks']} "
        f"blocks of {first['block_rows']:,} rows ({first['block_mb']:.1f} MB), made lazily on the workers. "
        f"Worker processes have one thread each.",
        "",
        "| measured | " + " | ".join(f"{r['workers']} worker(s)" for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
        row("wall time of `Incremental(...).fit`, s", lambda r: f"{r['wall_seconds']:.1f}"),
        row("examples per second, whole fit (blocks made on the fly)", lambda r: f"{r['examples_per_second']:,.0f}"),
        row("examples per second, `partial_fit` calls alone", lambda r: f"{r['partial_fit_examples_per_second']:,.0f}"),
        row(
            "`partial_fit` calls on the worker that made their block",
            lambda r: f"{r['partial_fit_calls_without_transfer']} of {r['partial_fit_calls']}",
        ),
        row(
            "peak memory per worker, MB",
            lambda r: ", ".join(f"{m['peak_mb']:.0f}" for m in r["worker_memory_mb"].values()),
        ),
        row(
            "memory per worker after imports, MB",
            lambda r: ", ".join(f"{m['baseline_rss_mb']:.0f}" for m in r["worker_memory_mb"].values()),
        ),
        row("tasks that read data a worker had spilled to disk", lambda r: str(r["tasks_reading_spilled_data"])),
        row("test accuracy after one pass (one epoch per block)", lambda r: f"{r['test_acc']:.4f}"),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = harness.ArgumentParser(
        "bench_dask.py", "benchmarks/results-dask.{json,md}", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--examples", type=int, default=2_000_000, help="rows of the array (default 2,000,000)")
    parser.add_argument("--block-rows", type=int, default=10_000, help="rows per block (default 10,000)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="worker processes, one run per value (default: 1 2)"
    )
    parser.add_argument("--worker-memory", default="1GiB", help="memory limit of each worker (default 1GiB)")
    parser.add_argument("--data-dir", default=None, help="where Fashion-MNIST is (default: the data home)")
    args = parser.parse_args(argv)
    for name in ("examples", "block_rows"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.workers) < 1:
        parser.error("--workers must be at least 1")

    def work() -> dict[str, str]:
        # Ctrl-C leaves the client's gathering task unretrieved, which asyncio would log with a traceback.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        harness.load_fashion_mnist(args.data_dir, download=args.data_dir is None)  # cached before the workers read it
        loadavg_start = harness.load_average()
        runs = [run(args, workers) for workers in args.workers]
        report = {
            "command": harness.command("bench_dask.py", argv),
            "machine": harness.machine_line(["scikit-learn", "dask", "dask-ml"]),
            "loadavg_start": loadavg_start,
            "loadavg_end": harness.load_average(),
            "runs": runs,
        }
        print(markdown(report))
        return {"results-dask.json": json.dumps(report, indent=2) + "\n", "results-dask.md": markdown(report)}

    return harness.run("bench_dask", args.out, work)


if __name__ == "__main__":
    sys.exit(main())
