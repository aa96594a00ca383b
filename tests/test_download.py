"""The downloader against a local HTTP mirror that fails the ways real mirrors do, and its command line.

Small synthetic files with injected checksums stand in for Fashion-MNIST, except in the command-line tests,
which copy the real files from the Debian package. Nothing here touches the internet: the upstream
mirrors and the system copy are replaced by local stand-ins for every test.
"""

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _http_server import FaultyMirror, SyntheticData, make_synthetic

from npsoftmax import download
from npsoftmax import fetch as dl
from npsoftmax.fetch import (
    FILES,
    DataUnavailableError,
    download_fashion_mnist,
    fashion_mnist_source,
)
from npsoftmax.idx import read_idx

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path("/usr/share/datasets/fashion-mnist")
GZ_NAMES = [spec.gz_name for spec in FILES]
TRAIN_IMAGES = GZ_NAMES[0]
FAST = {"timeout": (2.0, 2.0), "retries": 2, "backoff": 0.01, "quiet": True}
CLI = [sys.executable, "-m", "npsoftmax.download"]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def offline_defaults(monkeypatch, tmp_path):
    """No test may reach the real system copy or the upstream mirrors unless it puts stand-ins there."""
    monkeypatch.delenv("NPSOFTMAX_MIRRORS", raising=False)
    monkeypatch.setattr(dl, "SYSTEM_DIR", tmp_path / "no-system-copy")
    monkeypatch.setattr(dl, "DEFAULT_MIRRORS", (_closed_port_url(),))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> SyntheticData:
    return make_synthetic(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture
def mirrors(synthetic):
    """A factory of local HTTP mirrors of the synthetic files (or another folder's), closed after the test."""
    started = []

    def start(folder: Path | None = None) -> FaultyMirror:
        started.append(FaultyMirror(folder or synthetic.folder))
        return started[-1]

    yield start
    for mirror in started:
        mirror.close()


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "data" / "fashion-mnist"


def _assert_installed(root: Path, synthetic: SyntheticData) -> None:
    """The four files are in root, verified, and nothing else but the manifest."""
    assert sorted(p.name for p in root.iterdir()) == sorted([*GZ_NAMES, "manifest.json"])
    for spec in FILES:
        np.testing.assert_array_equal(read_idx(root / spec.gz_name), synthetic.arrays[spec.name])


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())["files"]


# --- sources in order ---------------------------------------------------------------------------------


def test_http_mirror(root, synthetic, mirrors):
    mirror = mirrors()
    assert download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST) == root
    _assert_installed(root, synthetic)
    assert fashion_mnist_source(root) == mirror.url + "/"
    entry = _manifest(root)[TRAIN_IMAGES]
    assert entry["sha256"] == synthetic.checksums["train-images-idx3-ubyte"]
    stat = (root / TRAIN_IMAGES).stat()
    assert entry["gz"] == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns}


def test_local_folder_mirror(root, synthetic):
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert fashion_mnist_source(root) == str(synthetic.folder)


def test_verified_files_in_root_are_not_fetched_again(root, synthetic, mirrors):
    mirror = mirrors()
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    n_requests = len(mirror.requests)
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    assert len(mirror.requests) == n_requests == 4
    assert fashion_mnist_source(root) == mirror.url + "/"


def test_force_fetches_again(root, synthetic, mirrors):
    mirror = mirrors()
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    download_fashion_mnist(root, [mirror.url], force=True, checksums=synthetic.checksums, **FAST)
    assert len(mirror.requests) == 4
    assert fashion_mnist_source(root) == mirror.url + "/"


def test_system_copy_comes_before_the_upstream_mirrors(root, synthetic, mirrors, monkeypatch):
    mirror = mirrors()
    monkeypatch.setattr(dl, "SYSTEM_DIR", synthetic.folder)
    monkeypatch.setattr(dl, "DEFAULT_MIRRORS", (mirror.url + "/",))
    download_fashion_mnist(root, checksums=synthetic.checksums, **FAST)
    assert mirror.requests == []
    assert fashion_mnist_source(root) == str(synthetic.folder)


