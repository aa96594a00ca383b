"""Data sets of IDX files: where their files come from, how each is verified, and the arrays they hold.

A data set is a record, :class:`Dataset`: its files with their pins, its mirrors, the system folder a package
installs it in, its class names and image shape. :data:`FASHION_MNIST` is the one shipped; adding one is adding
a record. :func:`load` takes each of its files from the first source that delivers it intact (torchvision's
``for file: for source:`` loop):

1. the ``.gz`` already in the data home (:func:`get_data_home`);
2. the record's system folder (for Fashion-MNIST, Debian/Ubuntu's package ``dataset-fashion-mnist``), read in
   place;
3. the record's mirrors, downloaded into the data home.

``mirrors=``, ``--mirror`` or ``NPSOFTMAX_MIRRORS`` replace 2 and 3 with http(s) URLs or local folders (a
folder is read in place too). A file is intact when its *decompressed* content has the pinned SHA-256 (Debian
recompresses the files: the gzip bytes differ from upstream's, the content does not), so an HTML error page,
MNIST digits under Fashion-MNIST's names or a body cut short all fall through to the next source. The content
is parsed by :func:`npsoftmax.idx.parse_idx` while it is being decompressed, into an array of the pinned shape.

Nothing from outside is trusted with more than the real file would cost: a body may not be larger than
the file can be, nor decompress past the file's known size (a gzip bomb stops there); ``Content-Encoding``
other than identity and malformed headers fail the source; a transfer that gets less than ``STALL_BYTES`` in
``STALL_WINDOW`` seconds, or nothing in ``READ_TIMEOUT``, is abandoned, and that source is not waited on again
in the same run. Files are read only if they are regular files. A ``user:password`` in a mirror URL is never
printed, logged or recorded.

A download is written to a temporary file beside its final name, verified while it streams, flushed and
renamed (scikit-learn's ``_fetch_remote``), so a partial or unverified file never sits under a final name.
The arrays are then saved as ``.npy`` caches in the data home and recorded in ``manifest.json`` with each
cache's size and mtime: a warm load compares those with ``os.stat`` and memory-maps the caches, without hashing
or decompressing. A cache that changed, or a manifest of any other shape, sends the load back through the
sources. Runs on the same folder take turns through a lock on it, which also makes it safe to delete the
temporaries a killed run left. A folder that cannot be written still loads: the arrays are used from memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import math
import os
import re
import stat
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple
from urllib.parse import unquote, urlsplit

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # imported where a file is fetched: a warm load needs neither (0.1 s of every start)
    import requests

from ._io import LOCK_NAME, TEMP_PREFIX, FolderLock, write_atomic
from .idx import IDXError, open_regular, parse_idx

__all__ = [
    "DEFAULT_MIRRORS",
    "FASHION_MNIST",
    "FILES",
    "SYSTEM_DIR",
    "TEXT_LABELS",
    "DataUnavailableError",
    "Dataset",
    "IDXFile",
    "LoadedData",
    "data_source",
    "fetch",
    "download_fashion_mnist",
    "get_data_home",
    "get_fashion_mnist_labels",
    "load",
    "load_fashion_mnist",
    "mirrors_from_env",
    "parse_mirror",
    "redact_url",
]

logger = logging.getLogger(__name__)


class IDXFile(NamedTuple):
    """One file of a data set: its name without ``.gz``, the SHA-256 of its decompressed IDX content, and the
    shape of the uint8 array it holds."""

    name: str
    sha256: str
    shape: tuple[int, ...]

    @property
    def gz_name(self) -> str:
        return f"{self.name}.gz"

    @property
    def size(self) -> int:
        """Bytes of the decompressed IDX file: a 4-byte magic number, 4 bytes per dimension, then the data."""
        return 4 + 4 * len(self.shape) + math.prod(self.shape)

    @property
    def max_gz_size(self) -> int:
        """The largest a gzip of this content can be: stored (uncompressed) deflate blocks add 5 bytes per
        64 KiB, the gzip header and trailer a few dozen."""
        return self.size + self.size // 1000 + 1024


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A data set of four IDX files, as data: what to fetch, how to verify it, and what it holds.

    Parameters
    ----------
    name : str
        The data home's subfolder, e.g. ``"fashion-mnist"``: lowercase letters, digits, ``.``, ``_``, ``-``.
    title : str
        The name in messages, e.g. ``"Fashion-MNIST"``.
    files : tuple of 4 IDXFile
        Training images of shape (n_train, *image_shape), training labels (n_train,), test images
        (n_test, *image_shape), test labels (n_test,), in that order.
    class_names : tuple of str
        The text label of each class; labels are 0..n_classes-1.
    image_shape : tuple of int
        The shape of one image, e.g. (28, 28).
    mirrors : tuple of str
        http(s) base URLs ending in ``/``, tried in order after the system folder.
    system_dir : Path or None
        Where a system package installs the files, read in place.
    system_package : str or None
        That package's name, for the advice when no source delivered.
    homepage : str or None
        Where a user can get the files by hand, for the same advice.
    """

    name: str
    title: str
    files: tuple[IDXFile, IDXFile, IDXFile, IDXFile]
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...]
    mirrors: tuple[str, ...] = ()
    system_dir: Path | None = None
    system_package: str | None = None
    homepage: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", self.name):
            raise ValueError(f"Dataset name must be a folder name of a-z, 0-9, '.', '_', '-', got {self.name!r}")
        if not 2 <= len(self.class_names) <= 256:  # labels are unsigned bytes
            raise ValueError(f"Dataset {self.name}: needs 2 to 256 class names, got {len(self.class_names)}")
        if len(self.files) != 4 or not all(isinstance(spec, IDXFile) for spec in self.files):
            raise TypeError(f"Dataset {self.name}: files must be 4 IDXFile (train images, labels, test images, labels)")
        for images, labels in (self.files[:2], self.files[2:]):
            if images.shape[1:] != tuple(self.image_shape) or labels.shape != images.shape[:1]:
                raise ValueError(
                    f"Dataset {self.name}: {images.name} {images.shape} and {labels.name} {labels.shape} do not "
                    f"hold images of shape {self.image_shape} and one label each"
                )
        for spec in self.files:
            if not re.fullmatch(r"[0-9a-f]{64}", spec.sha256) or not re.fullmatch(r"[A-Za-z0-9._-]+", spec.name):
                raise ValueError(f"Dataset {self.name}: {spec.name!r} needs a plain file name and a SHA-256 in hex")
        for mirror in self.mirrors:
            if not re.fullmatch(r"https?://[^\s/?#]+/\S*", mirror) or not mirror.endswith("/"):
                raise ValueError(
                    f"Dataset {self.name}: mirror {redact_url(mirror)!r} is not an http(s) URL ending in /"
                )

    def __repr__(self) -> str:
        # The name alone: a signature with a Dataset default, as help() shows it, is then one line, not a page of pins.
        return f"Dataset({self.name!r})"

    @property
    def n_classes(self) -> int:
        """The number of classes: the width of the logits."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Pixels per image: the width of the flattened inputs."""
        return math.prod(self.image_shape)


