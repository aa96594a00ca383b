"""d2l 1.0's ``Trainer.fit`` against the chapter's loop: one epoch with its validation pass, in turns.

Run from the repository root::

    python benchmarks/bench_trainer.py                  # a minute or two -> bench-results/trainer.{json,md}
    python benchmarks/bench_trainer.py --write-results  # replaces the committed benchmarks/trainer.{json,md}

On the real Fashion-MNIST (batches of 256, lr 0.1, float32), each round times, in an order that alternates
from round to round:

- the floor: ``train_epoch_ch3`` on the shuffled training batches, then ``evaluate_accuracy`` on the 10,000
  validation images (d2l 0.17's epoch);
- ``nps.Trainer(max_epochs=1).fit(model, data)`` with ``nps.SoftmaxRegressionScratch``: the same epoch through
  the scaffold, its validation pass (loss and accuracy per batch of 256, drawn on the board) included;
- the same ``fit`` with section 4.4's model as a learner writes it (float64 weights from ``np.random.normal``, the
  book's softmax and cross-entropy, the hand-written ``backward``), for information;
- the backward check (``check_backward`` on the first batch), which ``fit`` runs once before the first update
  of such a model, against ten of its epochs.

The machine is shared: the figures are medians over rounds, the ratios taken between turns of one process, and
the load average is recorded at the start and the end. Each turn's CPU time (the process's) is recorded beside
its wall time: it leaves out the time spent waiting for a core that another process holds.
"""

# The book draws its weights from the global generator (torch.normal; here np.random.normal).
# ruff: noqa: NPY002

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import harness
import numpy as np

import npsoftmax as nps
from npsoftmax._blas import one_blas_thread
from npsoftmax.scaffold import check_backward

BATCH_SIZE, LR, ROUNDS = 256, 0.1, 15


def softmax(X):
    X_exp = np.exp(X)
    return X_exp / X_exp.sum(1, keepdims=True)


