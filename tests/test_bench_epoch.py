"""``benchmarks/bench_epoch.py``: a ``--quick --busy`` run of the systems that need neither PyTorch nor a second
round (the harness: fresh processes, conditions, the report, where it writes), every system's setup and epoch on
the same synthetic data, the targets, its spinning process, and the committed results. Timings are never
asserted, only how the reported numbers follow from each other."""

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
from _scripts import load_script
from threadpoolctl import threadpool_limits

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCHMARKS / "bench_epoch.py"
TRAINING = ["npsoftmax", "torch-scratch", "torch-nn", "torch-fast-1thread", "torch-fast-2threads", "sklearn-sgd"]
SYSTEMS = [*TRAINING, "sklearn-logreg", "sklearn-softmax", "floor-1thread", "floor-2threads"]
# one worker for the module under pytest-xdist: the quick run is made once
pytestmark = pytest.mark.xdist_group("bench_epoch")
# The harness's run: each of its paths once (the reference, a fit timed once, the floors), no PyTorch to import.
# Asked for out of the table's order, reported in it.
HARNESS_SYSTEMS = ["npsoftmax", "sklearn-logreg", "floor-1thread", "floor-2threads"]
QUICK_ARGS = ["--quick", "--busy", "--systems", "floor-2threads", "sklearn-logreg", "floor-1thread", "npsoftmax"]
BUSY_SYSTEMS = [name for name in HARNESS_SYSTEMS if name != "sklearn-logreg"]  # a whole lbfgs fit is timed once
CONDITIONS = ("idle", "busy")  # the machine as it is, and with a CPU kept busy
# One thread for BLAS and OpenMP in the processes of the quick run: the test checks the harness, not the speed, and
# two threads stall for seconds on a machine whose other work holds the second core.
ONE_THREAD = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def bench_epoch():
    return load_script(SCRIPT)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """A ``--quick --busy`` run of the harness's systems without ``--out``, from an empty folder: its results,
    Markdown and folder."""
    cwd = tmp_path_factory.mktemp("bench")
    committed = {path: path.stat().st_mtime_ns for path in BENCHMARKS.glob("results*")}
    argv = [sys.executable, str(SCRIPT), *QUICK_ARGS]
    proc = subprocess.run(argv, cwd=cwd, env=ONE_THREAD, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert {path: path.stat().st_mtime_ns for path in BENCHMARKS.glob("results*")} == committed
    out = cwd / "bench-results"
    assert sorted(p.name for p in cwd.iterdir()) == ["bench-results"]
    assert sorted(p.name for p in out.iterdir()) == ["results-quick.json", "results-quick.md"]  # no temporaries
    return json.loads((out / "results-quick.json").read_text()), (out / "results-quick.md").read_text(), cwd


def test_every_system_is_reported_with_finite_numbers(quick_run: tuple[dict, str, Path]) -> None:
    systems = quick_run[0]["systems"]
    assert list(systems) == ["idle", "busy"]
    assert list(systems["idle"]) == HARNESS_SYSTEMS and list(systems["busy"]) == BUSY_SYSTEMS
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


def assert_learned(name: str, test_acc: float | None) -> None:
    """Chance is 0.1 and the label noise caps any classifier near 0.82; the floors train nothing."""
    if name.startswith("floor"):
        assert test_acc is None, name
        return
    assert 0.3 < test_acc < 0.9, (name, test_acc)
    if name in ("npsoftmax", "sklearn-softmax"):
        assert test_acc > 0.5, (name, test_acc)


def test_the_training_systems_learn_the_synthetic_data(quick_run: tuple[dict, str, Path]) -> None:
    for systems in quick_run[0]["systems"].values():
        for name, entry in systems.items():
            assert_learned(name, entry["test_acc"])


@pytest.fixture(scope="module")
def quick_settings(bench_epoch, tmp_path_factory: pytest.TempPathFactory):
    """``--quick``'s settings: its synthetic data written into a folder, one timed epoch, float32."""
    folder = tmp_path_factory.mktemp("bench-data")
    bench_epoch.make_synthetic(folder)
    return bench_epoch.Settings("float32", 1, None, str(folder))


@pytest.fixture
def one_thread():
    """One BLAS and PyTorch thread, as in the quick run; a system sets its process's thread counts (it runs in a
    fresh one) and seeds PyTorch's generator: this process's are put back."""
    import torch

    threads, state = torch.get_num_threads(), torch.get_rng_state()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):  # puts back the BLAS threads on leaving
        yield
    torch.set_num_threads(threads)
    torch.set_rng_state(state)


@pytest.mark.parametrize("name", [name for name in SYSTEMS if name not in HARNESS_SYSTEMS])
def test_every_other_system_sets_up_times_its_epochs_and_learns(bench_epoch, quick_settings, name, one_thread) -> None:
    """What each system left out of the quick run returns to the harness from its fresh process, here in this one."""
    run = bench_epoch.run_system(name, quick_settings)
    assert len(run["epoch_seconds"]) == 1 and all(_is_number(s) and s > 0 for s in run["epoch_seconds"]), name
    assert _is_number(run["peak_rss_mb"]) and run["peak_rss_mb"] > 0
    assert_learned(name, run["test_acc"])


