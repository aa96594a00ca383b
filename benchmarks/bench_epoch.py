"""One training epoch of softmax regression on Fashion-MNIST: npsoftmax against PyTorch, scikit-learn and the floor.

Run from the repository root::

    python benchmarks/bench_epoch.py --busy                 # real data, float32 -> bench-results/results.{json,md}
    python benchmarks/bench_epoch.py --busy --write-results # the same into the committed benchmarks/results.*
    python benchmarks/bench_epoch.py --dtype float64        # -> results-float64.{json,md}
    python benchmarks/bench_epoch.py --quick --out DIR      # synthetic data, under a minute -> DIR/results-quick.*
    python benchmarks/bench_epoch.py --systems npsoftmax floor-1thread   # only these, and the targets they give

Results go into ``--out`` (default ``bench-results/``, git-ignored); only ``--write-results`` replaces the
committed files in ``benchmarks/``. Each file is written whole or not at all.

Every system trains with batch size 256 and learning rate 0.1. The harness runs each system in a fresh process
(so each reports its own peak memory), one warm-up epoch and then ``--epochs`` timed ones, and takes turns over
the systems for ``--rounds`` rounds, so that a burst of load on the machine hits them all alike. It reports the
median epoch over all rounds and the 1-minute load average at the start of each run. With ``--wait-idle
SECONDS`` it first waits, up to that long, until other processes leave the CPUs. With ``--busy`` every run is
made twice in each round: as it is, then with a process of the benchmark's own spinning on a CPU (its PID is
logged; it is killed when the run ends, however the benchmark ends, and it stops by itself if the benchmark
dies), and both sets of figures are reported.

The floor is the two GEMMs no implementation of this model can skip, ``Xb @ W`` for the logits and
``Xb.T @ G`` for the weight gradient, for the batches of one epoch on a single batch already in cache. The
targets compare against the one-thread floor, because npsoftmax's training loop runs its GEMMs on one BLAS
thread (two threads stall whenever another process holds the second core); the two-thread floor is shown
beside it for what a second thread would buy on an idle machine. The time beyond the floor is the same
comparison in a form that does not depend on the BLAS kernel: what the epoch spends outside its two GEMMs.

Besides the epochs, a full run times ``python -m npsoftmax.train --quiet`` end to end: its extra seconds (wall
time beyond the training and evaluation seconds it reports in its ``metrics.json``) and its peak memory.
``--quick`` skips it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib.util
import json
import logging
import multiprocessing
import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import harness
import numpy as np

log = logging.getLogger("bench_epoch")

BATCH_SIZE, LR, SEED, NUM_CLASSES = 256, 0.1, 0, 10
# --quick's data: a smoke test of the harness, so ten batches, enough for every system to learn it
SYNTHETIC_TRAIN, SYNTHETIC_TEST, QUICK_LOGREG_SUBSET = 2_560, 1_000, 1_000


@dataclasses.dataclass(frozen=True)
class Settings:
    dtype: str
    epochs: int
    data_dir: str | None  # None: the package's default data home
    synthetic_dir: str | None  # set by --quick


# ---------------------------------------------------------------------------------------------------------
# Data: the real Fashion-MNIST through npsoftmax, or synthetic images of the same shape.


def make_synthetic(folder: Path) -> None:
    """Write learnable images of Fashion-MNIST's shape as ``.npy`` files into ``folder``.

    Each class lights its own random fifth of the pixels. A fifth of the labels are then redrawn at random,
    so that no classifier scores much above 0.82 and the loss stays far from zero (a loss near zero would
    time the CPU's slow path for subnormal floats, not the systems).
    """
    rng = np.random.default_rng(SEED)
    masks = rng.random((NUM_CLASSES, 28, 28)) < 0.2
    for split, n in (("train", SYNTHETIC_TRAIN), ("test", SYNTHETIC_TEST)):
        classes = rng.integers(0, NUM_CLASSES, size=n)
        np.save(folder / f"X_{split}.npy", (masks[classes] * rng.integers(128, 256, size=(n, 28, 28))).astype(np.uint8))
        np.save(folder / f"y_{split}.npy", np.where(rng.random(n) < 0.2, rng.integers(0, NUM_CLASSES, size=n), classes))


def load_arrays(settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)``: uint8 images (n, 28, 28) and int64 labels."""
    if settings.synthetic_dir:
        folder = Path(settings.synthetic_dir)
        return tuple(np.load(folder / f"{a}_{split}.npy") for split in ("train", "test") for a in "Xy")
    import npsoftmax as nps

    return nps.load_fashion_mnist(**_root(settings))


def _root(settings: Settings) -> dict[str, str]:
    """npsoftmax's ``root`` argument: ``--data-dir``, or nothing for the package's default data home."""
    return {} if settings.data_dir is None else {"root": settings.data_dir}


def float_images(images: np.ndarray, dtype: str) -> np.ndarray:
    """Images scaled to [0, 1] and flattened to (n, 784), for the systems that convert once, untimed."""
    return (np.asarray(images).reshape(len(images), -1) / np.float32(255)).astype(dtype)


# ---------------------------------------------------------------------------------------------------------
# The systems. Each sets itself up and returns ``(epoch, test_accuracy)``: two callables, the second None
# for the floor, which does not train.

Epoch = Callable[[], object]
Accuracy = Callable[[], float] | None


def npsoftmax_system(settings: Settings) -> tuple[Epoch, Accuracy]:
    """The code path of ``python -m npsoftmax.train``."""
    import npsoftmax as nps

    if settings.synthetic_dir:  # the iterators load_data_fashion_mnist builds, over the synthetic arrays
        X_train, y_train, X_test, y_test = load_arrays(settings)
        train_iter = nps.MinibatchIter(X_train, y_train, BATCH_SIZE, shuffle=True, seed=SEED, dtype=settings.dtype)
        test_iter = nps.MinibatchIter(X_test, y_test, BATCH_SIZE, dtype=settings.dtype)
    else:
        train_iter, test_iter = nps.load_data_fashion_mnist(
            BATCH_SIZE, **_root(settings), seed=SEED, dtype=settings.dtype
        )
    net = nps.SoftmaxRegression(784, NUM_CLASSES, seed=SEED, dtype=settings.dtype)
    updater = nps.SGD(net.params, lr=LR)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # as fit_epochs runs its epochs (this process runs no other system)
    return (
        lambda: nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, updater),
        lambda: nps.evaluate_accuracy(net, test_iter),
    )


