"""Fashion-MNIST: its four files, where they come from, and the arrays they hold.

:func:`load_fashion_mnist` takes each of :data:`FILES` from the first source that delivers it intact
(torchvision's ``for file: for source:`` loop):

1. the ``.gz`` already in the data home (:func:`get_data_home`);
2. Debian/Ubuntu's copy in :data:`SYSTEM_DIR` (package ``dataset-fashion-mnist``), read in place;
3. the upstream mirrors in :data:`DEFAULT_MIRRORS`, downloaded into the data home.

``mirrors=``, ``--mirror`` or ``NPSOFTMAX_MIRRORS`` replace 2 and 3 with http(s) URLs or local folders (a
folder is read in place too). A file is intact when its *decompressed* content has the pinned SHA-256 (Debian
recompresses the files: the gzip bytes differ from upstream's, the content does not), so an HTML error page,
MNIST digits under Fashion-MNIST's names or a body cut short all fall through to the next source.

Nothing from outside is trusted with more than the real file would cost: a body may not be larger than
the file can be, nor decompress past the file's known size (a gzip bomb stops there); ``Content-Encoding``
other than identity and malformed headers fail the source; a transfer that gets less than ``STALL_BYTES`` in
``STALL_WINDOW`` seconds, or nothing in ``READ_TIMEOUT``, is abandoned, and that source is not waited on again
in the same run. A ``user:password`` in a mirror URL is never printed, logged or recorded.

A download is written to a temporary file beside its final name, verified while it streams, flushed and
renamed (scikit-learn's ``_fetch_remote``), so a partial or unverified file never sits under a final name.
The arrays are then saved as ``.npy`` caches in the data home and recorded in ``manifest.json`` with each
cache's size and mtime: a warm load compares those with ``os.stat`` and memory-maps the caches, without hashing
or decompressing. A cache that changed, or a manifest of any other shape, sends the load back through the
sources. Runs on the same folder take turns through a lock on it, which also makes it safe to delete the
temporaries a killed run left. A folder that cannot be written still loads: the arrays are used from memory.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:  # imported where a file is fetched: a warm load needs neither (0.1 s of every start)
    import requests
    from tqdm import tqdm

from ._io import TEMP_PREFIX, write_atomic

try:
    import fcntl
except ImportError:  # Windows: no flock, so concurrent first loads of one folder are not serialized there.
    fcntl = None

__all__ = [
    "DEFAULT_MIRRORS",
    "FILES",
    "SYSTEM_DIR",
    "TEXT_LABELS",
    "DataUnavailableError",
    "FashionMNISTFile",
    "data_source",
    "download_fashion_mnist",
    "get_data_home",
    "get_fashion_mnist_labels",
    "load_fashion_mnist",
    "mirrors_from_env",
    "parse_mirror",
    "redact_url",
]

logger = logging.getLogger(__name__)


class FashionMNISTFile(NamedTuple):
    """One of the four files: its name without ``.gz``, the SHA-256 of its decompressed IDX content, and the
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


FILES = (
    FashionMNISTFile(
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        (60000, 28, 28),
    ),
    FashionMNISTFile(
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        (60000,),
    ),
    FashionMNISTFile(
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        (10000, 28, 28),
    ),
    FashionMNISTFile(
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        (10000,),
    ),
)
TEXT_LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
DATA_ENV, MIRRORS_ENV = "NPSOFTMAX_DATA", "NPSOFTMAX_MIRRORS"
MANIFEST = "manifest.json"

CONNECT_TIMEOUT = 10.0  # seconds
READ_TIMEOUT = 15.0  # seconds without a byte: the transfer has stalled
STALL_WINDOW, STALL_BYTES = 30.0, 1 << 16  # less than this many bytes in this many seconds: it drips
ATTEMPTS, BACKOFF = 3, 1.0  # tries per file and mirror after a transient failure; seconds before the 2nd

