"""load_fashion_mnist: arrays from verified downloads, memory-mapped caches, and repair of whatever changed.

Synthetic files with injected checksums exercise the cache logic; one test loads the real Fashion-MNIST
from the Debian package. No test touches the internet: the system copy and the upstream mirrors are
replaced by local stand-ins unless a test puts the real system copy there itself.
"""

import gzip
import hashlib
import json
import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from _http_server import N_TEST, N_TRAIN, SyntheticData, make_synthetic

from npsoftmax import dataset as ds
from npsoftmax import fetch as dl
from npsoftmax.dataset import TEXT_LABELS, get_fashion_mnist_labels, load_fashion_mnist
from npsoftmax.fetch import FILES, DataUnavailableError, fashion_mnist_source
from npsoftmax.idx import write_idx

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path("/usr/share/datasets/fashion-mnist")
NAMES = [spec.name for spec in FILES]


@pytest.fixture(autouse=True)
def offline_defaults(monkeypatch, tmp_path):
    """No test may reach the real system copy or the upstream mirrors unless it puts stand-ins there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.delenv("NPSOFTMAX_MIRRORS", raising=False)
    monkeypatch.setattr(dl, "SYSTEM_DIR", tmp_path / "no-system-copy")
    monkeypatch.setattr(dl, "DEFAULT_MIRRORS", (f"http://127.0.0.1:{closed_port}/",))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> SyntheticData:
    return make_synthetic(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "fashion-mnist"


@pytest.fixture
def loaded(root, synthetic):
    """A root with verified downloads and caches of the synthetic data; returns its load function."""

    def load(**kwargs):
        return load_fashion_mnist(
            root, **{"mirrors": [synthetic.folder], "checksums": synthetic.checksums, **kwargs}
        )

    load()
    return load


@pytest.fixture
def no_rebuild(monkeypatch):
    """Fail the test if the load verifies a download or parses a .gz."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the warm path must not verify or parse")

    monkeypatch.setattr(ds, "_ensure_files", forbidden)
    monkeypatch.setattr(ds, "read_idx", forbidden)


def _assert_synthetic(arrays, synthetic: SyntheticData) -> None:
    X_train, y_train, X_test, y_test = arrays
    assert X_train.shape == (N_TRAIN, 28, 28) and X_test.shape == (N_TEST, 28, 28)
    assert X_train.dtype == X_test.dtype == np.uint8
    assert y_train.dtype == y_test.dtype == np.int64
    for name, array in zip(NAMES, arrays, strict=True):
        np.testing.assert_array_equal(array, synthetic.arrays[name])


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())["files"]


def _rewrite(path: Path, data: bytes) -> None:
    """Change a file the way a later edit would: a file system with a coarse clock could otherwise give the
    rewrite the same mtime as the original (a documented blind spot of the cheap stamps)."""
    stat = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# --- first load and warm loads ------------------------------------------------------------------------


def test_first_load_verifies_parses_and_caches(root, synthetic):
    arrays = load_fashion_mnist(root, mirrors=[synthetic.folder], checksums=synthetic.checksums)
    _assert_synthetic(arrays, synthetic)
    X_train, y_train, X_test, y_test = arrays
    assert isinstance(X_train, np.memmap) and isinstance(X_test, np.memmap)
    assert not X_train.flags.writeable and not X_test.flags.writeable
    assert not isinstance(y_train, np.memmap) and y_train.flags.writeable
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["manifest.json", *(f"{name}.gz" for name in NAMES), *(f"{name}.npy" for name in NAMES)]
    )
    for name, entry in _manifest(root).items():
        stat = (root / name.replace(".gz", ".npy")).stat()
        assert entry["cache"] == {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "ctime_ns": stat.st_ctime_ns,
        }
    assert fashion_mnist_source(root) == str(synthetic.folder)


def test_warm_load_only_maps_the_caches(loaded, synthetic, no_rebuild):
    _assert_synthetic(loaded(), synthetic)


def test_warm_load_works_without_sources(root, loaded, synthetic, no_rebuild):
    _assert_synthetic(load_fashion_mnist(root, download=False, checksums=synthetic.checksums), synthetic)


def test_concurrent_first_loads_take_turns(root, synthetic):
    def load(_):
        return load_fashion_mnist(root, mirrors=[synthetic.folder], checksums=synthetic.checksums)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(load, range(2)))
    for arrays in results:
        _assert_synthetic(arrays, synthetic)
    assert not [p for p in root.iterdir() if p.name.startswith(".npsoftmax-tmp-")]


