"""Softmax regression with many classes: one epoch's time and memory against the number of classes k.

The large-vocabulary exercise of d2l 3.6 / 4.4: what happens to softmax regression when there are not 10 classes
but 100,000, as in language modelling? Run from the repository root::

    python benchmarks/bench_classes.py                    # about 2 minutes -> bench-results/classes.{json,md}
    python benchmarks/bench_classes.py --quick --out DIR  # seconds -> DIR/classes-quick.{json,md}
    python benchmarks/bench_classes.py --write-results    # replaces the committed benchmarks/classes.{json,md}

The results go into ``--out`` (default ``bench-results/``, git-ignored); only ``--write-results`` replaces the
files committed beside this script.

Synthetic data, about a sixth of Fashion-MNIST: n = 10,240 examples (40 batches of 256) of d = 784 float32
features, labels uniform over k classes, W of shape (784, k): 314 MB (299 MiB) at k = 100,000, the largest array
in memory with its gradient. One training step is npsoftmax's own, ``loss_and_grad(..., check_input=False)`` and
``SGD.step``, on one BLAS thread as the training loop runs it. After a warm-up batch, every batch of one epoch is
timed, unless they exceed the time budget (``--quick`` only): then the epoch is the mean of the batches timed
times the number of batches.

Three tables:

1. Epoch time and memory against k: the parameters W and b, the peak of the arrays one step allocates
   (``tracemalloc``: logits, log-probabilities, dlogits, dW and temporaries), and the process's peak RSS.
2. Where a step's time goes: ``npsoftmax.loss_and_grad`` and ``SGD.step`` timed whole, and the two GEMMs
   inside ``loss_and_grad`` (``(n, d) @ (d, k)`` forward and ``(d, n) @ (n, k)`` backward, each 2·n·d·k flops)
   timed as plain matrix products of those shapes. The softmax part (adding b, log-softmax, the loss, ``exp``,
   subtracting the one-hot, ``db``: elementwise on the (n, k) logits) is the whole call minus the GEMMs; the
   update is elementwise on the (d, k) weights.
3. The cross-entropy of a batch of logits by its textbook definition, ``-sum_j onehot(y)_j log(yhat_j)`` with an
   explicit one-hot matrix and ``yhat = softmax(logits)`` (:func:`textbook_cross_entropy`), against
   ``npsoftmax.cross_entropy`` (log-softmax, then ``log_probs[rows, y]``, no one-hot), with the largest
   difference between the two losses.
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

import harness
import numpy as np
from threadpoolctl import threadpool_limits

import npsoftmax as nps

N_FEATURES, BATCH_SIZE, LR, SEED = 784, 256, 0.1, 0
# Each microsecond timing is repeated at least ``repeats`` times and until it adds up to ``min_seconds``.
FULL = {"classes": [10, 100, 1_000, 10_000, 100_000], "n_examples": 10_240, "budget_seconds": 60.0}
FULL |= {"repeats": 5, "min_seconds": 0.2}
QUICK = {"classes": [10, 100, 1_000, 2_000], "n_examples": 2_048, "budget_seconds": 0.5}
QUICK |= {"repeats": 2, "min_seconds": 0.02}
MIN_TIMED_BATCHES = 3
MAX_REPEATS = 2_000
MIB = 2**20
PARTS = ("gemms", "softmax", "update")


# ---------------------------------------------------------------------------------------------------------
# One epoch, its memory, and its parts.


def make_problem(n_examples: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_examples`` (a multiple of the batch size) random images and labels uniform over ``k`` classes."""
    X = rng.random((n_examples, N_FEATURES), dtype=np.float32)
    y = rng.integers(0, k, size=n_examples)
    return X, y


def make_model(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, nps.SGD]:
    W = rng.normal(0, 0.01, size=(N_FEATURES, k)).astype(np.float32)
    b = np.zeros(k, dtype=np.float32)
    return W, b, nps.SGD([W, b], lr=LR)


def train_step(X: np.ndarray, y: np.ndarray, W: np.ndarray, b: np.ndarray, updater: nps.SGD) -> float:
    loss, dW, db = nps.loss_and_grad(X, y, W, b, check_input=False)
    updater.step((dW, db))
    return float(loss)


