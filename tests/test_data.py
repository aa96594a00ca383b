"""npsoftmax.data: sources in order, bounds on whatever comes from outside, caches and their repair, real data.

Synthetic files (``synthetic_data`` in conftest.py) stand in for Fashion-MNIST except where the real data is
the point; a local mirror (_http_server.py) misbehaves the ways real ones do. Nothing reaches the internet.
"""

import argparse
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from _http_server import EMPTY_BLOCK, GZIP_HEADER, HostileMirror
from conftest import REAL_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

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
    loaded = data.fetch(mirrors=[synthetic_data], force=True)
    assert loaded.source == str(synthetic_data) and loaded.y_train.dtype == np.int64 and len(mirror.requests) == 4
    assert_arrays(loaded[:4], synthetic_data)


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
    # A second load maps the verified caches instead of reading and parsing the files again.
    again = load_fashion_mnist(fashion_mnist_home, download=False)
    assert all(isinstance(array, np.memmap) for array in again), [type(a) for a in again]
    np.testing.assert_array_equal(again[0][:3], X_train[:3])


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


# --- a data set is a record ------------------------------------------------------------------------------


def test_a_dataset_of_another_shape_goes_end_to_end_through_a_mirror(
    small_dataset, mirrors, tmp_path, no_rebuild, monkeypatch
):
    folder, small = small_dataset
    mirror = mirrors(folder)
    monkeypatch.delenv("NPSOFTMAX_MIRRORS")  # it would replace the record's mirrors
    small = dataclasses.replace(small, mirrors=(mirror.url,))
    assert (small.n_classes, small.n_features) == (4, 144)
    home = tmp_path / "small-home"
    X_train, y_train, X_test, y_test, source = data.load(small, home)
    assert X_train.shape == (400, 12, 12) and X_test.shape == (100, 12, 12) and source == mirror.url
    assert y_train.dtype == y_test.dtype == np.int64 and set(np.unique(y_train)) == {0, 1, 2, 3}
    for array, spec in zip((X_train, y_train, X_test, y_test), small.files, strict=True):
        np.testing.assert_array_equal(array, read_idx(folder / spec.gz_name))
        assert (home / spec.gz_name).read_bytes() == (folder / spec.gz_name).read_bytes(), "downloaded, verified"
    assert sorted(mirror.requests) == sorted(spec.gz_name for spec in small.files)
    no_rebuild()
    again = data.load(small, home)
    assert isinstance(again.X_train, np.memmap) and again.source == mirror.url and len(mirror.requests) == 4
    np.testing.assert_array_equal(again.X_test, X_test)
    assert data.get_fashion_mnist_labels(y_test[:1]) in ([name] for name in TEXT_LABELS[:4])


def test_another_datasets_files_fail_fashion_mnists_pins_before_any_allocation(small_dataset, tmp_path):
    folder, _ = small_dataset
    with pytest.raises(DataUnavailableError) as info:
        load_fashion_mnist(tmp_path / "home", mirrors=[folder])
    assert (
        f"  - {folder} ({TRAIN_GZ}): not train-images-idx3-ubyte: the header declares dimensions (400, 12, 12), where "
        "(60000, 28, 28) are expected" in str(info.value)
    )


def test_each_dataset_has_its_own_default_data_home(small_dataset, monkeypatch, tmp_path):
    _, small = small_dataset
    monkeypatch.delenv("NPSOFTMAX_DATA")
    assert get_data_home(dataset=small) == REPO / "data" / "small"
    assert get_data_home() == REPO / "data" / "fashion-mnist"
    monkeypatch.setattr(data, "_CHECKOUT", tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_home(dataset=small) == tmp_path / "xdg" / "npsoftmax" / "small"


def test_labels_beyond_the_class_names_are_refused(small_dataset, tmp_path):
    folder, small = small_dataset
    three = dataclasses.replace(small, class_names=("a", "b", "c"))
    with pytest.raises(DataUnavailableError, match=r"^Small's labels go up to 3: more than its class names$"):
        data.load(three, tmp_path / "home", mirrors=[folder])


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"name": "../up"}, ValueError, "folder name"),
        ({"name": ""}, ValueError, "folder name"),
        ({"class_names": ("one",)}, ValueError, "2 to 256 class names, got 1"),
        ({"image_shape": (28, 28)}, ValueError, r"do not hold images of shape \(28, 28\)"),
        ({"files": ()}, TypeError, "files must be 4 IDXFile"),
        ({"mirrors": ("ftp://host/",)}, ValueError, "'ftp://host/' is not an http"),
        ({"mirrors": ("https://u:pw@host",)}, ValueError, r"'https://\*\*\*@host' is not an http\(s\) URL ending in /"),
    ],
)
def test_a_dataset_record_is_checked_when_made(small_dataset, fields, error, match):
    _, small = small_dataset
    with pytest.raises(error, match=match):
        dataclasses.replace(small, **fields)