_CHECKOUT = Path(__file__).resolve().parent.parent
_CHUNK = 1 << 16
_UPSTREAM = "https://github.com/zalandoresearch/fashion-mnist"
_Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class DataUnavailableError(RuntimeError):
    """Some file could not be had from any source; the message lists each source tried with its reason and
    says how to get the files by hand."""


class _BadMirror(ValueError, argparse.ArgumentTypeError):
    """A ValueError for callers; as an ArgumentTypeError, argparse shows its message for a bad ``--mirror``."""


class _SourceFailed(Exception):
    """One source could not deliver one file; the message says why."""


class _Transient(_SourceFailed):
    """A failure worth another attempt on the same source (HTTP 5xx, a connection dropped)."""


class _Stalled(_SourceFailed):
    """No progress: the source is not waited on again in this run."""


# --- public API ----------------------------------------------------------------------------------------


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    mirrors: Sequence[str | os.PathLike[str]] | None = None,
    quiet: bool | None = None,
) -> _Arrays:
    """Fashion-MNIST's training and test sets, verified, with the images memory-mapped from a cache.

    Parameters
    ----------
    root : str, path-like or None
        The data home, where downloads, caches and ``manifest.json`` go; None means :func:`get_data_home`.
    download : bool, default True
        With False the network is never touched: only the data home and local folders are used.
    mirrors : sequence of str or path-like, optional
        http(s) base URLs or folders to try, in order, instead of :data:`SYSTEM_DIR` and
        :data:`DEFAULT_MIRRORS`. None means ``NPSOFTMAX_MIRRORS`` (comma-separated) when it is set.
    quiet : bool or None, default None
        Progress bars of downloads: ``True`` never, ``False`` always, ``None`` when stderr is a terminal.

    Returns
    -------
    X_train : ndarray of uint8, shape (60000, 28, 28), read-only
    y_train : ndarray of int64, shape (60000,), labels in 0..9
    X_test : ndarray of uint8, shape (10000, 28, 28), read-only
    y_test : ndarray of int64, shape (10000,)

    Raises
    ------
    DataUnavailableError
        When some file could not be had from any source, or the data home cannot be created.
    ValueError
        On a bad mirror, in ``mirrors`` or ``NPSOFTMAX_MIRRORS``.
    """
    home = get_data_home(root)
    arrays = _open_caches(home, _read_manifest(home))
    if arrays is None:
        arrays = _build(home, _sources(mirrors), download=download, force=False, quiet=quiet)
    X_train, y_train, X_test, y_test = arrays
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)


def download_fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    mirrors: Sequence[str | os.PathLike[str]] | None = None,
    force: bool = False,
    quiet: bool | None = None,
) -> Path:
    """Make the data home ready for a warm :func:`load_fashion_mnist`: verify or fetch the files, build the
    caches. With ``force``, take every file from the sources again, ignoring what the data home holds.
    Returns the data home; raises as :func:`load_fashion_mnist` does."""
    home = get_data_home(root)
    if force or _open_caches(home, _read_manifest(home)) is None:
        _build(home, _sources(mirrors), download=True, force=force, quiet=quiet)
    return home


def get_data_home(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of Fashion-MNIST's downloads and caches: ``root`` when given, else ``$NPSOFTMAX_DATA``, else
    ``data/fashion-mnist`` of the source checkout this package runs from, else
    ``$XDG_CACHE_HOME/npsoftmax/fashion-mnist`` (by default ``~/.cache/npsoftmax/fashion-mnist``)."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    if (_CHECKOUT / "setup.cfg").is_file() and (_CHECKOUT / "data").is_dir():
        return _CHECKOUT / "data" / "fashion-mnist"
    cache = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(cache) if os.path.isabs(cache) else Path.home() / ".cache") / "npsoftmax" / "fashion-mnist"


