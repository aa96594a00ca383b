"""Run the notebooks top to bottom in a fresh kernel and store them with their outputs.

    python notebooks/execute.py                 # every notebook in this folder
    python notebooks/execute.py NOTEBOOK ...    # only these

The notebooks are committed with the outputs of a real run, so that they read on a repository page without
running anything; ``tests/test_notebook.py`` checks that the stored outputs are still what the code gives. Each
notebook runs in an empty temporary folder, so nothing is written beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT = 600  # seconds per cell; the longest cell trains for a few seconds


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh ``python3`` kernel started in ``cwd``; a cell error raises."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every .ipynb in notebooks/")
    paths = parser.parse_args(argv).notebooks or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as cwd:
            execute(nb, Path(cwd))
        nbformat.write(nb, path)
        print(f"executed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