def test_upstream_mirrors_when_there_is_no_system_copy(root, synthetic, mirrors, monkeypatch):
    first, second = mirrors(), mirrors()
    first.script_all("404", then="404")
    monkeypatch.setattr(dl, "DEFAULT_MIRRORS", (first.url + "/", second.url + "/"))
    download_fashion_mnist(root, checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert fashion_mnist_source(root) == second.url + "/"


def test_env_mirrors_replace_system_copy_and_upstream(root, synthetic, mirrors, monkeypatch, tmp_path):
    mirror = mirrors()
    monkeypatch.setattr(dl, "SYSTEM_DIR", synthetic.folder)
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", f" {tmp_path / 'empty'} ,{mirror.url},")
    download_fashion_mnist(root, checksums=synthetic.checksums, **FAST)
    assert fashion_mnist_source(root) == mirror.url + "/"


def test_explicit_mirrors_override_the_env(root, synthetic, monkeypatch):
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", _closed_port_url())
    download_fashion_mnist(root, [str(synthetic.folder)], checksums=synthetic.checksums, **FAST)
    assert fashion_mnist_source(root) == str(synthetic.folder)


def test_sources_are_recorded_per_file(root, synthetic, mirrors):
    first, second = mirrors(), mirrors()
    first.script(TRAIN_IMAGES, then="404")
    download_fashion_mnist(root, [first.url, second.url], checksums=synthetic.checksums, **FAST)
    sources = {name: entry["source"] for name, entry in _manifest(root).items()}
    assert sources.pop(TRAIN_IMAGES) == second.url + "/"
    assert set(sources.values()) == {first.url + "/"}
    assert fashion_mnist_source(root) == f"{second.url}/, {first.url}/", "distinct sources, in file order"


def test_source_of_an_empty_root_is_unavailable(root):
    with pytest.raises(DataUnavailableError, match="no verified train-images-idx3-ubyte.gz on record"):
        fashion_mnist_source(root)


# --- faults -------------------------------------------------------------------------------------------


def test_404_falls_through_to_the_next_mirror(root, synthetic, mirrors):
    first, second = mirrors(), mirrors()
    first.script_all(then="404")
    download_fashion_mnist(root, [first.url, second.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert all(len(first.requests_for(name)) == 1 for name in GZ_NAMES), "a 404 is not retried"
    assert fashion_mnist_source(root) == second.url + "/"


def test_500_is_retried_on_the_same_mirror(root, synthetic, mirrors):
    mirror = mirrors()
    mirror.script_all("500")
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert all(len(mirror.requests_for(name)) == 2 for name in GZ_NAMES)


def test_persistent_500_gives_up_after_the_retries(root, synthetic, mirrors):
    first, second = mirrors(), mirrors()
    first.script(TRAIN_IMAGES, then="500")
    download_fashion_mnist(root, [first.url, second.url], checksums=synthetic.checksums, **FAST)
    assert len(first.requests_for(TRAIN_IMAGES)) == FAST["retries"] + 1
    assert _manifest(root)[TRAIN_IMAGES]["source"] == second.url + "/"
    assert _manifest(root)[GZ_NAMES[1]]["source"] == first.url + "/", "a 5xx does not write the mirror off"


def test_html_page_with_status_200_falls_through(root, synthetic, mirrors):
    first, second = mirrors(), mirrors()
    first.script_all(then="html")
    download_fashion_mnist(root, [first.url, second.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert all(len(first.requests_for(name)) == 1 for name in GZ_NAMES), "content failures are not retried"


def test_wrong_content_under_the_right_name_falls_through(root, synthetic, mirrors, tmp_path):
    # Like a proxy that served MNIST digits under Fashion-MNIST's names: valid gzip, valid IDX, wrong data.
    impostor = make_synthetic(tmp_path / "impostor", seed=1)
    first = mirrors(impostor.folder)
    download_fashion_mnist(root, [first.url, synthetic.folder], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert fashion_mnist_source(root) == str(synthetic.folder)


def test_body_cut_half_way_resumes_with_range(root, synthetic, mirrors):
    mirror = mirrors()
    mirror.script(TRAIN_IMAGES, "cut")
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    first, second = mirror.requests_for(TRAIN_IMAGES)
    assert first is None
    size = (synthetic.folder / TRAIN_IMAGES).stat().st_size
    resumed_at = int(second.removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_at <= size // 2, second


def test_body_cut_half_way_restarts_when_the_server_ignores_range(root, synthetic, mirrors):
    mirror = mirrors()
    mirror.range_support = False
    mirror.script(TRAIN_IMAGES, "cut", "cut")
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert len(mirror.requests_for(TRAIN_IMAGES)) == 3


def test_resume_across_several_drops(root, synthetic, mirrors):
    mirror = mirrors()
    mirror.script(TRAIN_IMAGES, "cut", "cut")
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    ranges = mirror.requests_for(TRAIN_IMAGES)
    assert ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])


def test_server_slower_than_the_timeout_is_written_off(root, synthetic, mirrors):
    slow = mirrors()
    slow.script_all(then="slow")
    start = time.perf_counter()
    download_fashion_mnist(
        root,
        [slow.url, synthetic.folder],
        checksums=synthetic.checksums,
        **{**FAST, "timeout": 0.5, "retries": 1},
    )
    elapsed = time.perf_counter() - start
    _assert_installed(root, synthetic)
    # Two attempts at the first file time out; the other three files skip the mirror instead of waiting.
    assert len(slow.requests) == 2
    assert elapsed < 5


def test_all_sources_bad_names_every_one_and_leaves_nothing_behind(root, synthetic, mirrors, tmp_path):
    missing_page, error_page = mirrors(), mirrors()
    missing_page.script_all(then="404")
    error_page.script_all(then="html")
    impostor = make_synthetic(tmp_path / "impostor", seed=1)
    dead = _closed_port_url()
    sources = [missing_page.url, error_page.url, tmp_path / "nowhere", impostor.folder, dead]
    with pytest.raises(DataUnavailableError) as info:
        download_fashion_mnist(root, sources, checksums=synthetic.checksums, **FAST)
    message = str(info.value)
    assert f"{missing_page.url}/: HTTP 404" in message
    assert f"{error_page.url}/: an HTML page, starting b'<!DOCTYPE html>" in message
    assert f"{tmp_path / 'nowhere'}: no such folder" in message
    assert f"{impostor.folder} ({TRAIN_IMAGES}): wrong content: decompressed SHA-256" in message
    assert f"{dead}: unreachable (gave up after 3 attempts:" in message and "Connection refused" in message
    for name in GZ_NAMES:
        assert name in message
    assert str(root.resolve()) in message and "apt-get install dataset-fashion-mnist" in message
    assert list(root.iterdir()) == []


def test_partial_failure_keeps_the_verified_files(root, synthetic, mirrors):
    mirror = mirrors()
    mirror.script(TRAIN_IMAGES, then="404")
    with pytest.raises(DataUnavailableError, match=r"Could not get train-images-idx3-ubyte\.gz into") as info:
        download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    assert f"{mirror.url}/: HTTP 404" in str(info.value)
    assert sorted(p.name for p in root.iterdir()) == sorted([*GZ_NAMES[1:], "manifest.json"])
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)


def test_corrupted_file_in_root_is_repaired(root, synthetic, mirrors):
    mirror = mirrors()
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    data = bytearray((root / TRAIN_IMAGES).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / TRAIN_IMAGES).write_bytes(bytes(data))
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)
    assert [name for name, _ in mirror.requests] == [TRAIN_IMAGES]
    assert _manifest(root)[TRAIN_IMAGES]["source"] == mirror.url + "/"


def test_corrupted_file_is_reported_when_it_cannot_be_repaired(root, synthetic):
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    (root / TRAIN_IMAGES).write_bytes(b"garbage")
    with pytest.raises(DataUnavailableError) as info:
        download_fashion_mnist(root, [_closed_port_url()], checksums=synthetic.checksums, **FAST)
    assert f"{root}: present but not gzip data, starting b'garbage'" in str(info.value)
    assert TRAIN_IMAGES not in _manifest(root), "an unverified file loses its record"


def test_files_placed_by_hand_are_verified_and_recorded(root, synthetic):
    root.mkdir(parents=True)
    for name in GZ_NAMES:
        (root / name).write_bytes((synthetic.folder / name).read_bytes())
    download_fashion_mnist(root, [_closed_port_url()], checksums=synthetic.checksums, **FAST)
    assert fashion_mnist_source(root) == f"{root.resolve()} (origin unknown)"


# --- atomic writes and temporaries --------------------------------------------------------------------


def test_leftover_temporaries_of_killed_runs_are_removed(root, synthetic):
    root.mkdir(parents=True)
    leftover = root / ".npsoftmax-tmp-train-images-idx3-ubyte.gz-0badc0de"
    leftover.write_bytes(b"half a download")
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    assert not leftover.exists()
    _assert_installed(root, synthetic)


def test_interrupted_install_leaves_no_file_under_a_final_name(root, synthetic, monkeypatch):
    def interrupted(tmp, final):
        raise KeyboardInterrupt

    monkeypatch.setattr(dl, "install", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    assert list(root.iterdir()) == []


def test_killed_download_leaves_only_a_temporary_which_the_next_run_removes(root, synthetic, mirrors):
    mirror = mirrors()
    mirror.script_all("cut", then="slow")  # half a body, then the retry hangs until the process is killed
    process = subprocess.Popen(
        [*CLI, "--data-dir", str(root), "--mirror", mirror.url, "--quiet"],
        env=_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while len(mirror.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(mirror.requests) == 2, "the download did not reach its retry"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    temporaries = [p.name for p in root.iterdir()]
    assert len(temporaries) == 1 and temporaries[0].startswith(".npsoftmax-tmp-train-images-idx3-ubyte.gz-")
    assert (root / temporaries[0]).stat().st_size > 0
    download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    _assert_installed(root, synthetic)


def test_installed_files_are_readable_by_others(root, synthetic):
    old_umask = os.umask(0o022)
    try:
        download_fashion_mnist(root, [synthetic.folder], checksums=synthetic.checksums, **FAST)
    finally:
        os.umask(old_umask)
    assert (root / TRAIN_IMAGES).stat().st_mode & 0o777 == 0o644


# --- progress -----------------------------------------------------------------------------------------


def test_progress_bar_only_when_asked_or_on_a_terminal(root, synthetic, mirrors, capsys):
    mirror = mirrors()
    download_fashion_mnist(root, [mirror.url], checksums=synthetic.checksums, **{**FAST, "quiet": None})
    assert capsys.readouterr().err == "", "stderr is not a terminal under pytest"
    download_fashion_mnist(
        root, [mirror.url], force=True, checksums=synthetic.checksums, **{**FAST, "quiet": False}
    )
    assert TRAIN_IMAGES in capsys.readouterr().err


# --- arguments ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mirrors": "http://example.org/"}, TypeError, "wrap a single one in a list"),
        ({"mirrors": []}, ValueError, "mirrors is empty"),
        ({"mirrors": ["ftp://example.org/"]}, ValueError, "neither an http"),
        ({"mirrors": [""]}, ValueError, "empty mirror"),
        ({"mirrors": [3]}, TypeError, "a mirror must be a URL or a folder"),
        ({"checksums": {"train-images": "0" * 64}}, ValueError, "unknown file 'train-images'"),
        ({"checksums": {"train-images-idx3-ubyte": "xyz"}}, ValueError, "64 lowercase hex digits"),
        ({"checksums": [("a", "b")]}, TypeError, "mapping"),
        ({"timeout": 0}, ValueError, "timeout must be a positive number"),
        ({"timeout": (1.0, -1.0)}, ValueError, "timeout"),
        ({"retries": -1}, ValueError, "retries must be a non-negative integer"),
        ({"retries": 1.5}, ValueError, "retries"),
        ({"backoff": -0.1}, ValueError, "backoff"),
        ({"force": "yes"}, TypeError, "force must be a bool"),
        ({"quiet": "no"}, TypeError, "quiet must be True, False or None"),
    ],
)
def test_invalid_arguments_are_rejected_before_any_work(root, kwargs, error, match):
    with pytest.raises(error, match=match):
        download_fashion_mnist(root, **{"mirrors": ["/nowhere"], **kwargs})
    assert not root.exists()


def test_root_that_is_a_file_is_rejected(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        download_fashion_mnist(tmp_path / "file", ["/nowhere"])


def test_bad_env_mirror_is_named(root, monkeypatch):
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", "ftp://example.org/")
    with pytest.raises(ValueError, match="NPSOFTMAX_MIRRORS: 'ftp://example.org/' is neither"):
        download_fashion_mnist(root)


# --- command line -------------------------------------------------------------------------------------


def _cli_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "NPSOFTMAX_MIRRORS"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env | extra


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args],
        env=_cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_fetches_and_verifies_the_real_files(root):
    result = _cli("--data-dir", str(root), "--mirror", str(REAL_DATA))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Fashion-MNIST is ready in {root} (from {REAL_DATA})\n"
    assert "train-images-idx3-ubyte.gz: verified, from /usr/share/datasets/fashion-mnist" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == sorted([*GZ_NAMES, "manifest.json"])
    again = _cli("--data-dir", str(root), "--mirror", str(REAL_DATA), "--quiet")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_cli_exits_1_with_the_message_when_every_source_fails(root, tmp_path, mirrors):
    missing = mirrors()
    missing.script_all(then="404")
    result = _cli(
        "--data-dir", str(root), "--mirror", str(tmp_path / "nowhere"), "--mirror", missing.url, "--quiet"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr
    assert message.startswith("error: Could not get train-images-idx3-ubyte.gz, ")
    assert f"{tmp_path / 'nowhere'}: no such folder" in message and f"{missing.url}/: HTTP 404" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert list(root.iterdir()) == []


def test_cli_env_mirrors(root, tmp_path):
    result = _cli("--data-dir", str(root), NPSOFTMAX_MIRRORS=str(tmp_path / "nowhere"))
    assert result.returncode == 1 and f"{tmp_path / 'nowhere'}: no such folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--data-dir", "{file}"], {}, "exists and is not a folder"),
        (["--mirror", "ftp://example.org/"], {}, "neither an http(s):// URL nor a local folder"),
        (["--no-such-option"], {}, "unrecognized arguments"),
        (
            [],
            {"NPSOFTMAX_MIRRORS": "ftp://example.org/"},
            "NPSOFTMAX_MIRRORS: 'ftp://example.org/' is neither",
        ),
    ],
)
def test_cli_usage_errors_exit_2(tmp_path, args, env, message):
    (tmp_path / "file").write_text("")
    result = _cli(
        *[arg.format(file=tmp_path / "file") for arg in args], "--data-dir", str(tmp_path / "d"), **env
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_help():
    result = _cli("--help")
    assert result.returncode == 0 and "--mirror URL_OR_DIR" in result.stdout


def test_main_in_process(root, synthetic, capsys):
    # The real pins reject the synthetic files: the in-process entry point reports like the CLI does.
    assert download.main(["--data-dir", str(root), "--mirror", str(synthetic.folder), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"{synthetic.folder} ({TRAIN_IMAGES}): wrong content: decompressed SHA-256" in err
    assert "Traceback" not in err


def test_gzip_of_the_pinned_content_with_other_bytes_is_accepted(root, synthetic, tmp_path):
    # Pins are on the decompressed content: a recompressed copy (as Debian ships) verifies too.
    recompressed = tmp_path / "recompressed"
    recompressed.mkdir()
    for spec in FILES:
        content = gzip.decompress((synthetic.folder / spec.gz_name).read_bytes())
        (recompressed / spec.gz_name).write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
        assert (recompressed / spec.gz_name).read_bytes() != (synthetic.folder / spec.gz_name).read_bytes()
    download_fashion_mnist(root, [recompressed], checksums=synthetic.checksums, **FAST)
    for spec in FILES:
        np.testing.assert_array_equal(read_idx(root / spec.gz_name), synthetic.arrays[spec.name])