def _torch_data(settings: Settings) -> tuple[Any, Any, Any, Any]:
    """``(X_train, y_train, X_test, y_test)`` as tensors: float images (n, 784) in [0, 1], int64 labels."""
    import torch

    return tuple(
        torch.from_numpy(float_images(a, settings.dtype) if a.ndim == 3 else np.asarray(a, np.int64))
        for a in load_arrays(settings)
    )


def _d2l_loader(X: Any, y: Any) -> Any:
    """d2l's loader: the images shaped (n, 1, 28, 28) in a shuffled ``DataLoader``."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(SEED)
    return DataLoader(TensorDataset(X.reshape(-1, 1, 28, 28), y), BATCH_SIZE, shuffle=True)


def _torch_accuracy(net: Callable[[Any], Any], X: Any, y: Any) -> float:
    import torch

    with torch.no_grad():
        return float((net(X).argmax(dim=1) == y).double().mean())


def _d2l_accuracy(y_hat: Any, y: Any) -> float:
    """d2l's ``accuracy``: the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def _d2l_train_epoch(net: Any, train_iter: Any, loss: Any, updater: Any) -> tuple[float, float]:
    """d2l's ``train_epoch_ch3``, for both the scratch and the ``nn`` version."""
    import torch

    warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True to a scalar")  # float(l.sum())

    if isinstance(net, torch.nn.Module):
        net.train()
    metric = [0.0, 0.0, 0.0]  # sum of losses, number correct, number of examples
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 (d2l's name)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric[0] += float(l.sum())
        metric[1] += _d2l_accuracy(y_hat, y)
        metric[2] += y.numel()
    return metric[0] / metric[2], metric[1] / metric[2]


def torch_scratch_system(settings: Settings) -> tuple[Epoch, Accuracy]:
    """d2l's code (3.6): ``torch.exp`` softmax, fancy-index cross-entropy, a hand-written ``sgd``."""
    import torch

    X_train, y_train, X_test, y_test = _torch_data(settings)
    train_iter = _d2l_loader(X_train, y_train)
    W = torch.normal(0, 0.01, size=(784, NUM_CLASSES), dtype=X_train.dtype, requires_grad=True)
    b = torch.zeros(NUM_CLASSES, dtype=X_train.dtype, requires_grad=True)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    def updater(batch_size):
        with torch.no_grad():
            for param in (W, b):
                param -= LR * param.grad / batch_size
                param.grad.zero_()

    epoch = functools.partial(_d2l_train_epoch, net, train_iter, cross_entropy, updater)
    return epoch, functools.partial(_torch_accuracy, net, X_test, y_test)


def torch_nn_system(settings: Settings) -> tuple[Epoch, Accuracy]:
    """PyTorch the usual way (d2l 3.7): ``nn.Flatten`` + ``nn.Linear``, ``nn.CrossEntropyLoss``, ``optim.SGD``."""
    import torch
    from torch import nn

    X_train, y_train, X_test, y_test = _torch_data(settings)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, NUM_CLASSES)).to(X_train.dtype)
    nn.init.normal_(net[1].weight, std=0.01)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=LR)
    epoch = functools.partial(_d2l_train_epoch, net, _d2l_loader(X_train, y_train), loss, trainer)
    return epoch, functools.partial(_torch_accuracy, net, X_test, y_test)


