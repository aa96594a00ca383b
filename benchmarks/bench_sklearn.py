"""SoftmaxClassifier against scikit-learn's own linear classifiers, and its epoch against ``train_epoch_ch3``'s.

Run from the repository root::

    python benchmarks/bench_sklearn.py                     # -> bench-results/results-sklearn.{json,md}
    python benchmarks/bench_sklearn.py --write-results     # -> benchmarks/results-sklearn.{json,md}
    python benchmarks/bench_sklearn.py --quick --out DIR   # fewer rounds, the long fits on a subset

Two measurements on the real Fashion-MNIST, pixels scaled to [0, 1]:

- **fits**, time and test accuracy, in one run: ``SoftmaxClassifier().fit`` (the chapter's recipe: 10 epochs,
  lr 0.1, batches of 256), ``LogisticRegression()`` (lbfgs) and ``SGDClassifier(loss="log_loss")``, with
  scikit-learn's defaults, each given the float array it computes in (converted once, untimed);
- **epochs**: ten epochs of ``SoftmaxClassifier(max_iter=10).fit`` on float32 pixels against ten of
  ``train_epoch_ch3`` over the chapter's loader (what ``python -m npsoftmax.train`` runs), in interleaved rounds;
  the epoch is a round's time over ten, and the table gives the median over rounds. ``fit``'s time includes its
  one check of the input. The target: ``fit``'s epoch within 10% of ``train_epoch_ch3``'s.

The machine is shared: the 1-minute load average is recorded before every round.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from typing import Any

import harness
import numpy as np
from threadpoolctl import threadpool_limits

EPOCHS, SEED, TARGET_RATIO = 10, 0, 1.10


def pixels(images: np.ndarray, dtype: type) -> np.ndarray:
    """(n, 784) in [0, 1], computed as the chapter's loader computes its batches."""
    return (images.reshape(len(images), -1).astype(np.float32) * np.float32(1 / 255)).astype(dtype)


def time_fit(make, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """Fit a fresh ``make()`` once; its seconds and test accuracy."""
    clf = make()
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    return {"fit_seconds": seconds, "test_acc": float(clf.score(X_test, y_test))}


def run_fits(data: tuple, n_long: int | None) -> dict[str, dict[str, Any]]:
    """Each classifier once: fit seconds and test accuracy. ``n_long`` limits scikit-learn's fits to a subset."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from npsoftmax.sklearn import SoftmaxClassifier

    images, y, test_images, y_test = data
    n = len(images) if n_long is None else n_long
    systems = {
        "SoftmaxClassifier().fit (10 epochs)": (lambda: SoftmaxClassifier(random_state=SEED), np.float32, len(images)),
        "LogisticRegression() (lbfgs)": (LogisticRegression, np.float64, n),
        'SGDClassifier(loss="log_loss")': (lambda: SGDClassifier(loss="log_loss", random_state=SEED), np.float64, n),
    }
    results = {}
    for label, (make, dtype, n_train) in systems.items():
        with warnings.catch_warnings():
            # lbfgs stops at max_iter=100 before its tolerance: the default fit's time and accuracy still.
            warnings.simplefilter("ignore", ConvergenceWarning)
            X, X_test = pixels(images[:n_train], dtype), pixels(test_images, dtype)
            results[label] = {
                **time_fit(make, X, y[:n_train], X_test, y_test),
                "n_train": n_train,
                "dtype": np.dtype(dtype).name,
                "loadavg_1min": harness.load_average(),
            }
        print(f"  {label:40s} {results[label]['fit_seconds']:7.2f} s  acc {results[label]['test_acc']:.4f}", flush=True)
    return results


def run_epochs(data: tuple, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of ten epochs each way; the per-epoch seconds of every round."""
    import npsoftmax as nps
    from npsoftmax.sklearn import SoftmaxClassifier

    images, y, _, _ = data
    X = pixels(images, np.float32)
    times: dict[str, list[float]] = {"train_epoch_ch3": [], "SoftmaxClassifier.fit": []}
    loads = []
    for round_number in range(rounds + 1):  # round 0 warms up both, untimed
        loads.append(harness.load_average())
        train_iter = nps.MinibatchIter(images, y, 256, shuffle=True, seed=SEED)
        net = nps.SoftmaxRegression(784, 10, seed=SEED)
        updater = nps.SGD(net.params, lr=0.1)
        start = time.perf_counter()
        with threadpool_limits(limits=1, user_api="blas"):  # as fit_epochs and SoftmaxClassifier run their epochs
            for _ in range(EPOCHS):
                nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, updater)
        ch3 = (time.perf_counter() - start) / EPOCHS

        clf = SoftmaxClassifier(max_iter=EPOCHS, random_state=SEED)
        start = time.perf_counter()
        clf.fit(X, y)
        fit = (time.perf_counter() - start) / EPOCHS
        if round_number:
            times["train_epoch_ch3"].append(ch3)
            times["SoftmaxClassifier.fit"].append(fit)
            print(f"  round {round_number}/{rounds}: train_epoch_ch3 {ch3:.4f} s, fit {fit:.4f} s", flush=True)
    ratios = [f / c for f, c in zip(times["SoftmaxClassifier.fit"], times["train_epoch_ch3"], strict=True)]
    return {
        "epoch_seconds": times,
        "median_epoch_seconds": {name: statistics.median(t) for name, t in times.items()},
        "median_ratio": statistics.median(ratios),
        "loadavg_1min": loads,
    }


