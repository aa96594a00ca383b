"""``benchmarks/bench_epoch.py``: a ``--quick --busy`` run, where it writes, its spinning process, and the committed
results. Timings are never asserted, only how the reported numbers follow from each other."""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _processes import popen_interruptible
from _scripts import load_script

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCHMARKS / "bench_epoch.py"
TRAINING = ["npsoftmax", "torch-scratch", "torch-nn", "torch-fast-1thread", "torch-fast-2threads", "sklearn-sgd"]
SYSTEMS = [*TRAINING, "sklearn-logreg", "sklearn-softmax", "floor-1thread", "floor-2threads"]
BUSY_SYSTEMS = [name for name in SYSTEMS if name != "sklearn-logreg"]  # a whole lbfgs fit is timed once


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """A ``--quick --busy`` run without ``--out``, from an empty folder: its results, Markdown and folder."""
    cwd = tmp_path_factory.mktemp("bench")
    committed = {path: path.stat().st_mtime_ns for path in BENCHMARKS.glob("results*")}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--busy"], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert {path: path.stat().st_mtime_ns for path in BENCHMARKS.glob("results*")} == committed
    out = cwd / "bench-results"
    assert sorted(p.name for p in cwd.iterdir()) == ["bench-results"]
    assert sorted(p.name for p in out.iterdir()) == ["results-quick.json", "results-quick.md"]  # no temporaries
    return json.loads((out / "results-quick.json").read_text()), (out / "results-quick.md").read_text(), cwd


def test_every_system_is_reported_with_finite_numbers(quick_run: tuple[dict, str, Path]) -> None:
    systems = quick_run[0]["systems"]
    assert list(systems) == ["idle", "busy"]
    assert list(systems["idle"]) == SYSTEMS and list(systems["busy"]) == BUSY_SYSTEMS
    for condition, entries in systems.items():
        for name, entry in entries.items():
            assert len(entry["epoch_seconds"]) == 1, name  # --quick: one timed epoch, one round
            assert all(_is_number(s) and s > 0 for s in entry["epoch_seconds"]), name
            assert entry["median_epoch_seconds"] == statistics.median(entry["epoch_seconds"]), name
            assert entry["ratio_vs_npsoftmax"] == pytest.approx(
                entry["median_epoch_seconds"] / entries["npsoftmax"]["median_epoch_seconds"]
            )
            assert _is_number(entry["peak_rss_mb"]) and entry["peak_rss_mb"] > 0, (condition, name)
            assert _is_number(entry["loadavg_1min"]) and entry["loadavg_1min"] >= 0, (condition, name)


def test_the_training_systems_learn_the_synthetic_data(quick_run: tuple[dict, str, Path]) -> None:
    for condition, systems in quick_run[0]["systems"].items():
        # Chance is 0.1 and the label noise caps any classifier near 0.82.
        for name in [*TRAINING, "sklearn-softmax", "sklearn-logreg"]:
            if name in systems:
                assert 0.3 < systems[name]["test_acc"] < 0.9, (condition, name, systems[name]["test_acc"])
        assert systems["npsoftmax"]["test_acc"] > 0.5 and systems["sklearn-softmax"]["test_acc"] > 0.5
        assert systems["floor-1thread"]["test_acc"] is None and systems["floor-2threads"]["test_acc"] is None


def expected_targets(results: dict) -> list[tuple[float, str, float]]:
    """The targets as the benchmark states them, recomputed from its medians (one round: a ratio of medians)."""
    idle, busy = ({n: e["median_epoch_seconds"] for n, e in results["systems"][c].items()} for c in ("idle", "busy"))
    fast = min(idle["torch-fast-1thread"], idle["torch-fast-2threads"])
    return [
        (idle["npsoftmax"] / idle["floor-1thread"], "<=", 1.9),
        (1e3 * (idle["npsoftmax"] - idle["floor-1thread"]), "<=", 30),
        (busy["npsoftmax"] / busy["floor-1thread"], "<=", 2.5),
        (idle["torch-scratch"] / idle["npsoftmax"], ">=", 9),
        (fast / idle["npsoftmax"], ">=", 1),
    ]


def test_targets_follow_from_the_medians(quick_run: tuple[dict, str, Path]) -> None:
    results = quick_run[0]
    assert results["cli"] is None  # --quick has no end-to-end run
    expected = expected_targets(results)
    assert len(results["targets"]) == len(expected)
    for target, (value, op, limit) in zip(results["targets"], expected, strict=True):
        assert target["value"] == pytest.approx(value)
        assert target["target"].endswith(f"{op} {limit:g}")
        assert target["passed"] is (value <= limit if op == "<=" else value >= limit)


def test_markdown_reports_the_same_run(quick_run: tuple[dict, str, Path]) -> None:
    results, markdown, _ = quick_run
    assert results["command"] == "python benchmarks/bench_epoch.py --quick --busy"
    assert f"`{results['command']}`" in markdown
    assert markdown.count("| system | median epoch s | × npsoftmax's time | test acc | peak RSS MB | load avg |") == 2
    for entries in results["systems"].values():
        for entry in entries.values():
            assert f"| {entry['label']} | {entry['median_epoch_seconds']:.4f} |" in markdown
    for target in results["targets"]:
        assert f"| {target['target']} | {target['value']:.2f} |" in markdown
    assert f"Measured on {results['machine']['description']}" in markdown