# --- changes on disk are detected and repaired --------------------------------------------------------


def test_corrupted_cache_is_rebuilt_from_the_download(root, loaded, synthetic, monkeypatch):
    cache = root / "train-images-idx3-ubyte.npy"
    cache.write_bytes(cache.read_bytes()[:1000])  # truncated: the size alone tells

    def forbidden(*args, **kwargs):
        raise AssertionError("an unchanged download needs no re-verification")

    monkeypatch.setattr(ds, "_ensure_files", forbidden)
    _assert_synthetic(loaded(), synthetic)


def test_touched_cache_is_rebuilt(root, loaded, synthetic):
    cache = root / "t10k-labels-idx1-ubyte.npy"
    old = cache.read_bytes()
    _rewrite(cache, old[:-N_TEST] + bytes(N_TEST))  # same size, labels zeroed
    _assert_synthetic(loaded(), synthetic)


def test_deleted_cache_is_rebuilt(root, loaded, synthetic):
    (root / "t10k-images-idx3-ubyte.npy").unlink()
    _assert_synthetic(loaded(), synthetic)
    assert (root / "t10k-images-idx3-ubyte.npy").exists()


def test_corrupted_download_is_fetched_again_and_recached(root, loaded, synthetic):
    gz = root / "train-images-idx3-ubyte.gz"
    data = bytearray(gz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    _rewrite(gz, bytes(data))
    _assert_synthetic(loaded(), synthetic)
    assert gz.read_bytes() == (synthetic.folder / gz.name).read_bytes()


def test_download_replaced_by_other_data_is_caught(root, loaded, synthetic, tmp_path):
    # A valid Fashion-MNIST-shaped file with other content, e.g. copied in by hand: never used silently.
    impostor = make_synthetic(tmp_path / "impostor", seed=1)
    for name in NAMES:
        _rewrite(root / f"{name}.gz", (impostor.folder / f"{name}.gz").read_bytes())
    _assert_synthetic(loaded(), synthetic)


def test_touched_download_is_reverified_not_fetched(root, loaded, synthetic, tmp_path):
    gz = root / "train-labels-idx1-ubyte.gz"
    _rewrite(gz, gz.read_bytes())
    arrays = load_fashion_mnist(root, mirrors=[tmp_path / "nowhere"], checksums=synthetic.checksums)
    _assert_synthetic(arrays, synthetic)


def test_deleted_download_is_fetched_again(root, loaded, synthetic):
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    _assert_synthetic(loaded(), synthetic)


def test_deleted_manifest_reverifies_everything(root, loaded, synthetic, tmp_path):
    (root / "manifest.json").unlink()
    arrays = load_fashion_mnist(root, mirrors=[tmp_path / "nowhere"], checksums=synthetic.checksums)
    _assert_synthetic(arrays, synthetic)
    assert fashion_mnist_source(root) == f"{root.resolve()} (origin unknown)"


def test_unreadable_manifest_reverifies_everything(root, loaded, synthetic):
    (root / "manifest.json").write_text("{not json")
    _assert_synthetic(loaded(), synthetic)


def test_files_verified_against_other_pins_are_not_trusted(root, loaded, tmp_path):
    # The synthetic files were verified against injected pins; the real pins reject them.
    with pytest.raises(DataUnavailableError, match="present but wrong content"):
        load_fashion_mnist(root, download=False, mirrors=[tmp_path / "nowhere"])


def test_leftover_temporaries_are_removed_on_repair(root, loaded, synthetic):
    leftover = root / ".npsoftmax-tmp-train-images-idx3-ubyte.npy-0badc0de"
    leftover.write_bytes(b"half a cache")
    (root / "train-images-idx3-ubyte.npy").unlink()
    loaded()
    assert not leftover.exists()


# --- download=False and the sources -------------------------------------------------------------------


def test_download_false_with_nothing_raises_the_how_to_without_network(root, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("download=False must not touch the network")

    monkeypatch.setattr(dl.requests, "Session", no_network)
    with pytest.raises(DataUnavailableError) as info:
        load_fashion_mnist(root, download=False)
    message = str(info.value)
    assert f"{dl.SYSTEM_DIR}: no such folder" in message
    assert f"{dl.DEFAULT_MIRRORS[0]}: not tried: download=False keeps off the network" in message
    assert "apt-get install dataset-fashion-mnist" in message and str(root.resolve()) in message
    for name in NAMES:
        assert f"{name}.gz" in message
    assert list(root.iterdir()) == []


def test_download_false_still_copies_the_system_copy(root, synthetic, monkeypatch):
    monkeypatch.setattr(dl, "SYSTEM_DIR", synthetic.folder)
    _assert_synthetic(load_fashion_mnist(root, download=False, checksums=synthetic.checksums), synthetic)
    assert fashion_mnist_source(root) == str(synthetic.folder)


def test_download_false_uses_folder_mirrors_only(root, synthetic):
    mirrors = ["http://127.0.0.1:1/", synthetic.folder]
    _assert_synthetic(
        load_fashion_mnist(root, download=False, mirrors=mirrors, checksums=synthetic.checksums), synthetic
    )


def test_inconsistent_files_are_rejected(root, tmp_path):
    # Verified against their (injected) pins, but 299 labels for 300 images: not a data set.
    folder = make_synthetic(tmp_path / "bad").folder
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(N_TRAIN - 1, np.uint8))
    checksums = {
        name: hashlib.sha256(gzip.decompress((folder / f"{name}.gz").read_bytes())).hexdigest()
        for name in NAMES
    }
    with pytest.raises(DataUnavailableError, match=r"labels of shape \(299,\) for 300 images"):
        load_fashion_mnist(root, mirrors=[folder], checksums=checksums)
    assert not list(root.glob("*.npy"))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"download": "no"}, TypeError, "download must be a bool"),
        ({"mirrors": "/somewhere"}, TypeError, "wrap a single one in a list"),
        ({"checksums": {"labels": "0" * 64}}, ValueError, "unknown file 'labels'"),
        ({"quiet": 1}, TypeError, "quiet must be True, False or None"),
    ],
)
def test_invalid_arguments(root, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_fashion_mnist(root, **kwargs)
    assert not root.exists()


def test_root_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        load_fashion_mnist(tmp_path / "file")


# --- the real data ------------------------------------------------------------------------------------


def test_real_fashion_mnist_from_the_debian_package(root):
    X_train, y_train, X_test, y_test = load_fashion_mnist(root, mirrors=[REAL_DATA], quiet=True)
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == X_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    for spec in FILES:
        content = gzip.decompress((root / spec.gz_name).read_bytes())
        assert hashlib.sha256(content).hexdigest() == spec.sha256
        assert _manifest(root)[spec.gz_name]["sha256"] == spec.sha256
    assert fashion_mnist_source(root) == str(REAL_DATA)
    assert get_fashion_mnist_labels(y_train[:3]) == ["ankle boot", "t-shirt", "t-shirt"]

    warm = load_fashion_mnist(root, download=False)
    for cold_array, warm_array in zip((X_train, y_train, X_test, y_test), warm, strict=True):
        np.testing.assert_array_equal(cold_array, warm_array)

    # A warm load in a new process sees the same bytes (the timing is measured by hand, not asserted).
    digest = "hashlib.sha256(b''.join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()"
    code = (
        "import hashlib, sys, numpy as np\nfrom npsoftmax.dataset import load_fashion_mnist\n"
        f"arrays = load_fashion_mnist(sys.argv[1], download=False)\nprint({digest})"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    expected = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in warm)).hexdigest()
    assert result.stdout.strip() == expected


