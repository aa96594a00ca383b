"""npsoftmax.data: sources in order, bounds on whatever comes from outside, caches and their repair, real data.

Synthetic files (``synthetic_data`` in conftest.py) stand in for Fashion-MNIST except where the real data is
the point; a local mirror (_http_server.py) misbehaves the ways real ones do. Nothing reaches the internet.
"""

import gzip
import hashlib
import json
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from _http_server import HostileMirror
from conftest import REAL_DATA

from npsoftmax import data
from npsoftmax.data import (
    TEXT_LABELS,
    DataUnavailableError,
    data_source,
    download_fashion_mnist,
    get_data_home,
    get_fashion_mnist_labels,
    load_fashion_mnist,
    mirrors_from_env,
    parse_mirror,
    redact_url,
)
from npsoftmax.idx import read_idx, write_idx

REPO = Path(__file__).resolve().parents[1]
TRAIN_GZ = "train-images-idx3-ubyte.gz"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def use_defaults(monkeypatch, **fields) -> None:
    """Give FASHION_MNIST, the record every default argument holds, other ``fields`` for one test."""
    for name, value in fields.items():
        monkeypatch.setitem(vars(data.FASHION_MNIST), name, value)


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test reaches the system copy or the internet unless it says so; time bounds short enough for tests."""
    monkeypatch.delenv("NPSOFTMAX_MIRRORS", raising=False)
    monkeypatch.setenv("NPSOFTMAX_DATA", str(tmp_path / "data-home"))
    use_defaults(monkeypatch, system_dir=tmp_path / "no-system-copy", mirrors=(closed_port_url(),))
    for name, value in {"READ_TIMEOUT": 0.5, "STALL_WINDOW": 1.0, "BACKOFF": 0.01}.items():
        monkeypatch.setattr(data, name, value)


@pytest.fixture
def mirrors(synthetic_data):
    """Start local mirrors of the synthetic files (or of another folder); they stop after the test."""
    started = []
    yield lambda folder=synthetic_data: started.append(HostileMirror(folder)) or started[-1]
    for mirror in started:
        mirror.close()


@pytest.fixture
def written(monkeypatch) -> dict[str, int]:
    """Bytes written per final name (the largest attempt, temporaries that were removed included)."""
    sizes: dict[str, int] = {}
    atomic = data.write_atomic

    def counting(final, write, durable=True):
        def counted(f):
            try:
                return write(f)
            finally:
                sizes[final.name] = max(sizes.get(final.name, 0), f.tell())

        return atomic(final, counted, durable)

    monkeypatch.setattr(data, "write_atomic", counting)
    return sizes


@pytest.fixture
def no_rebuild(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a warm load must only map the caches")

    return lambda: monkeypatch.setattr(data, "_build", forbidden)


def assert_arrays(arrays, folder: Path) -> None:
    for array, spec in zip(arrays, data.FASHION_MNIST.files, strict=True):
        np.testing.assert_array_equal(array, read_idx(folder / spec.gz_name))


# --- sources, in order ----------------------------------------------------------------------------------


def test_a_folder_is_read_in_place_and_the_arrays_cached(synthetic_data, no_rebuild):
    arrays = load_fashion_mnist()
    assert_arrays(arrays, synthetic_data)
    X_train, y_train, X_test, y_test = arrays
    assert isinstance(X_train, np.memmap) and not X_train.flags.writeable and y_train.dtype == np.int64
    home = get_data_home()
    caches = [f"{spec.name}.npy" for spec in data.FASHION_MNIST.files]
    assert sorted(p.name for p in home.iterdir()) == sorted(["manifest.json", *caches]), "no copy of the .gz"
    assert data_source() == str(synthetic_data)
    no_rebuild()
    assert_arrays(load_fashion_mnist(mirrors=[]), synthetic_data)


def test_data_home_precedence(monkeypatch, tmp_path):
    assert get_data_home(tmp_path / "root") == tmp_path / "root"
    assert get_data_home() == tmp_path / "data-home"  # NPSOFTMAX_DATA
    monkeypatch.delenv("NPSOFTMAX_DATA")
    assert get_data_home() == REPO / "data" / "fashion-mnist"  # a source checkout
    monkeypatch.setattr(data, "_CHECKOUT", tmp_path)  # as if installed from a wheel
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_home() == tmp_path / "xdg" / "npsoftmax" / "fashion-mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert get_data_home() == tmp_path / "user" / ".cache" / "npsoftmax" / "fashion-mnist"


def test_the_system_copy_comes_before_the_upstream_mirrors(synthetic_data, mirrors, monkeypatch):
    upstream = mirrors()
    monkeypatch.delenv("NPSOFTMAX_MIRRORS")
    use_defaults(monkeypatch, system_dir=synthetic_data, mirrors=(upstream.url,))
    assert_arrays(load_fashion_mnist(), synthetic_data)
    assert upstream.requests == [] and data_source() == str(synthetic_data)


def test_upstream_downloads_go_to_the_data_home_and_come_first_next_time(synthetic_data, mirrors, monkeypatch):
    gone, upstream = mirrors(), mirrors()
    gone.behave(None, "404")
    monkeypatch.delenv("NPSOFTMAX_MIRRORS")
    use_defaults(monkeypatch, mirrors=(gone.url, upstream.url))
    assert_arrays(load_fashion_mnist(), synthetic_data)
    assert data_source() == upstream.url and len(upstream.requests) == 4
    home = get_data_home()
    for spec in data.FASHION_MNIST.files:
        assert (home / spec.gz_name).read_bytes() == (synthetic_data / spec.gz_name).read_bytes()
    for cache in home.glob("*.npy"):
        cache.unlink()
    assert_arrays(load_fashion_mnist(), synthetic_data)
    assert len(upstream.requests) == 4 and data_source() == upstream.url, "verified again, origin kept"


def test_force_takes_the_files_from_the_sources_again(synthetic_data, mirrors):
    mirror = mirrors()
    load_fashion_mnist()
    assert download_fashion_mnist(mirrors=[mirror.url]) == get_data_home() and mirror.requests == []
    download_fashion_mnist(mirrors=[mirror.url], force=True)
    assert len(mirror.requests) == 4 and data_source() == mirror.url


def test_a_recompressed_copy_passes_the_pins_on_content(synthetic_data, tmp_path):
    recompressed = tmp_path / "recompressed"
    recompressed.mkdir()
    for spec in data.FASHION_MNIST.files:
        content = gzip.decompress((synthetic_data / spec.gz_name).read_bytes())
        (recompressed / spec.gz_name).write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
    assert_arrays(load_fashion_mnist(mirrors=[recompressed]), synthetic_data)


def test_download_false_keeps_off_the_network(synthetic_data, monkeypatch):
    monkeypatch.setattr(requests.Session, "get", lambda *a, **k: pytest.fail("download=False went online"))
    with pytest.raises(DataUnavailableError, match="not tried: download=False keeps off the network"):
        load_fashion_mnist(download=False, mirrors=[closed_port_url()])
    assert_arrays(load_fashion_mnist(download=False, mirrors=[closed_port_url(), synthetic_data]), synthetic_data)


# --- bounds on what comes from outside -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reason", "n_requests"),
    [
        ("404", "HTTP 404", 4),
        ("html", "not gzip data, starting b'<!DOCTYPE html>", 4),
        ("500", "gave up after 3 attempts: HTTP 500", 3),  # then written off for the other files
        ("cut", "gave up after 3 attempts: IncompleteRead", 3),
        ("endless", "sent more than the 1568016+1568+1024 bytes the file can be; cut off", 4),
        ("gzip", "refused Content-Encoding 'gzip': identity was asked for", 4),
        ("bad-length", "malformed Content-Length '²'", 4),
        ("bomb", "decompresses to more than the file's 1568016 bytes", 4),
        ("drip", "stalled (5 bytes in 1 s)", 1),  # not waited on again for the other files
        ("hang", "stalled (no data for 0.5 s)", 1),
        ("stall", "stalled (no data for 0.5 s)", 1),
    ],
)
def test_a_misbehaving_mirror_costs_little_and_the_next_source_wins(
    mode, reason, n_requests, synthetic_data, mirrors, written, caplog
):
    caplog.set_level(logging.INFO, "npsoftmax.data")
    mirror = mirrors()
    mirror.behave(None, mode)
    start = time.monotonic()
    arrays = load_fashion_mnist(mirrors=[mirror.url, synthetic_data])
    seconds = time.monotonic() - start
    assert_arrays(arrays, synthetic_data)
    assert data_source() == str(synthetic_data)
    reason = reason.replace("1568016+1568+1024", str(data.FASHION_MNIST.files[0].max_gz_size))
    assert f"{TRAIN_GZ}: {mirror.url}: {reason}" in caplog.text
    assert len(mirror.requests) == n_requests
    for spec in data.FASHION_MNIST.files:
        assert written.get(spec.gz_name, 0) <= spec.max_gz_size <= spec.size * 1.001 + 1024
    assert not list(get_data_home().glob("*.gz")) and not list(get_data_home().glob(".npsoftmax-tmp-*"))
    assert seconds < 5, f"{mode}: {seconds:.1f} s"


def test_a_body_cut_short_is_fetched_again(synthetic_data, mirrors):
    mirror = mirrors()
    mirror.behave(TRAIN_GZ, "cut", "ok")
    assert_arrays(load_fashion_mnist(mirrors=[mirror.url]), synthetic_data)
    assert mirror.requests.count(TRAIN_GZ) == 2


def test_every_source_failing_is_reported_and_nothing_is_left(synthetic_data, mirrors, tmp_path):
    missing, error_page = mirrors(), mirrors()
    missing.behave(None, "404")
    error_page.behave(None, "html")
    impostor, empty = tmp_path / "impostor", tmp_path / "empty"
    empty.mkdir()
    impostor.mkdir()
    for spec in data.FASHION_MNIST.files:
        write_idx(impostor / spec.gz_name, np.ones(spec.shape, np.uint8))
    dead = closed_port_url()
    with pytest.raises(DataUnavailableError) as info:
        load_fashion_mnist(mirrors=[missing.url, error_page.url, empty, impostor, dead])
    message = str(info.value)
    assert message.startswith(f"Could not get {', '.join(spec.gz_name for spec in data.FASHION_MNIST.files)} into")
    assert f"  - {missing.url}: HTTP 404" in message
    assert f"  - {error_page.url}: not gzip data, starting b'<!DOCTYPE html>" in message
    assert f"  - {empty}: no such file" in message
    assert f"  - {impostor} ({TRAIN_GZ}): wrong content: decompressed SHA-256" in message
    assert f"  - {dead}: gave up after 3 attempts: " in message and "Connection refused" in message
    assert "apt-get install dataset-fashion-mnist" in message and str(get_data_home()) in message
    assert list(get_data_home().iterdir()) == []


def test_credentials_in_a_mirror_url_are_never_shown_or_kept(synthetic_data, mirrors, caplog):
    caplog.set_level(logging.INFO, "npsoftmax.data")
    mirror = mirrors()
    secret_url = mirror.url.replace("http://", "http://reader:s3cr3t-pw@")
    dead = closed_port_url().replace("http://", "http://reader:s3cr3t-pw@")
    with pytest.raises(DataUnavailableError) as info:
        load_fashion_mnist(mirrors=[dead])
    load_fashion_mnist(mirrors=[dead, secret_url])
    assert mirror.authorization[0].startswith("Basic "), "the credentials are used"
    shown = [str(info.value), caplog.text, data_source()]
    shown += [path.read_text(errors="replace") for path in get_data_home().iterdir()]
    assert all("s3cr3t" not in text for text in shown)
    assert data_source() == redact_url(secret_url) == secret_url.replace("reader:s3cr3t-pw@", "***@")


# --- the data home: concurrency, repair, permissions ------------------------------------------------------


def test_concurrent_first_loads_take_turns(synthetic_data):
    with ThreadPoolExecutor(4) as pool:
        for arrays in pool.map(lambda _: load_fashion_mnist(), range(4)):
            assert_arrays(arrays, synthetic_data)
    assert not list(get_data_home().glob(".npsoftmax-tmp-*"))


def restamp(home: Path) -> None:
    """Record the caches as they are now, as if the manifest had been written after them."""
    manifest = json.loads((home / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        stat = (home / f"{name}.npy").stat()
        entry["npy"] = [stat.st_size, stat.st_mtime_ns]
    (home / "manifest.json").write_text(json.dumps(manifest))


def rewrite(path: Path, content: bytes) -> None:
    stat = path.stat()
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


CORRUPTIONS = {
    "truncated cache": lambda home: (home / "train-images-idx3-ubyte.npy").write_bytes(b"\x93NUMPY"),
    "cache rewritten, same size": lambda home: rewrite(
        home / "t10k-labels-idx1-ubyte.npy", (home / "t10k-labels-idx1-ubyte.npy").read_bytes()[:-500] + bytes(500)
    ),
    "deleted cache": lambda home: (home / "t10k-images-idx3-ubyte.npy").unlink(),
    "pickled cache": lambda home: (
        np.save(home / "train-labels-idx1-ubyte.npy", np.array([{}], dtype=object), allow_pickle=True),
        restamp(home),
    ),
    "cache of another shape": lambda home: (np.save(home / "train-images-idx3-ubyte.npy", np.zeros(3)), restamp(home)),
    "deleted manifest": lambda home: (home / "manifest.json").unlink(),
    "manifest not JSON": lambda home: (home / "manifest.json").write_text("{not json"),
    "manifest nested 100000 deep": lambda home: (home / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
    "manifest of 1 MB": lambda home: (home / "manifest.json").write_text('{"format": 2, "files": {}}' + " " * 2**20),
    "manifest a list": lambda home: (home / "manifest.json").write_text("[1, 2]"),
    "manifest of wrong types": lambda home: (home / "manifest.json").write_text(
        json.dumps({"format": 2, "files": {"train-images-idx3-ubyte": {"sha256": 1, "source": [], "npy": "x"}}})
    ),
    "manifest with bool stamps": lambda home: (home / "manifest.json").write_text(
        (home / "manifest.json").read_text().replace('"npy": [', '"npy": [true, ').replace(", true, ", ", ")
    ),
    "garbage .gz in the data home": lambda home: (
        (home / TRAIN_GZ).write_bytes(b"garbage"),
        (home / "train-images-idx3-ubyte.npy").unlink(),
    ),
    "leftover temporary": lambda home: (
        (home / ".npsoftmax-tmp-train-images-idx3-ubyte.npy-0badc0de").write_bytes(b"half a cache"),
        (home / "train-images-idx3-ubyte.npy").unlink(),
    ),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_whatever_changed_on_disk_is_ignored_and_rebuilt(corrupt, synthetic_data, no_rebuild):
    load_fashion_mnist()
    home = get_data_home()
    corrupt(home)
    assert_arrays(load_fashion_mnist(), synthetic_data)
    assert not list(home.glob(".npsoftmax-tmp-*"))
    no_rebuild()
    assert_arrays(load_fashion_mnist(), synthetic_data)


def test_chmod_and_chown_leave_the_cache_valid(synthetic_data, no_rebuild):
    load_fashion_mnist()
    home = get_data_home()
    for path in home.iterdir():
        path.chmod(0o444)
        os.chown(path, os.getuid(), os.getgid())  # changes the ctime, as any chown does
    no_rebuild()
    assert_arrays(load_fashion_mnist(), synthetic_data)


def run_with_read_only(folders: list[Path], code: str) -> subprocess.CompletedProcess:
    """Run Python ``code`` with ``folders`` mounted read-only, in a mount namespace of its own (needs root,
    as CI has): as root, ``chmod a-w`` alone would not stop a write."""
    quoted = [shlex.quote(str(folder)) for folder in folders]
    mounts = " && ".join(f"mount --bind {q} {q} && mount -o remount,ro,bind {q}" for q in quoted)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    argv = ["unshare", "--mount", "sh", "-c", f'{mounts} && exec "$0" -c "$1"', sys.executable, code]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def test_a_read_only_data_home_still_loads(fashion_mnist_home, tmp_path):
    downloads = tmp_path / "downloads-only"  # verified downloads, no caches, in a folder nobody may write
    downloads.mkdir()
    for spec in data.FASHION_MNIST.files:
        (downloads / spec.gz_name).write_bytes((REAL_DATA / spec.gz_name).read_bytes())
    code = (
        "import sys, numpy as np, npsoftmax as nps\n"
        "for home in sys.argv[1:]:\n"
        "    X, y, Xt, yt, source = nps.data.load(root=home, mirrors=[])\n"
        "    print(X.shape, Xt.shape, np.bincount(y).tolist() == [6000] * 10, source)\n"
    ).replace("sys.argv[1:]", repr([str(fashion_mnist_home), str(downloads)]))
    result = run_with_read_only([fashion_mnist_home, downloads], code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"(60000, 28, 28) (10000, 28, 28) True {REAL_DATA}",
        f"(60000, 28, 28) (10000, 28, 28) True {downloads}",
    ]
    assert result.stderr.splitlines() == [
        f"cannot write the caches in {downloads} (Read-only file system; they take 55 MB): using the data from "
        "memory, verified again at every load"
    ]
    probe = run_with_read_only([downloads], f"open({str(downloads / 'probe')!r}, 'w')")
    assert "Read-only file system" in probe.stderr, "the mount really is read-only"


# --- the real data -------------------------------------------------------------------------------------


def test_the_real_fashion_mnist(fashion_mnist_home):
    X_train, y_train, X_test, y_test = load_fashion_mnist(fashion_mnist_home, download=False)
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == X_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    for spec in data.FASHION_MNIST.files:
        assert hashlib.sha256(gzip.decompress((REAL_DATA / spec.gz_name).read_bytes())).hexdigest() == spec.sha256
    assert not list(fashion_mnist_home.glob("*.gz")), "Debian's copy is read in place"
    assert data_source(fashion_mnist_home) == str(REAL_DATA)
    assert get_fashion_mnist_labels(y_train[:3]) == ["ankle boot", "t-shirt", "t-shirt"]
    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        load_fashion_mnist(fashion_mnist_home, download=False)
        seconds.append(time.perf_counter() - start)
    assert min(seconds) < 0.05, seconds


# --- mirrors and labels ----------------------------------------------------------------------------------


def test_good_mirrors_are_normalized(tmp_path, monkeypatch):
    assert parse_mirror(" http://host/fashion ") == "http://host/fashion/"
    assert parse_mirror("HTTPS://u:p@host:8443/x/") == "HTTPS://u:p@host:8443/x/"
    monkeypatch.chdir(tmp_path)
    assert parse_mirror(".") == str(tmp_path)
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", f"http://a/, {tmp_path}")
    assert mirrors_from_env() == ["http://a/", str(tmp_path)]
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", "  ")
    assert mirrors_from_env() is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://x/", "'ftp://x/' is not an http(s):// URL"),
        ("ftp://user:pw@x/", "'ftp://***@x/' is not an http(s):// URL"),
        ("http://", "is not an http(s):// URL"),
        ("http://host:port/", "is not an http(s):// URL"),
        ("", "empty mirror"),
        ("/no/such/folder", "'/no/such/folder' is neither an http(s):// URL nor an existing folder"),
    ],
)
def test_bad_mirrors_are_value_errors_naming_the_value(text, message, monkeypatch):
    with pytest.raises(ValueError) as info:
        parse_mirror(text)
    assert str(info.value) == message or message in str(info.value)
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", f"http://a/,{text}")
    with pytest.raises(ValueError, match=r"^NPSOFTMAX_MIRRORS: ") as info:
        mirrors_from_env()
    assert "\n" not in str(info.value) and ":pw@" not in str(info.value)


def test_redact_url():
    assert redact_url("http://user:pass@host/p") == "http://***@host/p"
    assert redact_url("https://token@host:8080/a@b") == "https://***@host:8080/a@b"
    assert redact_url("http://u:p@ss@host/") == "http://***@host/"
    assert redact_url("http://host/p") == "http://host/p" and redact_url("/data/x") == "/data/x"


def test_text_labels():
    assert TEXT_LABELS[0] == "t-shirt" and TEXT_LABELS[9] == "ankle boot" and len(TEXT_LABELS) == 10
    assert get_fashion_mnist_labels(range(10)) == list(TEXT_LABELS)
    assert get_fashion_mnist_labels(np.uint8(5)) == ["sandal"] and get_fashion_mnist_labels([]) == []
    for labels, error in [([0, 10], ValueError), ([-1], ValueError), ([1.0], TypeError), ([[1]], ValueError)]:
        with pytest.raises(error):
            get_fashion_mnist_labels(labels)