def test_the_machine_is_recorded_as_threadpoolctl_and_proc_see_it(quick_run: tuple[dict, str, Path]) -> None:
    import numpy as np

    machine = quick_run[0]["machine"]
    # NumPy's BLAS as a fresh process with NumPy alone sees it: this one may have loaded SciPy's first.
    probe = "import json, numpy\nfrom threadpoolctl import threadpool_info\nprint(json.dumps(threadpool_info()))"
    libraries = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    blas = next(p for p in libraries if p["user_api"] == "blas")
    assert machine["blas_architecture"] == blas.get("architecture")
    assert machine["blas_library"] == f"{blas['internal_api']} {blas['version']}"
    assert machine["blas_threads"] == blas["num_threads"] and machine["numpy"] == np.__version__
    with open("/proc/cpuinfo") as f:
        assert f"model name\t: {machine['cpu_model']}\n" in f.read()
    assert machine["logical_cpus"] == os.cpu_count() and machine["torch_num_threads"] >= 1
    assert machine["cpu_model"] in machine["description"] and f"{blas['architecture']} kernel" in machine["description"]


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (field 4 of /proc/PID/stat)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_sigterm_ends_the_run_its_spinning_process_and_the_timed_interpreter(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--quick", "--busy"], cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        for line in proc.stderr:
            if line.startswith("  busy: process "):
                spinner = int(line.split()[2])
                break
        else:
            pytest.fail(f"no spinning process was started (exit status {proc.wait()})")
        assert Path(f"/proc/{spinner}").exists()
        children = _children(proc.pid)  # the spinning process and the interpreter of the run being timed
        assert spinner in children and len(children) >= 2
        proc.send_signal(signal.SIGTERM)
        proc.stderr.read()
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []
    assert not (tmp_path / "bench-results").exists()  # nothing half-written


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "x", "--write-results"], "not allowed with argument"),
        (["--out", "a-file"], "--out a-file: not a folder"),
        (["--rounds", "0"], "--epochs and --rounds must be at least 1"),
    ],
)
def test_usage_errors_exit_2_on_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a-file").write_text("")
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr.splitlines()[-1]


@pytest.mark.parametrize("stem", ["results", "results-float64"])
def test_the_committed_results_hold_together(stem: str) -> None:
    results = json.loads((BENCHMARKS / f"{stem}.json").read_text())
    markdown = (BENCHMARKS / f"{stem}.md").read_text()
    assert results["command"].startswith("python benchmarks/bench_epoch.py") and "--quick" not in results["command"]
    assert "--busy" in results["command"] and results["config"]["busy"] is True
    assert results["config"]["dtype"] == ("float32" if stem == "results" else "float64")
    assert markdown == render_markdown(results)
    machine = results["machine"]
    assert all(machine[key] for key in ("cpu_model", "blas_library", "blas_architecture", "numpy", "description"))
    for condition, entries in results["systems"].items():
        for name, entry in entries.items():
            assert entry["median_epoch_seconds"] == statistics.median(entry["epoch_seconds"]), (condition, name)
    cli = results["cli"]
    assert cli["extra_seconds"] == statistics.median(r["wall_seconds"] - r["train_eval_seconds"] for r in cli["runs"])
    for target in results["targets"]:
        value, op, limit = target["value"], *target["target"].rsplit(" ", 2)[1:]
        assert target["passed"] is (value <= float(limit) if op == "<=" else value >= float(limit))


def render_markdown(results: dict) -> str:
    """The benchmark's own Markdown for ``results``, from the script itself."""
    return load_script(SCRIPT).render_markdown(results)


SCRIPTS = ["bench_epoch.py", "bench_classes.py", "bench_sklearn.py", "bench_dask.py", "tune_preset.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_shares_one_command_line(tmp_path: Path, script: str) -> None:
    """The harness's flags and exit statuses, as each script runs, from a folder outside the repository."""
    import npsoftmax as nps

    def run(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, str(BENCHMARKS / script), *args]
        wide = os.environ | {"COLUMNS": "200"}  # argparse wraps its help, at hyphens too, to the terminal's width
        return subprocess.run(argv, cwd=tmp_path, env=wide, capture_output=True, text=True, timeout=120)

    version = run("--version")
    assert version.returncode == 0 and version.stdout == f"python benchmarks/{script} (npsoftmax {nps.__version__})\n"
    helped = run("--help")
    assert helped.returncode == 0 and "(default bench-results/, git-ignored)" in helped.stdout

    both = run("--out", "x", "--write-results")
    assert both.returncode == 2 and len(both.stderr.splitlines()) == 1, both.stderr
    assert "argument --write-results: not allowed with argument --out" in both.stderr

    (tmp_path / "a-file").write_text("")
    cannot = run("--out", str(tmp_path / "a-file" / "results"))
    assert cannot.returncode == 1 and len(cannot.stderr.splitlines()) == 1, cannot.stderr
    assert cannot.stderr.startswith(f"{Path(script).stem}: cannot create ") and "choose another --out" in cannot.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_the_sklearn_benchmark_stopped_by_ctrl_c_writes_nothing_and_exits_130(
    tmp_path: Path, fashion_mnist_home: Path
) -> None:
    argv = [sys.executable, str(BENCHMARKS / "bench_sklearn.py"), "--quick", "--data-dir", str(fashion_mnist_home)]
    proc = popen_interruptible(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "fits:\n"
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130 and rest == "bench_sklearn: interrupted; nothing written\n", rest
    assert list(tmp_path.iterdir()) == []


def test_data_that_cannot_be_had_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = os.environ | {"NPSOFTMAX_MIRRORS": str(tmp_path / "no-such-folder")}
    argv = [sys.executable, str(BENCHMARKS / "bench_sklearn.py"), "--quick", "--data-dir", str(tmp_path / "home")]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("bench_sklearn: cannot load Fashion-MNIST: ")
    assert not (tmp_path / "bench-results").exists()
