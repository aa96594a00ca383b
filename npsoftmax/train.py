"""``python -m npsoftmax.train``: the d2l chapter "softmax regression from scratch", on NumPy.

Reads top to bottom like the chapter: configuration, data, model, loss, updater, the training loop with its
animated curves (:func:`npsoftmax.train_ch3`), then the pictures and the numbers.

A run never destroys another: ``--out`` must be new or empty unless ``--overwrite`` is given and is held by one
run at a time, the default folder is unique, ``metrics.json`` is rewritten after every epoch, and Ctrl-C (or
SIGTERM, SIGHUP, ...) keeps the finished epochs. The model and ``metrics.json`` are written before the pictures
(``--no-pictures``: no pictures at all).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._blas import one_blas_thread
from ._cli import (
    ArgumentParser,
    UsageError,
    check_data_home,
    environment_help,
    mirror,
    number,
    paragraphs,
    program_name,
)
from ._painter import Painter, Picture, background_pictures, draw, painter, render
from ._run import (
    OutputError,
    Record,
    Stopped,
    output_error,
    provenance,
    run_command,
    settings_of,
    stop,
    write_output,
)
from ._signals import held, settle
from .ch3 import train_ch3
from .data import FASHION_MNIST, Dataset, mirrors_from_env
from .loader import MinibatchIter, load_data_fashion_mnist
from .losses import CrossEntropyLoss, softmax
from .metrics import (
    EVAL_BATCH_SIZE,
    confident_mistakes,
    confusion_matrix,
    expected_calibration_error,
    per_class_report,
    top_k_accuracy,
)
from .model import SoftmaxRegression
from .optim import SCHEDULES, SGD
from .training import History, TrainingDiverged, run_seeds

__all__ = ["Config", "PRESETS", "OUTPUTS", "Setup", "build", "fit", "run", "main"]

log = logging.getLogger("npsoftmax.train")

OUTPUTS = (
    "metrics.json",
    "curves.png",
    "predictions.png",
    "confusion.png",
    "weights.png",
    "calibration.png",
    "evidence.png",
    "mistakes.png",
    "weights_by_epoch.png",
    "model.npz",
)
# The epochs whose weights weights_by_epoch.png shows, with the last one.
SNAPSHOT_EPOCHS = (1, 2, 5)
# A wrong answer at least this probable is a confident mistake (counted in metrics.json).
CONFIDENT = 0.9


# ---------------------------------------------------------------------------------------------------------
# Configuration: plain data. Each field's metadata is its command-line flag.


def setting(default, help: str, **flag) -> dataclasses.Field:  # noqa: A002 - argparse's own word
    return field(default=default, metadata={"help": help, **flag})


@dataclass
class Config:
    """Every setting of a training run; the defaults are d2l's (the ``d2l`` preset)."""

    preset: str = setting(
        "d2l",
        "d2l: the chapter's recipe; best: the one 5-fold cross-validation on the training set chose, whose "
        "settings are listed below",
        choices=("d2l", "best"),
    )
    data_dir: str | None = setting(
        None, "where Fashion-MNIST is, or goes (default: the data home, see NPSOFTMAX_DATA below)", metavar="DIR"
    )
    mirror: tuple[str, ...] = setting(
        (),
        "an http(s) URL or a folder to take the data from, tried in order (repeatable; replaces the defaults)",
        metavar="URL_OR_DIR",
        action="append",
        type=mirror,
    )
    download: bool = setting(
        True, "never touch the network: use only files already there or the system copy", flag="--no-download"
    )
    out: str | None = setting(
        None, "output folder, new or empty (default: runs/<timestamp> in the current folder)", metavar="DIR"
    )
    overwrite: bool = setting(False, "replace the run already in --out, all of its files")
    epochs: int = setting(10, "number of epochs", type=number(int, 1, 100_000))
    lr: float = setting(0.1, "learning rate", type=number(float, 0, open_low=True))
    batch_size: int = setting(256, "minibatch size", type=number(int, 1, 60_000))
    seed: int = setting(
        0, "seed of the initialization, the shuffling and the validation split", type=number(int, 0, 2**63 - 1)
    )
    dtype: str = setting("float32", "floating-point precision", choices=("float32", "float64"))
    loss: str = setting(
        "stable",
        "stable: log-sum-exp; naive: the chapter's exp(X) / sum(exp(X)) and -log(y_hat[y])",
        choices=("stable", "naive"),
    )
    momentum: float = setting(0.0, "SGD momentum, 0 for plain SGD", type=number(float, 0, 1, open_high=True))
    weight_decay: float = setting(0.0, "L2 penalty", type=number(float, 0))
    schedule: str = setting("constant", "learning-rate schedule", choices=tuple(SCHEDULES))
    standardize: bool = setting(False, "scale each pixel by the training set's per-pixel mean and std")
    normalize_images: bool = setting(False, "bring each image to mean 0 and std 1 over its own pixels first")
    val_split: float | None = setting(
        None,
        "hold out this stratified share of the training set for validation",
        metavar="FRACTION",
        type=number(float, 0, 1, open_low=True, open_high=True),
    )
    early_stopping: int | None = setting(
        None,
        "with --val-split: stop when the validation loss has not improved "
        "for PATIENCE epochs, keeping the best epoch's weights",
        metavar="PATIENCE",
        type=number(int, 1),
    )
    num_images: int = setting(18, "how many test images predictions.png shows", metavar="N", type=number(int, 1, 100))
    pictures: bool = setting(
        True,
        "write model.npz and metrics.json only: no picture, and no matplotlib to import (for scripts that run many)",
        flag="--no-pictures",
    )
    quiet: bool = setting(
        False, "no progress lines (each epoch's, each run's) and no progress bar: only warnings and the closing lines"
    )


