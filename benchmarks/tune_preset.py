"""Choose the ``--preset best`` recipe by cross-validation on the training set (the test set is never used).

Every candidate (standardized pixels, momentum 0.9, cosine schedule, batch 256, and from the grid: with or
without per-image contrast normalization, a learning rate, a weight decay, a number of epochs) is trained five
times, each time holding out a different fifth of the 60,000 training images (12,000) and training on the other
48,000; its score is the mean validation accuracy over the five held-out folds. The folds are stratified (every
class has its share, 1,200 images, in each) and drawn at random with ``--seed``, by repeated
``npsoftmax.loader.stratified_split``. Averaging over all 60,000 held-out predictions matters: one
10,000-image split measures an accuracy near 0.85 only to about +-0.0036 (one standard error), more than the
candidates differ by.

    python benchmarks/tune_preset.py [--data-dir DIR] [--folds 5] [--seed 0] [--quick] [--out DIR]
    python benchmarks/tune_preset.py --write-results    # the full grid -> benchmarks/tune_preset.json

Prints one line per candidate and the winner. Writes ``tune_preset.json`` (``tune_preset-quick.json`` with
``--quick``) into ``--out`` (default ``bench-results/``, git-ignored); only ``--write-results`` replaces the
committed ``benchmarks/tune_preset.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Callable

import harness
import numpy as np

import npsoftmax as nps
from npsoftmax.loader import pixel_stats, stratified_split

GRID = {"normalize_images": [False, True], "lr": [0.03, 0.1, 0.3], "weight_decay": [1e-3, 3e-3], "epochs": [30]}
QUICK_GRID = {"normalize_images": [True], "lr": [0.1], "weight_decay": [1e-3], "epochs": [1]}
BATCH_SIZE, MOMENTUM = 256, 0.9
COMMITTED = harness.BENCHMARKS / "tune_preset.json"


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Example indices cut into ``folds`` disjoint folds of (nearly) equal size, each class shared out evenly.

    Fold ``i`` is a stratified split of ``1 / (folds - i)`` of what the earlier folds left, so with 6,000
    images per class and 5 folds every fold holds 1,200 of each class.

    Parameters
    ----------
    labels : ndarray of int, shape (n,)
    folds : int, at least 2
    seed : int
        The same seed gives the same folds.

    Returns
    -------
    list of ``folds`` ndarrays of int64
        Disjoint, each in increasing order, together ``0..n-1``.

    Raises
    ------
    ValueError
        Some class has fewer than ``folds`` examples, too few to appear in every fold.
    """
    smallest = int(np.unique(labels, return_counts=True)[1].min())
    if folds > smallest:
        raise ValueError(f"{folds} folds need {folds} examples of every class; the smallest class has {smallest}")
    remaining = np.arange(len(labels))
    result = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(folds - 1)):
        kept, held_out = stratified_split(labels[remaining], 1 / (folds - i), child)
        result.append(remaining[held_out])
        remaining = remaining[kept]
    return [*result, remaining]


def validation_scores(
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    normalize_images: bool,
    lr: float,
    weight_decay: float,
    epochs: int,
    seed: int = 0,
) -> tuple[float, float]:
    """Train one candidate on ``X_fit`` (m, 28, 28) uint8; its validation accuracy and cross-entropy on ``X_val``."""
    mean, std = pixel_stats(X_fit, normalize_images=normalize_images)
    pixels = {"mean": mean, "std": std, "normalize_images": normalize_images}
    fit_iter = nps.MinibatchIter(X_fit, y_fit, BATCH_SIZE, shuffle=True, seed=seed, **pixels)
    val_iter = nps.MinibatchIter(X_val, y_val, len(y_val), **pixels)
    net = nps.SoftmaxRegression(seed=seed)
    updater = nps.SGD(net.params, lr=lr, momentum=MOMENTUM)
    loss = nps.CrossEntropyLoss(weight_decay)
    # train_ch3 scores its positional test_iter after every epoch. Tuning never touches the test set, so the
    # validation fold fills that slot as well, and only the validation scores are read.
    history = nps.train_ch3(
        net, fit_iter, val_iter, loss, epochs, updater, val_iter=val_iter, schedule=nps.cosine_lr, animate=False
    )
    return history[-1]["val_acc"], history[-1]["val_loss"]


def cross_validate(X: np.ndarray, y: np.ndarray, folds: list[np.ndarray], **candidate: float) -> dict:
    """A candidate's validation accuracy and loss on each fold, trained on the others, and their means."""
    accs, losses = [], []
    for fold in folds:
        held_out = np.zeros(len(y), bool)
        held_out[fold] = True
        acc, loss = validation_scores(X[~held_out], y[~held_out], X[held_out], y[held_out], **candidate)
        accs.append(acc)
        losses.append(loss)
    return candidate | {
        "cv_val_acc": statistics.fmean(accs),
        "cv_val_loss": statistics.fmean(losses),
        "fold_val_accs": accs,
        "fold_val_losses": losses,
    }


def _integer_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer of at least ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = harness.ArgumentParser(
        "tune_preset.py",
        f"{COMMITTED.parent.name}/{COMMITTED.name} (the full grid only)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR", help="Fashion-MNIST's data home (default: npsoftmax's)"
    )
    parser.add_argument("--folds", type=_integer_at_least(2), default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--seed", type=_integer_at_least(0), default=0, help="seed of the folds (default 0)")
    parser.add_argument("--quick", action="store_true", help="one candidate, one epoch: a smoke test")
    args = parser.parse_args(argv)
    if args.write_results and args.quick:
        parser.error("--write-results records the full grid; leave out --quick")
    name = "tune_preset-quick.json" if args.quick else COMMITTED.name

    def work() -> dict[str, str]:
        X_train, y_train, _, _ = harness.load_fashion_mnist(args.data_dir)
        try:
            folds = stratified_folds(y_train, args.folds, args.seed)
        except ValueError as exc:
            parser.error(f"--folds {args.folds}: {exc}")
        X_train = np.asarray(X_train)
        grid = QUICK_GRID if args.quick else GRID
        candidates = list(itertools.product(*grid.values()))
        print(f"cross-validating {len(candidates)} candidates on {args.folds} folds", file=sys.stderr, flush=True)
        results = []
        for values in candidates:
            results.append(cross_validate(X_train, y_train, folds, **dict(zip(grid, values, strict=True))))
            print(json.dumps(results[-1]), flush=True)
        best = max(results, key=lambda r: r["cv_val_acc"])
        print("best:", json.dumps(best))
        summary = {"folds": args.folds, "seed": args.seed, "grid": grid, "results": results, "best": best}
        return {name: json.dumps(summary, indent=2, allow_nan=False) + "\n"}

    return harness.run("tune_preset", args.out, work)


if __name__ == "__main__":
    sys.exit(main())
