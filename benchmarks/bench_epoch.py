"""One training epoch of softmax regression on Fashion-MNIST: npsoftmax against PyTorch, scikit-learn and the floor.

Run from the repository root::

    python benchmarks/bench_epoch.py                    # real data, float32 -> benchmarks/results.{json,md}
    python benchmarks/bench_epoch.py --dtype float64    # -> benchmarks/results-float64.{json,md}
    python benchmarks/bench_epoch.py --quick --out DIR  # -> DIR/results-quick.{json,md}: the CI smoke test

Options: ``--epochs`` timed epochs per system and round (default 5), ``--repeat`` rounds (default 3),
``--dtype float32|float64``, ``--data-dir`` (default data/fashion-mnist), ``--out`` (default benchmarks/),
``--wait-idle SECONDS`` (wait for other processes to leave the CPUs before each measurement; the CPUs they
used meanwhile are recorded either way). ``--quick`` trains on 10,000 synthetic 28x28 images (2,000 to test)
for one timed epoch in one round, fits LogisticRegression on 5,000 of them, skips the end-to-end
measurements, and finishes in well under 30 s; it writes ``results-quick.*`` so that it never overwrites
the committed results.

Every system trains with batch size 256 on the same data, in its own subprocess of this script (started one
after the other, so that each reports its own peak resident memory); the child times its epochs itself, after
one warm-up epoch, and the median is reported. With ``--repeat R`` the systems take turns R times, so that
a burst of load on the machine hits them all alike. The systems:

1. ``npsoftmax``: ``load_data_fashion_mnist`` + ``train_epoch``, the code path of ``python -m npsoftmax.train``;
2. ``torch-scratch``: the seed's PyTorch code (d2l 3.6): ``TensorDataset``/``DataLoader``, ``torch.exp``
   softmax, fancy-index cross-entropy, ``l.sum().backward()``, a hand-written ``sgd``;
3. ``torch-nn``: PyTorch the usual way (d2l 3.7): ``nn.Flatten`` + ``nn.Linear``, ``nn.CrossEntropyLoss``,
   ``torch.optim.SGD``;
4. ``sklearn-sgd``: one ``SGDClassifier(loss="log_loss").partial_fit`` pass over the data is one epoch;
   ``sklearn-logreg``: ``LogisticRegression`` (lbfgs, default ``max_iter``), the time of the whole fit;
5. ``floor``: the two GEMMs a batch cannot do without, ``Xb @ W`` and ``Xb.T @ G``, for the same number of
   batches (``ceil(60000 / 256) = 235``) on one batch buffer that is already filled and in cache, with every
   output preallocated, timed with the default BLAS threads and with one, the faster counting. A training
   epoch must do at least this much arithmetic and memory traffic, so no framework can beat it; the gap
   above it is the cost of everything that is not GEMM.

Besides the epochs, the full run times ``python -m npsoftmax.train --quiet`` end to end on the warm cache
(wall seconds and the child's peak RSS) and a warm ``load_fashion_mnist`` in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("bench_epoch")

BATCH_SIZE = 256
LR = 0.1
SEED = 0
NUM_CLASSES = 10
SYNTHETIC_TRAIN, SYNTHETIC_TEST = 10_000, 2_000
QUICK_LOGREG_SUBSET = 5_000

SYSTEMS = ["npsoftmax", "torch-scratch", "torch-nn", "sklearn-sgd", "sklearn-logreg", "floor"]
LABELS = {
    "npsoftmax": "npsoftmax (NumPy, hand-derived gradients)",
    "torch-scratch": "PyTorch from scratch (the seed, d2l 3.6)",
    "torch-nn": "PyTorch nn.Linear + optim.SGD (d2l 3.7)",
    "sklearn-sgd": "scikit-learn SGDClassifier(log_loss), one partial_fit pass",
    "sklearn-logreg": "scikit-learn LogisticRegression (lbfgs): whole fit, not an epoch",
    "floor": "floor: Xb @ W and Xb.T @ G only",
}
# Targets of issue 5 for the epoch: (system, the largest npsoftmax / system time ratio allowed, description).
TARGETS = [
    ("torch-scratch", 1 / 8, "npsoftmax epoch >= 8x faster than the seed's PyTorch code"),
    ("torch-nn", 1 / 6, "npsoftmax epoch >= 6x faster than PyTorch nn.Linear"),
    ("floor", 1.5, "npsoftmax epoch <= 1.5x the floor"),
]
CLI_MAX_SECONDS, CLI_MAX_RSS_MB, WARM_LOAD_MAX_MS = 3.0, 350.0, 50.0
# An epoch is contended when tasks waited for a CPU (Linux PSI "some") more than MAX_CPU_STALL of its time
# and other processes kept more than MAX_OTHER_CPUS busy; medians need MIN_CLEAN_EPOCHS uncontended epochs.
MAX_CPU_STALL, MAX_OTHER_CPUS, MIN_CLEAN_EPOCHS = 0.1, 0.25, 3


# ---------------------------------------------------------------------------------------------------------
# Data: the real Fashion-MNIST through npsoftmax's loader, or synthetic images of the same shape.


def make_synthetic(folder: Path) -> None:
    """Write learnable synthetic data of Fashion-MNIST's shape as ``.npy`` files into ``folder``.

    Every image is its class's mean image plus uniform noise, the class means a third of the way from their
    average to random images, all of it dim like Fashion-MNIST's. The classes are linearly separable, but the
    two short epochs of ``--quick`` leave npsoftmax near 80% test accuracy with the loss far from zero (a loss
    near zero would drive gradients to subnormal floats and time the CPU's slow path, not the systems).
    """
    rng = np.random.default_rng(SEED)
    noise = 50
    random_images = rng.integers(0, 100, size=(NUM_CLASSES, 28 * 28)).astype(np.int64)
    average = random_images.mean(axis=0).astype(np.int64)
    means = (average + (random_images - average) // 3).astype(np.uint8).reshape(NUM_CLASSES, 28, 28)
    for split, n in (("train", SYNTHETIC_TRAIN), ("test", SYNTHETIC_TEST)):
        labels = rng.integers(0, NUM_CLASSES, size=n).astype(np.int64)
        images = means[labels] + rng.integers(0, noise, size=(n, 28, 28), dtype=np.uint8)
        np.save(folder / f"X_{split}.npy", images)
        np.save(folder / f"y_{split}.npy", labels)


def load_arrays(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)``: uint8 images (n, 28, 28) and int64 labels."""
    if args.synthetic:
        folder = Path(args.synthetic)
        return tuple(np.load(folder / f"{a}_{s}.npy", mmap_mode="r") for s in ("train", "test") for a in "Xy")
    import npsoftmax as nps

    return nps.load_fashion_mnist(args.data_dir)


def float_images(images: np.ndarray, dtype: str) -> np.ndarray:
    """Images scaled to [0, 1] as ``dtype``, flattened to (n, 784), made once outside every timing."""
    return (np.asarray(images).reshape(len(images), -1) / np.float32(255)).astype(dtype)


def cpu_stall_microseconds() -> int:
    """Total time some runnable task on the machine waited for a CPU (Linux PSI, /proc/pressure/cpu), or 0."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return 0


def machine_busy_cpu_seconds() -> float:
    """CPU-seconds every process on the machine has spent busy since boot (the ``cpu`` line of /proc/stat)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU-seconds of this process, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(run: Callable[[], object]) -> tuple[float, float, float]:
    """One call of ``run``: wall seconds, the fraction of them in which some task waited for a CPU, and
    the CPUs that other processes kept busy meanwhile (coarse: /proc/stat counts in 10 ms ticks)."""
    stall, machine, own = cpu_stall_microseconds(), machine_busy_cpu_seconds(), own_cpu_seconds()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    others = (machine_busy_cpu_seconds() - machine) - (own_cpu_seconds() - own)
    return seconds, (cpu_stall_microseconds() - stall) / 1e6 / seconds, max(0.0, others / seconds)


def timed_epochs(run_epoch: Callable[[], object], epochs: int) -> dict[str, list[float]]:
    """``epoch_seconds``, ``epoch_cpu_stall`` and ``epoch_other_cpus`` of ``epochs`` calls of ``run_epoch``,
    after an untimed warm-up call."""
    run_epoch()
    seconds, stall, others = zip(*(measure(run_epoch) for _ in range(epochs)), strict=True)
    return {"epoch_seconds": list(seconds), "epoch_cpu_stall": list(stall), "epoch_other_cpus": list(others)}


# ---------------------------------------------------------------------------------------------------------
# The systems. Each runs in a child process and returns {"epoch_seconds": [...], "test_acc": float | None}.


def bench_npsoftmax(args: argparse.Namespace) -> dict[str, Any]:
    import npsoftmax as nps
    from npsoftmax.train import train_epoch

    if args.synthetic:
        # The iterators load_data_fashion_mnist would build, over the synthetic arrays.
        X_train, y_train, X_test, y_test = load_arrays(args)
        train_iter = nps.MinibatchIter(X_train, y_train, BATCH_SIZE, True, SEED, dtype=args.dtype)
        test_iter = nps.MinibatchIter(X_test, y_test, BATCH_SIZE, False, None, dtype=args.dtype)
    else:
        train_iter, test_iter = nps.load_data_fashion_mnist(BATCH_SIZE, args.data_dir, seed=SEED, dtype=args.dtype)
    net = nps.SoftmaxRegression(784, NUM_CLASSES, seed=SEED, dtype=args.dtype)
    loss = nps.SoftmaxCrossEntropy()
    updater = nps.SGD(net.params, lr=LR)
    timings = timed_epochs(lambda: train_epoch(net, train_iter, loss, updater), args.epochs)
    return {**timings, "test_acc": nps.evaluate_accuracy(net, test_iter)}


def _torch_data(args: argparse.Namespace) -> tuple[Any, Any]:
    """The seed's loaders: float images in [0, 1] shaped (n, 1, 28, 28) in a shuffled ``DataLoader``."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(SEED)
    X_train, y_train, X_test, y_test = load_arrays(args)

    def dataset(images: np.ndarray, labels: np.ndarray) -> TensorDataset:
        X = torch.from_numpy(float_images(images, args.dtype)).reshape(-1, 1, 28, 28)
        return TensorDataset(X, torch.from_numpy(np.array(labels, np.int64)))

    train_iter = DataLoader(dataset(X_train, y_train), BATCH_SIZE, shuffle=True)
    test_iter = DataLoader(dataset(X_test, y_test), BATCH_SIZE, shuffle=False)
    return train_iter, test_iter


def _d2l_accuracy(y_hat: Any, y: Any) -> float:
    """d2l's ``accuracy``: the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def _d2l_train_epoch(net: Any, train_iter: Any, loss: Any, updater: Any) -> tuple[float, float]:
    """d2l's ``train_epoch_ch3``, bookkeeping included, for both the scratch and the ``nn`` version."""
    import torch

    if isinstance(net, torch.nn.Module):
        net.train()
    metric = [0.0, 0.0, 0.0]
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 (the seed's name)
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


def _d2l_evaluate_accuracy(net: Any, data_iter: Any) -> float:
    import torch

    if isinstance(net, torch.nn.Module):
        net.eval()
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += _d2l_accuracy(net(X), y)
            total += y.numel()
    return correct / total


def bench_torch_scratch(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    train_iter, test_iter = _torch_data(args)
    dtype = getattr(torch, args.dtype)
    W = torch.normal(0, 0.01, size=(784, NUM_CLASSES), dtype=dtype, requires_grad=True)
    b = torch.zeros(NUM_CLASSES, dtype=dtype, requires_grad=True)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    def updater(batch_size):
        return sgd([W, b], LR, batch_size)

    timings = timed_epochs(lambda: _d2l_train_epoch(net, train_iter, cross_entropy, updater), args.epochs)
    return {**timings, "test_acc": _d2l_evaluate_accuracy(net, test_iter)}


def bench_torch_nn(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from torch import nn

    train_iter, test_iter = _torch_data(args)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, NUM_CLASSES)).to(getattr(torch, args.dtype))

    def init_weights(m: nn.Module) -> None:
        if type(m) is nn.Linear:
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=LR)
    timings = timed_epochs(lambda: _d2l_train_epoch(net, train_iter, loss, trainer), args.epochs)
    return {**timings, "test_acc": _d2l_evaluate_accuracy(net, test_iter)}


def bench_sklearn_sgd(args: argparse.Namespace) -> dict[str, Any]:
    from sklearn.linear_model import SGDClassifier

    X_train, y_train, X_test, y_test = load_arrays(args)
    # scikit-learn's SGD works in float64 whatever it is given: convert once, outside the timing.
    X, y = float_images(X_train, "float64"), np.asarray(y_train)
    classes = np.arange(NUM_CLASSES)
    clf = SGDClassifier(loss="log_loss", random_state=SEED)
    timings = timed_epochs(lambda: clf.partial_fit(X, y, classes=classes), args.epochs)
    test_acc = clf.score(float_images(X_test, "float64"), np.asarray(y_test))
    return {**timings, "test_acc": float(test_acc)}


def bench_sklearn_logreg(args: argparse.Namespace) -> dict[str, Any]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X_train, y_train, X_test, y_test = load_arrays(args)
    n = QUICK_LOGREG_SUBSET if args.quick else len(X_train)
    X, y = float_images(X_train[:n], args.dtype), np.asarray(y_train[:n])
    clf = LogisticRegression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported below as n_iter == max_iter
        seconds, stall, others = measure(lambda: clf.fit(X, y))
    test_acc = clf.score(float_images(X_test, args.dtype), np.asarray(y_test))
    return {
        "epoch_seconds": [seconds],
        "epoch_cpu_stall": [stall],
        "epoch_other_cpus": [others],
        "test_acc": float(test_acc),
        "n_train": n,
        "n_iter": int(clf.n_iter_.max()),
        "max_iter": clf.max_iter,
    }


def bench_floor(args: argparse.Namespace) -> dict[str, Any]:
    X_train, _, _, _ = load_arrays(args)
    n = len(X_train)
    Xb = float_images(X_train[:BATCH_SIZE], args.dtype)
    W = np.random.default_rng(SEED).normal(0.0, 0.01, size=(784, NUM_CLASSES)).astype(args.dtype)
    Z = np.empty((BATCH_SIZE, NUM_CLASSES), args.dtype)
    G = np.matmul(Xb, W) / BATCH_SIZE  # any dense (batch, 10) matrix of plausible scale
    dW = np.empty_like(W)
    sizes = [min(BATCH_SIZE, n - start) for start in range(0, n, BATCH_SIZE)]

    def epoch() -> None:
        for m in sizes:
            np.matmul(Xb[:m], W, out=Z[:m])
            np.matmul(Xb[:m].T, G[:m], out=dW)

    # GEMMs this small may run faster on one BLAS thread than on the default team: the floor is the faster.
    from threadpoolctl import threadpool_limits

    by_threads = {"default": timed_epochs(epoch, args.epochs)}
    with threadpool_limits(limits=1, user_api="blas"):
        by_threads["1"] = timed_epochs(epoch, args.epochs)
    medians = {k: statistics.median(v["epoch_seconds"]) for k, v in by_threads.items()}
    fastest = min(medians, key=medians.__getitem__)
    return {
        **by_threads[fastest],
        "test_acc": None,
        "batches": len(sizes),
        "blas_threads": fastest,
        "median_epoch_seconds_by_blas_threads": medians,
    }


def thread_pools() -> list[dict[str, Any]]:
    """The BLAS and OpenMP thread pools loaded in this process (threadpoolctl), each tagged with its owner."""
    from threadpoolctl import threadpool_info

    pools = []
    for pool in threadpool_info():
        path = pool.get("filepath", "")
        owner = next((name for name in ("numpy", "torch", "scipy", "sklearn") if name in path), "system")
        pools.append({"used_by": owner, **pool})
    return pools


def machine_info() -> dict[str, Any]:
    """CPU model, cores and library versions (the thread pools come from the children that use them)."""
    from importlib.metadata import version

    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_model": cpu_model,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{name: version(name) for name in ("numpy", "torch", "scikit-learn", "threadpoolctl")},
    }


