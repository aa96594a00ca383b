"""``python -m npsoftmax.train``: the d2l chapter "softmax regression from scratch", on NumPy.

Reads top to bottom like the chapter: configuration, data, model, loss, updater, the training loop with its
animated curves (:func:`npsoftmax.train_ch3`), then the pictures of predictions and the confusion matrix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ._cli import log_messages_to
from ._io import write_atomic
from .dataset import TEXT_LABELS
from .fetch import DataUnavailableError, fashion_mnist_source
from .loader import load_data_fashion_mnist
from .losses import CrossEntropyLoss
from .metrics import EVAL_BATCH_SIZE, confusion_matrix
from .model import SoftmaxRegression
from .optim import SGD, constant_lr, cosine_lr
from .plots import plot_confusion
from .training import TrainingDiverged, predict_ch3, train_ch3

__all__ = ["Config", "PRESETS", "run", "main"]

log = logging.getLogger("npsoftmax.train")


# ---------------------------------------------------------------------------------------------------------
# Configuration: plain data.


@dataclass
class Config:
    """Every setting of a training run; the defaults are the seed's (the ``d2l`` preset)."""

    data_dir: str = "data/fashion-mnist"
    out: str | None = None
    epochs: int = 10
    lr: float = 0.1
    batch_size: int = 256
    seed: int = 0
    dtype: str = "float32"
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    standardize: bool = False
    normalize_images: bool = False
    preset: str = "d2l"
    download: bool = True
    quiet: bool = False
    num_images: int = 18


# "best" was chosen by 5-fold cross-validation on the training set (the test set untouched): see
# benchmarks/tune_preset.py and benchmarks/tune_preset.json.
PRESETS: dict[str, dict] = {
    "d2l": {},
    "best": {
        "normalize_images": True,
        "standardize": True,
        "optimizer": "momentum",
        "momentum": 0.9,
        "schedule": "cosine",
        "lr": 0.1,
        "weight_decay": 3e-3,
        "epochs": 30,
    },
}

SCHEDULES: dict[str, Callable[[float, int, int], float]] = {"constant": constant_lr, "cosine": cosine_lr}


# ---------------------------------------------------------------------------------------------------------
# A whole run, as the command line does it.


def _write_json(path: Path, payload: dict) -> None:
    text = json.dumps(payload, indent=2) + "\n"
    write_atomic(path, lambda f: f.write(text.encode()))


def _progress_bar(config: Config) -> Callable[[Iterable], Iterable] | None:
    if config.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return lambda batches: tqdm(batches, leave=False, unit="batch", dynamic_ncols=True)


def run(config: Config) -> dict:
    """Train as ``config`` says, write every output into ``config.out``, return the metrics written."""
    out = Path(config.out)
    dtype = np.dtype(config.dtype)
    model_seed, data_seed = np.random.SeedSequence(config.seed).generate_state(2)

    # Data
    train_iter, test_iter = load_data_fashion_mnist(
        config.batch_size,
        config.data_dir,
        download=config.download,
        seed=int(data_seed),
        standardize=config.standardize,
        normalize_images=config.normalize_images,
        dtype=dtype,
        quiet=config.quiet,
    )
    # Model, loss, updater
    net = SoftmaxRegression(784, 10, seed=int(model_seed), dtype=dtype)
    loss = CrossEntropyLoss(weight_decay=config.weight_decay)
    momentum = config.momentum if config.optimizer == "momentum" else 0.0
    updater = SGD(net.params, lr=config.lr, momentum=momentum)

    metrics: dict = {
        "config": dataclasses.asdict(config),
        "status": "running",
        "epochs": [],
        "data": {
            "source": fashion_mnist_source(config.data_dir),
            "n_train": train_iter.num_examples,
            "n_test": test_iter.num_examples,
        },
    }

    def report(record: dict) -> None:
        metrics["epochs"].append(record)
        log.info(
            "epoch %2d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.3f s (+%.3f s eval)",
            record["epoch"], config.epochs, record["train_loss"], record["train_acc"],
            record["test_acc"], record["seconds"], record["eval_seconds"],
        )  # fmt: skip

    try:
        train_ch3(
            net, train_iter, test_iter, loss, config.epochs, updater, schedule=SCHEDULES[config.schedule],
            path=out / "curves.png", on_epoch=report, progress=_progress_bar(config),
        )  # fmt: skip
    except TrainingDiverged as exc:
        metrics["status"] = "diverged"
        _write_json(out / "metrics.json", metrics)
        raise TrainingDiverged(
            f"training diverged in epoch {len(metrics['epochs']) + 1} ({exc}) with --lr {config.lr}; "
            f"try a smaller learning rate, e.g. --lr {config.lr / 10:g}. No model was saved."
        ) from None

    # Pictures and the final numbers
    y_pred = np.concatenate([net.predict(X) for X, _ in test_iter.with_batch_size(EVAL_BATCH_SIZE)])
    confusion = confusion_matrix(test_iter.labels, y_pred, 10)
    per_class = np.diag(confusion) / confusion.sum(axis=1)
    metrics.update(
        status="completed",
        test_acc=metrics["epochs"][-1]["test_acc"],
        per_class_acc={name: float(acc) for name, acc in zip(TEXT_LABELS, per_class, strict=True)},
        train_seconds=sum(r["seconds"] for r in metrics["epochs"]),
    )
    predict_ch3(net, test_iter, n=config.num_images, path=out / "predictions.png")
    plot_confusion(confusion, TEXT_LABELS, out / "confusion.png")
    net.save(out / "model.npz")
    _write_json(out / "metrics.json", metrics)
    log.info("test accuracy %.4f; wrote metrics.json, curves.png, predictions.png, confusion.png, model.npz to %s",
             metrics["test_acc"], out)  # fmt: skip
    return metrics


