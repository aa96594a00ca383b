"""``python -m npsoftmax.sweep``: train every combination of learning rates, batch sizes and other settings.

Each run is the training command's own (:func:`npsoftmax.train.build` and :func:`npsoftmax.train.fit`), in one
process and without pictures. The flags are the training command's: those that take a list here (``--lr``,
``--batch-size``, ``--momentum``, ``--weight-decay``, ``--schedule``, ``--seed``) are derived from the same
:class:`npsoftmax.train.Config` fields, with the same checks.

With ``--val-split`` the best setting is chosen on the held-out validation set and the test set is never looked
at to choose; without it the only held-out data is the test set, and a setting chosen on it overstates the
accuracy to expect on new data, which the output says. Seeds are replicates, not settings: a setting's score is
its mean over the seeds.

``sweep.json`` is rewritten after every run, so Ctrl-C (or SIGTERM, SIGHUP, ...) keeps the finished ones;
``sweep.png`` (:func:`npsoftmax.plots.plot_sweep`) draws the grid, after ``sweep.json`` is complete.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import itertools
import logging
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._cli import ArgumentParser, paragraphs, program_name
from ._run import (
    OutputError,
    Record,
    finite_or_none,
    import_plots,
    provenance,
    run_command,
    settings_of,
    stop,
    write_output,
)
from ._signals import held, settle
from .data import redact_url
from .train import Config, add_config_arguments, build, epilog, fit, settings_from
from .training import TrainingDiverged

__all__ = ["SWEPT", "OUTPUTS", "MAX_RUNS", "parse_sweep", "sweep", "main"]

log = logging.getLogger("npsoftmax.sweep")

# The training settings that take a list of values; a run is made for every combination.
SWEPT = ("lr", "batch_size", "momentum", "weight_decay", "schedule", "seed")
OUTPUTS = ("sweep.json", "sweep.png")
MAX_RUNS = 200
# Training flags with no meaning here: the sweep has its own --out and --overwrite, and draws only sweep.png.
NOT_TAKEN = ("out", "overwrite", "num_images", "pictures")
LABELS = {
    "lr": "lr",
    "batch_size": "batch size",
    "momentum": "momentum",
    "weight_decay": "weight decay",
    "schedule": "schedule",
    "seed": "seed",
}


# ---------------------------------------------------------------------------------------------------------
# Command line: derived from the training command's Config.


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog or program_name("npsoftmax.sweep"),
        allow_abbrev=False,
        description=paragraphs(
            "Train softmax regression on Fashion-MNIST for every combination of the listed settings, e.g. "
            "--lr 0.03 0.1 0.3 --batch-size 64 256, and pick the best. With --val-split the choice is made on the "
            "validation set; without it, on the test set (which overstates). Each run is the training command's "
            f"own, without its pictures; at most {MAX_RUNS} runs. Writes sweep.json and sweep.png into --out.",
            "Exit status: 0 done (a diverged run is recorded, and the sweep goes on), 1 a runtime failure, 2 a "
            "usage error, 128 + n stopped by signal n (Ctrl-C: 130); each failure is one line on stderr.",
        ),
        epilog=epilog(environment=("NPSOFTMAX_DATA", "NPSOFTMAX_MIRRORS", "MPLBACKEND")),
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="output folder, new or empty (default: sweeps/<timestamp> in the current folder)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the sweep already in --out")
    add_config_arguments(parser, skip=NOT_TAKEN, lists=SWEPT)
    return parser


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: the settings shared by every run, and the values of each swept setting."""

    base: Config
    grid: dict[str, list]  # every name of SWEPT, in that order, with its values (one value if not swept)
    out: str | None
    overwrite: bool

    @property
    def quiet(self) -> bool:
        return self.base.quiet

    def configs(self) -> list[Config]:
        return [
            dataclasses.replace(self.base, **dict(zip(self.grid, values, strict=True)))
            for values in itertools.product(*self.grid.values())
        ]


def parse_sweep(argv: Sequence[str] | None = None, prog: str | None = None) -> SweepPlan:
    """The command line as a :class:`SweepPlan`: the defaults, then the preset, then the flags given."""
    parser = build_parser(prog)
    args = vars(parser.parse_args(argv))
    out, overwrite = args.pop("out"), args.pop("overwrite")
    settings = settings_from(args)
    grid = {}
    for name in SWEPT:
        values = settings[name] if isinstance(settings[name], list) else [settings[name]]
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            parser.error(f"--{name.replace('_', '-')} lists {', '.join(repeated)} more than once")
        grid[name] = values
        settings[name] = values[0]
    n_runs = math.prod(len(values) for values in grid.values())
    if n_runs > MAX_RUNS:
        sizes = " x ".join(str(len(v)) for v in grid.values() if len(v) > 1)
        parser.error(f"{sizes} = {n_runs} combinations; a sweep runs at most {MAX_RUNS}: list fewer values")
    return SweepPlan(Config(**settings | {"out": None}), grid, out, overwrite)