def torch_fast_system(settings: Settings, threads: int) -> tuple[Epoch, Accuracy]:
    """PyTorch written for speed: the float images in one tensor, each batch gathered by ``index_select``
    into a reused buffer, ``nn.Linear``, ``F.cross_entropy``, ``optim.SGD``, bookkeeping kept in tensors."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(threads)
    X, y, X_test, y_test = _torch_data(settings)
    net = nn.Linear(784, NUM_CLASSES).to(X.dtype)
    nn.init.normal_(net.weight, std=0.01)
    nn.init.zeros_(net.bias)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    Xb, yb = torch.empty((BATCH_SIZE, 784), dtype=X.dtype), torch.empty(BATCH_SIZE, dtype=torch.int64)
    generator = torch.Generator().manual_seed(SEED)

    def epoch() -> tuple[float, float]:
        order = torch.randperm(len(X), generator=generator)
        loss_sum, correct = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.int64)
        for start in range(0, len(X), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            Xm = torch.index_select(X, 0, rows, out=Xb[: len(rows)])
            ym = torch.index_select(y, 0, rows, out=yb[: len(rows)])
            logits = net(Xm)
            loss = F.cross_entropy(logits, ym)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum += loss * len(rows)
                correct += (logits.argmax(dim=1) == ym).sum()
        return float(loss_sum) / len(X), int(correct) / len(X)

    return epoch, functools.partial(_torch_accuracy, net, X_test, y_test)


def sklearn_sgd_system(settings: Settings) -> tuple[Epoch, Accuracy]:
    """One ``SGDClassifier(loss="log_loss").partial_fit`` pass over the data is one epoch."""
    from sklearn.linear_model import SGDClassifier

    X_train, y_train, X_test, y_test = load_arrays(settings)
    X, y = float_images(X_train, "float64"), np.asarray(y_train)  # it works in float64 whatever it is given
    clf = SGDClassifier(loss="log_loss", random_state=SEED)
    return (
        lambda: clf.partial_fit(X, y, classes=np.arange(NUM_CLASSES)),
        lambda: float(clf.score(float_images(X_test, "float64"), y_test)),
    )


def sklearn_logreg_system(settings: Settings) -> tuple[Epoch, Accuracy]:
    """``LogisticRegression`` (lbfgs, default ``max_iter``): its "epoch" is the whole fit, timed once."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X_train, y_train, X_test, y_test = load_arrays(settings)
    n = QUICK_LOGREG_SUBSET if settings.synthetic_dir else len(X_train)
    X, y = float_images(X_train[:n], settings.dtype), y_train[:n]
    clf = LogisticRegression()
    warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: the time of the default fit still
    return lambda: clf.fit(X, y), lambda: float(clf.score(float_images(X_test, settings.dtype), y_test))


