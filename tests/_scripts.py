"""The repository's scripts (benchmarks, the notebook runner) imported as modules, as running them would."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_script(path: Path) -> ModuleType:
    """``path`` as the module ``python path`` would run, with its folder on ``sys.path`` as running it puts it
    (the benchmarks import their shared ``harness`` from there); loaded once, and registered in
    ``sys.modules`` for the dataclasses that look their module up."""
    name = path.stem
    if name not in sys.modules:
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