# --- text labels --------------------------------------------------------------------------------------


def test_text_labels_in_fashion_mnist_order():
    assert TEXT_LABELS == (
        "t-shirt",
        "trouser",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle boot",
    )
    assert get_fashion_mnist_labels(range(10)) == list(TEXT_LABELS)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([9, 0, 0, 3], ["ankle boot", "t-shirt", "t-shirt", "dress"]),
        (np.array([5, 7], dtype=np.uint8), ["sandal", "sneaker"]),
        (np.array([8], dtype=np.int64), ["bag"]),
        (np.int32(1), ["trouser"]),
        ([], []),
    ],
)
def test_get_fashion_mnist_labels(labels, expected):
    assert get_fashion_mnist_labels(labels) == expected


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([0, 10], ValueError, "labels must be in 0..9, got 10"),
        (np.array([-1, 3]), ValueError, "got -1"),
        ([0.0, 1.0], TypeError, "labels must be integers, got dtype float64"),
        ([True], TypeError, "got dtype bool"),
        (np.zeros((2, 2), np.int64), ValueError, r"scalar or 1-D, got shape \(2, 2\)"),
    ],
)
def test_get_fashion_mnist_labels_rejects(labels, error, match):
    with pytest.raises(error, match=match):
        get_fashion_mnist_labels(labels)