def data_source(root: str | os.PathLike[str] | None = None) -> str:
    """Where the data in the data home came from (folders and URLs, credentials redacted, distinct ones
    joined by ", "), for a run to record. Raises DataUnavailableError when there is no record of it."""
    home = get_data_home(root)
    entries = _read_manifest(home)
    sources = [entries[spec.name]["source"] for spec in FILES if spec.name in entries]
    if len(sources) < len(FILES) and home in _last_sources:  # a data home that could not be written
        sources = _last_sources[home]
    if len(sources) < len(FILES):
        raise DataUnavailableError(f"{home} has no record of verified Fashion-MNIST; load it first")
    return ", ".join(dict.fromkeys(sources))


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

    Raises ValueError with a one-line message; used as an argparse ``type``, argparse shows that message.
    """
    text = os.fspath(text).strip()
    if "://" in text:
        try:
            parts = urlsplit(text)
            valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # e.g. a port that is not a number
            valid = False
        if not valid:
            raise _BadMirror(f"{redact_url(text)!r} is not an http(s):// URL")
        return text if text.endswith("/") else text + "/"
    if not text:
        raise _BadMirror("empty mirror: give an http(s):// URL or a folder")
    folder = Path(text).expanduser().resolve()
    if not folder.is_dir():
        raise _BadMirror(f"{text!r} is neither an http(s):// URL nor an existing folder")
    return str(folder)


def mirrors_from_env() -> list[str] | None:
    """The mirrors in ``NPSOFTMAX_MIRRORS`` (comma-separated), or None when it is unset or blank; raises
    ValueError naming the variable for a bad entry."""
    value = os.environ.get(MIRRORS_ENV, "")
    if not value.strip():
        return None
    try:
        return [parse_mirror(item) for item in value.split(",")]
    except ValueError as exc:
        raise _BadMirror(f"{MIRRORS_ENV}: {exc}") from None


def redact_url(url: str) -> str:
    """``url`` with its ``user:password@`` replaced by ``***@``: ``http://u:p@host/p`` -> ``http://***@host/p``.

    Any URL inside the text is redacted, so a command line such as ``--mirror=http://u:p@host/`` is safe too.
    """
    return re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@", r"\1***@", url)


# --- the loop: for each file, for each source ----------------------------------------------------------


_last_sources: dict[Path, list[str]] = {}


def _sources(mirrors: Sequence[str | os.PathLike[str]] | None) -> list[str]:
    if mirrors is None:
        return mirrors_from_env() or [str(SYSTEM_DIR), *DEFAULT_MIRRORS]
    if isinstance(mirrors, (str, os.PathLike)):
        raise TypeError("mirrors must be a list of URLs or folders; wrap a single one in a list")
    return [parse_mirror(mirror) for mirror in mirrors]


def _build(home: Path, sources: list[str], *, download: bool, force: bool, quiet: bool | None) -> _Arrays:
    """Take each file from the first source that delivers it intact, then cache the arrays; needs no cache."""
    import requests

    show_progress = sys.stderr.isatty() if quiet is None else not quiet
    with _locked(home), requests.Session() as session:
        old = _read_manifest(home)
        if not force and (arrays := _open_caches(home, old)) is not None:
            return arrays  # another process built them while this one waited for the lock
        entries, arrays, failures, missing = {}, [], [], []
        written_off: dict[str, str] = {}
        for spec in FILES:
            in_home = not force and (home / spec.gz_name).is_file()
            for source in ([str(home)] if in_home else []) + sources:
                shown = redact_url(source)
                try:
                    content = _fetch(source, spec, home, session, download, show_progress, written_off)
                except _SourceFailed as exc:
                    userinfo = urlsplit(source).netloc.rpartition("@")[0]
                    reason = str(exc).replace(userinfo, "***") if userinfo else str(exc)
                    failures.append((shown, spec.gz_name, reason))
                    logger.info("%s: %s: %s", spec.gz_name, shown, reason)
                    continue
                if source == str(home) and old.get(spec.name, {}).get("sha256") == spec.sha256:
                    shown = old[spec.name]["source"]  # a download verified again: keep where it came from
                logger.info("%s: verified, from %s", spec.gz_name, shown)
                entries[spec.name] = {"sha256": spec.sha256, "source": shown}
                array = np.frombuffer(content, np.uint8, offset=spec.size - math.prod(spec.shape))
                arrays.append(array.reshape(spec.shape))
                break
            else:
                missing.append(spec.gz_name)
        if missing:
            raise DataUnavailableError(_failure_message(home, missing, failures, sources))
        _last_sources[home] = [entry["source"] for entry in entries.values()]
        return _write_caches(home, arrays, entries)


def _fetch(
    source: str,
    spec: FashionMNISTFile,
    home: Path,
    session: requests.Session,
    download: bool,
    show_progress: bool,
    written_off: dict[str, str],
) -> bytearray:
    """The verified decompressed content of ``spec`` from ``source``, or _SourceFailed saying why not.

    A folder is read in place; a URL is downloaded into ``home``, installed only once verified.
    """
    import requests
    import urllib3

    if "://" not in source:
        path = Path(source) / spec.gz_name
        if not path.is_file():
            raise _SourceFailed("no such file" if path.parent.is_dir() else "no such folder")
        try:
            with open(path, "rb") as f:
                return _inflate(iter(lambda: f.read(_CHUNK), b""), spec)
        except OSError as exc:
            raise _SourceFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not download:
        raise _SourceFailed("not tried: download=False keeps off the network")
    if source in written_off:
        raise _SourceFailed(written_off[source])
    contents: list[bytearray] = []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            write_atomic(
                home / spec.gz_name,
                lambda out: contents.append(_download(session, source + spec.gz_name, spec, out, show_progress)),
            )
            return contents[0]
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


def _download(
    session: requests.Session, url: str, spec: FashionMNISTFile, out: BinaryIO, show_progress: bool
) -> bytearray:
    """Stream ``url`` into ``out`` within the file's bounds, verifying it on the way."""
    from tqdm import tqdm

    # identity: a re-encoded body is not the .gz file, and decoding it would be a bomb of its own.
    headers = {"Accept-Encoding": "identity"}
    with session.get(url, headers=headers, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as response:
        status = f"HTTP {response.status_code} {response.reason}".rstrip()
        if response.status_code >= 500:
            raise _Transient(status)
        if response.status_code != 200:
            raise _SourceFailed(status)
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _SourceFailed(f"refused Content-Encoding {encoding[:30]!r}: identity was asked for")
        length = response.headers.get("Content-Length")
        if length is not None and not re.fullmatch(r"[0-9]{1,15}", length.strip()):
            raise _SourceFailed(f"malformed Content-Length {length[:30]!r}")
        length = None if length is None else int(length)
        if length is not None and length > spec.max_gz_size:
            raise _SourceFailed(f"announces {length} bytes; the file cannot be more than {spec.max_gz_size}")
        with tqdm(desc=spec.gz_name, total=length, unit="B", unit_scale=True, disable=not show_progress) as bar:
            return _inflate(_body(response, spec, length, out, bar), spec)


def _body(
    response: requests.Response, spec: FashionMNISTFile, length: int | None, out: BinaryIO, bar: tqdm
) -> Iterator[bytes]:
    """The body's chunks as they arrive, each written to ``out`` first; stops at the size and time bounds."""
    received, window_start, window_received = 0, time.monotonic(), 0
    # read1 returns whatever has arrived, so a drip cannot hold a read open past READ_TIMEOUT.
    while chunk := response.raw.read1(_CHUNK, decode_content=False):
        received += len(chunk)
        if received > spec.max_gz_size:
            raise _SourceFailed(f"sent more than the {spec.max_gz_size} bytes the file can be; cut off")
        out.write(chunk)
        bar.update(len(chunk))
        if (now := time.monotonic()) - window_start > STALL_WINDOW:
            if received - window_received < STALL_BYTES:
                raise _Stalled(f"{received - window_received} bytes in {now - window_start:.0f} s")
            window_start, window_received = now, received
        yield chunk
    if length is not None and received < length:
        raise _Transient(f"connection closed after {received} of {length} bytes")


def _inflate(chunks: Iterable[bytes], spec: FashionMNISTFile) -> bytearray:
    """The decompressed content of a gzip stream if it is exactly ``spec``'s, else _SourceFailed saying why.

    Decompression stops one byte past the file's known size, so a gzip bomb costs no more than the file.
    """
    inflater, content, head = zlib.decompressobj(wbits=31), bytearray(), b""
    for chunk in chunks:
        head += chunk[: 32 - len(head)]
        try:
            content += inflater.decompress(chunk, spec.size + 1 - len(content))
        except zlib.error as exc:
            kind = "corrupt gzip data" if head.startswith(b"\x1f\x8b") else "not gzip data"
            raise _SourceFailed(f"{kind}, starting {head!r}") from exc
        if len(content) > spec.size:
            raise _SourceFailed(f"decompresses to more than the file's {spec.size} bytes")
        if inflater.unused_data:
            raise _SourceFailed("data after the end of the gzip stream")
    if not inflater.eof:
        raise _SourceFailed(f"truncated gzip data, starting {head!r}" if head else "empty file")
    digest = hashlib.sha256(content).hexdigest()
    if digest != spec.sha256:
        raise _SourceFailed(f"wrong content: decompressed SHA-256 {digest}, expected {spec.sha256}")
    return content


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


def _failure_message(home: Path, missing: list[str], failures: list[tuple[str, str, str]], sources: list[str]) -> str:
    lines = [f"Could not get {', '.join(missing)} into {home}. Sources tried:"]
    by_reason: dict[tuple[str, str], list[str]] = {}
    for source, name, reason in failures:
        if name in missing:
            by_reason.setdefault((source, reason), []).append(name)
    for (source, reason), names in by_reason.items():
        which = "" if len(names) == len(missing) else f" ({', '.join(names)})"
        lines.append(f"  - {source}{which}: {reason}")
    how = (
        f"To get the files by hand, download {', '.join(spec.gz_name for spec in FILES)} from {_UPSTREAM} and "
        f"put them in {home}, or in a folder you pass with --mirror DIR or {MIRRORS_ENV}=DIR"
    )
    if not SYSTEM_DIR.is_dir():
        how += "; or install Debian/Ubuntu's copy: sudo apt-get install dataset-fashion-mnist"
    elif str(SYSTEM_DIR) not in sources:
        how += f"; or drop --mirror and {MIRRORS_ENV} to use the Debian copy in {SYSTEM_DIR}"
    return "\n".join([*lines, how + "."])


# --- the data home: lock, caches, manifest -------------------------------------------------------------


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Create ``home`` and hold its lock; while held, any temporary there is a killed run's leftover."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(home, os.O_RDONLY) if fcntl is not None else None
    except OSError as exc:
        raise DataUnavailableError(
            f"cannot use {home} for the data: {exc.strerror or exc}; choose another with --data-dir or {DATA_ENV}"
        ) from exc
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        for leftover in home.glob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _open_caches(home: Path, entries: dict[str, dict]) -> _Arrays | None:
    """The four cached arrays, memory-mapped, if each is the one the manifest records for today's pins."""
    arrays = []
    for spec in FILES:
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
    return tuple(arrays)


def _write_caches(home: Path, arrays: list[np.ndarray], entries: dict[str, dict]) -> _Arrays:
    """Save the arrays as .npy and record them; when the folder cannot take them, use them from memory."""
    try:
        for spec, array in zip(FILES, arrays, strict=True):
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
        return tuple(arrays)
    return _open_caches(home, entries) or tuple(arrays)


def _stamp(path: Path) -> list[int]:
    # Size and mtime: a chmod or chown changes neither (only the ctime, which is not kept).
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _read_manifest(home: Path) -> dict[str, dict]:
    """The manifest's entries by file name: only those of exactly the shape _write_caches gives them."""
    try:
        with open(home / MANIFEST, "rb") as f:
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