# "best" was chosen by 5-fold cross-validation on the training set (the test set untouched): see
# benchmarks/tune_preset.py and benchmarks/tune_preset.json.
PRESETS: dict[str, dict] = {
    "d2l": {},
    "best": {
        "normalize_images": True,
        "standardize": True,
        "momentum": 0.9,
        "schedule": "cosine",
        "lr": 0.3,
        "weight_decay": 3e-3,
        "epochs": 30,
    },
}


# ---------------------------------------------------------------------------------------------------------
# Training, as the library does it: data, model, loss, updater, then train_ch3.


class Setup(NamedTuple):
    net: SoftmaxRegression
    loss: CrossEntropyLoss
    updater: SGD
    train_iter: MinibatchIter
    val_iter: MinibatchIter | None
    test_iter: MinibatchIter
    source: str | None = None  # where the data came from, credentials redacted
    dataset: Dataset = FASHION_MNIST


def build(config: Config, *, dataset: Dataset = FASHION_MNIST) -> Setup:
    """The data, model, loss and updater ``config`` describes, on ``dataset``. The same ``config.seed`` gives the
    same numbers."""
    model_seed, data_seed = run_seeds(config.seed)
    dtype = np.dtype(config.dtype)
    try:
        iters = load_data_fashion_mnist(
            config.batch_size,
            config.data_dir,
            download=config.download,
            seed=data_seed,
            standardize=config.standardize,
            normalize_images=config.normalize_images,
            val_split=config.val_split,
            dtype=dtype,
            mirrors=list(config.mirror) or None,
            quiet=config.quiet,
            dataset=dataset,
        )
    except ValueError as exc:  # a setting the data cannot meet, e.g. a --val-split that empties a class
        raise UsageError(f"--val-split {config.val_split}: {exc}" if config.val_split else str(exc)) from None
    train_iter, test_iter = iters
    net = SoftmaxRegression(dataset.n_features, dataset.n_classes, seed=model_seed, dtype=dtype)
    loss = CrossEntropyLoss(weight_decay=config.weight_decay, naive=config.loss == "naive")
    updater = SGD(net.params, lr=config.lr, momentum=config.momentum)
    return Setup(net, loss, updater, train_iter, iters.val_iter, test_iter, iters.source, dataset)


