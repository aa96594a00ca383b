"""Project-wide test policy (a skipped test is a failure) and shared fixtures: Fashion-MNIST, synthetic and real,
and a small synthetic data set of another shape and class count.

A skip hides a test that did not run (a missing dependency, a missing data set) behind a green result, so
this hook turns any skip into a failing exit status and names the skipped tests.
"""

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from npsoftmax import data
from npsoftmax.idx import write_idx


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped)
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; every test must run: {names}", red=True)
        session.exitstatus = 1


# --- data sets for tests: synthetic files and their records, and the real Fashion-MNIST -------------------

REAL_DATA = Path("/usr/share/datasets/fashion-mnist")


def synthetic_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ten separable classes: class c lights up rows 2c+2..2c+5 of the image, under noise."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, 28, 28))
    for c in range(10):
        images[labels == c, 2 * c + 2 : 2 * c + 6, 4:24] += 150
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.uint8)


def synthetic_dataset(folder: Path, arrays: list[np.ndarray], **fields) -> data.Dataset:
    """Write ``arrays`` (training images, labels, test images, labels) as IDX .gz files of Fashion-MNIST's names
    in ``folder``, and return Fashion-MNIST's record with those files pinned instead, and ``fields`` replaced."""
    files = []
    for spec, array in zip(data.FASHION_MNIST.files, arrays, strict=True):
        write_idx(folder / spec.gz_name, array)
        content = gzip.decompress((folder / spec.gz_name).read_bytes())
        files.append(spec._replace(sha256=hashlib.sha256(content).hexdigest(), shape=array.shape))
    return dataclasses.replace(data.FASHION_MNIST, files=tuple(files), **fields)


@pytest.fixture(scope="session")
def synthetic_files(tmp_path_factory) -> tuple[Path, data.Dataset]:
    """Four small IDX .gz files (2000 training, 500 test images) of Fashion-MNIST's names and shape in a folder,
    and the record that pins them."""
    folder = tmp_path_factory.mktemp("synthetic-mirror")
    rng = np.random.default_rng(0)
    return folder, synthetic_dataset(folder, [*synthetic_images(2000, rng), *synthetic_images(500, rng)])


def small_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four separable classes of 12x12 images: class c lights up rows 3c..3c+2, under noise."""
    labels = np.arange(n) % 4
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, 12, 12))
    for c in range(4):
        images[labels == c, 3 * c : 3 * c + 3, 2:10] += 150
    return images.clip(0, 255).astype(np.uint8), labels.astype(np.uint8)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> tuple[Path, data.Dataset]:
    """A data set of another shape and class count (400 training and 100 test images of 12x12, 4 classes), its
    files in a folder, and its record; the record has no mirrors or system folder: give it yours with
    ``dataclasses.replace(record, mirrors=(url,))``, or pass ``mirrors=[folder]``."""
    folder = tmp_path_factory.mktemp("small-mirror")
    rng = np.random.default_rng(1)
    arrays = [*small_images(400, rng), *small_images(100, rng)]
    fields = {"name": "small", "title": "Small", "class_names": ("top", "upper", "lower", "bottom")}
    fields |= {"image_shape": (12, 12), "mirrors": (), "system_dir": None, "system_package": None, "homepage": None}
    return folder, synthetic_dataset(folder, arrays, **fields)


@pytest.fixture
def synthetic_data(synthetic_files, tmp_path, monkeypatch) -> Path:
    """The synthetic files pinned in place of the real ones, ``NPSOFTMAX_MIRRORS`` set to their folder and
    ``NPSOFTMAX_DATA`` to an empty data home in ``tmp_path``; returns the folder (do not modify it).

    Every default argument holds the one FASHION_MNIST record, so its ``files`` are replaced in place, for
    this test only: the one field that differs, whoever calls with the default.
    """
    folder, dataset = synthetic_files
    monkeypatch.setitem(vars(data.FASHION_MNIST), "files", dataset.files)
    monkeypatch.setenv("NPSOFTMAX_MIRRORS", str(folder))
    monkeypatch.setenv("NPSOFTMAX_DATA", str(tmp_path / "data-home"))
    return folder


@pytest.fixture(scope="session")
def fashion_mnist_home(tmp_path_factory) -> Path:
    """A data home with the real Fashion-MNIST verified and cached: from Debian's copy (CI installs it), else
    from the user's own data home (the first ``python -m npsoftmax.train`` fills it), verified all the same."""
    mirrors = [REAL_DATA] if REAL_DATA.is_dir() else [data.get_data_home()]
    return data.download_fashion_mnist(tmp_path_factory.mktemp("fashion-mnist"), mirrors=mirrors, quiet=True)