class LearnersModel(nps.Classifier):
    """Section 4.4's ``SoftmaxRegressionScratch`` as the notebook writes it, with the hand-written backward."""

    def __init__(self, num_inputs, num_outputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W = np.random.normal(0, sigma, size=(num_inputs, num_outputs))
        self.b = np.zeros(num_outputs)

    def parameters(self):
        return [self.W, self.b]

    def forward(self, X):
        X = X.reshape((-1, self.W.shape[0]))
        return softmax(np.matmul(X, self.W) + self.b)

    def loss(self, y_hat, y):
        return -np.log(y_hat[list(range(len(y_hat))), y]).mean()

    def backward(self, X, y, y_hat):
        X = X.reshape((-1, self.W.shape[0]))
        dlogits = y_hat.copy()
        dlogits[np.arange(len(y)), y] -= 1
        dlogits /= len(y)
        return [X.T @ dlogits, dlogits.sum(0)]


def checked_as_fit_checks(model, batch) -> None:
    """``check_backward`` as ``fit`` runs it: on one BLAS thread."""
    with one_blas_thread():
        check_backward(model, batch)


def timed(work) -> tuple[float, float]:
    """The wall time and the process's CPU time of ``work()``, in seconds."""
    start, start_cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - start_cpu


def benchmark(data_dir: str | None, rounds: int) -> dict:
    try:
        data = nps.FashionMNIST(batch_size=BATCH_SIZE, root=data_dir)
    except (nps.DataUnavailableError, OSError, ValueError) as exc:
        raise harness.Failed(f"cannot load Fashion-MNIST: {exc}") from None
    np.random.seed(0)
    net = nps.SoftmaxRegression(784, 10, seed=0)
    updater = nps.SGD(net.params, lr=LR)
    train_iter, test_iter = data.train_dataloader(), data.val_dataloader()
    own = nps.SoftmaxRegressionScratch(784, 10, lr=LR)
    learners = LearnersModel(784, 10, lr=LR)
    first_batch = [a.copy() for a in next(iter(data.val_dataloader()))]

    def floor() -> None:  # one BLAS thread, as fit_epochs (so train_ch3) and Trainer.fit run their epochs
        with one_blas_thread():
            nps.train_epoch_ch3(net, train_iter, nps.cross_entropy, updater)
            nps.evaluate_accuracy(net, test_iter)

    turns = {
        "floor": floor,
        "trainer": lambda: nps.Trainer(max_epochs=1).fit(own, data),
        "trainer_learners_model": lambda: nps.Trainer(max_epochs=1).fit(learners, data),
        "backward_check": lambda: checked_as_fit_checks(learners, first_batch),
    }
    for work in turns.values():  # warm-up: caches, BLAS, first imports
        work()
    seconds = {name: [] for name in turns}
    cpu_seconds = {name: [] for name in turns}
    for round_index in range(rounds):
        order = list(turns) if round_index % 2 == 0 else list(reversed(turns))
        for name in order:
            wall, cpu = timed(turns[name])
            seconds[name].append(wall)
            cpu_seconds[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu_seconds.items()}
    ratios = [t / f for t, f in zip(seconds["trainer"], seconds["floor"], strict=True)]
    cpu_ratios = [t / f for t, f in zip(cpu_seconds["trainer"], cpu_seconds["floor"], strict=True)]
    return {
        "seconds": seconds,
        "median_seconds": medians,
        "ratio_of_medians": medians["trainer"] / medians["floor"],
        "median_of_round_ratios": statistics.median(ratios),
        "cpu_seconds": cpu_seconds,
        "cpu_median_seconds": cpu_medians,
        "cpu_ratio_of_medians": cpu_medians["trainer"] / cpu_medians["floor"],
        "cpu_median_of_round_ratios": statistics.median(cpu_ratios),
        "learners_model_ratio_of_medians": medians["trainer_learners_model"] / medians["floor"],
        "backward_check_share_of_10_epochs": medians["backward_check"] / (10 * medians["trainer_learners_model"]),
        "val_acc_after_all_turns": float(own.board.data["val_acc"][-1][1]),
    }


def render_markdown(report: dict) -> str:
    r = report["results"]
    m = r["median_seconds"]
    lines = [
        *harness.markdown_head("d2l 1.0's Trainer.fit against the chapter's epoch", report),
        "",
        f"Real Fashion-MNIST, batches of {BATCH_SIZE}, lr {LR}, float32; {report['rounds']} rounds, the order of "
        "the turns alternating from round to round; medians.",
        "",
        "| turn | median s | × the floor |",
        "|---|---:|---:|",
        f"| floor: `train_epoch_ch3` + `evaluate_accuracy` | {m['floor']:.4f} | 1.00 |",
        f"| `Trainer(max_epochs=1).fit` with `nps.SoftmaxRegressionScratch` (validation pass included) | "
        f"{m['trainer']:.4f} | {r['ratio_of_medians']:.3f} |",
        f"| the same with section 4.4's model as a learner writes it (float64, hand-written backward) | "
        f"{m['trainer_learners_model']:.4f} | {r['learners_model_ratio_of_medians']:.3f} |",
        f"| the backward check, once per fit (first batch) | {m['backward_check']:.4f} | "
        f"{m['backward_check'] / m['floor']:.3f} |",
        "",
        f"Trainer / floor: {r['ratio_of_medians']:.3f} as a ratio of medians, {r['median_of_round_ratios']:.3f} as "
        "the median of the rounds' ratios (target: at most 1.15).",
        "",
        f"In CPU time (the process's, without the waits for a core on the shared machine): floor "
        f"{r['cpu_median_seconds']['floor']:.4f} s, Trainer {r['cpu_median_seconds']['trainer']:.4f} s; "
        f"{r['cpu_ratio_of_medians']:.3f} as a ratio of medians, {r['cpu_median_of_round_ratios']:.3f} as the "
        "median of the rounds' ratios.",
        "",
        f"The backward check costs {100 * r['backward_check_share_of_10_epochs']:.2f}% of a 10-epoch fit of the "
        "learner's model (its median epoch times ten; target: under 5%).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = harness.ArgumentParser(
        "bench_trainer.py",
        "benchmarks/trainer.{json,md}",
        description="d2l 1.0's Trainer.fit against train_epoch_ch3 + evaluate_accuracy, in turns. The results go "
        "into --out (default bench-results/, git-ignored); only --write-results replaces the committed files.",
    )
    parser.add_argument("--data-dir", default=None, help="the data home (default: npsoftmax's)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds of turns (default {ROUNDS})")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")

    def work() -> dict[str, str]:
        report = {
            "command": harness.command("bench_trainer.py", argv),
            "machine": harness.machine_line(["matplotlib"]),
            "loadavg_start": harness.load_average(),
            "rounds": args.rounds,
        }
        report["results"] = benchmark(args.data_dir, args.rounds)
        report["loadavg_end"] = harness.load_average()
        return {
            "trainer.json": json.dumps(report, indent=2, allow_nan=False) + "\n",
            "trainer.md": render_markdown(report),
        }

    return harness.run("bench_trainer", args.out, work)


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(main())
