"""Choose the ``--preset best`` recipe on a validation split of the training set (the test set is not used).

The last 10,000 of the 60,000 training images are held out; each candidate trains on the first 50,000 and is
scored on the held-out part. Prints one line per candidate and the winner; writes ``benchmarks/tune_preset.json``.

    python benchmarks/tune_preset.py [--data-dir data/fashion-mnist] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import npsoftmax as nps
from npsoftmax.loader import pixel_stats
from npsoftmax.train import SCHEDULES, train

N_VALIDATION = 10_000


def score(X_fit, y_fit, X_val, y_val, *, lr, weight_decay, epochs, batch_size, seed=0) -> float:
    mean, std = pixel_stats(X_fit)
    fit_iter = nps.MinibatchIter(X_fit, y_fit, batch_size, True, seed, mean, std)
    val_iter = nps.MinibatchIter(X_val, y_val, batch_size, False, None, mean, std)
    net = nps.SoftmaxRegression(seed=seed)
    updater = nps.SGD(net.params, lr=lr, momentum=0.9)
    loss = nps.SoftmaxCrossEntropy(weight_decay=weight_decay)
    history = train(net, fit_iter, val_iter, loss, epochs, updater, SCHEDULES["cosine"])
    return history[-1]["test_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data/fashion-mnist")
    parser.add_argument("--quick", action="store_true", help="a 2-candidate grid, for a smoke test")
    parser.add_argument("--out", default=str(Path(__file__).with_name("tune_preset.json")))
    args = parser.parse_args()

    X_train, y_train, _, _ = nps.load_fashion_mnist(args.data_dir)
    X_fit, y_fit = X_train[:-N_VALIDATION], y_train[:-N_VALIDATION]
    X_val, y_val = X_train[-N_VALIDATION:], y_train[-N_VALIDATION:]

    grid = {"lr": [0.003, 0.01, 0.03], "weight_decay": [0.0, 1e-4, 1e-3], "epochs": [10, 20, 30], "batch_size": [256]}
    if args.quick:
        grid = {"lr": [0.01], "weight_decay": [0.0, 1e-4], "epochs": [2], "batch_size": [256]}
    results = []
    for values in itertools.product(*grid.values()):
        candidate = dict(zip(grid, values, strict=True))
        acc = score(X_fit, y_fit, X_val, y_val, **candidate)
        results.append({**candidate, "val_acc": acc})
        print(json.dumps(results[-1]), flush=True)
    best = max(results, key=lambda r: r["val_acc"])
    print("best:", json.dumps(best))
    Path(args.out).write_text(json.dumps({"validation": N_VALIDATION, "results": results, "best": best}, indent=2))


if __name__ == "__main__":
    main()