FASHION_MNIST = Dataset(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files=(
        IDXFile(
            "train-images-idx3-ubyte",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            (60000, 28, 28),
        ),
        IDXFile(
            "train-labels-idx1-ubyte",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            (60000,),
        ),
        IDXFile(
            "t10k-images-idx3-ubyte",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            (10000, 28, 28),
        ),
        IDXFile(
            "t10k-labels-idx1-ubyte",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            (10000,),
        ),
    ),
    class_names=("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"),
    image_shape=(28, 28),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    system_dir=Path("/usr/share/datasets/fashion-mnist"),
    system_package="dataset-fashion-mnist",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)
# Fashion-MNIST's fields under the names they had before the record.
FILES, TEXT_LABELS = FASHION_MNIST.files, FASHION_MNIST.class_names
SYSTEM_DIR, DEFAULT_MIRRORS = FASHION_MNIST.system_dir, FASHION_MNIST.mirrors

DATA_ENV, MIRRORS_ENV = "NPSOFTMAX_DATA", "NPSOFTMAX_MIRRORS"
MAX_ENV_CHARS, MAX_MIRRORS = 4096, 16  # longer or more is a mistake, and each dead mirror costs a timeout
MANIFEST = "manifest.json"

CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 15.0  # seconds without a byte: the transfer has stalled
STALL_WINDOW, STALL_BYTES = 30.0, 1 << 16  # less than this many bytes in this many seconds: it drips
ATTEMPTS, BACKOFF = 3, 1.0  # tries per file and mirror after a transient failure; seconds before the 2nd

_CHECKOUT = Path(__file__).resolve().parent.parent
_CHUNK = 1 << 16