# ---------------------------------------------------------------------------------------------------------
# Command line.


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _momentum(text: str) -> float:
    value = _nonnegative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d2l = Config()
    best = PRESETS["best"]
    parser = argparse.ArgumentParser(
        prog="python -m npsoftmax.train",
        description="Softmax regression on Fashion-MNIST with NumPy and hand-derived gradients (d2l 3.6). "
        "With no arguments: the seed's setting, batch 256, lr 0.1, 10 epochs. Writes metrics.json, curves.png, "
        "predictions.png, confusion.png and model.npz into --out.",
    )
    # Settings a preset may change default to None here, so that a flag given explicitly wins over the preset.
    parser.add_argument("--preset", choices=sorted(PRESETS), default="d2l",
                        help="d2l (default): the seed's recipe; best: " + ", ".join(f"{k}={v}" for k, v in best.items())
                        + " (chosen on a validation split of the training set)")  # fmt: skip
    parser.add_argument("--data-dir", default=d2l.data_dir, metavar="DIR",
                        help=f"where Fashion-MNIST is, or is downloaded to (default: {d2l.data_dir})")  # fmt: skip
    parser.add_argument("--out", metavar="DIR", help="output folder (default: runs/<timestamp>)")
    parser.add_argument("--epochs", type=_positive_int, help=f"number of epochs (d2l: {d2l.epochs})")
    parser.add_argument("--lr", type=_nonnegative_float, help=f"learning rate (d2l: {d2l.lr})")
    parser.add_argument("--batch-size", type=_positive_int, help=f"minibatch size (d2l: {d2l.batch_size})")
    parser.add_argument("--seed", type=int, default=d2l.seed,
                        help=f"seed of the initialization and the shuffling (default: {d2l.seed})")  # fmt: skip
    parser.add_argument("--dtype", choices=("float32", "float64"), default=d2l.dtype,
                        help=f"floating-point precision (default: {d2l.dtype})")  # fmt: skip
    parser.add_argument("--optimizer", choices=("sgd", "momentum"), help=f"(d2l: {d2l.optimizer})")
    parser.add_argument("--momentum", type=_momentum,
                        help=f"momentum coefficient with --optimizer momentum (default: {d2l.momentum})")  # fmt: skip
    parser.add_argument("--weight-decay", type=_nonnegative_float, help=f"L2 penalty (d2l: {d2l.weight_decay})")
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), help=f"learning-rate schedule (d2l: {d2l.schedule})")
    parser.add_argument("--standardize", action="store_true", default=None,
                        help="scale each pixel by the training set's per-pixel mean and std (d2l: off)")  # fmt: skip
    parser.add_argument("--normalize-images", action="store_true", default=None,
                        help="bring each image to mean 0 and std 1 over its own pixels first (d2l: off)")  # fmt: skip
    parser.add_argument("--num-images", type=_positive_int, default=d2l.num_images, metavar="N",
                        help=f"test images in predictions.png, at least 6 (default: {d2l.num_images})")  # fmt: skip
    parser.add_argument("--no-download", dest="download", action="store_false",
                        help="never touch the network: use only files already there or the system copy")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines, no progress bar")
    return parser


def parse_config(argv: list[str] | None = None) -> Config:
    """Parse the command line into a :class:`Config`: defaults, then the preset, then explicit flags."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if Path(args.data_dir).exists() and not Path(args.data_dir).is_dir():
        parser.error(f"--data-dir {args.data_dir} is a file; give a folder (it is created if missing)")
    settings = dataclasses.asdict(Config()) | PRESETS[args.preset]
    settings |= {key: value for key, value in vars(args).items() if value is not None}
    settings["num_images"] = max(settings["num_images"], 6)
    settings["out"] = settings["out"] or str(Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S"))
    return Config(**settings)


def _prepare_output_folder(out: Path) -> None:
    """Fail before training, not after it, when the results could not be written."""
    out.mkdir(parents=True, exist_ok=True)
    probe = out / f".write-test-{os.getpid()}"
    probe.write_bytes(b"")
    probe.unlink()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m npsoftmax.train`` and ``npsoftmax-train``; returns the exit status."""
    config = parse_config(argv)
    try:
        _prepare_output_folder(Path(config.out))
    except OSError as exc:
        print(f"error: cannot write to --out {config.out}: {exc.strerror or exc}; choose another folder",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        with log_messages_to(sys.stdout, config.quiet):
            run(config)
    except (TrainingDiverged, DataUnavailableError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