def time_epoch(X: np.ndarray, y: np.ndarray, k: int, budget_seconds: float, rng: np.random.Generator) -> dict:
    """Seconds of one epoch of batches of 256 (extrapolated from the first batches when k is large)."""
    W, b, updater = make_model(k, rng)
    starts = range(0, len(X), BATCH_SIZE)
    batches_per_epoch = len(starts)
    train_step(X[:BATCH_SIZE], y[:BATCH_SIZE], W, b, updater)  # warm-up: first-touch of the arrays
    seconds: list[float] = []
    for start in starts:
        begin = time.perf_counter()
        train_step(X[start : start + BATCH_SIZE], y[start : start + BATCH_SIZE], W, b, updater)
        seconds.append(time.perf_counter() - begin)
        if len(seconds) >= MIN_TIMED_BATCHES and sum(seconds) > budget_seconds:
            break
    return {
        "batches_per_epoch": batches_per_epoch,
        "batches_timed": len(seconds),
        "batch_seconds_median": statistics.median(seconds),
        "epoch_seconds": statistics.mean(seconds) * batches_per_epoch,
    }


def step_memory(X: np.ndarray, y: np.ndarray, k: int, rng: np.random.Generator) -> dict:
    """Bytes of the parameters, and the peak of the arrays one training step allocates beyond them."""
    W, b, updater = make_model(k, rng)
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    train_step(X[:BATCH_SIZE], y[:BATCH_SIZE], W, b, updater)
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    return {"params_mib": (W.nbytes + b.nbytes) / MIB, "step_peak_mib": peak / MIB}


def median_seconds(function: Callable[[], object], repeats: int, min_seconds: float) -> float:
    """Median seconds of ``function()`` after one warm-up call, over at least ``repeats`` calls and
    ``min_seconds``."""
    function()
    seconds: list[float] = []
    while len(seconds) < MAX_REPEATS and (len(seconds) < repeats or sum(seconds) < min_seconds):
        begin = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - begin)
    return statistics.median(seconds)


def time_parts(
    X: np.ndarray, y: np.ndarray, k: int, repeats: int, rng: np.random.Generator, min_seconds: float
) -> dict:
    """Median seconds per batch of a step's parts: the two GEMMs, the rest of ``loss_and_grad``, the update.

    ``npsoftmax.loss_and_grad`` and ``SGD.step`` are timed whole. The GEMMs are timed on their own, as plain
    matrix products of the shapes and memory layouts ``loss_and_grad`` multiplies: ``(n, d) @ (d, k)`` and the
    transposed view of the batch, ``(d, n) @ (n, k)``. A GEMM's time does not depend on the values, so the
    second one multiplies a random (n, k) matrix, not this step's gradient. The softmax part is the whole call
    minus the two GEMMs, floored at 0 so that timing noise cannot make a share negative.
    """
    W, b, updater = make_model(k, rng)
    Xb, yb = X[:BATCH_SIZE], y[:BATCH_SIZE]
    upstream = rng.random((BATCH_SIZE, k), dtype=np.float32)
    _, dW, db = nps.loss_and_grad(Xb, yb, W, b, check_input=False)
    forward_gemm = median_seconds(lambda: np.matmul(Xb, W), repeats, min_seconds)
    backward_gemm = median_seconds(lambda: np.matmul(Xb.T, upstream), repeats, min_seconds)
    whole = median_seconds(lambda: nps.loss_and_grad(Xb, yb, W, b, check_input=False), repeats, min_seconds)
    update = median_seconds(lambda: updater.step((dW, db)), repeats, min_seconds)
    gemms = forward_gemm + backward_gemm
    medians = {"gemms": gemms, "softmax": max(whole - gemms, 0.0), "update": update}
    total = sum(medians.values())
    gemm_flops = 2 * 2 * BATCH_SIZE * N_FEATURES * k
    return {
        "loss_and_grad_seconds": whole,
        **{f"{name}_seconds": seconds for name, seconds in medians.items()},
        **{f"{name}_share": seconds / total for name, seconds in medians.items()},
        "gemm_gflops_per_second": gemm_flops / gemms / 1e9,
    }


# ---------------------------------------------------------------------------------------------------------
# The cross-entropy by its textbook definition, with a one-hot matrix, against npsoftmax's.