def expected_targets(results: dict) -> list[tuple[float, str, float]]:
    """The targets as the benchmark states them, recomputed from its medians (one round: a ratio of medians), for
    the systems it timed."""
    idle, busy = ({n: e["median_epoch_seconds"] for n, e in results["systems"].get(c, {}).items()} for c in CONDITIONS)
    expected = []
    if "floor-1thread" in idle:
        expected += [
            (idle["npsoftmax"] / idle["floor-1thread"], "<=", 1.9),
            (1e3 * (idle["npsoftmax"] - idle["floor-1thread"]), "<=", 30),
        ]
        if busy:
            expected.append((busy["npsoftmax"] / busy["floor-1thread"], "<=", 2.5))
    if "torch-scratch" in idle:
        expected.append((idle["torch-scratch"] / idle["npsoftmax"], ">=", 9))
    if "torch-fast-1thread" in idle and "torch-fast-2threads" in idle:
        expected.append((min(idle["torch-fast-1thread"], idle["torch-fast-2threads"]) / idle["npsoftmax"], ">=", 1))
    if results["cli"] is not None:
        expected += [(results["cli"]["extra_seconds"], "<=", 0.8), (results["cli"]["peak_rss_mb"], "<=", 350)]
    return expected


def assert_targets_follow(results: dict) -> None:
    expected = expected_targets(results)
    assert len(results["targets"]) == len(expected)
    for target, (value, op, limit) in zip(results["targets"], expected, strict=True):
        assert target["value"] == pytest.approx(value)
        assert target["target"].endswith(f"{op} {limit:g}")
        assert target["passed"] is (value <= limit if op == "<=" else value >= limit)


def test_targets_follow_from_the_medians(quick_run: tuple[dict, str, Path]) -> None:
    results = quick_run[0]
    assert results["cli"] is None  # --quick has no end-to-end run
    assert len(results["targets"]) == 3  # the floor's: the others need systems this run left out
    assert_targets_follow(results)


def test_every_target_of_a_whole_run_follows_from_its_medians(bench_epoch) -> None:
    """Every system in both conditions and the end-to-end run, with epochs made up so that some targets are met
    and some missed."""
    seconds = {"npsoftmax": 0.1, "torch-scratch": 0.5, "torch-fast-1thread": 0.2, "torch-fast-2threads": 0.15}
    seconds |= {"floor-1thread": 0.06, "floor-2threads": 0.04}

    def run(name: str, scale: float) -> dict:
        epoch = seconds.get(name, 1.0) * scale
        return {
            "epoch_seconds": [epoch, 2 * epoch, 1.5 * epoch],
            "test_acc": 0.8,
            "peak_rss_mb": 100.0,
            "loadavg_1min": 1.0,
        }

    runs = {
        "idle": {name: [run(name, 1.0)] for name in SYSTEMS},
        "busy": {
            name: [run(name, 1.4 if name == "npsoftmax" else 1.0)] for name in SYSTEMS if name != "sklearn-logreg"
        },
    }
    systems = {condition: bench_epoch.summarize(by_system) for condition, by_system in runs.items()}
    cli = {"extra_seconds": 0.9, "peak_rss_mb": 300.0}
    results = {"systems": systems, "cli": cli, "targets": bench_epoch.check_targets(runs, systems, cli)}
    assert len(results["targets"]) == 7
    assert [t["passed"] for t in results["targets"]] == [True, False, True, False, True, False, True]
    assert_targets_follow(results)


def test_markdown_reports_the_same_run(quick_run: tuple[dict, str, Path]) -> None:
    results, markdown, _ = quick_run
    assert results["command"] == f"python benchmarks/bench_epoch.py {' '.join(QUICK_ARGS)}"
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
    probed = subprocess.run([sys.executable, "-c", probe], env=ONE_THREAD, capture_output=True, check=True)
    libraries = json.loads(probed.stdout)
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
    argv = [sys.executable, str(SCRIPT), "--quick", "--busy"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=ONE_THREAD, stderr=subprocess.PIPE, text=True)
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
        (["--systems", "floor-1thread"], "--systems must include npsoftmax"),
        (["--systems", "numpy"], "argument --systems: invalid choice: 'numpy'"),
    ],
)
def test_usage_errors_exit_2_on_one_line(
    bench_epoch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        bench_epoch.main(args)
    stderr = capsys.readouterr().err
    assert exited.value.code == 2 and message in stderr and len(stderr.splitlines()) == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


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


# The benchmark run as a script where PyTorch cannot be imported.
WITHOUT_PYTORCH = """import runpy, sys
sys.modules["torch"] = None
sys.argv.pop(0)
sys.path.insert(0, str(__import__("pathlib").Path(sys.argv[0]).parent))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_without_pytorch_the_benchmark_says_so_before_it_runs_anything(tmp_path) -> None:
    out = tmp_path / "results"
    argv = [sys.executable, "-c", WITHOUT_PYTORCH, str(SCRIPT), "--quick", "--out", str(out)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    message = "bench_epoch: PyTorch is not installed: pip install torch==2.13.0 (the CPU build)\n"
    assert (result.returncode, result.stderr) == (1, message) and not out.exists()