def test_a_bad_pin_is_refused():
    spec = data.FASHION_MNIST.files[0]
    files = (spec._replace(sha256="c59f"), *data.FASHION_MNIST.files[1:])
    with pytest.raises(ValueError, match="a SHA-256 in hex"):
        dataclasses.replace(data.FASHION_MNIST, files=files)
    with pytest.raises(TypeError, match="must be a Dataset record"):
        data.load("fashion-mnist")


def test_load_returns_the_arrays_and_their_source(synthetic_data):
    loaded = data.load()
    assert isinstance(loaded, data.LoadedData) and loaded.source == str(synthetic_data)
    assert_arrays(loaded[:4], synthetic_data)
    assert data.data_source() == loaded.source == data.load().source
    assert len(load_fashion_mnist()) == 4


# --- paths users and the environment get wrong ----------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_data_home_is_refused_naming_where_it_came_from(value, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"^root \(--data-dir\) is empty: give the data home's folder"):
        load_fashion_mnist(value)
    monkeypatch.setenv("NPSOFTMAX_DATA", value)
    with pytest.raises(ValueError, match=r"^NPSOFTMAX_DATA is empty: give the data home's folder"):
        get_data_home()
    with pytest.raises(ValueError, match=r"^NPSOFTMAX_DATA is empty"):
        load_fashion_mnist(mirrors=[])
    assert list(tmp_path.iterdir()) == [], "nothing written into the current folder"


def test_environment_values_are_bounded(monkeypatch, tmp_path):
    monkeypatch.setenv("NPSOFTMAX_DATA", "x" * 5000)
    with pytest.raises(ValueError, match="^NPSOFTMAX_DATA is 5000 characters long: at most 4096$"):
        get_data_home()
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", ",".join([str(tmp_path)] * 17))
    with pytest.raises(
        ValueError, match=r"^NPSOFTMAX_MIRRORS holds \d+ characters and 17 mirrors: at most 4096 and 16$"
    ):
        mirrors_from_env()
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", "http://host/" + "a" * 5000)
    with pytest.raises(ValueError, match=r"^NPSOFTMAX_MIRRORS holds 5012 characters and 1 mirrors"):
        mirrors_from_env()
    with pytest.raises(ValueError, match="^17 mirrors: at most 16$"):
        load_fashion_mnist(tmp_path / "home", mirrors=[tmp_path] * 17)


def make_dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere")


def make_loop(path: Path) -> None:
    path.symlink_to(path)


def make_file(path: Path) -> None:
    path.write_text("not a folder")


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (make_dangling, "{home} is a symlink to {parent}/nowhere, which does not exist"),
        (make_loop, "{home} is a symlink loop"),
        (make_file, "{home} is not a folder"),
        (lambda home: os.mkfifo(home), "{home} is not a folder"),
    ],
    ids=["dangling symlink", "symlink loop", "file", "FIFO"],
)
@pytest.mark.parametrize("below", [False, True], ids=["home", "its parent"])
def test_a_data_home_that_cannot_be_a_folder_is_one_clear_line(make, problem, below, synthetic_data, tmp_path):
    at_fault = tmp_path / "home"
    make(at_fault)
    home = at_fault / "fashion-mnist" if below else at_fault
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as info:
        load_fashion_mnist(home)
    assert time.monotonic() - start < 5
    expected = problem.format(home=at_fault, parent=tmp_path)
    assert str(info.value) == (
        f"cannot use {home} as the data home: {expected}; choose another with --data-dir or NPSOFTMAX_DATA"
    )


def test_a_data_home_that_cannot_be_created_is_one_clear_line(synthetic_data, tmp_path):
    parent = tmp_path / "read-only"
    parent.mkdir()
    code = (
        "import npsoftmax as nps\n"
        "try:\n"
        f"    nps.load_fashion_mnist({str(parent / 'home')!r})\n"
        "except nps.DataUnavailableError as exc:\n"
        "    print(exc)\n"
    )
    result = run_with_read_only([parent], code)
    assert result.stdout == (
        f"cannot use {parent / 'home'} as the data home: Read-only file system; choose another with --data-dir or "
        "NPSOFTMAX_DATA\n"
    ), result.stderr


