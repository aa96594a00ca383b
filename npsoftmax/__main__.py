"""``python -m npsoftmax``: what the package offers, and its commands."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence

from ._cli import ArgumentParser, guarded_output, paragraphs
from ._version import __version__

__all__ = ["COMMANDS", "main"]

COMMANDS = {
    "train": "train softmax regression on Fashion-MNIST; writes the model, metrics.json and pictures",
    "sweep": "train every combination of learning rates, batch sizes, ... and pick the best",
    "download": "get Fashion-MNIST into the data home and verify it against pinned checksums",
}


def overview() -> str:
    """The text ``python -m npsoftmax`` prints, in 79 columns."""
    width = max(len(f"python -m npsoftmax.{name}") for name in COMMANDS)
    commands = []
    for name, what in COMMANDS.items():
        described = textwrap.wrap(what, 79 - width - 4)
        commands += [f"  {f'python -m npsoftmax.{name}':<{width}}  {described[0]}"]
        commands += [f"  {'':<{width}}  {more}" for more in described[1:]]
    return "\n".join(
        [
            paragraphs(
                f"npsoftmax {__version__}: softmax regression on Fashion-MNIST in NumPy alone, with hand-derived "
                'gradients, following d2l\'s chapter "softmax regression from scratch".'
            ),
            "",
            "commands (each also installed as npsoftmax-<command>; --help for its options):",
            *commands,
            "",
            paragraphs(
                "in Python: import npsoftmax as nps; train_iter, test_iter = nps.load_data_fashion_mnist(256); "
                "nps.train_ch3(...), as in the chapter"
            ),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m npsoftmax``; returns the exit status."""
    with guarded_output():
        hints = {name: f"python -m npsoftmax.{name}" for name in COMMANDS}  # a command is a module of its own
        parser = ArgumentParser(prog="python -m npsoftmax", allow_abbrev=False, description=overview(), hints=hints)
        parser.parse_args(argv)
        print(overview())
    return 0


if __name__ == "__main__":
    sys.exit(main())