def sklearn_softmax_system(settings: Settings) -> tuple[Epoch, Accuracy]:
    """npsoftmax's scikit-learn estimator, ``SoftmaxClassifier().fit`` (10 epochs of the chapter's recipe)."""
    from npsoftmax.sklearn import SoftmaxClassifier

    X_train, y_train, X_test, y_test = load_arrays(settings)
    X, y = float_images(X_train, settings.dtype), np.asarray(y_train)
    clf = SoftmaxClassifier(lr=LR, batch_size=BATCH_SIZE, random_state=SEED, dtype=settings.dtype)
    return lambda: clf.fit(X, y), lambda: float(clf.score(float_images(X_test, settings.dtype), y_test))


def floor_system(settings: Settings, threads: int) -> tuple[Epoch, Accuracy]:
    """``Xb @ W`` and ``Xb.T @ G`` for an epoch's batches on one batch in cache, outputs preallocated."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")
    X_train = load_arrays(settings)[0]
    n = len(X_train)
    Xb = float_images(X_train[:BATCH_SIZE], settings.dtype)
    W = np.random.default_rng(SEED).normal(0.0, 0.01, size=(784, NUM_CLASSES)).astype(settings.dtype)
    logits, dW = np.empty((BATCH_SIZE, NUM_CLASSES), settings.dtype), np.empty_like(W)
    G = Xb @ W / BATCH_SIZE  # any dense (batch, 10) matrix of plausible scale
    sizes = [min(BATCH_SIZE, n - start) for start in range(0, n, BATCH_SIZE)]

    def epoch() -> None:
        for m in sizes:
            np.matmul(Xb[:m], W, out=logits[:m])
            np.matmul(Xb[:m].T, G[:m], out=dW)

    return epoch, None


# name: (label, setup). The order is the order of the table.
SYSTEMS: dict[str, tuple[str, Callable[[Settings], tuple[Epoch, Accuracy]]]] = {
    "npsoftmax": ("npsoftmax (NumPy, hand-derived gradients)", npsoftmax_system),
    "torch-scratch": ("PyTorch from scratch (d2l 3.6)", torch_scratch_system),
    "torch-nn": ("PyTorch nn.Linear + optim.SGD (d2l 3.7)", torch_nn_system),
    "torch-fast-1thread": ("PyTorch written for speed, 1 thread", functools.partial(torch_fast_system, threads=1)),
    "torch-fast-2threads": ("PyTorch written for speed, 2 threads", functools.partial(torch_fast_system, threads=2)),
    "sklearn-sgd": ("scikit-learn SGDClassifier(log_loss), one partial_fit pass", sklearn_sgd_system),
    "sklearn-logreg": ("scikit-learn LogisticRegression (lbfgs): whole fit, once", sklearn_logreg_system),
    "sklearn-softmax": ("npsoftmax.sklearn SoftmaxClassifier: whole fit, 10 epochs", sklearn_softmax_system),
    "floor-1thread": ("floor: Xb @ W and Xb.T @ G, 1 BLAS thread", functools.partial(floor_system, threads=1)),
    "floor-2threads": ("floor: Xb @ W and Xb.T @ G, 2 BLAS threads", functools.partial(floor_system, threads=2)),
}
RUN_ONCE = {"sklearn-logreg"}  # a whole fit takes about 12 s: one, in the first round, no warm-up


# ---------------------------------------------------------------------------------------------------------
# The harness: every measurement in a fresh process, rounds interleaved.


def run_system(name: str, settings: Settings) -> dict[str, Any]:
    """In a fresh process: set ``name`` up, warm up, time the epochs, then measure test accuracy."""
    epoch, test_accuracy = SYSTEMS[name][1](settings)
    once = name in RUN_ONCE
    if not once:
        epoch()
    seconds = []
    for _ in range(1 if once else settings.epochs):
        start = time.perf_counter()
        epoch()
        seconds.append(time.perf_counter() - start)
    return {
        "epoch_seconds": seconds,
        "test_acc": None if test_accuracy is None else test_accuracy(),
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory (``getrusage`` would count its parent's too, from before ``exec``)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def cli_argv(settings: Settings, out: str) -> list[str]:
    argv = ["-m", "npsoftmax.train", "--out", out, "--quiet"]
    argv += [] if settings.data_dir is None else ["--data-dir", settings.data_dir]
    return argv + ([] if settings.dtype == "float32" else ["--dtype", settings.dtype])


def run_cli(settings: Settings) -> dict[str, Any]:
    """In a fresh process: ``python -m npsoftmax.train`` end to end, as this small process's only child, so
    that the children's peak RSS is the CLI's."""
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, *cli_argv(settings, tmp)], capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"python -m npsoftmax.train failed ({proc.returncode}):\n{proc.stderr}")
        metrics = json.loads((Path(tmp) / "metrics.json").read_text())
    return {
        "wall_seconds": wall,
        "train_eval_seconds": sum(e["seconds"] + e["eval_seconds"] for e in metrics["epochs"]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "test_acc": metrics["test_acc"],
    }


def other_busy_cpus(interval: float = 1.0) -> float:
    """CPUs kept busy by other processes over ``interval`` seconds while this one sleeps (/proc/stat)."""

    def busy_seconds() -> float:
        with open("/proc/stat") as f:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    before = busy_seconds()
    time.sleep(interval)
    return (busy_seconds() - before) / interval


def in_fresh_process(task: Callable[..., dict[str, Any]], *args: Any, wait_idle: float) -> dict[str, Any]:
    """Run ``task(*args)`` in a new interpreter, after waiting up to ``wait_idle`` s for idle CPUs.

    However this process leaves the block (an exception, Ctrl-C, SIGTERM), the pool's ``__exit__`` terminates
    the interpreter at once, rather than letting it finish a run that nobody will read.
    """
    deadline = time.monotonic() + wait_idle
    while wait_idle and (busy := other_busy_cpus()) > 0.25 and time.monotonic() < deadline:
        log.info("  waiting: other processes keep %.1f CPUs busy", busy)
    loadavg = harness.load_average()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return {**pool.apply(task, args), "loadavg_1min": loadavg}


#: A CPU-bound loop that ends as soon as the process that started it is gone (its parent PID changes).
SPIN = "import os, sys\nparent = int(sys.argv[1])\nwhile os.getppid() == parent:\n    pass\n"


@contextlib.contextmanager
def busy_cpu() -> Iterator[int]:
    """A process spinning on a CPU for the duration of the block; yields its PID.

    It is killed and reaped when the block ends, whether normally, by an exception, Ctrl-C or SIGTERM (``main``
    turns SIGTERM into ``SystemExit``), and it stops by itself if this process dies without cleaning up.
    """
    spinner = subprocess.Popen([sys.executable, "-c", SPIN, str(os.getpid())])
    try:
        yield spinner.pid
    finally:
        spinner.kill()
        spinner.wait()


CONDITIONS = ("idle", "busy")  # as the machine is; with a spinning process of the benchmark's own added


def run_rounds(
    settings: Settings, rounds: int, wait_idle: float, with_cli: bool, busy: bool, systems: list[str]
) -> dict[str, dict[str, list[dict]]]:
    """Each of ``systems`` (and the CLI) once per round and condition, in turn; the raw results of every run."""
    tasks = {name: functools.partial(run_system, name) for name in systems} | ({"cli": run_cli} if with_cli else {})
    if with_cli:
        in_fresh_process(run_cli, settings, wait_idle=0)  # warms the file cache and matplotlib's font cache
    conditions = CONDITIONS if busy else CONDITIONS[:1]
    runs: dict[str, dict[str, list[dict]]] = {condition: {name: [] for name in tasks} for condition in conditions}
    for round_number in range(1, rounds + 1):
        for name, task in tasks.items():
            if name in RUN_ONCE and round_number > 1:
                continue
            # The end-to-end run and the long fits are timed on the machine as it is only.
            for condition in CONDITIONS[:1] if name == "cli" or name in RUN_ONCE else conditions:
                with busy_cpu() if condition == "busy" else contextlib.nullcontext() as spinner:
                    if spinner is not None:
                        log.info("  busy: process %d spinning", spinner)
                    run = in_fresh_process(task, settings, wait_idle=wait_idle if condition == "idle" else 0)
                runs[condition][name].append(run)
                seconds = run["wall_seconds"] if name == "cli" else statistics.median(run["epoch_seconds"])
                log.info("round %d/%d  %-4s %-20s %.4f s", round_number, rounds, condition, name, seconds)
    return runs


# ---------------------------------------------------------------------------------------------------------
# The report: medians, targets, JSON and Markdown.


def summarize(runs: dict[str, list[dict]]) -> dict[str, dict[str, Any]]:
    systems = {}
    for name, (label, _) in SYSTEMS.items():
        if not runs.get(name):  # not chosen, or not timed in this condition
            continue
        seconds = [s for run in runs[name] for s in run["epoch_seconds"]]
        systems[name] = {
            "label": label,
            "median_epoch_seconds": statistics.median(seconds),
            "test_acc": runs[name][-1]["test_acc"],
            "peak_rss_mb": max(run["peak_rss_mb"] for run in runs[name]),
            "loadavg_1min": max(run["loadavg_1min"] for run in runs[name]),
            "epoch_seconds": seconds,
        }
    for entry in systems.values():
        entry["ratio_vs_npsoftmax"] = entry["median_epoch_seconds"] / systems["npsoftmax"]["median_epoch_seconds"]
    return systems


def summarize_cli(runs: list[dict], settings: Settings) -> dict[str, Any]:
    return {
        "command": shlex.join(["python", *cli_argv(settings, "TMP")]),
        "wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
        "train_eval_seconds": statistics.median(r["train_eval_seconds"] for r in runs),
        "extra_seconds": statistics.median(r["wall_seconds"] - r["train_eval_seconds"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "test_acc": runs[-1]["test_acc"],
        "loadavg_1min": max(r["loadavg_1min"] for r in runs),
        "runs": runs,
    }


def epoch_over_floor(runs: list[dict], floors: list[dict]) -> float:
    """The median over rounds of (npsoftmax's median epoch / the floor's median epoch) in the same round."""
    return statistics.median(
        statistics.median(run["epoch_seconds"]) / statistics.median(floor["epoch_seconds"])
        for run, floor in zip(runs, floors, strict=True)
    )


def check_targets(
    runs: dict[str, dict[str, list[dict]]], systems: dict[str, dict[str, dict]], cli: dict | None
) -> list[dict[str, Any]]:
    """Each target: what is measured, its value, and whether it is met.

    The ratios to the floor pair each npsoftmax run with the floor's run of the same round and condition, a
    few seconds apart, so that a change of load between rounds cancels out.
    """
    epoch = {name: entry["median_epoch_seconds"] for name, entry in systems["idle"].items()}
    measured = []  # (what, value, "<=" or ">=", limit), for the systems that were timed
    if "floor-1thread" in epoch:
        measured += [
            (
                "npsoftmax epoch / one-thread floor",
                epoch_over_floor(runs["idle"]["npsoftmax"], runs["idle"]["floor-1thread"]),
                "<=",
                1.9,
            ),
            (
                "npsoftmax epoch beyond the one-thread floor, ms",
                1e3 * (epoch["npsoftmax"] - epoch["floor-1thread"]),
                "<=",
                30,
            ),
        ]
        if "busy" in runs:
            measured.append(
                (
                    "npsoftmax epoch / one-thread floor, a CPU kept busy",
                    epoch_over_floor(runs["busy"]["npsoftmax"], runs["busy"]["floor-1thread"]),
                    "<=",
                    2.5,
                )
            )
    if "torch-scratch" in epoch:
        measured.append(("d2l's PyTorch epoch / npsoftmax epoch", epoch["torch-scratch"] / epoch["npsoftmax"], ">=", 9))
    if "torch-fast-1thread" in epoch and "torch-fast-2threads" in epoch:
        fast = min(epoch["torch-fast-1thread"], epoch["torch-fast-2threads"])
        measured.append(
            ("PyTorch for speed (best of 1, 2 threads) / npsoftmax epoch", fast / epoch["npsoftmax"], ">=", 1)
        )
    if cli is not None:
        measured += [
            ("npsoftmax.train extra s beyond its training + evaluation", cli["extra_seconds"], "<=", 0.8),
            ("npsoftmax.train peak RSS MB", cli["peak_rss_mb"], "<=", 350),
        ]
    return [
        {"target": f"{what} {op} {limit:g}", "value": value, "passed": value <= limit if op == "<=" else value >= limit}
        for what, value, op, limit in measured
    ]


def machine_info() -> dict[str, Any]:
    """:func:`harness.machine` with PyTorch's and scikit-learn's versions and PyTorch's default thread count."""
    import torch

    return harness.machine(("torch", "scikit-learn")) | {"torch_num_threads": torch.get_num_threads()}