# ---------------------------------------------------------------------------------------------------------
# The sweep: one run per combination, the records rewritten after each.


def run_one(config: Config, index: int) -> tuple[dict, dict]:
    """Train one combination; return its record and what the data was (source and sizes)."""
    start = time.perf_counter()
    setup = build(config)
    data = provenance(setup)
    record: dict = {"run": index} | {name: getattr(config, name) for name in SWEPT}
    try:
        history = fit(config, setup)
    except TrainingDiverged as exc:
        record |= {"status": "diverged", "reason": str(exc), "train_loss": None, "train_acc": None}
        if config.val_split is not None:
            record |= {"val_loss": None, "val_acc": None}
        record |= {"test_acc": None, "seconds": time.perf_counter() - start}
        return record, data
    # With early stopping the model holds the best epoch's weights: report that epoch.
    final = history[history.best_epoch - 1] if history.best_epoch else history[-1]
    record |= {"status": "completed", "epochs": len(history)}
    if history.best_epoch:
        record["best_epoch"] = history.best_epoch
    scores = ("train_loss", "train_acc") + (("val_loss", "val_acc") if config.val_split is not None else ())
    record |= {key: finite_or_none(final[key]) for key in scores}
    record |= {"test_acc": final["test_acc"], "seconds": time.perf_counter() - start}
    return record, data


def _group_key(record: dict) -> tuple:
    return tuple(record[name] for name in SWEPT if name != "seed")


def rank_settings(records: list[dict], metric: str) -> list[dict]:
    """Each setting (the swept values but --seed) with its mean ``metric`` and mean loss over its seeds.

    A setting with a diverged seed scores None and ranks last. Sorted best first: highest accuracy, then lowest
    loss.
    """
    loss_key = "val_loss" if metric == "val_acc" else None
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(_group_key(record), []).append(record)
    settings = []
    for members in groups.values():
        setting = {name: members[0][name] for name in SWEPT if name != "seed"}
        setting["seeds"] = [r["seed"] for r in members]
        completed = all(r["status"] == "completed" for r in members)
        setting[metric] = float(np.mean([r[metric] for r in members])) if completed else None
        if loss_key:
            setting[loss_key] = float(np.mean([r[loss_key] for r in members])) if completed else None
        settings.append(setting)

    def order(setting: dict) -> tuple:
        if setting[metric] is None:
            return (1, 0.0, 0.0)
        return (0, -setting[metric], setting[loss_key] if loss_key else 0.0)

    return sorted(settings, key=order)


def sweep(plan: SweepPlan, out: Path, argv: Sequence[str]) -> dict:
    """Run every combination of ``plan``, writing ``out/sweep.json`` after each and ``out/sweep.png`` at the end.

    Raises :class:`npsoftmax._run.Stopped` on Ctrl-C or a termination signal (128 + its number) or a result that
    cannot be written (1), after writing the finished runs.
    """
    configs = plan.configs()
    metric = "val_acc" if plan.base.val_split is not None else "test_acc"
    record = Record(
        out / "sweep.json",
        {
            "command": " ".join([program_name("npsoftmax.sweep"), *(redact_url(arg) for arg in argv)]),
            "config": settings_of(plan.base, out, drop=(*SWEPT, "num_images", "pictures")),
            "swept": plan.grid,
            "selected_by": metric,
            "selected_on": "validation" if metric == "val_acc" else "test",
            "status": "running",
            "n_runs": len(configs),
            "runs": [],
            "best": None,
        },
        "runs",
    )
    results = record.content
    try:
        for index, config in enumerate(configs, start=1):
            run, data = run_one(config, index)
            results.setdefault("data", data)
            results["best"] = _best([*results["runs"], run], metric)
            record.add(run)
            described = _describe_run(run, _swept_names(plan.grid), metric)
            log.info("run %*d/%d  %s", len(str(len(configs))), index, len(configs), described)
        results["status"] = "completed"
        import_plots()
        _draw(results, out)
        with held():
            record.write()
            settle()
    except (KeyboardInterrupt, OutputError) as exc:
        results["best"] = _best(results["runs"], metric)  # of the runs on disk
        keep = [("sweep.json", record.write)]
        if isinstance(exc, KeyboardInterrupt) and results["runs"]:
            keep.append(("sweep.png", lambda: _draw(results, out)))
        n = record.kept
        raise stop(exc, record, keep, f"{n} finished run{'s' if n != 1 else ''} of {len(configs)}") from None
    return results