def warm_load(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds of one ``load_fashion_mnist`` call on the warm cache (imports excluded), in a fresh process."""
    import npsoftmax as nps

    start = time.perf_counter()
    nps.load_fashion_mnist(args.data_dir, download=False)
    return {"seconds": time.perf_counter() - start}


CHILDREN: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "npsoftmax": bench_npsoftmax,
    "torch-scratch": bench_torch_scratch,
    "torch-nn": bench_torch_nn,
    "sklearn-sgd": bench_sklearn_sgd,
    "sklearn-logreg": bench_sklearn_logreg,
    "floor": bench_floor,
    "warm-load": warm_load,
}


def run_child(args: argparse.Namespace) -> None:
    """Body of a child process: run one task, print its result and peak RSS as one JSON line."""
    result = CHILDREN[args.child](args)
    result["threadpools"] = thread_pools()
    if "torch" in sys.modules:
        result["torch_num_threads"] = sys.modules["torch"].get_num_threads()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------------------
# The parent: start the children, aggregate, write results.json and results.md.


def children_cpu_seconds() -> float:
    """CPU-seconds of this process's finished children (our own measurements)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class OtherLoad:
    """How many CPUs other processes kept busy while our child ran: machine-wide busy time minus the child's."""

    def __enter__(self) -> OtherLoad:
        self._machine, self._own, self._start = machine_busy_cpu_seconds(), children_cpu_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        others = (machine_busy_cpu_seconds() - self._machine) - (children_cpu_seconds() - self._own)
        self.cpus = max(0.0, others / max(time.monotonic() - self._start, 1e-9))


def wait_until_idle(max_seconds: float, threshold: float = 0.25) -> float:
    """Wait (up to ``max_seconds``) until other processes use less than ``threshold`` CPUs; return their load."""
    deadline = time.monotonic() + max_seconds
    logged = False
    while True:
        with OtherLoad() as load:
            time.sleep(1.0)
        if load.cpus < threshold or time.monotonic() >= deadline:
            return load.cpus
        if not logged:
            log.info("waiting up to %g s: other processes keep %.1f CPUs busy", max_seconds, load.cpus)
            logged = True


def spawn(task: str, args: argparse.Namespace, synthetic: str | None) -> dict[str, Any]:
    """Run this script as a child for ``task``; return the JSON it prints and the other processes' load."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--data-dir", args.data_dir]
    argv += ["--dtype", args.dtype, "--epochs", str(args.epochs)]
    argv += ["--synthetic", synthetic] if synthetic else []
    argv += ["--quick"] if args.quick else []
    if args.wait_idle:
        wait_until_idle(args.wait_idle)
    with OtherLoad() as load:
        proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {task!r} failed with exit status {proc.returncode}:\n{proc.stderr}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "other_load_cpus": load.cpus}


def time_cli(args: argparse.Namespace) -> dict[str, Any]:
    """``python -m npsoftmax.train --quiet`` end to end: wall seconds and the child's own peak RSS."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        # The first run warms the OS file cache and matplotlib's font cache; it is not counted.
        for i in range(args.repeat + 1):
            out = Path(tmp) / f"run{i}"
            argv = [sys.executable, "-m", "npsoftmax.train", "--data-dir", args.data_dir, "--out", str(out)]
            argv += ["--dtype", args.dtype, "--quiet"]
            if args.wait_idle:
                wait_until_idle(args.wait_idle)
            stderr_path = Path(tmp) / f"stderr{i}.txt"
            with OtherLoad() as load, open(stderr_path, "w") as stderr:  # a file: a full pipe would block it
                start = time.perf_counter()
                proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
                _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage alone, unlike RUSAGE_CHILDREN
                seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{shlex.join(argv)} failed with exit status {proc.returncode}:\n{stderr_path.read_text()}"
                )
            metrics = json.loads((out / "metrics.json").read_text())
            runs.append(
                {
                    "seconds": seconds,
                    "peak_rss_mb": usage.ru_maxrss / 1024,
                    "test_acc": metrics["test_acc"],
                    "epoch_seconds": [epoch["seconds"] for epoch in metrics["epochs"]],
                    "other_load_cpus": load.cpus,
                }
            )
    timed = runs[1:]
    return {
        "command": "python -m npsoftmax.train --data-dir DIR --out DIR --quiet" + _dtype_flag(args),
        "wall_seconds": statistics.median(r["seconds"] for r in timed),
        "wall_seconds_all": [r["seconds"] for r in timed],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in timed),
        "other_load_cpus": max(r["other_load_cpus"] for r in timed),
        "test_acc": timed[-1]["test_acc"],
        # The CLI's own timing of its training passes, a cross-check of the npsoftmax row.
        "median_epoch_seconds": statistics.median(s for r in timed for s in r["epoch_seconds"]),
    }