class LoadedData(NamedTuple):
    """What :func:`load` returns: the four arrays, and where they came from."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str


class DataUnavailableError(RuntimeError):
    """Some file could not be had from any source; the message lists each source tried with its reason and
    says how to get the files by hand."""


class _SourceFailed(Exception):
    """One source could not deliver one file; the message says why."""


class _Transient(_SourceFailed):
    """A failure worth another attempt on the same source (HTTP 5xx, a connection dropped)."""


class _Stalled(_SourceFailed):
    """No progress: the source is not waited on again in this run."""


# --- public API ----------------------------------------------------------------------------------------

PathArg = str | os.PathLike[str]


def load(
    dataset: Dataset = FASHION_MNIST,
    root: PathArg | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[PathArg] | None = None,
    quiet: bool | None = None,
) -> LoadedData:
    """A data set's training and test sets, verified, with the images memory-mapped from a cache.

    Parameters
    ----------
    dataset : Dataset, default FASHION_MNIST
    root : str, path-like or None
        The data home, where downloads, caches and ``manifest.json`` go; None means :func:`get_data_home`.
    download : bool, default True
        With False the network is never touched: only the data home and local folders are used.
    mirrors : sequence of str or path-like, optional
        http(s) base URLs or folders to try, in order, instead of the record's system folder and mirrors.
        None means ``NPSOFTMAX_MIRRORS`` (comma-separated) when it is set.
    quiet : bool or None, default None
        Progress bars of downloads: ``True`` never, ``False`` always, ``None`` when stderr is a terminal.

    Returns
    -------
    LoadedData
        ``X_train`` (uint8, shape (n_train, *image_shape), read-only), ``y_train`` (int64, (n_train,), labels
        in 0..n_classes-1), ``X_test``, ``y_test`` likewise, and ``source``: where the files came from
        (folders and URLs, credentials redacted, distinct ones joined by ", ").

    Raises
    ------
    DataUnavailableError
        When some file could not be had from any source, or the data home cannot be used.
    ValueError
        On an empty ``root`` or ``NPSOFTMAX_DATA``, or a bad mirror in ``mirrors`` or ``NPSOFTMAX_MIRRORS``.
    """
    home = get_data_home(root, dataset)
    loaded = _open_caches(home, dataset, _read_manifest(home))
    if loaded is None:
        loaded = _build(home, dataset, _sources(dataset, mirrors), download=download, force=False, quiet=quiet)
    return loaded


def load_fashion_mnist(
    root: PathArg | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[PathArg] | None = None,
    quiet: bool | None = None,
    dataset: Dataset = FASHION_MNIST,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`load` without the source: ``X_train, y_train, X_test, y_test``, each as :func:`load` describes
    (for Fashion-MNIST, uint8 (60000, 28, 28), int64 (60000,), uint8 (10000, 28, 28), int64 (10000,))."""
    X_train, y_train, X_test, y_test, _ = load(dataset, root, download=download, mirrors=mirrors, quiet=quiet)
    return X_train, y_train, X_test, y_test


def fetch(
    dataset: Dataset = FASHION_MNIST,
    root: PathArg | None = None,
    *,
    mirrors: Sequence[PathArg] | None = None,
    force: bool = False,
    quiet: bool | None = None,
) -> LoadedData:
    """:func:`load`, always allowed online, and with ``force`` taking every file from the sources again,
    ignoring what the data home holds: what ``python -m npsoftmax.download`` does. Raises as :func:`load`."""
    if not force:
        return load(dataset, root, mirrors=mirrors, quiet=quiet)
    return _build(
        get_data_home(root, dataset), dataset, _sources(dataset, mirrors), download=True, force=True, quiet=quiet
    )


def download_fashion_mnist(
    root: PathArg | None = None,
    *,
    mirrors: Sequence[PathArg] | None = None,
    force: bool = False,
    quiet: bool | None = None,
    dataset: Dataset = FASHION_MNIST,
) -> Path:
    """:func:`fetch`, returning the data home, ready for a warm :func:`load`."""
    fetch(dataset, root, mirrors=mirrors, force=force, quiet=quiet)
    return get_data_home(root, dataset)