def fit(
    config: Config,
    setup: Setup,
    *,
    path: Path | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> History:
    """Train ``setup`` for ``config.epochs`` with :func:`npsoftmax.train_ch3`; curves to ``path`` if given."""
    return train_ch3(
        setup.net,
        setup.train_iter,
        setup.test_iter,
        setup.loss,
        config.epochs,
        setup.updater,
        val_iter=setup.val_iter,
        patience=config.early_stopping,
        schedule=SCHEDULES[config.schedule],
        path=path,
        animate=path is not None,
        on_epoch=on_epoch,
        progress=progress,
    )


# ---------------------------------------------------------------------------------------------------------
# A whole run, as the command line does it.


def _progress_bar(config: Config) -> Callable[[Iterable], Iterable] | None:
    if config.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return lambda batches: tqdm(batches, leave=False, unit="batch", dynamic_ncols=True)


def run(config: Config, out: Path, *, dataset: Dataset = FASHION_MNIST) -> dict:
    """Train on ``dataset`` as ``config`` says, write every output into ``out``, return the metrics written.

    Raises :class:`npsoftmax._run.Stopped` when training diverges, is interrupted (Ctrl-C or a termination
    signal) or a result cannot be written, after writing what was finished with a status saying what happened.

    The pictures are drawn in a second process started now, which imports matplotlib while training runs
    (see :mod:`npsoftmax._painter`; ``NPSOFTMAX_BACKGROUND_PICTURES=0`` turns it off); the files are the same.
    With ``config.pictures`` false there are no pictures and no second process.
    """
    with painter(config.pictures and background_pictures()) as drawer:
        return _Run(config, out, dataset).train(drawer)


class _Run:
    """A run as it trains: its setup, its record (``metrics.json``), and the parameters and the weights that
    weights_by_epoch.png shows as of its last finished epoch, which are what an interrupted run keeps."""

    def __init__(self, config: Config, out: Path, dataset: Dataset) -> None:
        self.config, self.out = config, out
        self.setup = build(config, dataset=dataset)
        content = {
            "config": settings_of(config, out),
            "status": "running",
            "epochs": [],
            "data": provenance(self.setup),
        }
        self.record = Record(out / "metrics.json", content, "epochs")
        self.params: tuple[np.ndarray, ...] = ()
        self.snapshots: dict[int, np.ndarray] = {}  # W after SNAPSHOT_EPOCHS and the last epoch

    def on_epoch(self, record: dict) -> None:
        params = tuple(p.copy() for p in self.setup.net.params)
        with held():  # the record and the parameters of the same epoch, always
            self.record.add(record, durable=False)
            self.params = params
        for epoch in [e for e in self.snapshots if e not in SNAPSHOT_EPOCHS]:
            del self.snapshots[epoch]
        self.snapshots[record["epoch"]] = params[0]  # the copy just made, kept as it is
        _log_epoch(record, self.config.epochs)

    def train(self, drawer: Painter | None) -> dict:
        try:
            history = fit(self.config, self.setup, on_epoch=self.on_epoch, progress=_progress_bar(self.config))
        except TrainingDiverged as exc:
            raise self.diverged(exc) from None
        except (KeyboardInterrupt, OutputError) as exc:  # OutputError: the metrics.json of an epoch
            if self.params:  # back to the last finished epoch's parameters
                self.setup.net.W[...], self.setup.net.b[...] = self.params
            raise self.stopped(exc) from None
        try:
            return _finish(self.config, self.out, self.setup, history, self.record, self.snapshots, drawer)
        except (KeyboardInterrupt, OutputError) as exc:
            raise self.stopped(exc) from None

    def stopped(self, exc: BaseException) -> Stopped:
        """Keep the finished epochs: their model first, then ``metrics.json``, then their curves."""
        records, out = self.record.content["epochs"], self.out
        keep = [("metrics.json", self.record.write)]
        if records:
            keep.insert(0, ("model.npz", lambda: (out / "model.npz").exists() or _save_model(self.setup.net, out)))
        if records and self.config.pictures:
            keep.append(("curves.png", lambda: (out / "curves.png").exists() or _draw_curves(records, out)))
        return stop(exc, self.record, keep, _count(len(records), "finished epoch"))

    def diverged(self, exc: TrainingDiverged) -> Stopped:
        n = self.record.kept
        self.record.content["status"] = "diverged"
        try:
            self.record.write()
            kept = f"metrics.json in {self.out} " + (
                f"holds the {_count(n, 'finished epoch')} before it" if n else "records it, with no finished epoch"
            )
        except OutputError as error:
            kept = str(error)
        return Stopped(
            f"training diverged in epoch {n + 1} ({exc}) {_divergence_advice(self.config)}. No model was saved; {kept}",
            status=1,
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _log_epoch(record: dict, epochs: int) -> None:
    val = f"  val loss {record['val_loss']:.4f}  val acc {record['val_acc']:.4f}" if "val_acc" in record else ""
    log.info(
        "epoch %2d/%d  loss %.4f  train acc %.4f%s  test acc %.4f  %.3f s (+%.3f s eval)",
        record["epoch"],
        epochs,
        record["train_loss"],
        record["train_acc"],
        val,
        record["test_acc"],
        record["seconds"],
        record["eval_seconds"],
    )


def _draw_curves(records: list[dict], out: Path) -> None:
    write_output(out / "curves.png", draw(Picture("npsoftmax.plots.plot_curves", (records,))), durable=False)


def _save_model(net: SoftmaxRegression, out: Path) -> None:
    try:
        net.save(out / "model.npz")
    except OSError as exc:
        raise output_error(exc, out / "model.npz", sum(p.nbytes for p in net.params), exact=False) from None


def _divergence_advice(config: Config) -> str:
    """What to change after a divergence, by its likely cause.

    With weight decay, each step multiplies the weights by ``1 - lr * weight_decay`` (plus the gradient's
    share); with heavy-ball momentum ``m`` that recursion stays bounded only while
    ``lr * weight_decay < 2 (1 + m)``. Past that bound the weight decay itself blows the weights up, whatever the
    data, and a smaller weight decay is the fix.
    """
    settings = f"with --lr {config.lr:g}"
    if not config.weight_decay:
        return f"{settings}; try a smaller learning rate, e.g. --lr {config.lr / 10:g}"
    settings += f" --weight-decay {config.weight_decay:g}"
    limit = 2 * (1 + config.momentum)
    if config.lr * config.weight_decay >= limit:
        return (
            f"{settings}: the weight decay alone makes the weights grow at every step (lr x weight decay = "
            f"{config.lr * config.weight_decay:g}, stable only below 2 (1 + momentum) = {limit:g}); use a "
            f"--weight-decay below {limit / config.lr:g}, e.g. --weight-decay {limit / config.lr / 100:g}"
        )
    return (
        f"{settings}; try a smaller learning rate, e.g. --lr {config.lr / 10:g}, or a smaller weight decay, "
        f"e.g. --weight-decay {config.weight_decay / 10:g}"
    )


class Evaluation(NamedTuple):
    """The trained model's answers on the test set, computed once for the final numbers and the pictures."""

    logits: np.ndarray
    probs: np.ndarray
    labels: np.ndarray
    mistakes: np.ndarray  # every wrong answer's index, the most confident first
    confusion: np.ndarray


def _evaluate(setup: Setup) -> Evaluation:
    test_iter = setup.test_iter
    with one_blas_thread():  # as evaluation: the same rounding whatever thread count the process was left with
        logits = np.concatenate([setup.net(X) for X, _ in test_iter.with_batch_size(EVAL_BATCH_SIZE)])
    probs, labels = softmax(logits), test_iter.labels
    confusion = confusion_matrix(labels, logits.argmax(axis=1), setup.dataset.n_classes)
    return Evaluation(logits, probs, labels, confident_mistakes(probs, labels), confusion)


def _final_numbers(setup: Setup, history: History, evaluation: Evaluation, config: Config) -> dict:
    logits, probs, labels, mistakes, confusion = evaluation
    top_k_acc = {str(k): top_k_accuracy(logits, labels, k) for k in (1, 2, 3)}
    numbers = {
        "status": "completed",
        "test_acc": top_k_acc["1"],  # the saved model's: with early stopping, the best epoch's
        "top_k_acc": top_k_acc,
        "ece": expected_calibration_error(probs, labels),
        "per_class": per_class_report(confusion, setup.dataset.class_names),
        "confident_mistakes": {
            "threshold": CONFIDENT,
            "count": int(np.count_nonzero(probs[mistakes].max(axis=1) >= CONFIDENT)),
            "of_mistakes": len(mistakes),
        },
        "train_seconds": sum(r["seconds"] for r in history),
    }
    if config.early_stopping is not None:
        numbers |= {"best_epoch": history.best_epoch, "stopped_early": history.stopped_early}
    return numbers


def _pictures(
    config: Config, setup: Setup, history: History, evaluation: Evaluation, snapshots: dict, ece: float
) -> dict[str, Picture]:
    """The pictures as data: the functions of npsoftmax.plots by name (this process need not import matplotlib)."""
    from .metrics import calibration_bins, coverage_curve

    net, names, shape, test_iter = setup.net, setup.dataset.class_names, setup.dataset.image_shape, setup.test_iter
    probs, labels, mistakes = evaluation.probs, evaluation.labels, evaluation.mistakes
    n_shown = min(config.num_images, len(labels))
    # plot_evidence explains the three most confident mistakes, or with none the first three examples.
    explained = mistakes[:3] if len(mistakes) else np.arange(min(3, len(labels)))
    return {
        "curves.png": Picture("npsoftmax.plots.plot_curves", (history,)),  # once: a run waits only for training
        "predictions.png": Picture(
            "npsoftmax.ch3.predict_ch3",
            (net, [test_iter.examples(np.arange(n_shown))]),  # the first, as test_iter gives them
            {"n": config.num_images, "class_names": names},
        ),
        "confusion.png": Picture("npsoftmax.plots.plot_confusion", (evaluation.confusion, names)),
        "weights.png": Picture("npsoftmax.plots.plot_weights", (net.W, names), {"image_shape": shape}),
        "calibration.png": Picture(
            "npsoftmax.plots.plot_calibration",
            (calibration_bins(probs, labels), coverage_curve(probs, labels)),
            {"ece": ece},
        ),
        "evidence.png": Picture(
            "npsoftmax.plots.plot_evidence",
            (net, *test_iter.examples(explained)),
            {"class_names": names, "image_shape": shape},
        ),
        "mistakes.png": Picture(
            "npsoftmax.plots.plot_mistakes", (test_iter.images, labels, probs), {"class_names": names}
        ),
        "weights_by_epoch.png": Picture(
            "npsoftmax.plots.plot_weights_by_epoch", (snapshots, names), {"image_shape": shape}
        ),
    }


def _finish(
    config: Config,
    out: Path,
    setup: Setup,
    history: History,
    record: Record,
    snapshots: dict[int, np.ndarray],
    drawer: Painter | None,
) -> dict:
    """After training: the final numbers, the model and ``metrics.json`` (first: they matter most), then the
    pictures (by ``drawer`` if given), each rendered in memory first, so that a disk too full for one is told the
    size it needs; then the run is done, whatever signal arrives, and its closing lines follow."""
    evaluation = _evaluate(setup)
    metrics = record.content
    metrics.update(_final_numbers(setup, history, evaluation, config))
    with held():
        _save_model(setup.net, out)
        record.write()
        if not config.pictures:
            settle()
    pictures = _pictures(config, setup, history, evaluation, snapshots, metrics["ece"]) if config.pictures else {}
    for name, png in render(pictures, drawer):
        with held():
            write_output(out / name, png, durable=False)
            if name == list(pictures)[-1]:
                settle()  # every file is written: the run completes, whatever arrives now
    _log_closing_lines(metrics, history[-1]["train_loss"], setup.dataset.n_classes, config)
    return metrics


def _log_closing_lines(metrics: dict, final_loss: float, n_classes: int, config: Config) -> None:
    log.info("%-12s %9s %7s %6s", "class", "precision", "recall", "f1")
    for name, scores in metrics["per_class"].items():
        log.info("%-12s %9.3f %7.3f %6.3f", name, scores["precision"], scores["recall"], scores["f1"])
    log.info(
        "top-1/2/3 accuracy %s; expected calibration error %.4f",
        " / ".join(f"{acc:.4f}" for acc in metrics["top_k_acc"].values()),
        metrics["ece"],
    )
    if final_loss > math.log(n_classes):
        log.warning(
            "warning: the final training loss %.4g is above chance level (ln %d = %.2f, what guessing gives): %s",
            final_loss,
            n_classes,
            math.log(n_classes),
            _above_chance_advice(config),
        )


def _above_chance_advice(config: Config) -> str:
    advice = f"the learning rate is probably too large; try a smaller one, e.g. --lr {config.lr / 100:g}"
    if config.weight_decay:
        advice += f", or a smaller weight decay, e.g. --weight-decay {config.weight_decay / 10:g}"
    return advice


# ---------------------------------------------------------------------------------------------------------
# Command line: the parser is derived from Config.


def add_config_arguments(
    parser: argparse.ArgumentParser, *, skip: Sequence[str] = (), lists: Sequence[str] = ()
) -> None:
    """One flag per field of :class:`Config` (but ``skip``), from the field's metadata; ``lists`` take many values.
    The help says what each accepts and its defaults, the presets' included."""
    for item in dataclasses.fields(Config):
        if item.name in skip:
            continue
        flag = dict(item.metadata)
        name = flag.pop("flag", "--" + item.name.replace("_", "-"))
        help_text = flag.pop("help")
        defaults = [flag["type"].accepted] if hasattr(flag.get("type"), "accepted") else []
        if item.type == "bool":
            flag["action"] = "store_false" if item.default else "store_true"
        elif item.default not in (None, ()):
            defaults.append(f"default: {item.default}")
        defaults += [_preset_value(name, preset) for preset in PRESETS if item.name in PRESETS[preset]]
        help_text += f" ({'; '.join(defaults)})" if defaults else ""
        if item.name in lists:
            flag["nargs"] = "+"
            help_text += "; one or more values"
        # SUPPRESS: a flag absent from the command line leaves the preset's or the default value in place.
        parser.add_argument(name, dest=item.name, default=argparse.SUPPRESS, help=help_text, **flag)


def _preset_value(flag: str, preset: str) -> str:
    value = PRESETS[preset][flag.removeprefix("--").replace("-", "_")]
    return f"on with --preset {preset}" if value is True else f"{value} with --preset {preset}"


def epilog(*, environment: Sequence[str]) -> str:
    """What ``--help`` says after the flags: each preset's settings, and the environment variables read."""
    presets = [
        f"--preset {name} sets " + " ".join(_as_flags(settings)) + "; a flag given on the command line overrides it."
        for name, settings in PRESETS.items()
        if settings
    ]
    return paragraphs(*presets) + "\n\n" + environment_help(environment)


def _as_flags(settings: dict) -> list[str]:
    flags = []
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        flags.append(flag if value is True else f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return flags


ENVIRONMENT = ("NPSOFTMAX_DATA", "NPSOFTMAX_MIRRORS", "NPSOFTMAX_BACKGROUND_PICTURES", "MPLBACKEND")


def settings_from(args: dict) -> dict:
    """The settings a command line gives: the defaults, then the preset, then the flags given; checked."""
    settings = dataclasses.asdict(Config()) | PRESETS[args.get("preset", "d2l")] | args
    settings["mirror"] = tuple(settings["mirror"])
    if settings["early_stopping"] is not None and settings["val_split"] is None:
        raise UsageError("--early-stopping needs --val-split: it watches the validation loss")
    check_data_home(settings["data_dir"])
    try:
        mirrors_from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return settings


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog or program_name("npsoftmax.train"),
        allow_abbrev=False,
        description=paragraphs(
            "Softmax regression on Fashion-MNIST with NumPy and hand-derived gradients (d2l 3.6). With no "
            "arguments: d2l's setting, batch 256, lr 0.1, 10 epochs. Writes " + ", ".join(OUTPUTS) + " into --out.",
            "Exit status: 0 done, 1 a runtime failure (no data, a divergence, a file that cannot be written), "
            "2 a usage error, 128 + n stopped by signal n (Ctrl-C: 130); each failure is one line on stderr.",
        ),
        epilog=epilog(environment=ENVIRONMENT),
    )
    add_config_arguments(parser)
    return parser


def parse_config(argv: list[str] | None = None, prog: str | None = None) -> Config:
    """The command line as a :class:`Config`: the defaults, then the preset, then the flags given."""
    config = Config(**settings_from(vars(build_parser(prog).parse_args(argv))))
    try:
        background_pictures()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return config


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m npsoftmax.train`` and ``npsoftmax-train``; returns the exit status."""
    return run_command(
        "npsoftmax.train", argv, parse_config, _work, outputs=OUTPUTS, kind="run", before="training started"
    )


def _work(config: Config, out: Path) -> list[str]:
    metrics = run(config, out)
    written = OUTPUTS if config.pictures else [name for name in OUTPUTS if not name.endswith(".png")]
    return [f"test accuracy {metrics['test_acc']:.4f}; wrote {', '.join(written)} to {out}"]


if __name__ == "__main__":
    sys.exit(main())
