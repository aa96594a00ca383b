"""Fashion-MNIST's four files, taken from the first source that delivers them intact.

For each file the sources are tried in order until one gives content whose *decompressed* SHA-256 matches
the pin in :data:`FILES`:

1. the file already in ``root``;
2. the Debian/Ubuntu system copy in :data:`SYSTEM_DIR` (package ``dataset-fashion-mnist``): no network;
3. the upstream mirrors in :data:`DEFAULT_MIRRORS`.

Mirrors given explicitly (the ``mirrors`` argument, ``--mirror``, or the comma-separated environment
variable ``NPSOFTMAX_MIRRORS``) replace 2 and 3. A mirror is an ``http(s)://`` base URL or a local folder.

Pins are on the decompressed content because repackagers (Debian among them) recompress the files: the
gzip bytes differ from upstream's, the IDX content does not. A caching proxy that serves MNIST digits under
Fashion-MNIST's names, an HTML error page served with status 200, a body cut short: all fail the pin, and
the next source is tried. Transient failures (connection errors, timeouts, 5xx) are retried with exponential
backoff first, and a transfer that drops part way resumes with an HTTP ``Range`` request.

A file only ever appears under its final name complete and verified: it is written to a temporary file in
``root``, checked, flushed to disk and renamed. Runs on the same ``root`` take turns through a lock on the
folder, which also makes it safe to delete the temporaries of runs that were killed.

``root/manifest.json`` records, per file, the pin it was verified against, where it came from, and its
stamp (size, mtime, ctime) at verification; :mod:`npsoftmax.dataset` adds the stamps of its ``.npy`` caches.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import requests
from tqdm import tqdm

from ._io import TEMP_PREFIX, install, temporary, write_atomic

try:
    import fcntl
except ImportError:  # Windows: no flock, so concurrent runs on one root are not serialized there.
    fcntl = None

__all__ = [
    "DEFAULT_MIRRORS",
    "FILES",
    "SYSTEM_DIR",
    "DataUnavailableError",
    "FashionMNISTFile",
    "download_fashion_mnist",
    "fashion_mnist_source",
]

# Not __name__: under `python -m npsoftmax.download` that is "__main__", outside the package's logger.
logger = logging.getLogger("npsoftmax.download")


@dataclass(frozen=True)
class FashionMNISTFile:
    """One of the four Fashion-MNIST files.

    Attributes
    ----------
    name : str
        File name without ``.gz``, e.g. ``"train-images-idx3-ubyte"``.
    sha256 : str
        SHA-256 (hex) of the decompressed IDX content.
    shape : tuple of int
        Shape of the uint8 array it holds.
    """

    name: str
    sha256: str
    shape: tuple[int, ...]

    @property
    def gz_name(self) -> str:
        """Name of the compressed file, as mirrors serve it and as it is kept in ``root``."""
        return f"{self.name}.gz"


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

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
MIRRORS_ENV = "NPSOFTMAX_MIRRORS"
MANIFEST_NAME = "manifest.json"
DEFAULT_TIMEOUT = (5.0, 30.0)
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5

_MANIFEST_FORMAT = 1
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class DataUnavailableError(RuntimeError):
    """No source delivered a verified copy of some file; the message lists each source with its reason."""


class _SourceFailed(Exception):
    """One source could not deliver one file; the message is the reason shown to the user."""


def download_fashion_mnist(
    root: str | os.PathLike[str] = "data/fashion-mnist",
    mirrors: Sequence[str | os.PathLike[str]] | None = None,
    *,
    force: bool = False,
    quiet: bool | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    checksums: Mapping[str, str] | None = None,
) -> Path:
    """Make sure ``root`` holds the four Fashion-MNIST ``.gz`` files, verified, fetching what is missing.

    Parameters
    ----------
    root : str or path-like, default "data/fashion-mnist"
        Folder for the files; created if needed.
    mirrors : sequence of str or path-like, optional
        ``http(s)://`` base URLs or local folders, tried in order. ``None`` means ``NPSOFTMAX_MIRRORS``
        (comma-separated) when set, else :data:`SYSTEM_DIR` then :data:`DEFAULT_MIRRORS`.
    force : bool, default False
        Fetch every file again even when a verified copy is in ``root`` (which stays if all sources fail).
    quiet : bool or None, default None
        ``True`` hides the progress bars, ``False`` shows them, ``None`` shows them when stderr is a terminal.
    timeout : float or (float, float), default (5.0, 30.0)
        Seconds to connect and to wait for data, as ``requests`` takes it.
    retries : int, default 3
        Extra attempts per file and mirror after a transient failure (connection error, timeout, HTTP 5xx,
        a body cut short).
    backoff : float, default 0.5
        Seconds before the first retry; the wait doubles with each further one.
    checksums : mapping of str to str, optional
        Decompressed SHA-256 per file name (e.g. ``"train-images-idx3-ubyte"``) to pin instead of the real
        ones; names left out keep theirs. For tests with small synthetic files.

    Returns
    -------
    Path
        ``root``.

    Raises
    ------
    DataUnavailableError
        When some file could not be verified from any source. The message lists every source tried with
        its reason and says how to get the files by hand. Files verified before the failure are kept.
    NotADirectoryError
        When ``root`` exists and is not a folder.
    TypeError, ValueError
        On invalid arguments, including a mirror that is neither an http(s) URL nor a folder.

    Notes
    -----
    A file in ``root`` that fails its pin is replaced by the first verified copy from a source. If there is
    none it stays where it is (it may be a file placed there by hand, or verified against other pins) but
    loses its manifest entry, so :func:`npsoftmax.load_fashion_mnist` never uses it.
    """
    root = _check_root(root)
    sources = _sources(mirrors)
    pins = _pins(checksums)
    if not isinstance(force, bool):
        raise TypeError(f"force must be a bool, got {force!r}")
    _check_transfer_settings(timeout, retries, backoff)
    show_progress = _show_progress(quiet)
    with (
        _exclusive(root),
        _Fetcher(
            allow_network=True,
            show_progress=show_progress,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        ) as fetcher,
    ):
        _ensure_files(root, FILES, sources, pins, fetcher, force=force)
    return root


def fashion_mnist_source(root: str | os.PathLike[str] = "data/fashion-mnist") -> str:
    """Where the verified files in ``root`` came from, for a training run to record.

    Parameters
    ----------
    root : str or path-like, default "data/fashion-mnist"

    Returns
    -------
    str
        The source of the four files (a folder such as ``"/usr/share/datasets/fashion-mnist"`` or a mirror
        URL); distinct sources joined by ``", "`` when the files came from several.

    Raises
    ------
    DataUnavailableError
        When ``root`` has no record of a verified copy of some file.
    """
    root = Path(root)
    entries = _read_manifest(root)
    sources: list[str] = []
    for spec in FILES:
        entry = entries.get(spec.gz_name)
        if entry is None:
            raise DataUnavailableError(
                f"{root} has no verified {spec.gz_name} on record; run `python -m npsoftmax.download "
                f"--data-dir {root}` or npsoftmax.load_fashion_mnist first.\n{_how_to_get_files(root)}"
            )
        if entry["source"] not in sources:
            sources.append(entry["source"])
    return ", ".join(sources)


# --- sources and verification -------------------------------------------------------------------------


def _ensure_files(
    root: Path,
    specs: Sequence[FashionMNISTFile],
    sources: Sequence[str],
    pins: Mapping[str, str],
    fetcher: _Fetcher,
    *,
    force: bool,
) -> None:
    """Verify or fetch each of ``specs`` into ``root`` and record it in the manifest; needs the lock."""
    entries = _read_manifest(root)
    recorded = dict(entries)
    failures: dict[str, dict[str, str]] = {}
    missing: list[str] = []
    for spec in specs:
        final, pin = root / spec.gz_name, pins[spec.name]
        old = entries.get(spec.gz_name, {})
        if not force and final.exists():
            stamp, reason = _verify(final, pin)
            if reason is None:
                if old.get("sha256") != pin or old.get("gz") != stamp:
                    source = (
                        old["source"] if old.get("sha256") == pin else f"{root.resolve()} (origin unknown)"
                    )
                    entries[spec.gz_name] = {"sha256": pin, "source": source, "gz": stamp}
                logger.info("%s: verified in %s", spec.gz_name, root)
                continue
            failures.setdefault(str(root), {})[spec.gz_name] = f"present but {reason}"
            entries.pop(spec.gz_name, None)
        for source in sources:
            try:
                with temporary(final) as tmp:
                    fetcher.fetch(source, spec.gz_name, tmp)
                    reason = _verify(tmp, pin)[1]
                    if reason is not None:
                        raise _SourceFailed(reason)
                    install(tmp, final)
            except _SourceFailed as exc:
                failures.setdefault(source, {})[spec.gz_name] = str(exc)
                logger.info("%s: %s failed: %s", spec.gz_name, source, exc)
                continue
            # Stamped after the rename, which changes the ctime.
            entries[spec.gz_name] = {"sha256": pin, "source": source, "gz": _stamp(final)}
            logger.info("%s: verified, from %s", spec.gz_name, source)
            break
        else:
            missing.append(spec.gz_name)
    if entries != recorded:
        _write_manifest(root, entries)
    if missing:
        raise DataUnavailableError(_failure_message(root, missing, failures))


def _verify(path: Path, sha256: str) -> tuple[dict[str, int], str | None]:
    """Stamp of ``path`` as read, and why its decompressed content fails ``sha256`` (None if it passes)."""
    with open(path, "rb") as raw:
        stamp = _stamp_of(os.fstat(raw.fileno()))
        head = raw.read(64)
        if not head:
            return stamp, "empty file"
        if not head.startswith(_GZIP_MAGIC):
            what = "an HTML page" if head.lstrip().startswith(b"<") else "not gzip data"
            return stamp, f"{what}, starting {head[:40]!r}"
        raw.seek(0)
        digest = hashlib.sha256()
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as content:
                while chunk := content.read(1 << 20):
                    digest.update(chunk)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            return stamp, f"corrupt or truncated gzip data ({exc})"
    if digest.hexdigest() != sha256:
        return stamp, f"wrong content: decompressed SHA-256 {digest.hexdigest()}, expected {sha256}"
    return stamp, None


class _Fetcher:
    """Copies one file from one source into a given path, or raises :class:`_SourceFailed` saying why not.

    A mirror that could not be reached at all is not tried again for the remaining files: against a dead
    host each file would otherwise wait out every retry.
    """

    def __init__(
        self,
        *,
        allow_network: bool,
        show_progress: bool,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        self.allow_network, self.show_progress = allow_network, show_progress
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._unreachable: dict[str, str] = {}
        self._session: requests.Session | None = None

    def __enter__(self) -> _Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._session is not None:
            self._session.close()

    def fetch(self, source: str, name: str, dest: Path) -> None:
        if source in self._unreachable:
            raise _SourceFailed(self._unreachable[source])
        if not _is_url(source):
            self._copy_local(Path(source), name, dest)
        elif not self.allow_network:
            raise _SourceFailed("not tried: download=False keeps off the network")
        else:
            self._download(source, name, dest)

    @staticmethod
    def _copy_local(folder: Path, name: str, dest: Path) -> None:
        if not folder.is_dir():
            raise _SourceFailed("no such folder")
        if not (folder / name).is_file():
            raise _SourceFailed(f"no {name} there")
        try:
            shutil.copyfile(folder / name, dest)
        except OSError as exc:
            raise _SourceFailed(f"cannot copy {folder / name}: {exc.strerror or exc}") from exc

    def _download(self, base_url: str, name: str, dest: Path) -> None:
        url = base_url + name
        if self._session is None:
            self._session = requests.Session()
        progress = tqdm(
            desc=name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=not self.show_progress,
            leave=False,
        )
        with open(dest, "wb") as out, progress:
            transfer = _Transfer(out, progress)
            problem, unreachable = None, False
            for attempt in range(self.retries + 1):
                if attempt:
                    delay = self.backoff * 2 ** (attempt - 1)
                    logger.info(
                        "%s: %s; attempt %d of %d in %.2g s",
                        url,
                        problem,
                        attempt + 1,
                        self.retries + 1,
                        delay,
                    )
                    time.sleep(delay)
                try:
                    problem = transfer.attempt(self._session, url, self.timeout)
                except requests.exceptions.SSLError as exc:
                    raise _SourceFailed(f"TLS error: {_describe(exc)}") from exc
                except (
                    requests.ConnectionError,
                    requests.Timeout,
                    requests.exceptions.ChunkedEncodingError,
                ) as exc:
                    problem = _describe(exc)
                    # Only a host that never sent a byte is written off for the remaining files.
                    unreachable = transfer.received == 0 and isinstance(
                        exc, (requests.ConnectionError, requests.Timeout)
                    )
                except requests.RequestException as exc:
                    raise _SourceFailed(_describe(exc)) from exc
                else:
                    if problem is None:
                        return
                    unreachable = False
        reason = f"gave up after {self.retries + 1} attempts: {problem}"
        if unreachable:
            reason = f"unreachable ({reason})"
            self._unreachable[base_url] = reason
        raise _SourceFailed(reason)


class _Transfer:
    """One file's HTTP transfer into ``out``, resumable across attempts."""

    def __init__(self, out: BinaryIO, progress: tqdm) -> None:
        self.out, self.progress = out, progress
        self.received = 0
        self.total: int | None = None
        self.validator: str | None = None

    def attempt(
        self, session: requests.Session, url: str, timeout: float | tuple[float, float]
    ) -> str | None:
        """One request: None once the whole body is in, else the transient problem to retry on.

        Raises ``_SourceFailed`` on a permanent HTTP error and lets ``requests`` exceptions through.
        """
        # identity: a server that gzips the response again would hand requests a body that it unzips into
        # something that is no longer the .gz file.
        headers = {"Accept-Encoding": "identity"}
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
            if self.validator:
                # The server sends the whole file instead of the range if it changed since the first attempt.
                headers["If-Range"] = self.validator
        with session.get(url, headers=headers, stream=True, timeout=timeout) as response:
            status = f"HTTP {response.status_code} {response.reason}".rstrip()
            if response.status_code >= 500:
                return status
            if response.status_code not in (200, 206, 416):
                raise _SourceFailed(status)
            start, range_total = _content_range(response)
            if self.received and response.status_code == 206 and start == self.received:
                self.total = range_total if range_total is not None else self.total
            else:
                # A whole body (the server ignored the Range), a range other than the one asked for, or 416
                # (the file shrank since): start over from byte 0.
                self.received = 0
                self.out.seek(0)
                self.out.truncate()
                if response.status_code == 416:
                    return status
                self.total = range_total if response.status_code == 206 else _content_length(response)
                self.validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
                self.progress.reset(total=self.total)
            for chunk in response.iter_content(_CHUNK):
                self.out.write(chunk)
                self.received += len(chunk)
                self.progress.update(len(chunk))
        if self.total is not None and self.received < self.total:
            return f"connection closed after {self.received} of {self.total} bytes"
        return None