def get_data_home(root: PathArg | None = None, dataset: Dataset = FASHION_MNIST) -> Path:
    """The folder of a data set's downloads and caches: ``root`` when given, else ``$NPSOFTMAX_DATA``, else
    ``data/<dataset.name>`` of the source checkout this package runs from, else ``<dataset.name>`` in the user's
    cache folder for npsoftmax: ``$XDG_CACHE_HOME/npsoftmax`` on Linux (by default
    ``~/.cache/npsoftmax/fashion-mnist``), ``~/Library/Caches/npsoftmax`` on macOS, and
    ``%LOCALAPPDATA%\\npsoftmax\\Cache`` on Windows (as ``platformdirs`` gives it).

    ``root`` and ``NPSOFTMAX_DATA`` name the data home itself, so give each data set its own. Raises ValueError
    when either is empty or blank (it would mean the current folder) or longer than any path.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset record, e.g. FASHION_MNIST, got {type(dataset).__name__}")
    if root is not None:
        return _folder(os.fspath(root), "root (--data-dir)")
    if DATA_ENV in os.environ:
        return _folder(os.environ[DATA_ENV], DATA_ENV)
    if (_CHECKOUT / "setup.cfg").is_file() and (_CHECKOUT / "data").is_dir():
        return _CHECKOUT / "data" / dataset.name
    import platformdirs  # 5 ms, for the default home only

    return platformdirs.user_cache_path("npsoftmax", appauthor=False) / dataset.name


def data_source(root: PathArg | None = None, dataset: Dataset = FASHION_MNIST) -> str:
    """``load(dataset, root, download=False).source``: where the data in the data home came from. Raises
    DataUnavailableError when the data home and the local sources do not hold it."""
    return load(dataset, root, download=False, quiet=True).source


def get_fashion_mnist_labels(labels: ArrayLike) -> list[str]:
    """The text labels of numeric labels (int array-like of shape (n,) or ()), as d2l's function of the same
    name. Raises TypeError for non-integers, ValueError for labels outside 0..9 or more than one dimension."""
    array = np.asarray(labels)
    if array.ndim > 1:
        raise ValueError(f"labels must be a scalar or 1-D, got shape {array.shape}")
    if array.size == 0:
        return []
    if array.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {array.dtype}")
    outside = array[(array < 0) | (array >= len(TEXT_LABELS))]
    if outside.size:
        raise ValueError(f"labels must be in 0..{len(TEXT_LABELS) - 1}, got {outside.reshape(-1)[0]}")
    return [TEXT_LABELS[label] for label in array.reshape(-1).tolist()]


def parse_mirror(text: str) -> str:
    """One mirror, checked: an http(s) URL (returned ending in "/") or an existing folder (returned absolute).

    Raises ValueError with a one-line message, credentials redacted. argparse would print its own message with
    the raw value instead, password included: a CLI re-raises it as an ``argparse.ArgumentTypeError``.
    """
    text = os.fspath(text).strip()
    if len(text) > MAX_ENV_CHARS:
        raise ValueError(f"a mirror of {len(text)} characters: at most {MAX_ENV_CHARS}")
    if "://" in text:
        try:
            parts = urlsplit(text)
            valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # e.g. a port that is not a number
            valid = False
        if not valid:  # redacted as the URL it was meant to be, a base ending in "/", so no '@' is ambiguous
            raise ValueError(f"{redact_url(text + '/')[:-1]!r} is not an http(s):// URL")
        return text if text.endswith("/") else text + "/"
    if not text:
        raise ValueError("empty mirror: give an http(s):// URL or a folder")
    folder = Path(text).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"{text!r} is neither an http(s):// URL nor an existing folder")
    return str(folder)


def mirrors_from_env() -> list[str] | None:
    """The mirrors in ``NPSOFTMAX_MIRRORS`` (comma-separated), or None when it is unset or blank; raises
    ValueError naming the variable for a bad entry, or for more than MAX_ENV_CHARS or MAX_MIRRORS."""
    value = os.environ.get(MIRRORS_ENV, "")
    if not value.strip():
        return None
    if len(value) > MAX_ENV_CHARS or value.count(",") >= MAX_MIRRORS:
        raise ValueError(
            f"{MIRRORS_ENV} holds {len(value)} characters and {value.count(',') + 1} mirrors: "
            f"at most {MAX_ENV_CHARS} and {MAX_MIRRORS}"
        )
    try:
        return [parse_mirror(item) for item in value.split(",")]
    except ValueError as exc:
        raise ValueError(f"{MIRRORS_ENV}: {exc}") from None


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# What may follow the '@' that ends a URL's user-info: a host (a name, an IPv4 or an [IPv6] address), a port.
_AUTHORITY = re.compile(r"(?:\[[^\]\s/?#@]+\]|[^\s/?#@\[\]:]+)(?::[0-9]*)?(?=([/?#])|\s|$)")


def redact_url(url: str) -> str:
    """``url`` with its ``user:password@`` replaced by ``***@``: ``http://u:p@host/p`` -> ``http://***@host/p``.

    Any URL inside the text is redacted, so a command line such as ``--mirror=http://u:p@host/`` is safe too.
    The user-info is taken to end at the last '@' that a host and a '/', '?' or '#' follow (else a host and the
    end or a space), so a password holding raw '@', '/', '?', '#', ':' or spaces stays hidden, well-formed or
    not. When in doubt it hides more: in a line of several URLs, everything up to the last such '@'.
    """
    pieces, start = [], 0
    while (match := _SCHEME.search(url, start)) is not None:
        userinfo_end = _userinfo_end(url, match.end())
        pieces.append(url[start : match.end()] + ("" if userinfo_end is None else "***"))
        start = match.end() if userinfo_end is None else userinfo_end
    return "".join([*pieces, url[start:]])


def _userinfo_end(url: str, start: int) -> int | None:
    """The index of the '@' ending the user-info of the URL whose authority begins at ``start``, or None."""
    by_delimiter = at_end = None
    for at in (i for i in range(start, len(url)) if url[i] == "@"):
        if (host := _AUTHORITY.match(url, at + 1)) is not None:
            by_delimiter, at_end = (at, at_end) if host.group(1) else (by_delimiter, at)
    return by_delimiter if by_delimiter is not None else at_end


# --- the loop: for each file, for each source ----------------------------------------------------------


def _folder(value: str, what: str) -> Path:
    if not value.strip():
        raise ValueError(f"{what} is empty: give the data home's folder, or leave it unset for the default")
    if len(value) > MAX_ENV_CHARS:
        raise ValueError(f"{what} is {len(value)} characters long: at most {MAX_ENV_CHARS}")
    return Path(value).expanduser()


def _sources(dataset: Dataset, mirrors: Sequence[PathArg] | None) -> list[str]:
    if mirrors is None:
        defaults = [str(dataset.system_dir)] if dataset.system_dir is not None else []
        return mirrors_from_env() or [*defaults, *dataset.mirrors]
    if isinstance(mirrors, (str, os.PathLike)):
        raise TypeError("mirrors must be a list of URLs or folders; wrap a single one in a list")
    if len(mirrors) > MAX_MIRRORS:
        raise ValueError(f"{len(mirrors)} mirrors: at most {MAX_MIRRORS}")
    return [parse_mirror(mirror) for mirror in mirrors]


def _build(
    home: Path, dataset: Dataset, sources: list[str], *, download: bool, force: bool, quiet: bool | None
) -> LoadedData:
    """Take each file from the first source that delivers it intact, then cache the arrays; needs no cache."""
    import requests

    progress = sys.stderr.isatty() if quiet is None else not quiet
    with _locked(home), requests.Session() as session:
        old = _read_manifest(home)
        if not force and (loaded := _open_caches(home, dataset, old)) is not None:
            return loaded  # another process built them while this one waited for the lock
        entries, arrays, failures, missing = {}, [], [], []
        written_off: dict[str, str] = {}
        for spec in dataset.files:
            in_home = not force and (home / spec.gz_name).is_file()
            for source in ([str(home)] if in_home else []) + sources:
                shown = redact_url(source)
                try:
                    array = _fetch(source, spec, home, session, download, progress, written_off)
                except _SourceFailed as exc:
                    reason = _redact_in(str(exc), source)
                    failures.append((shown, spec.gz_name, reason))
                    logger.info("%s: %s: %s", spec.gz_name, shown, reason)
                    continue
                if source == str(home) and old.get(spec.name, {}).get("sha256") == spec.sha256:
                    shown = old[spec.name]["source"]  # a download verified again: keep where it came from
                logger.info("%s: verified, from %s", spec.gz_name, shown)
                entries[spec.name] = {"sha256": spec.sha256, "source": shown}
                arrays.append(array)
                break
            else:
                missing.append(spec.gz_name)
        if missing:
            raise DataUnavailableError(_failure_message(home, dataset, missing, failures, sources))
        labels = arrays[1].max(initial=0), arrays[3].max(initial=0)
        if max(labels) >= dataset.n_classes:
            raise DataUnavailableError(f"{dataset.title}'s labels go up to {max(labels)}: more than its class names")
        return _write_caches(home, dataset, arrays, entries)


def _fetch(
    source: str,
    spec: IDXFile,
    home: Path,
    session: requests.Session,
    download: bool,
    progress: bool,
    written_off: dict[str, str],
) -> np.ndarray:
    """The verified array of ``spec`` from ``source``, or _SourceFailed saying why not.

    A folder is read in place. A URL is downloaded into a temporary file in ``home``, verified while it streams,
    and renamed to its final name only when intact (scikit-learn's ``_fetch_remote``), with up to ATTEMPTS tries
    after a transient failure; a source that stalls is written off for the rest of the run.
    """
    import requests
    import urllib3

    if "://" not in source:
        return _read_in_place(Path(source) / spec.gz_name, spec)
    if not download:
        raise _SourceFailed("not tried: download=False keeps off the network")
    if source in written_off:
        raise _SourceFailed(written_off[source])
    arrays: list[np.ndarray] = []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with contextlib.closing(_stream(session, source + spec.gz_name, spec, progress)) as chunks:
                write_atomic(home / spec.gz_name, lambda out: arrays.append(_verified(chunks, spec, out)))
            return arrays[0]
        except (_Stalled, requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            written_off[source] = f"stalled ({_describe(exc)})"
            raise _SourceFailed(written_off[source]) from exc
        except (
            _Transient,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            urllib3.exceptions.HTTPError,
        ) as exc:
            problem = _describe(exc)
        except requests.RequestException as exc:
            raise _SourceFailed(_describe(exc)) from exc
        except OSError as exc:  # writing into home: the network's errors are requests' or urllib3's
            if exc.errno == errno.ENOSPC:
                needed = f"needs up to {spec.max_gz_size / 1e6:.1f} MB"
                raise _SourceFailed(f"no space left in {home} ({spec.gz_name} {needed})") from exc
            raise _SourceFailed(f"cannot write in {home}: {exc.strerror or exc}") from exc
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF * 2 ** (attempt - 1))
    written_off[source] = f"gave up after {ATTEMPTS} attempts: {problem}"
    raise _SourceFailed(written_off[source])


def _read_in_place(path: Path, spec: IDXFile) -> np.ndarray:
    try:
        with open_regular(path) as f:
            return _verified(iter(lambda: f.read(_CHUNK), b""), spec)
    except FileNotFoundError:
        raise _SourceFailed("no such file" if path.parent.is_dir() else "no such folder") from None
    except OSError as exc:
        raise _SourceFailed(f"cannot read {path}: {exc.strerror or exc}") from exc


def _stream(session: requests.Session, url: str, spec: IDXFile, progress: bool) -> Iterator[bytes]:
    """The body of ``url`` in chunks as they arrive, within the file's bounds on size and time."""
    from tqdm import tqdm

    # identity: a re-encoded body is not the .gz file, and decoding it would be a bomb of its own.
    headers = {"Accept-Encoding": "identity"}
    received, window_start, window_received = 0, time.monotonic(), 0  # the first window includes the headers
    with session.get(url, headers=headers, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as response:
        status = f"HTTP {response.status_code} {response.reason}".rstrip()
        if response.status_code != 200:
            raise (_Transient if response.status_code >= 500 else _SourceFailed)(status)
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _SourceFailed(f"refused Content-Encoding {encoding[:30]!r}: identity was asked for")
        length = response.headers.get("Content-Length")
        if length is not None and not re.fullmatch(r"[0-9]{1,15}", length.strip()):
            raise _SourceFailed(f"malformed Content-Length {length[:30]!r}")
        length = None if length is None else int(length)
        if length is not None and length > spec.max_gz_size:
            raise _SourceFailed(f"announces {length} bytes; the file cannot be more than {spec.max_gz_size}")
        with tqdm(desc=spec.gz_name, total=length, unit="B", unit_scale=True, disable=not progress) as bar:
            # read1 returns whatever has arrived, so a drip cannot hold a read open past READ_TIMEOUT.
            while chunk := response.raw.read1(_CHUNK, decode_content=False):
                received += len(chunk)
                if received > spec.max_gz_size:
                    raise _SourceFailed(f"sent more than the {spec.max_gz_size} bytes the file can be; cut off")
                bar.update(len(chunk))
                if (now := time.monotonic()) - window_start > STALL_WINDOW:
                    if received - window_received < STALL_BYTES:
                        raise _Stalled(f"{received - window_received} bytes in {now - window_start:.0f} s")
                    window_start, window_received = now, received
                yield chunk
        if length is not None and received < length:
            raise _Transient(f"connection closed after {received} of {length} bytes")


def _verified(chunks: Iterator[bytes], spec: IDXFile, copy_to: BinaryIO | None = None) -> np.ndarray:
    """The array of a gzip stream if its content is exactly ``spec``'s, else _SourceFailed saying why.

    The IDX parser reads the content as it is decompressed, into an array of the pinned shape; ``copy_to``
    gets the compressed bytes. Decompression stops past the file's known size, so a gzip bomb costs no more
    than the file; what the source sent (not gzip, too much, too little) is reported before what it holds.
    """
    content = _Gunzip(chunks, spec, copy_to)
    try:
        array = parse_idx(content, shape=spec.shape)
    except IDXError as exc:
        defect = f"not {spec.name}: {exc}"
        try:
            while content.read(_CHUNK):  # bounded by spec.size
                pass
        except _SourceFailed as stream_fault:
            raise _SourceFailed(f"{stream_fault} ({defect})") from exc
        raise _SourceFailed(defect) from exc
    if (digest := content.sha256.hexdigest()) != spec.sha256:
        raise _SourceFailed(f"wrong content: decompressed SHA-256 {digest}, expected {spec.sha256}")
    return array


class _Gunzip:
    """A file-like ``read`` over the decompressed bytes of gzip ``chunks``, hashed as they pass: at most
    ``spec.size`` of them from at most ``spec.max_gz_size`` compressed bytes (else _SourceFailed), ending only
    at the end of the gzip stream, with nothing after it."""

    def __init__(self, chunks: Iterator[bytes], spec: IDXFile, copy_to: BinaryIO | None) -> None:
        self._chunks, self._spec, self._copy_to = chunks, spec, copy_to
        self._inflater, self._pending, self._head = zlib.decompressobj(wbits=31), b"", b""
        self._compressed = self._size = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int) -> bytes:
        while not self._pending and not self._inflater.eof:
            data = self._inflater.unconsumed_tail or self._next_chunk()
            try:
                self._pending = self._inflater.decompress(data, _CHUNK)
            except zlib.error as exc:
                kind = "corrupt gzip data" if self._head.startswith(b"\x1f\x8b") else "not gzip data"
                raise _SourceFailed(f"{kind}, starting {self._head!r}") from exc
            self._size += len(self._pending)
            if self._size > self._spec.size:
                raise _SourceFailed(f"decompresses to more than the file's {self._spec.size} bytes")
            self.sha256.update(self._pending)
        if self._inflater.eof and (self._inflater.unused_data or next(self._chunks, b"")):
            raise _SourceFailed("data after the end of the gzip stream")
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _next_chunk(self) -> bytes:
        chunk = next(self._chunks, b"")
        if not chunk:
            raise _SourceFailed(f"truncated gzip data, starting {self._head!r}" if self._head else "empty file")
        self._head += chunk[: 32 - len(self._head)]
        self._compressed += len(chunk)
        if self._compressed > self._spec.max_gz_size:  # e.g. empty deflate blocks, for ever
            raise _SourceFailed(f"more than the {self._spec.max_gz_size} bytes the file can be")
        if self._copy_to is not None:
            self._copy_to.write(chunk)
        return chunk


def _describe(exc: Exception) -> str:
    """A network failure in a few words, without urllib3's ``HTTPConnection(host=..., port=...)`` prefix."""
    import requests
    import urllib3

    if isinstance(exc, _SourceFailed):
        return str(exc)
    if isinstance(exc, (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)):
        return "timed out connecting"
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return f"no data for {READ_TIMEOUT:g} s"
    while exc.args and isinstance(exc.args[-1], Exception):  # requests wraps urllib3, which wraps the socket
        exc = exc.args[-1]
    cause = getattr(exc, "reason", None) or exc
    return str(cause).split("): ", 1)[-1] or type(cause).__name__


def _redact_in(text: str, source: str) -> str:
    """``text`` (a failure's message) without ``source``'s credentials, however the message quotes them."""
    scheme = _SCHEME.match(source)
    userinfo_end = None if scheme is None else _userinfo_end(source, scheme.end())
    if userinfo_end is not None:
        userinfo = source[scheme.end() : userinfo_end]
        text = text.replace(userinfo, "***").replace(unquote(userinfo), "***")
    return redact_url(text)


def _failure_message(
    home: Path, dataset: Dataset, missing: list[str], failures: list[tuple[str, str, str]], sources: list[str]
) -> str:
    lines = [f"Could not get {', '.join(missing)} into {home}. Sources tried:"]
    by_reason: dict[tuple[str, str], list[str]] = {}
    for source, name, reason in failures:
        if name in missing:
            by_reason.setdefault((source, reason), []).append(name)
    for (source, reason), names in by_reason.items():
        which = "" if len(names) == len(missing) else f" ({', '.join(names)})"
        lines.append(f"  - {source}{which}: {reason}")
    where = f" from {dataset.homepage}" if dataset.homepage else ""
    how = (
        f"To get the files by hand, download {', '.join(spec.gz_name for spec in dataset.files)}{where} and put "
        f"them in {home}, or in a folder you pass with --mirror DIR or {MIRRORS_ENV}=DIR"
    )
    if dataset.system_dir is not None and dataset.system_package:
        if not dataset.system_dir.is_dir():
            how += f"; or install Debian/Ubuntu's copy: sudo apt-get install {dataset.system_package}"
        elif str(dataset.system_dir) not in sources:
            how += f"; or drop --mirror and {MIRRORS_ENV} to use the Debian copy in {dataset.system_dir}"
    return "\n".join([*lines, how + "."])


# --- the data home: lock, caches, manifest -------------------------------------------------------------


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Create ``home`` and hold its lock; while held, any temporary there is a killed run's leftover.

    A home this process cannot write into (another user's, read-only) is used unlocked: nothing is written there.
    """
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataUnavailableError(
            f"cannot use {home} as the data home: {_home_problem(home, exc)}; choose another with --data-dir or "
            f"{DATA_ENV}"
        ) from exc
    try:
        lock = FolderLock.acquire(home, wait=True)
    except OSError as exc:
        if not (isinstance(exc, PermissionError) or exc.errno == errno.EROFS):
            raise DataUnavailableError(
                f"cannot use {home} as the data home: {_home_problem(home, exc)}; choose another with --data-dir "
                f"or {DATA_ENV}"
            ) from exc
        lock = None
    try:
        if lock is not None:
            for leftover in home.glob(f"{TEMP_PREFIX}*"):
                if leftover.name != LOCK_NAME:
                    with contextlib.suppress(OSError):
                        leftover.unlink()
        yield
    finally:
        if lock is not None:
            lock.release()


def _home_problem(home: Path, exc: OSError) -> str:
    """Why ``home`` cannot be created, saying which part of its path is at fault."""
    for path in (home, *home.parents):
        if path.is_symlink() and not path.exists():
            try:
                os.stat(path)
            except OSError as error:
                if error.errno == errno.ELOOP:
                    return f"{path} is a symlink loop"
            return f"{path} is a symlink to {os.readlink(path)}, which does not exist"
        if path.exists():
            return exc.strerror or str(exc) if path.is_dir() else f"{path} is not a folder"
    return exc.strerror or str(exc)


def _open_caches(home: Path, dataset: Dataset, entries: dict[str, dict]) -> LoadedData | None:
    """The four cached arrays, memory-mapped, if each is the one the manifest records for today's pins."""
    arrays = []
    for spec in dataset.files:
        entry, path = entries.get(spec.name), home / f"{spec.name}.npy"
        try:
            if entry is None or entry["sha256"] != spec.sha256 or entry["npy"] != _stamp(path):
                return None
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError, EOFError):
            return None
        if array.dtype != np.uint8 or array.shape != spec.shape:
            return None
        arrays.append(array)
    return _loaded(arrays, _joined(entries[spec.name]["source"] for spec in dataset.files))


def _write_caches(home: Path, dataset: Dataset, arrays: list[np.ndarray], entries: dict[str, dict]) -> LoadedData:
    """Save the arrays as .npy and record them; when the folder cannot take them, use them from memory."""
    source = _joined(entry["source"] for entry in entries.values())
    try:
        for spec, array in zip(dataset.files, arrays, strict=True):
            path = write_atomic(home / f"{spec.name}.npy", lambda f, array=array: np.save(f, array))
            entries[spec.name]["npy"] = _stamp(path)
        text = json.dumps({"format": 2, "files": entries}, indent=1) + "\n"
        write_atomic(home / MANIFEST, lambda f: f.write(text.encode()))
    except OSError as exc:
        logger.warning(
            "cannot write the caches in %s (%s; they take %.0f MB): using the data from memory, verified again "
            "at every load",
            home,
            exc.strerror or exc,
            sum(array.nbytes for array in arrays) / 1e6,
        )
        for array in arrays:
            array.flags.writeable = False
        return _loaded(arrays, source)
    return _open_caches(home, dataset, entries) or _loaded(arrays, source)


def _loaded(arrays: list[np.ndarray], source: str) -> LoadedData:
    X_train, y_train, X_test, y_test = arrays
    return LoadedData(X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64), source)


def _joined(sources: Iterator[str]) -> str:
    return ", ".join(dict.fromkeys(sources))


def _stamp(path: Path) -> list[int]:
    # Size and mtime: a chmod or chown changes neither (only the ctime, which is not kept).
    status = path.stat()
    if not stat.S_ISREG(status.st_mode):  # a device or FIFO under a cache's name is never mapped
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return [status.st_size, status.st_mtime_ns]


def _read_manifest(home: Path) -> dict[str, dict]:
    """The manifest's entries by file name: only those of exactly the shape _write_caches gives them."""
    try:
        with open_regular(home / MANIFEST) as f:
            data = json.loads(f.read(1 << 16))
    except (OSError, ValueError, RecursionError):
        return {}
    files = data.get("files") if isinstance(data, dict) and data.get("format") == 2 else None
    if not isinstance(files, dict):
        return {}
    return {
        name: entry
        for name, entry in files.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and isinstance(entry.get("source"), str)
        and isinstance(entry.get("npy"), list)
        and len(entry["npy"]) == 2
        and all(type(n) is int for n in entry["npy"])
    }
