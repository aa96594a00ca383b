"""``python -m npsoftmax.download`` as a user runs it, on the real Fashion-MNIST: exit statuses, messages, and
what a full disk, a kill or a password in a mirror URL leave behind. Nothing reaches the internet."""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _http_server import HostileMirror
from _train import exit_of
from conftest import REAL_DATA
from test_data import closed_port_url

from npsoftmax import data, download
from npsoftmax._io import LOCK_NAME

REPO = Path(__file__).resolve().parents[1]
TRAIN_GZ = "train-images-idx3-ubyte.gz"


@pytest.fixture
def real_mirror():
    mirror = HostileMirror(REAL_DATA)
    yield mirror
    mirror.close()


def cli_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NPSOFTMAX_")}
    return env | {"PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "npsoftmax.download", *args],
        env=cli_env() | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_data_is_made_ready_and_the_command_says_where(tmp_path):
    home = tmp_path / "home"
    result = cli("--data-dir", str(home), "--mirror", str(REAL_DATA))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Fashion-MNIST is ready in {home} (from {REAL_DATA})\n"
    assert f"{TRAIN_GZ}: verified, from {REAL_DATA}" in result.stderr
    again = cli("--data-dir", str(home), "--quiet")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_every_source_failing_exits_1_with_the_report(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert download.main(["--data-dir", str(tmp_path / "home"), "--mirror", str(tmp_path / "empty"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Could not get train-images-idx3-ubyte.gz, ")
    assert f"  - {tmp_path / 'empty'}: no such file" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--mirror", "ftp://example.org/"], {}, "argument --mirror: 'ftp://example.org/' is not an http(s):// URL"),
        (["--mirror", "/no/such/folder"], {}, "'/no/such/folder' is neither an http(s):// URL nor an existing folder"),
        ([], {"NPSOFTMAX_MIRRORS": "http://a/,"}, "NPSOFTMAX_MIRRORS: empty mirror"),
        (["--data-dir", "{file}"], {}, "is a file; give a folder"),
        (["--no-such-option"], {}, "unrecognized arguments"),
        (["--data", "{file}"], {}, "unrecognized arguments: --data"),
    ],
)
def test_usage_errors_exit_2(args, env, message, tmp_path, monkeypatch):
    # In this process, in the command's environment (a traceback would be an exception here); test_help runs the
    # command as a process.
    for name in [name for name in os.environ if name.startswith("NPSOFTMAX_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "file").write_text("")
    status, stdout, stderr = exit_of(download.main, [arg.format(file=tmp_path / "file") for arg in args])
    assert status == 2 and stdout == "" and message in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_help():
    result = cli("--help")
    assert result.returncode == 0 and "--mirror URL_OR_DIR" in result.stdout


def test_a_password_in_a_mirror_url_appears_nowhere(tmp_path, real_mirror):
    home = tmp_path / "home"
    secret = real_mirror.url.replace("http://", "http://reader:s3cr3t-pw@")
    dead = closed_port_url().replace("http://", "http://reader:s3cr3t-pw@")
    ok = cli("--data-dir", str(home), "--mirror", secret)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"Fashion-MNIST is ready in {home} (from {data.redact_url(secret)})\n"
    failed = cli("--data-dir", str(home), "--mirror", dead, "--force")
    assert failed.returncode == 1 and f"  - {data.redact_url(dead)}: gave up after" in failed.stderr
    assert all(auth and auth.startswith("Basic ") for auth in real_mirror.authorization)
    for text in (ok.stdout, ok.stderr, failed.stdout, failed.stderr):
        assert "s3cr3t" not in text
    for path in home.iterdir():
        assert b"s3cr3t" not in path.read_bytes(), path


def run_on_a_small_disk(home: Path, megabytes: int, *args: str) -> subprocess.CompletedProcess:
    """The command with ``home`` on a tmpfs of ``megabytes``, in a mount namespace of its own (CI runs as root);
    what the disk holds afterwards is listed on stdout after a line "files:"."""
    command = shlex.join([sys.executable, "-m", "npsoftmax.download", "--data-dir", str(home), *args])
    quoted = shlex.quote(str(home))
    script = f"mount -t tmpfs -o size={megabytes}m tmpfs {quoted} && {command}; echo files:; ls -A {quoted}"
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script], env=cli_env(), capture_output=True, text=True, timeout=120
    )


def test_a_full_disk_fails_that_source_and_the_next_one_is_used(tmp_path, real_mirror):
    home = tmp_path / "home"
    home.mkdir()
    result = run_on_a_small_disk(home, 12, "--mirror", real_mirror.url, "--mirror", str(REAL_DATA))
    assert result.returncode == 0, result.stderr
    assert f"{TRAIN_GZ}: {real_mirror.url}: no space left in {home} ({TRAIN_GZ} needs up to 47.1 MB)" in result.stderr
    assert f"{TRAIN_GZ}: verified, from {REAL_DATA}" in result.stderr
    assert (
        f"cannot write the caches in {home} (Not enough free space to write 47040000 bytes after offset 128; they "
        "take 55 MB): using the data from memory" in result.stderr
    )
    assert "Traceback" not in result.stderr
    ready, files = result.stdout.split("files:\n")
    assert ready == f"Fashion-MNIST is ready in {home} (from {REAL_DATA}, {real_mirror.url})\n"
    assert sorted(files.split()) == sorted(spec.gz_name for spec in data.FILES[1:]), "nothing partial left"


def test_a_killed_download_leaves_only_a_temporary_which_the_next_run_removes(tmp_path, real_mirror):
    home = tmp_path / "home"
    real_mirror.behave(TRAIN_GZ, "stall")  # half the file, then nothing until the process is killed
    process = subprocess.Popen(
        [sys.executable, "-m", "npsoftmax.download", "--data-dir", str(home), "--mirror", real_mirror.url, "--quiet"],
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not [p for p in home.glob(".npsoftmax-tmp-*") if p.stat().st_size]:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # A killed process cannot remove its lock file: it is a temporary too, with no lock held on it any more.
    left = [p for p in home.iterdir() if p.name != LOCK_NAME]
    assert len(left) == 1 and left[0].name.startswith(f".npsoftmax-tmp-{TRAIN_GZ}-") and left[0].stat().st_size > 0
    assert LOCK_NAME.startswith(".npsoftmax-tmp-")
    data.download_fashion_mnist(home, mirrors=[REAL_DATA], quiet=True)
    assert not list(home.glob(".npsoftmax-tmp-*")) and not list(home.glob("*.gz"))