def _content_range(response: requests.Response) -> tuple[int | None, int | None]:
    """First byte and full length from a ``Content-Range: bytes first-last/length`` header, None if absent."""
    match = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "").strip())
    if match is None:
        return None, None
    return int(match[1]), None if match[2] == "*" else int(match[2])


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, requests.ReadTimeout):
        return "timed out waiting for data"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection dropped part way through the body"
    cause = getattr(exc.args[0], "reason", None) if exc.args else None
    # Drop urllib3's "HTTPConnection(host=..., port=...): " prefix; the source is named beside the reason.
    return str(cause if cause is not None else exc).split("): ", 1)[-1]


def _failure_message(root: Path, missing: Sequence[str], failures: Mapping[str, Mapping[str, str]]) -> str:
    lines = [f"Could not get {', '.join(missing)} into {root}. Sources tried:"]
    for source, reasons in failures.items():
        by_reason: dict[str, list[str]] = {}
        for name in missing:
            if name in reasons:
                by_reason.setdefault(reasons[name], []).append(name)
        for reason, names in by_reason.items():
            which = "" if len(names) == len(missing) else f" ({', '.join(names)})"
            lines.append(f"  - {source}{which}: {reason}")
    lines.append(_how_to_get_files(root))
    return "\n".join(lines)