def _best(runs: list[dict], metric: str) -> dict | None:
    ranked = rank_settings(runs, metric)
    return ranked[0] if ranked and ranked[0][metric] is not None else None


def _draw(results: dict, out: Path) -> None:
    from .plots import plot_sweep  # matplotlib only now: a sweep starts without it

    ranked = rank_settings(results["runs"], results["selected_by"])
    write_output(out / "sweep.png", plot_sweep(results, ranked, labels=LABELS).to_png(), durable=False)


# ---------------------------------------------------------------------------------------------------------
# Output: one line per run, the table, the best setting.


def _value(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _describe_run(record: dict, names: list[str], metric: str) -> str:
    swept = "  ".join(f"{LABELS[name]} {_value(record[name])}" for name in names)
    if record["status"] == "diverged":
        return f"{swept}  diverged: {record['reason']}  {record['seconds']:.1f} s"
    scores = f"val loss {record['val_loss']:.4f}  val acc {record['val_acc']:.4f}" if metric == "val_acc" else ""
    scores = scores or f"test acc {record['test_acc']:.4f}"
    return f"{swept}  {scores}  {record['seconds']:.1f} s"


def _swept_names(grid: dict[str, list]) -> list[str]:
    """The settings given more than one value (lr and batch size always shown)."""
    return [name for name in SWEPT if len(grid[name]) > 1 or name in ("lr", "batch_size")]


def format_table(results: dict) -> str:
    metric = results["selected_by"]
    names = _swept_names(results["swept"])
    scores = ["train_loss", "val_loss", "val_acc"] if metric == "val_acc" else ["train_loss", "test_acc"]
    header = [LABELS[name] for name in names] + [s.replace("_", " ") for s in scores] + ["seconds", ""]
    best = results["best"]
    rows = []
    for record in results["runs"]:
        cells = [_value(record[name]) for name in names]
        if record["status"] == "diverged":
            cells += ["diverged"] + [""] * (len(scores) - 1)
        else:
            cells += [f"{record[s]:.4f}" for s in scores]
        is_best = best is not None and all(record[name] == best[name] for name in SWEPT if name != "seed")
        rows.append([*cells, f"{record['seconds']:.1f}", "best" if is_best else ""])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in [header, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def describe_best(results: dict) -> list[str]:
    """The best setting, and on which data it was chosen."""
    best = results["best"]
    if best is None:
        return ["no setting completed: every run diverged; try smaller learning rates"]
    setting = ", ".join(
        f"{LABELS[name]} {_value(best[name])}" for name in _swept_names(results["swept"]) if name != "seed"
    )
    seeds = f", mean of {len(best['seeds'])} seeds" if len(best["seeds"]) > 1 else ""
    if results["selected_by"] == "val_acc":
        record = next(r for r in results["runs"] if _group_key(r) == _group_key(best | {"seed": None}))
        test_acc = (
            f"its test accuracy {record['test_acc']:.4f} is reported only, never used to choose"
            if len(best["seeds"]) == 1
            else "their test accuracies are in sweep.json, reported only, never used to choose"
        )
        return [
            f"best setting, selected on the validation set (accuracy {best['val_acc']:.4f}, loss "
            f"{best['val_loss']:.4f}{seeds}), never on the test set: {setting}",
            f"{test_acc}",
        ]
    return [
        f"best setting on the TEST set (accuracy {best['test_acc']:.4f}{seeds}): {setting}",
        "warning: without --val-split the best setting is picked on the test set, so its test accuracy overstates "
        "what to expect on new data; pass --val-split 0.1 to select on a held-out part of the training set",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m npsoftmax.sweep`` and ``npsoftmax-sweep``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    work = functools.partial(_work, argv=argv)
    return run_command(
        "npsoftmax.sweep", argv, parse_sweep, work, outputs=OUTPUTS, kind="sweep", before="the first run finished"
    )


def _work(plan: SweepPlan, out: Path, argv: list[str]) -> list[str]:
    results = sweep(plan, out, argv)
    log.info("\n%s\n", format_table(results))
    described = describe_best(results)
    for warning in [line for line in described if line.startswith("warning:")]:
        log.warning(warning)  # on stderr, as every warning
    return [*(line for line in described if not line.startswith("warning:")), f"wrote {', '.join(OUTPUTS)} to {out}"]


if __name__ == "__main__":
    sys.exit(main())