def render_markdown(results: dict[str, Any]) -> str:
    config, machine, cli = results["config"], results["machine"], results["cli"]
    lines = [
        f"# One training epoch: {config['data']}, {config['dtype']}, batch {BATCH_SIZE}",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Measured on {machine['description']} ({machine['blas_threads']} BLAS threads by default); Python "
        f"{machine['python']}, PyTorch {machine['torch']} ({machine['torch_num_threads']} threads by default), "
        f"scikit-learn {machine['scikit-learn']}.",
        "",
        f"Each system in its own process: one warm-up epoch, then {config['epochs']} timed; {config['rounds']} "
        "round(s), the systems taking turns in each; the median epoch over all rounds. Load avg: the highest "
        "1-minute load average at the start of the system's runs (this benchmark itself adds about 1); "
        f"{results['loadavg_start'][0]:.2f} at the start of the whole run, {results['loadavg_end'][0]:.2f} at its end.",
    ]
    for condition, systems in results["systems"].items():
        heading = "The machine as it is" if condition == "idle" else "With a CPU kept busy by a spinning process"
        lines += [
            "",
            f"## {heading} ({condition})",
            "",
            "| system | median epoch s | × npsoftmax's time | test acc | peak RSS MB | load avg |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for entry in systems.values():
            acc = "n/a" if entry["test_acc"] is None else f"{entry['test_acc']:.4f}"
            lines.append(
                f"| {entry['label']} | {entry['median_epoch_seconds']:.4f} | {entry['ratio_vs_npsoftmax']:.2f} "
                f"| {acc} | {entry['peak_rss_mb']:.0f} | {entry['loadavg_1min']:.2f} |"
            )
    idle = results["systems"]["idle"]
    if "floor-1thread" in idle:
        two = (
            f"; two threads: {idle['floor-2threads']['median_epoch_seconds']:.4f} s" if "floor-2threads" in idle else ""
        )
        lines += [
            "",
            "The floor is the two GEMMs every batch needs, `Xb @ W` and `Xb.T @ G`, for an epoch's batches on one "
            "batch already in cache: everything else an epoch does comes on top of it. The targets use the "
            f"one-thread floor ({idle['floor-1thread']['median_epoch_seconds']:.4f} s{two}), because npsoftmax's "
            "training loop runs its GEMMs on one BLAS thread (two stall whenever another process holds the second "
            "core).",
        ]
    if cli is not None:
        lines += [
            "",
            f"End to end, `{cli['command']}`: {cli['wall_seconds']:.2f} s wall (median) for "
            f"{cli['train_eval_seconds']:.2f} s of training and evaluation by its own `metrics.json`, "
            f"{cli['extra_seconds']:.2f} s extra; peak RSS {cli['peak_rss_mb']:.0f} MB, "
            f"test accuracy {cli['test_acc']:.4f}.",
        ]
    lines += ["", "| target | measured | result |", "|---|---:|---|"]
    lines += [
        f"| {t['target']} | {t['value']:.2f} | {'met' if t['passed'] else 'MISSED'} |" for t in results["targets"]
    ]
    return "\n".join(lines) + "\n"


def stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM ends the benchmark as Ctrl-C does: through ``finally``, so no spinning process is left."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = harness.ArgumentParser(
        "bench_epoch.py",
        "results in benchmarks/ instead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="synthetic data, one timed epoch, one round, no CLI run")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--epochs", type=int, help="timed epochs per system and round (default 5, quick 1)")
    parser.add_argument("--rounds", type=int, help="rounds over all systems (default 3, quick 1)")
    parser.add_argument("--data-dir", help="Fashion-MNIST's folder (default: npsoftmax's data home)")
    parser.add_argument("--busy", action="store_true", help="also time every run with a CPU kept busy")
    parser.add_argument(
        "--systems",
        nargs="+",
        choices=list(SYSTEMS),
        default=list(SYSTEMS),
        metavar="NAME",
        help=f"time only these, npsoftmax among them; the targets they allow (default all: {', '.join(SYSTEMS)})",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for other processes to leave the CPUs",
    )
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else 5)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if epochs < 1 or rounds < 1:
        parser.error(f"--epochs and --rounds must be at least 1, got {epochs} and {rounds}")
    if "npsoftmax" not in args.systems:
        parser.error("--systems must include npsoftmax: every ratio is to its time")
    systems = [name for name in SYSTEMS if name in args.systems]  # in the table's order, each once
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    stem = "results" + ("" if args.dtype == "float32" else f"-{args.dtype}") + ("-quick" if args.quick else "")

    def work() -> dict[str, str]:
        if importlib.util.find_spec("torch") is None:  # the machine record names PyTorch's version, whatever ran
            raise harness.Failed("PyTorch is not installed: pip install torch==2.13.0 (the CPU build)")
        results: dict[str, Any] = {
            "command": harness.command("bench_epoch.py", argv),
            "loadavg_start": os.getloadavg(),
            "machine": None,  # after the runs: PyTorch's import takes seconds that a run stopped early need not pay
        }
        with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
            if args.quick:
                make_synthetic(Path(tmp))
            settings = Settings(args.dtype, epochs, args.data_dir, tmp if args.quick else None)
            if not args.quick:
                load_arrays(settings)  # fetch and build the cache before anything is timed
            runs = run_rounds(settings, rounds, args.wait_idle, not args.quick, args.busy, systems)
        results["machine"] = machine_info()
        results["config"] = {
            "data": "synthetic (--quick)" if args.quick else "Fashion-MNIST",
            **{"dtype": args.dtype, "epochs": epochs, "rounds": rounds, "batch_size": BATCH_SIZE, "lr": LR},
            "seed": SEED,
            "busy": args.busy,
        }
        results["systems"] = {condition: summarize(by_system) for condition, by_system in runs.items()}
        results["cli"] = None if args.quick else summarize_cli(runs["idle"]["cli"], settings)
        results["targets"] = check_targets(runs, results["systems"], results["cli"])
        results["loadavg_end"] = os.getloadavg()
        for target in results["targets"]:
            log.info("%-6s %5.2f  %s", "met" if target["passed"] else "MISSED", target["value"], target["target"])
        return {f"{stem}.json": json.dumps(results, indent=2) + "\n", f"{stem}.md": render_markdown(results)}

    return harness.run("bench_epoch", args.out, work)


if __name__ == "__main__":
    sys.exit(main())