def _how_to_get_files(root: Path) -> str:
    names = ", ".join(spec.gz_name for spec in FILES)
    return (
        "To get the files by hand, either\n"
        f"  - install the Debian/Ubuntu package: sudo apt-get install dataset-fashion-mnist (it puts them in "
        f"{SYSTEM_DIR}, which is used automatically when no mirrors are given), or\n"
        f"  - download the four files {names} from https://github.com/zalandoresearch/fashion-mnist and put "
        f"them in {root.resolve()}, or in a folder you pass with --mirror DIR "
        f"(mirrors=[DIR], or {MIRRORS_ENV}=DIR)."
    )


# --- arguments ----------------------------------------------------------------------------------------


def _check_root(root: str | os.PathLike[str]) -> Path:
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path, got {type(root).__name__}")
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"root {str(path)!r} exists and is not a folder")
    return path


def _sources(mirrors: Sequence[str | os.PathLike[str]] | None) -> list[str]:
    """The sources after ``root``, normalized: URLs end in "/", folders are absolute."""
    origin = "mirrors"
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV, "")
        if not env.strip():
            return [str(SYSTEM_DIR), *DEFAULT_MIRRORS]
        mirrors, origin = [item.strip() for item in env.split(",") if item.strip()], MIRRORS_ENV
    elif isinstance(mirrors, (str, os.PathLike)) or not isinstance(mirrors, Sequence):
        raise TypeError(
            f"mirrors must be a list of URLs or folders, got {mirrors!r}; wrap a single one in a list"
        )
    if not mirrors:
        raise ValueError("mirrors is empty; pass None for the defaults")
    return [_normalize_mirror(mirror, origin) for mirror in mirrors]