def markdown(report: dict[str, Any]) -> str:
    fits, epochs = report["fits"], report["epochs"]
    lines = [
        *harness.markdown_head("SoftmaxClassifier and scikit-learn's linear classifiers: Fashion-MNIST", report),
        "",
        "| classifier | training examples | dtype | fit s | test acc | load avg |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for label, r in fits.items():
        lines.append(
            f"| {label} | {r['n_train']} | {r['dtype']} | {r['fit_seconds']:.2f} | {r['test_acc']:.4f} "
            f"| {r['loadavg_1min']:.2f} |"
        )
    median = epochs["median_epoch_seconds"]
    loads = epochs["loadavg_1min"]
    lines += [
        "",
        f"One epoch, median of {len(epochs['epoch_seconds']['train_epoch_ch3'])} interleaved rounds of "
        f"{EPOCHS} epochs each (load average {min(loads):.2f}-{max(loads):.2f}):",
        "",
        "| epoch of | median s |",
        "|---|---:|",
        *(f"| {name} | {seconds:.4f} |" for name, seconds in median.items()),
        "",
        "| target | measured | result |",
        "|---|---:|---|",
        f"| SoftmaxClassifier.fit epoch / train_epoch_ch3 epoch <= {TARGET_RATIO:.2f} (median of the rounds' "
        f"ratios) | {epochs['median_ratio']:.3f} | {'met' if epochs['median_ratio'] <= TARGET_RATIO else 'MISSED'} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = harness.ArgumentParser(
        "bench_sklearn.py", "benchmarks/results-sklearn.{json,md}", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of the epoch comparison")
    parser.add_argument("--data-dir", default=None, help="where Fashion-MNIST is (default: the data home)")
    parser.add_argument("--quick", action="store_true", help="3 rounds; scikit-learn's fits on 10,000 examples")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    rounds = 3 if args.quick else args.rounds

    def work() -> dict[str, str]:
        loadavg_start = harness.load_average()
        data = harness.load_fashion_mnist(args.data_dir, download=args.data_dir is None)
        print("fits:", flush=True)
        fits = run_fits(data, 10_000 if args.quick else None)
        print("epochs:", flush=True)
        epochs = run_epochs(data, rounds)
        report = {
            "command": harness.command("bench_sklearn.py", argv),
            "machine": harness.machine_line(["scikit-learn"]),
            "loadavg_start": loadavg_start,
            "loadavg_end": harness.load_average(),
            "fits": fits,
            "epochs": epochs,
        }
        print(markdown(report))
        return {"results-sklearn.json": json.dumps(report, indent=2) + "\n", "results-sklearn.md": markdown(report)}

    return harness.run("bench_sklearn", args.out, work)


if __name__ == "__main__":
    sys.exit(main())
