"""The README's Python examples run, and print what the README says they print."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_examples():
    """Fenced Python blocks that are whole programs (they import npsoftmax); excerpts are left out."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [block for block in blocks if "import npsoftmax" in block]


def test_readme_examples_run_and_print_what_they_claim():
    blocks = python_examples()
    assert blocks, "the README has no Python example"
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), {})
        if "check_gradient" in block:
            printed = out.getvalue().splitlines()
            assert printed[0] == "[[1.0e+00 3.8e-44 0.0e+00]]"
            np.testing.assert_allclose(
                np.array(printed[1].strip("[]").split(), dtype=float), [2.3026, 0.6931], atol=1e-4
            )
            assert max(float(x) for x in printed[2].strip("[]").split(",")) < 1e-7