def _normalize_mirror(mirror: str | os.PathLike[str], origin: str = "mirror") -> str:
    if not isinstance(mirror, (str, os.PathLike)):
        raise TypeError(f"{origin}: a mirror must be a URL or a folder, got {type(mirror).__name__}")
    text = os.fspath(mirror)
    if not text:
        raise ValueError(f"{origin}: empty mirror")
    scheme, sep, rest = text.partition("://")
    if not sep:
        return str(Path(text).expanduser().resolve())
    if scheme.lower() not in ("http", "https") or not rest:
        raise ValueError(f"{origin}: {text!r} is neither an http(s):// URL nor a local folder")
    return f"{scheme.lower()}://{rest}" + ("" if rest.endswith("/") else "/")


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _pins(checksums: Mapping[str, str] | None) -> dict[str, str]:
    """Decompressed SHA-256 per file name: the real pins, overridden by ``checksums``."""
    pins = {spec.name: spec.sha256 for spec in FILES}
    if checksums is None:
        return pins
    if not isinstance(checksums, Mapping):
        raise TypeError(
            f"checksums must be a mapping of file name to SHA-256, got {type(checksums).__name__}"
        )
    for name, digest in checksums.items():
        if name not in pins:
            raise ValueError(f"checksums: unknown file {name!r}; the files are {', '.join(pins)}")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise ValueError(f"checksums[{name!r}] must be 64 lowercase hex digits, got {digest!r}")
        pins[name] = digest
    return pins