def _dtype_flag(args: argparse.Namespace) -> str:
    return "" if args.dtype == "float32" else f" --dtype {args.dtype}"


def summarize(raw: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per system: median epoch seconds, ratio to npsoftmax, test accuracy, peak RSS, contention.

    An epoch is clean unless other processes competed for the CPUs during it: tasks waited for a CPU more
    than ``MAX_CPU_STALL`` of the time *and* other processes kept more than ``MAX_OTHER_CPUS`` busy (both,
    because a system's own thread team can make tasks wait, and the tick count is coarse for short epochs).
    The median is over the clean epochs of every round when there are at least ``MIN_CLEAN_EPOCHS`` of them
    (or all epochs are clean); otherwise over all epochs, and the system is marked ``contended``.
    """
    systems = {}
    for name, rounds in raw.items():
        seconds = [s for r in rounds for s in r["epoch_seconds"]]
        stall = [f for r in rounds for f in r["epoch_cpu_stall"]]
        others = [c for r in rounds for c in r["epoch_other_cpus"]]
        clean = [s for s, f, c in zip(seconds, stall, others, strict=True) if f <= MAX_CPU_STALL or c <= MAX_OTHER_CPUS]
        contended = len(clean) < min(MIN_CLEAN_EPOCHS, len(seconds))
        common = ("epoch_seconds", "epoch_cpu_stall", "epoch_other_cpus", "test_acc", "peak_rss_mb", "threadpools")
        common += ("other_load_cpus",)
        extra = {k: v for k, v in rounds[-1].items() if k not in common}
        systems[name] = {
            "label": LABELS[name],
            "median_epoch_seconds": statistics.median(seconds if contended else clean),
            "contended": contended,
            "clean_epochs": len(clean),
            "median_epoch_seconds_all": statistics.median(seconds),
            "min_epoch_seconds": min(seconds),
            "epoch_seconds": seconds,
            "epoch_cpu_stall": stall,
            "epoch_other_cpus": others,
            "test_acc": rounds[-1]["test_acc"],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
            "other_load_cpus": max(r["other_load_cpus"] for r in rounds),
            **extra,
        }
    reference = systems["npsoftmax"]["median_epoch_seconds"]
    for entry in systems.values():
        entry["ratio_vs_npsoftmax"] = entry["median_epoch_seconds"] / reference
    return systems


def check_targets(systems: dict[str, dict[str, Any]], cli: dict | None, load: dict | None) -> list[dict]:
    """The targets of issue 5, each with the measured value and pass / fail."""
    npsoftmax_seconds = systems["npsoftmax"]["median_epoch_seconds"]
    targets = []
    for name, limit, text in TARGETS:
        ratio = npsoftmax_seconds / systems[name]["median_epoch_seconds"]
        measured = f"{ratio:.2f}x the floor" if name == "floor" else f"{1 / ratio:.1f}x faster"
        targets.append({"target": text, "measured": measured, "passed": ratio <= limit})
    if cli is not None:
        targets.append(
            {
                "target": f"python -m npsoftmax.train (10 epochs, eval, plots) <= {CLI_MAX_SECONDS:g} s wall",
                "measured": f"{cli['wall_seconds']:.2f} s",
                "passed": cli["wall_seconds"] <= CLI_MAX_SECONDS,
            }
        )
        targets.append(
            {
                "target": f"python -m npsoftmax.train peak RSS <= {CLI_MAX_RSS_MB:g} MB",
                "measured": f"{cli['peak_rss_mb']:.0f} MB",
                "passed": cli["peak_rss_mb"] <= CLI_MAX_RSS_MB,
            }
        )
    if load is not None:
        targets.append(
            {
                "target": f"warm load_fashion_mnist in a fresh process <= {WARM_LOAD_MAX_MS:g} ms",
                "measured": f"{load['seconds'] * 1000:.1f} ms",
                "passed": load["seconds"] * 1000 <= WARM_LOAD_MAX_MS,
            }
        )
    return targets


def render_markdown(results: dict[str, Any]) -> str:
    machine, config = results["machine"], results["config"]
    pool_text = {
        process: ", ".join(f"{p['internal_api']} {p['version'] or '?'} ({p['num_threads']} threads)" for p in pools)
        for process, pools in machine["threadpools"].items()
    }
    lines = [
        f"# Benchmark: one training epoch ({config['data']}, {config['dtype']}, batch {BATCH_SIZE})",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {machine['cpu_model']}, {machine['usable_cpus']} usable of {machine['logical_cpus']} logical "
        f"CPUs; Python {machine['python']}, NumPy {machine['numpy']}, PyTorch {machine['torch']} "
        f"({machine['torch_num_threads']} threads, its default), scikit-learn {machine['scikit-learn']}. "
        "Thread pools: " + "; ".join(f"{process}: {text}" for process, text in pool_text.items()) + ".",
        "",
        "Other processes on the machine kept this many CPUs busy while each system ran (the worst round): "
        + ", ".join(f"{name} {entry['other_load_cpus']:.2f}" for name, entry in results["systems"].items())
        + f". Load average (1 min) {results['loadavg_before'][0]:.2f} before the run, "
        f"{results['loadavg_after'][0]:.2f} after. Anything well above 0 means the machine was shared and the "
        "times are inflated (BLAS and OpenMP thread teams that lose a core wait for it).",
        "",
        f"Median of {config['epochs']} timed epochs x {config['repeat']} rounds (after a warm-up epoch each), "
        "each system in its own process, over the clean epochs: those in which tasks did not wait for a CPU "
        f"more than {MAX_CPU_STALL:.0%} of the time (Linux PSI) or other processes kept at most "
        f"{MAX_OTHER_CPUS} CPUs busy. A system with fewer than "
        f"{MIN_CLEAN_EPOCHS} clean epochs is marked (contended) and its median is over all epochs. "
        "Ratio = the system's epoch time / npsoftmax's (above 1: slower than npsoftmax). Test accuracy after "
        f"the run's {config['epochs'] + 1} epochs.",
        "",
        "| system | median epoch s | ratio vs npsoftmax | test acc | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for entry in results["systems"].values():
        acc = "n/a (no training)" if entry["test_acc"] is None else f"{entry['test_acc']:.4f}"
        flag = " (contended)" if entry["contended"] else ""
        lines.append(
            f"| {entry['label']} | {entry['median_epoch_seconds']:.4f}{flag} | {entry['ratio_vs_npsoftmax']:.2f}x "
            f"| {acc} | {entry['peak_rss_mb']:.0f} |"
        )
    logreg, floor = results["systems"]["sklearn-logreg"], results["systems"]["floor"]
    lines += [
        "",
        f"LogisticRegression: {logreg['n_train']} training examples, {logreg['n_iter']} lbfgs iterations "
        f"(max_iter {logreg['max_iter']}); its time is the whole fit.",
    ]
    if results.get("cli"):
        cli = results["cli"]
        lines += [
            "",
            f"End to end, `{cli['command']}` on the warm cache: {cli['wall_seconds']:.2f} s wall (median), "
            f"peak RSS {cli['peak_rss_mb']:.0f} MB, test accuracy {cli['test_acc']:.4f}; the median training pass "
            f"it reports is {cli['median_epoch_seconds']:.4f} s (other processes kept {cli['other_load_cpus']:.2f} "
            "CPUs busy meanwhile).",
        ]
    if results.get("warm_load"):
        lines += ["", f"Warm `load_fashion_mnist` in a fresh process: {results['warm_load']['seconds'] * 1000:.1f} ms."]
    lines += ["", "## Targets", "", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {'pass' if t['passed'] else 'FAIL'} |" for t in results["targets"]]
    lines += [
        "",
        "The floor is the two GEMMs every batch needs (`Xb @ W` for the logits, `Xb.T @ G` for the weight "
        "gradient), for the same number of batches, on a batch already in cache with preallocated outputs; "
        "everything else an epoch does (reading and converting the batch, softmax, loss, update) comes on top. "
        "It is timed with the default BLAS threads and with one, and the faster counts: here "
        + ", ".join(f"{k} {v:.4f} s" for k, v in floor["median_epoch_seconds_by_blas_threads"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def run_parent(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"loadavg_before": os.getloadavg(), "machine": machine_info()}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        synthetic = None
        if args.quick:
            make_synthetic(Path(tmp))
            synthetic = tmp
        else:
            import npsoftmax as nps

            nps.load_fashion_mnist(args.data_dir)  # fetch and build the cache before anything is timed
        raw: dict[str, list[dict[str, Any]]] = {name: [] for name in SYSTEMS}
        for round_index in range(args.repeat):
            for name in SYSTEMS:
                if name == "sklearn-logreg" and round_index > 0:
                    continue  # a whole fit takes about 30 s: once is enough
                raw[name].append(spawn(name, args, synthetic))
                median = statistics.median(raw[name][-1]["epoch_seconds"])
                log.info("round %d/%d  %-15s %.4f s", round_index + 1, args.repeat, name, median)
    results["systems"] = summarize(raw)
    results["machine"]["threadpools"] = {
        "numpy (npsoftmax)": raw["npsoftmax"][-1]["threadpools"],
        "torch (torch-nn)": raw["torch-nn"][-1]["threadpools"],
    }
    results["machine"]["torch_num_threads"] = raw["torch-nn"][-1]["torch_num_threads"]
    results["cli"] = results["warm_load"] = None
    if not args.quick:
        results["cli"] = time_cli(args)
        log.info("python -m npsoftmax.train: %.2f s", results["cli"]["wall_seconds"])
        loads = [spawn("warm-load", args, None)["seconds"] for _ in range(max(3, args.repeat))]
        results["warm_load"] = {"seconds": statistics.median(loads), "seconds_all": loads}
    results["targets"] = check_targets(results["systems"], results["cli"], results["warm_load"])
    results["loadavg_after"] = os.getloadavg()
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per system and round (default 5)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds over all systems (default 3)")
    parser.add_argument("--quick", action="store_true", help="synthetic data, 1 epoch, 1 round: a smoke test")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent), help="folder of the results")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--data-dir", default="data/fashion-mnist")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measurement, wait up to this long for other processes to leave the CPUs idle",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.epochs = args.epochs if args.epochs is not None else (1 if args.quick else 5)
    args.repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    for name in ("epochs", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run_parent(args)
    results["command"] = shlex.join(["python", "benchmarks/bench_epoch.py", *(sys.argv[1:] if argv is None else argv)])
    results["config"] = {
        "data": "synthetic (--quick)" if args.quick else "Fashion-MNIST",
        "data_dir": None if args.quick else args.data_dir,
        "dtype": args.dtype,
        "epochs": args.epochs,
        "repeat": args.repeat,
        "batch_size": BATCH_SIZE,
        "lr": LR,
        "seed": SEED,
    }
    results["total_seconds"] = time.perf_counter() - start
    stem = "results" + ("" if args.dtype == "float32" else f"-{args.dtype}") + ("-quick" if args.quick else "")
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{stem}.md").write_text(render_markdown(results))
    log.info("wrote %s and %s in %.1f s", out / f"{stem}.json", out / f"{stem}.md", results["total_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
