"""The pictures drawn in a second process: the same bytes as drawn in the run itself, and no process left behind
after a normal run, an exception, a dead drawing process, Ctrl-C or SIGTERM; the switch turns it off."""

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _train import synthetic_env

from npsoftmax import _painter, train

SWITCH = _painter.SWITCH
PICTURES = [name for name in train.OUTPUTS if name.endswith(".png")]


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``, from /proc (a zombie not yet reaped included).

    Other tests of the session may leave long-lived children of their own (multiprocessing's resource tracker,
    for one), so a test compares with the children that were there before it."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie has ended (one orphaned by a killed parent waits for init to reap it)."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def numbers(metrics: dict) -> dict:
    """``metrics`` without what the clock decides."""
    timed = ("seconds", "eval_seconds", "train_seconds")
    epochs = [{k: v for k, v in record.items() if k not in timed} for record in metrics["epochs"]]
    return {k: v for k, v in metrics.items() if k not in (*timed, "config")} | {"epochs": epochs}


@pytest.fixture
def started(monkeypatch):
    """The :class:`Painter` objects the runs of the test start, in order."""
    painters = []
    original = _painter.Painter.__init__

    def record(self):
        original(self)
        painters.append(self)

    monkeypatch.setattr(_painter.Painter, "__init__", record)
    return painters


def run(out: Path, capsys, *args: str) -> dict:
    status = train.main(["--out", str(out), "--epochs", "3", "--batch-size", "64", *args])
    assert status == 0, capsys.readouterr().err
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def drawn_here(synthetic_files, tmp_path_factory):
    """The run of :func:`run` with the switch off, which the tests compare with: its folder, its metrics, the
    :class:`Painter` objects it started, and the processes it left."""
    out = tmp_path_factory.mktemp("drawn-here") / "run"
    painters = []
    original = _painter.Painter.__init__

    def record(self):
        original(self)
        painters.append(self)

    with synthetic_env(synthetic_files, out.parent / "data-home"), pytest.MonkeyPatch.context() as patch:
        patch.setattr(_painter.Painter, "__init__", record)
        patch.setenv(SWITCH, "0")
        before = children(os.getpid())
        status = train.main(["--out", str(out), "--epochs", "3", "--batch-size", "64"])
        left = children(os.getpid()) - before
    assert status == 0
    return out, json.loads((out / "metrics.json").read_text()), painters, left


@pytest.mark.xdist_group("painter_drawn_here")  # one worker runs drawn_here
def test_the_files_are_the_same_bytes_with_and_without_the_second_process(
    tmp_path, synthetic_data, capsys, started, drawn_here
):
    without_folder, without, started_without, left_without = drawn_here
    assert started_without == [] and not left_without  # the switch: no second process at all
    before = children(os.getpid())
    with_it = run(tmp_path / "with", capsys)
    assert len(started) == 1 and not alive(started[0].pid)
    assert numbers(with_it) == numbers(without)
    for name in [*PICTURES, "model.npz"]:
        assert (tmp_path / "with" / name).read_bytes() == (without_folder / name).read_bytes(), name
    assert not children(os.getpid()) - before


@pytest.mark.xdist_group("painter_drawn_here")  # one worker runs drawn_here
def test_a_picture_the_second_process_cannot_deliver_is_drawn_by_the_run(
    tmp_path, synthetic_data, capsys, monkeypatch, started, drawn_here
):
    reference = drawn_here[0]
    monkeypatch.setenv(SWITCH, "1")
    paint = _painter.Painter.paint

    def killed_first(self, pictures):
        os.killpg(self.pid, signal.SIGKILL)
        return paint(self, pictures)

    monkeypatch.setattr(_painter.Painter, "paint", killed_first)
    run(tmp_path / "fallback", capsys)
    assert len(started) == 1 and not alive(started[0].pid)
    for name in PICTURES:
        assert (tmp_path / "fallback" / name).read_bytes() == (reference / name).read_bytes(), name


def test_paint_draws_each_picture_as_draw_does_on_two_processes():
    names = [f"c{i}" for i in range(5)]
    pictures = {
        name: _painter.Picture("npsoftmax.plots.plot_confusion", (np.eye(3, dtype=int) * (i + 1), ["a", "b", "c"]))
        for i, name in enumerate(names)
    }
    before = children(os.getpid())
    with _painter.painter(True) as painter:
        drawn = painter.paint(pictures)
        # Its work done, it exits by itself, without its interpreter's teardown; close() only reaps it.
        deadline = time.monotonic() + 10
        while alive(painter.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not alive(painter.pid)
    assert drawn == {name: _painter.draw(picture) for name, picture in pictures.items()}
    assert not alive(painter.pid) and not children(os.getpid()) - before


def test_the_process_is_gone_after_an_exception_in_the_block():
    before = children(os.getpid())
    with pytest.raises(RuntimeError), _painter.painter(True) as painter:
        assert alive(painter.pid) and painter.pid in children(os.getpid())
        raise RuntimeError("stop")
    assert not alive(painter.pid) and not children(os.getpid()) - before


def test_the_switch_turns_it_off_and_refuses_a_value_it_does_not_know(monkeypatch, tmp_path):
    monkeypatch.setenv(SWITCH, "0")
    assert _painter.background_pictures() is False
    with _painter.painter(_painter.background_pictures()) as painter:
        assert painter is None
    monkeypatch.setenv(SWITCH, "1")
    assert _painter.background_pictures() is True
    monkeypatch.setenv(SWITCH, "yes")
    with pytest.raises(ValueError, match=f"{SWITCH}='yes': use 1 .* or 0"):
        _painter.background_pictures()
    result = subprocess.run(
        [sys.executable, "-m", "npsoftmax.train", "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env={**os.environ, SWITCH: "yes"},
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and f"{SWITCH}='yes'" in result.stderr
    assert not (tmp_path / "run").exists()


def descendants(pid: int) -> set[int]:
    found = children(pid)
    for child in list(found):
        found |= descendants(child)
    return found


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_the_pictures_are_drawn_leaves_no_process(tmp_path, fashion_mnist_home, signum, status):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "npsoftmax.train", "--data-dir", str(fashion_mnist_home), "--no-download"]
    process = subprocess.Popen(
        [*command, "--out", str(out), "--epochs", "1", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    # The drawing process forks when the pictures are drawn, after model.npz is written: until then a stat, not a
    # scan of /proc, is enough.
    while time.monotonic() < deadline and process.poll() is None and not (out / "model.npz").exists():
        time.sleep(0.005)
    # Two descendants: the drawing process has forked, both are drawing.
    while time.monotonic() < deadline and process.poll() is None and len(seen) < 2:
        seen |= descendants(process.pid)
        time.sleep(0.005)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert len(seen) == 2, "the two drawing processes were never seen"
    deadline = time.monotonic() + 5  # a process killed by the run is reaped by init, not by the test
    while time.monotonic() < deadline and any(map(alive, seen)):
        time.sleep(0.05)
    assert not [pid for pid in seen if alive(pid)]
    assert {"metrics.json", "model.npz", "curves.png"} <= {p.name for p in out.iterdir()}


def test_a_whole_file_mapping_crosses_as_its_name_and_a_view_as_its_data(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, np.arange(60_000, dtype=np.uint8).reshape(600, 100))
    mapped = np.load(path, mmap_mode="r")
    for array, small in [(mapped, True), (mapped[100:300:2], False)]:
        buffer = io.BytesIO()
        _painter._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(array)
        assert (len(buffer.getvalue()) < 1000) is small
        back = pickle.loads(buffer.getvalue())
        assert back.dtype == array.dtype and np.array_equal(back, array)