def _check_transfer_settings(timeout: object, retries: object, backoff: object) -> None:
    parts = timeout if isinstance(timeout, tuple) and len(timeout) == 2 else (timeout,)
    if not all(_is_real(part) and part > 0 for part in parts):
        raise ValueError(
            f"timeout must be a positive number of seconds or a (connect, read) pair, got {timeout!r}"
        )
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    if not _is_real(backoff) or backoff < 0:
        raise ValueError(f"backoff must be a non-negative number of seconds, got {backoff!r}")


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show_progress(quiet: bool | None) -> bool:
    if quiet is None:
        return sys.stderr.isatty()
    if not isinstance(quiet, bool):
        raise TypeError(f"quiet must be True, False or None, got {quiet!r}")
    return not quiet


# --- files in root: lock, temporaries, atomic installs, manifest ---------------------------------------


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """Create ``root`` and hold its lock; while held, any temporary in ``root`` is a killed run's leftover."""
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if fcntl is not None:
            fd = os.open(root, os.O_RDONLY)
            stack.callback(os.close, fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        for leftover in root.glob(f"{TEMP_PREFIX}*"):
            logger.info("removing %s, left over from an interrupted run", leftover)
            leftover.unlink(missing_ok=True)
        yield


def _stamp_of(stat: os.stat_result) -> dict[str, int]:
    # ctime besides mtime: tools that restore an old mtime (cp -p, rsync -t, touch -r) cannot set it back.
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns}


def _stamp(path: Path) -> dict[str, int] | None:
    """Cheap fingerprint of a file (size, mtime, ctime), None if it does not exist."""
    try:
        return _stamp_of(path.stat())
    except FileNotFoundError:
        return None


def _read_manifest(root: Path) -> dict[str, dict[str, Any]]:
    """The manifest's entries by ``.gz`` name; none if it is missing or unreadable (files get re-verified)."""
    try:
        data = json.loads((root / MANIFEST_NAME).read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", root / MANIFEST_NAME, exc)
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != _MANIFEST_FORMAT
        or not isinstance(data.get("files"), dict)
    ):
        return {}
    return {
        name: entry
        for name, entry in data["files"].items()
        if isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and isinstance(entry.get("source"), str)
    }


def _write_manifest(root: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    text = json.dumps({"format": _MANIFEST_FORMAT, "files": entries}, indent=2, sort_keys=True) + "\n"
    write_atomic(root / MANIFEST_NAME, lambda f: f.write(text.encode()))