def textbook_cross_entropy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The textbook definition ``-sum_j onehot(y)_j log(yhat_j)`` per example, with ``yhat = softmax(logits)``.

    Parameters
    ----------
    logits : ndarray of shape (n, k)
    y : ndarray of int, shape (n,)

    Returns
    -------
    ndarray of shape (n,), in the dtype of ``logits``
        The one-hot matrix ``Y`` (n, k) is built explicitly, which ``npsoftmax.cross_entropy`` never does.
    """
    Y = np.zeros_like(logits)
    Y[np.arange(len(y)), y] = 1
    return -(Y * np.log(nps.softmax(logits))).sum(axis=1)


def compare_cross_entropies(k: int, repeats: int, rng: np.random.Generator, min_seconds: float) -> dict:
    """Time and values of :func:`textbook_cross_entropy` against ``npsoftmax.cross_entropy`` on (256, k) logits."""
    logits = rng.normal(0, 3, size=(BATCH_SIZE, k)).astype(np.float32)
    y = rng.integers(0, k, size=BATCH_SIZE)
    one_hot, fused = textbook_cross_entropy(logits, y), nps.cross_entropy(logits, y, reduction="none")
    exact = nps.cross_entropy(logits.astype(np.float64), y, reduction="none")
    one_hot_seconds = median_seconds(lambda: textbook_cross_entropy(logits, y), repeats, min_seconds)
    fused_seconds = median_seconds(lambda: nps.cross_entropy(logits, y, reduction="none"), repeats, min_seconds)
    return {
        "one_hot_ms": one_hot_seconds * 1e3,
        "fused_ms": fused_seconds * 1e3,
        "one_hot_over_fused": one_hot_seconds / fused_seconds,
        "one_hot_matrix_mib": logits.nbytes / MIB,
        "max_abs_diff": float(np.max(np.abs(one_hot - fused))),
        "max_rel_diff": float(np.max(np.abs(one_hot - fused) / np.abs(fused))),
        "max_rel_error_one_hot": float(np.max(np.abs(one_hot - exact) / exact)),
        "max_rel_error_fused": float(np.max(np.abs(fused - exact) / exact)),
        "mean_loss": float(fused.mean()),
    }


# ---------------------------------------------------------------------------------------------------------
# The run and its report.


def benchmark(settings: dict) -> list[dict]:
    rng = np.random.default_rng(SEED)
    rows = []
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(under="ignore"):
        for k in settings["classes"]:
            X, y = make_problem(settings["n_examples"], k, rng)
            row = {"classes": k} | time_epoch(X, y, k, settings["budget_seconds"], rng)
            row |= step_memory(X, y, k, rng)
            row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row |= time_parts(X, y, k, settings["repeats"], rng, settings["min_seconds"])
            row["cross_entropy"] = compare_cross_entropies(k, settings["repeats"], rng, settings["min_seconds"])
            rows.append(row)
            print(
                f"k {k:>7,}: epoch {row['epoch_seconds']:.3f} s ({row['batches_timed']} batches timed), "
                f"GEMMs {row['gemms_share']:.0%}, one-hot CE x{row['cross_entropy']['one_hot_over_fused']:.2f}",
                file=sys.stderr,
            )
    return rows


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1e3:.0f} ms"


def _span(ratios: list[float]) -> str:
    low, high = f"×{min(ratios):.1f}", f"×{max(ratios):.1f}"
    return low if low == high else f"{low} to {high}"


def conclusions(rows: list[dict]) -> list[str]:
    """What the measurements say, in sentences whose numbers come from them."""
    by_k = {row["classes"]: row for row in rows}
    ks = sorted(by_k)
    low, high, big = ks[0], ks[-1], next(k for k in ks if k >= 1_000)
    ratio = high // big
    time_growth = by_k[high]["epoch_seconds"] / by_k[big]["epoch_seconds"]
    memory_growth = by_k[high]["step_peak_mib"] / by_k[big]["step_peak_mib"]
    ce_ratios = [row["cross_entropy"]["one_hot_over_fused"] for row in rows if row["classes"] >= big]
    step_growth = sum(by_k[high][f"{part}_seconds"] for part in PARTS) / sum(
        by_k[big][f"{part}_seconds"] for part in PARTS
    )
    rate_big, rate_high = by_k[big]["gemm_gflops_per_second"], by_k[high]["gemm_gflops_per_second"]
    text = [
        f"Everything a step computes is linear in k: the GEMMs do 2·2·256·784·k flops, the softmax works on "
        f"(256, k) arrays and the update on the (784, k) weights. From {big:,} to {high:,} classes (×{ratio:,}) "
        f"one step's arrays grew ×{memory_growth:.0f}, the epoch time ×{time_growth:.0f} and the median step, "
        f"timed part by part, ×{step_growth:.0f}."
    ]
    if 0.8 * ratio <= step_growth <= 1.25 * ratio:
        text.append("Time grows in proportion to k.")
    elif step_growth > ratio and rate_high < 0.8 * rate_big:
        text.append(
            f"More than k: the GEMMs ran at {rate_big:.0f} GFLOP/s at {big:,} classes and {rate_high:.0f} at "
            f"{high:,}, where W ({by_k[high]['params_mib']:.0f} MiB) fits in no cache and is streamed from memory "
            "on every pass."
        )
    text.append(
        f"The two GEMMs take {by_k[low]['gemms_share']:.0%} of a step at {low} classes and "
        f"{min(by_k[k]['gemms_share'] for k in ks if k >= big):.0%} or more from {big:,} classes on; the softmax "
        f"part takes {by_k[high]['softmax_share']:.0%} and the update {by_k[high]['update_share']:.0%} at "
        f"{high:,}. At {high:,} classes one epoch over {by_k[high]['batches_per_epoch']} batches takes "
        f"{_duration(by_k[high]['epoch_seconds'])} against {_duration(by_k[low]['epoch_seconds'])} at {low}, and W "
        f"alone is {by_k[high]['params_mib']:.0f} MiB, with as much again for its gradient in every step."
    )
    return [
        " ".join(text),
        "",
        "The cost is that of the full softmax layer: every example scores every class (the first GEMM and the "
        "softmax over the (n, k) logits), although only the label's entry enters the loss, and every step "
        "computes a gradient for all d·k weights and rewrites them (the second GEMM and the update). This is why "
        "models with large vocabularies do not compute it in training. Hierarchical softmax arranges the classes "
        "in a binary tree and scores a label as the path of about log2 k decisions that leads to it, so a step "
        f"touches O(d log k) weights instead of O(d k) ({math.ceil(math.log2(high))} tree nodes instead of "
        f"{high:,} classes); sampling methods (sampled softmax, noise-contrastive estimation, negative sampling) "
        "score the true class against a few hundred sampled ones and keep the full softmax for evaluation.",
        "",
        f"The cross-entropy's textbook definition with a one-hot matrix gives the same loss as the fused one and costs "
        f"{_span(ce_ratios)} its time from {big:,} classes on: not more, because "
        "both compute the full softmax over k, and that dominates; the one-hot form adds an (n, k) matrix, a "
        "logarithm of every probability, a multiply and a sum, where the fused form reads one log-probability "
        "per row.",
        "",
    ]


def render_markdown(results: dict) -> str:
    settings, machine, rows = results["settings"], results["machine"], results["rows"]
    n = settings["n_examples"]
    ces = [row["cross_entropy"] for row in rows]
    worst_error = max(max(ce["max_rel_error_one_hot"], ce["max_rel_error_fused"]) for ce in ces)
    lines = [
        "# Softmax regression with many classes: epoch time and memory against k",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs, {machine['memory_gb']} GB; "
        f"Python {machine['python']}, NumPy {machine['numpy']} ({', '.join(machine['numpy_blas'])}), one BLAS "
        f"thread as in training. Load average at the start: {results['loadavg_start'][0]:.2f} (1 min).",
        "",
        f"Synthetic data: n = {n:,} examples of d = {N_FEATURES} float32 features, labels uniform over k classes, "
        f"W of shape ({N_FEATURES}, k); batches of {BATCH_SIZE}, `loss_and_grad(..., check_input=False)` and "
        f"`SGD.step` (lr {LR}). An epoch is {n // BATCH_SIZE} batches, timed after a warm-up batch; where fewer "
        f"were timed, the epoch is their mean times {n // BATCH_SIZE}.",
        "",
        "## Epoch time and memory",
        "",
        "| classes k | epoch s | batches timed | ms per batch | W and b MiB | one step's arrays MiB | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['classes']:,} | {row['epoch_seconds']:.3f} | {row['batches_timed']} | "
            f"{row['batch_seconds_median'] * 1e3:.2f} | {row['params_mib']:.1f} | {row['step_peak_mib']:.1f} | "
            f"{row['peak_rss_mib']:.0f} |"
        )
    lines += [
        "",
        "One step's arrays: the peak of what one `loss_and_grad` + `SGD.step` allocates beyond W and b "
        "(tracemalloc): the (256, k) logits, log-probabilities and dlogits, the (784, k) gradient dW and the "
        "update's temporary `lr * dW`. Peak RSS is the process's high-water mark so far (k ascends).",
        "",
        "## Where a step's time goes",
        "",
        "| classes k | loss_and_grad ms | GEMMs ms | softmax ms | update ms | GEMMs share | softmax share "
        "| update share | GEMM GFLOP/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['classes']:,} | {row['loss_and_grad_seconds'] * 1e3:.3f} | {row['gemms_seconds'] * 1e3:.3f} | "
            f"{row['softmax_seconds'] * 1e3:.3f} | "
            f"{row['update_seconds'] * 1e3:.3f} | {row['gemms_share']:.0%} | {row['softmax_share']:.0%} | "
            f"{row['update_share']:.0%} | {row['gemm_gflops_per_second']:.1f} |"
        )
    lines += [
        "",
        "Medians per batch. `loss_and_grad(..., check_input=False)` and `SGD.step` are timed whole. GEMMs: the "
        "two matrix products inside `loss_and_grad`, (256, 784) @ (784, k) forward and (784, 256) @ (256, k) "
        "backward (2·256·784·k flops each), timed on their own with the same shapes and memory layouts. Softmax: "
        "the rest of `loss_and_grad` (`+ b`, log-softmax, the loss, `exp`, subtracting 1 at the labels, dividing "
        "by n, `db`, all elementwise on the (256, k) logits), its time minus the GEMMs'. Update: `SGD.step`, "
        "`W -= lr * dW`, elementwise on the (784, k) weights.",
        "",
        "## Cross-entropy: the textbook definition with a one-hot matrix against the fused one",
        "",
        "| classes k | one-hot ms | fused ms | one-hot / fused | one-hot matrix MiB | max abs diff | max rel diff |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ce = row["cross_entropy"]
        lines.append(
            f"| {row['classes']:,} | {ce['one_hot_ms']:.3f} | {ce['fused_ms']:.3f} | {ce['one_hot_over_fused']:.2f} "
            f"| {ce['one_hot_matrix_mib']:.1f} | {ce['max_abs_diff']:.1e} | {ce['max_rel_diff']:.1e} |"
        )
    lines += [
        "",
        f"A batch of {BATCH_SIZE} float32 logits drawn from N(0, 3²). One-hot, `textbook_cross_entropy`: "
        "`Y = zeros((n, k)); Y[rows, y] = 1; "
        "-(Y * log(softmax(logits))).sum(1)`. Fused: `nps.cross_entropy(logits, y, reduction='none')`, which is "
        "`-log_softmax(logits)[rows, y]` after checking its input (including a scan for NaN, which the one-hot "
        "version does not pay). The differences are between the two float32 results; both are within "
        f"{worst_error:.0e} (relative) of the loss computed in float64.",
        "",
        "## What it says about softmax's cost",
        "",
    ]
    lines += conclusions(rows)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = harness.ArgumentParser(
        "bench_classes.py",
        "benchmarks/classes.{json,md} (full run)",
        description="Epoch time and memory of softmax regression against the number of classes. The results "
        "go into --out (default bench-results/, git-ignored); only --write-results replaces the committed "
        "benchmarks/classes.json and classes.md.",
    )
    parser.add_argument("--quick", action="store_true", help="small: k up to 2,000, 2,048 examples, seconds")
    args = parser.parse_args(argv)
    if args.write_results and args.quick:
        parser.error("--write-results records the full run; leave out --quick")
    name = "classes-quick" if args.quick else "classes"
    settings = QUICK if args.quick else FULL

    def work() -> dict[str, str]:
        results = {
            "command": harness.command("bench_classes.py", argv),
            "machine": harness.machine(),
            "loadavg_start": os.getloadavg(),
            "settings": settings | {"n_features": N_FEATURES, "batch_size": BATCH_SIZE, "lr": LR, "dtype": "float32"},
            "rows": benchmark(settings),
        }
        return {
            f"{name}.json": json.dumps(results, indent=2, allow_nan=False) + "\n",
            f"{name}.md": render_markdown(results),
        }

    return harness.run("bench_classes", args.out, work)


if __name__ == "__main__":
    sys.exit(main())