@pytest.mark.parametrize("kind", ["FIFO", "device"])
def test_only_regular_files_are_read_from_a_folder(kind, synthetic_data, tmp_path, caplog):
    caplog.set_level(logging.INFO, "npsoftmax.data")
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    for spec in data.FASHION_MNIST.files:
        if kind == "FIFO":
            os.mkfifo(hostile / spec.gz_name)
        else:
            (hostile / spec.gz_name).symlink_to("/dev/zero")
    start = time.monotonic()
    assert_arrays(load_fashion_mnist(mirrors=[hostile, synthetic_data]), synthetic_data)
    assert time.monotonic() - start < 5
    what = "a FIFO" if kind == "FIFO" else "a character device"
    path = hostile / TRAIN_GZ
    assert f"{TRAIN_GZ}: {hostile}: cannot read {path}: not a regular file but {what}" in caplog.text


def test_a_file_in_a_folder_is_read_no_further_than_the_file_can_be(synthetic_data, tmp_path, caplog):
    caplog.set_level(logging.INFO, "npsoftmax.data")
    endless = tmp_path / "endless"
    endless.mkdir()
    limit = data.FASHION_MNIST.files[0].max_gz_size
    (endless / TRAIN_GZ).write_bytes(GZIP_HEADER + EMPTY_BLOCK * (limit // len(EMPTY_BLOCK) + 1))
    assert_arrays(load_fashion_mnist(mirrors=[endless, synthetic_data]), synthetic_data)
    assert f"{TRAIN_GZ}: {endless}: more than the {limit} bytes the file can be" in caplog.text


def replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def replace_with_zeros(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


SPECIAL_FILES = {
    "cache is a FIFO": lambda home: replace_with_fifo(home / "train-images-idx3-ubyte.npy"),
    "cache is /dev/zero": lambda home: replace_with_zeros(home / "t10k-labels-idx1-ubyte.npy"),
    "manifest is a FIFO": lambda home: replace_with_fifo(home / "manifest.json"),
    "manifest is /dev/zero": lambda home: replace_with_zeros(home / "manifest.json"),
    ".gz in the data home is a FIFO": lambda home: (
        os.mkfifo(home / TRAIN_GZ),
        (home / "train-images-idx3-ubyte.npy").unlink(),
    ),
}


@pytest.mark.parametrize("corrupt", SPECIAL_FILES.values(), ids=SPECIAL_FILES.keys())
def test_a_device_or_fifo_in_the_data_home_is_never_read(corrupt, synthetic_data, no_rebuild):
    load_fashion_mnist()
    home = get_data_home()
    corrupt(home)
    start = time.monotonic()
    assert_arrays(load_fashion_mnist(), synthetic_data)
    assert time.monotonic() - start < 5
    no_rebuild()
    assert_arrays(load_fashion_mnist(), synthetic_data)


# --- credentials -------------------------------------------------------------------------------------------

HOSTS = st.sampled_from(["host", "mirror.example.org", "127.0.0.1", "[::1]", "[2001:db8::7]", "xn--bcher-kva.de"])
PORTS = st.sampled_from(["", ":8080", ":1"])
RESTS = st.sampled_from(["/", "/fashion/", "/a@b", "?q=1", "#frag", "/p?q#f"])
# Uppercase and symbols: never in a host, port or path above, so a password's piece in the output is a leak.
SECRET_CHARS = st.sampled_from([*"QVWXYZ", *"#?/@:%[]!$&'()*+,;= ", "é", "€", "\t"])


@settings(max_examples=400, deadline=None)
@given(
    user=st.text(SECRET_CHARS, max_size=8),
    password=st.text(SECRET_CHARS, min_size=1, max_size=16),
    host=HOSTS,
    port=PORTS,
    rest=RESTS,
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    prefix=st.sampled_from(["", "--mirror=", "error: "]),
)
def test_no_piece_of_a_password_survives_redaction(user, password, host, port, rest, scheme, prefix):
    url = f"{prefix}{scheme}://{user}:{password}@{host}{port}{rest}"
    redacted = redact_url(url)
    assert redacted == f"{prefix}{scheme}://***@{host}{port}{rest}"
    assert not any(char in redacted for char in "QVWXYZ€é")


@settings(max_examples=200, deadline=None)
@given(
    password=st.text(st.sampled_from([*"QVWXYZ", *"#?/:% "]), min_size=1, max_size=16)
    | st.text(st.sampled_from([*"QVWXYZ", *"@:% "]), min_size=1, max_size=16),
    host=HOSTS,
)
def test_a_password_is_redacted_when_nothing_follows_the_host(password, host):
    # With nothing after the host, "u:p@h/x@host" cannot be told from "u@h/x@host", a path holding an '@':
    # such a URL is read as the second, so a password holding both '@' and one of '/', '?', '#' is left out.
    assert redact_url(f"http://user:{password}@{host}") == f"http://***@{host}"


def test_malformed_urls_keep_their_password_hidden_in_messages():
    for url in ["http://user:pa#ss@host/", "http://u:p/w@host:port/", "http://u:p?w@[::1/", "ftp://u:p#w@x/"]:
        with pytest.raises(ValueError) as info:
            parse_mirror(url)
        assert "p" not in str(info.value).split("***")[0].split("//")[-1] and "#ss" not in str(info.value)
        assert not isinstance(info.value, argparse.ArgumentTypeError), "a data error, not a CLI one"
    assert redact_url("see http://u:p@h1/ and http://v:q@h2") == "see http://***@h1/ and http://***@h2"


# --- what help() shows ------------------------------------------------------------------------------------


def test_signatures_show_a_data_set_by_name_not_by_its_pins():
    import inspect
    import pydoc

    import npsoftmax as nps

    assert repr(data.FASHION_MNIST) == "Dataset('fashion-mnist')"
    shown = pydoc.render_doc(nps.load_data_fashion_mnist, renderer=pydoc.plaintext).splitlines()
    signature = next(line for line in shown if line.startswith("load_data_fashion_mnist("))
    assert signature.endswith("dataset: 'Dataset' = Dataset('fashion-mnist')) -> 'DataIters'")
    assert len(signature) < 400, signature
    # No default of a public function or class shows in more than a line (the class names are 102 characters).
    for name in nps.__all__:
        try:
            parameters = inspect.signature(getattr(nps, name)).parameters.values()
        except (TypeError, ValueError):  # not callable, or no signature
            continue
        for parameter in parameters:
            assert len(repr(parameter.default)) <= 120, f"{name}({parameter.name}={parameter.default!r})"


def test_the_default_data_home_is_the_user_cache_folder_as_linux_has_it(monkeypatch, tmp_path):
    """platformdirs gives the default; on Linux, the XDG rule it had before: an absolute XDG_CACHE_HOME, else
    ~/.cache (a relative or blank XDG_CACHE_HOME is ignored, as the XDG specification says)."""
    monkeypatch.delenv("NPSOFTMAX_DATA")
    monkeypatch.setattr(data, "_CHECKOUT", tmp_path)  # as if installed from a wheel
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    for xdg, expected in [
        (str(tmp_path / "xdg"), tmp_path / "xdg"),
        ("relative/cache", tmp_path / "user" / ".cache"),
        ("  ", tmp_path / "user" / ".cache"),
        ("", tmp_path / "user" / ".cache"),
        (None, tmp_path / "user" / ".cache"),
    ]:
        if xdg is None:
            monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert get_data_home() == expected / "npsoftmax" / "fashion-mnist", xdg


# Run as root, the child imports all it needs, then becomes the unprivileged user "nobody" (the interpreter's own
# folder may be closed to it), for whom a folder it does not own cannot be written, locked or cleaned.
AS_NOBODY = """
import os, sys
import filelock, platformdirs, requests
import npsoftmax as nps
from npsoftmax import _cli, train
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
home, out = sys.argv[1], sys.argv[2]
X, y, Xt, yt, source = nps.data.load(root=home, mirrors=[])
print(X.shape, Xt.shape, source)
try:
    _cli.claim_output_folder(out, False, outputs=train.OUTPUTS, default_parent="runs", kind="run")
except _cli.UsageError as exc:
    print(exc)
"""


def test_a_data_home_and_an_out_another_user_owns(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test becomes another user, which needs root (as CI has)")
    shared = Path(tempfile.mkdtemp(prefix="npsoftmax-shared-"))  # outside pytest's folders, which are root's alone
    try:
        shared.chmod(0o755)
        home, out = shared / "home", shared / "out"
        home.mkdir()
        out.mkdir()
        for spec in data.FASHION_MNIST.files:
            (home / spec.gz_name).write_bytes((REAL_DATA / spec.gz_name).read_bytes())
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        result = subprocess.run(
            [sys.executable, "-c", AS_NOBODY, str(home), str(out)], capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [
            f"(60000, 28, 28) (10000, 28, 28) {home}",
            f"--out {out}: cannot write there: Permission denied; choose another folder",
        ]
        assert result.stderr.splitlines() == [
            f"cannot write the caches in {home} (Permission denied; they take 55 MB): using the data from memory, "
            "verified again at every load"
        ]
        assert sorted(p.name for p in home.iterdir()) == sorted(spec.gz_name for spec in data.FASHION_MNIST.files)
        assert list(out.iterdir()) == []
    finally:
        shutil.rmtree(shared)
