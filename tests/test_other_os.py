"""Any OS: the command and the API in child processes where ``fcntl``, ``os.fork`` and the POSIX-only signals do not
exist, as on Windows, complete, and the ``--out`` and data-home locks still hold; and here, the system's own lock
is released when its holder dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _processes import popen_interruptible

from npsoftmax import train
from npsoftmax._io import FolderInUse, FolderLock

REPO = Path(__file__).parents[1]

# Loaded by every Python process started with this folder first on PYTHONPATH (the drawing process included),
# before anything else is imported. filelock, finding no fcntl on a platform that is not "win32", uses its soft lock
# (a marker file) and warns that it does; on Windows it uses msvcrt's lock, without a warning.
SITECUSTOMIZE = """
import os, signal, sys, warnings
sys.modules["fcntl"] = None
for name in ("fork", "forkpty", "register_at_fork"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGHUP", "SIGQUIT"):
    delattr(signal, name)
warnings.filterwarnings("ignore", "only soft file lock is available")
"""

# The API, as a learner uses it, then the --out lock across processes: a folder claimed here is refused to the
# command, and once released, the command writes into it.
API = """
import json, os, signal, subprocess, sys
import numpy as np
import npsoftmax as nps
from npsoftmax import _cli, train

home, out = sys.argv[1], sys.argv[2]
try:
    import fcntl
except ImportError:
    fcntl = None
simulated = {
    "fcntl": fcntl is not None,
    "fork": hasattr(os, "fork"),
    "signals": [name for name in ("SIGHUP", "SIGQUIT") if hasattr(signal, name)],
}
train_iter, test_iter = nps.load_data_fashion_mnist(256, home, download=False)
net = nps.SoftmaxRegression(seed=0)
history = nps.train_ch3(net, train_iter, test_iter, nps.cross_entropy, 1, nps.SGD(net.params, lr=0.1), animate=False)
loaded = nps.SoftmaxRegression.load(net.save(os.path.join(os.path.dirname(out), "model.npz")))

folder = _cli.claim_output_folder(out, False, outputs=train.OUTPUTS, default_parent="runs", kind="run")
command = [sys.executable, "-m", "npsoftmax.train", "--data-dir", home, "--no-download", "--out", out, "--epochs", "1"]
refused = subprocess.run(command + ["--quiet"], capture_output=True, text=True)
folder.release()
print(json.dumps({
    "simulated": simulated,
    "test_acc": history[-1]["test_acc"],
    "same_model": bool(np.array_equal(loaded.W, net.W)),
    "refused": [refused.returncode, refused.stderr],
    "left_in_out": sorted(os.listdir(out)),
}))
"""


@pytest.fixture
def windows_like(tmp_path) -> dict[str, str]:
    """The environment of a child process that runs as if on Windows."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "MPLBACKEND": "Agg"}


def test_the_command_and_the_api_run_without_fcntl_fork_sighup_and_sigquit(windows_like, tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    api = subprocess.run(
        [sys.executable, "-c", API, str(fashion_mnist_home), str(out)],
        env=windows_like,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert api.returncode == 0, api.stderr
    report = json.loads(api.stdout)
    assert report["simulated"] == {"fcntl": False, "fork": False, "signals": []}
    assert 0.7 < report["test_acc"] < 0.85 and report["same_model"]
    status, stderr = report["refused"]
    assert status == 2 and stderr.strip().endswith(
        f"--out {out} is in use by another command writing into it; wait for it or choose another folder"
    ), stderr
    assert report["left_in_out"] == [], "the lock's file goes with the lock"

    # Once released, the command itself, in the folder it was refused.
    command = [sys.executable, "-m", "npsoftmax.train", "--data-dir", str(fashion_mnist_home), "--no-download"]
    result = subprocess.run(
        [*command, "--out", str(out), "--epochs", "1"], env=windows_like, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("test accuracy ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "completed" and len(metrics["epochs"]) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(train.OUTPUTS)


HOLD = """
import sys
from pathlib import Path
from npsoftmax import data
with data._locked(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""

TRY = """
import sys
from pathlib import Path
from npsoftmax._io import FolderInUse, FolderLock
try:
    FolderLock.acquire(Path(sys.argv[1]), wait=False)
except FolderInUse:
    print("in use")
else:
    print("acquired")
"""


def test_the_data_home_lock_holds_without_fcntl(windows_like, tmp_path):
    home = tmp_path / "home"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home)],
        env=windows_like,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    attempt = [sys.executable, "-c", TRY, str(home)]
    assert subprocess.run(attempt, env=windows_like, capture_output=True, text=True).stdout == "in use\n"
    holder.communicate("", timeout=60)
    assert holder.returncode == 0 and list(home.iterdir()) == [], "the lock's file goes with the lock"
    assert subprocess.run(attempt, env=windows_like, capture_output=True, text=True).stdout == "acquired\n"


CLAIM = """
import sys
from npsoftmax import _cli, train
try:
    _cli.claim_output_folder(sys.argv[1], True, outputs=train.OUTPUTS, default_parent="runs", kind="run")
except _cli.UsageError as exc:
    print(exc)
"""


def test_a_running_command_holds_its_out_without_fcntl(windows_like, tmp_path, fashion_mnist_home):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "npsoftmax.train", "--data-dir", str(fashion_mnist_home), "--no-download"]
    argv += ["--out", str(out), "--epochs", "1000", "--no-pictures"]  # the lock is the point; the first test draws
    run = popen_interruptible(argv, env=windows_like, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().split()[:2] == ["epoch", "1/1000"]  # training: the folder is claimed
        claim = subprocess.run(
            [sys.executable, "-c", CLAIM, str(out)], env=windows_like, capture_output=True, text=True, timeout=300
        )
        assert claim.stdout == (
            f"--out {out} is in use by another command writing into it; wait for it or choose another folder\n"
        ), claim.stderr
    finally:
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=300)
    assert run.returncode == 130 and "Traceback" not in stderr, stderr
    assert json.loads((out / "metrics.json").read_text())["status"] == "interrupted"
    assert not any(p.name.startswith(".npsoftmax-tmp-") for p in out.iterdir()), "the lock's file goes with the lock"


HOLD_OUT = """
import sys
from npsoftmax import _cli, train
folder = _cli.claim_output_folder(sys.argv[1], False, outputs=train.OUTPUTS, default_parent="runs", kind="run")
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("kind", ["out", "data home"])
def test_a_killed_holder_s_lock_is_released_by_the_system(tmp_path, kind):
    """Here, with the system's own lock: the holder killed with SIGKILL leaves the lock's file, but not the lock;
    the next claim takes it, and the file goes when that one is released. The claims are this process's own: a
    process other than the holder, with the system's lock, as the holder has."""
    folder = tmp_path / "folder"
    folder.mkdir()
    hold = HOLD if kind == "data home" else HOLD_OUT
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(FolderInUse):
        FolderLock.acquire(folder, wait=False)
    holder.kill()
    holder.wait()
    assert [p.name for p in folder.iterdir()] == [".npsoftmax-tmp-lock"]
    FolderLock.acquire(folder, wait=False).release()
    assert list(folder.iterdir()) == [], "the lock's file goes with the lock"
