"""Test helpers for the downloader and the dataset: small synthetic Fashion-MNIST files, and a local HTTP
mirror whose answers can be scripted to fail the ways real mirrors do.

Nothing here reaches the internet: the server binds 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from npsoftmax.fetch import FILES
from npsoftmax.idx import write_idx

# 300 random training images make a ~235 kB .gz: several of the downloader's 64 kB chunks, so a body cut
# in half has delivered whole chunks to resume from.
N_TRAIN, N_TEST = 300, 50


@dataclass(frozen=True)
class SyntheticData:
    folder: Path
    checksums: dict[str, str]
    arrays: dict[str, np.ndarray]


def make_synthetic(folder: Path, seed: int = 0) -> SyntheticData:
    """Write the four files, random but well-formed, into ``folder``; return their pins and arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.permutation(np.arange(N_TRAIN) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.permutation(np.arange(N_TEST) % 10).astype(np.uint8),
    }
    assert list(arrays) == [spec.name for spec in FILES]
    folder.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for name, array in arrays.items():
        write_idx(folder / f"{name}.gz", array)
        checksums[name] = hashlib.sha256(gzip.decompress((folder / f"{name}.gz").read_bytes())).hexdigest()
    return SyntheticData(folder, checksums, arrays)


class FaultyMirror:
    """An HTTP mirror on 127.0.0.1 serving the ``.gz`` files of a folder under ``/fashion/``.

    ``script(name, *faults, then=...)`` makes the next requests for ``name`` fail with ``faults`` in turn,
    then answer with ``then`` for good. Faults: ``"ok"``, ``"404"``, ``"500"``, ``"html"`` (an error page
    with status 200), ``"cut"`` (full Content-Length, half the body, connection closed), ``"slow"`` (no
    answer until the test ends). Range requests get 206 unless ``range_support`` is False.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.range_support = True
        self.requests: list[tuple[str, str | None]] = []
        self._scripts: dict[str, tuple[list[str], str]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"mirror": self}))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/fashion"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def script(self, name: str, *faults: str, then: str = "ok") -> None:
        self._scripts[name] = (list(faults), then)

    def script_all(self, *faults: str, then: str = "ok") -> None:
        for spec in FILES:
            self.script(spec.gz_name, *faults, then=then)

    def requests_for(self, name: str) -> list[str | None]:
        """The Range header of each request for ``name``, in order."""
        return [range_header for requested, range_header in self.requests if requested == name]

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, name: str, range_header: str | None) -> str:
        with self._lock:
            self.requests.append((name, range_header))
            faults, then = self._scripts.get(name, ([], "ok"))
            return faults.pop(0) if faults else then


class _Handler(BaseHTTPRequestHandler):
    mirror: FaultyMirror

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

    def do_GET(self) -> None:
        name = self.path.removeprefix("/fashion/")
        fault = self.mirror._next(name, self.headers.get("Range"))
        path = self.mirror.folder / name
        if fault == "slow":
            self.mirror._release.wait(10)
            return
        if fault == "404" or not path.is_file():
            self.send_error(404)
            return
        if fault == "500":
            self.send_error(500)
            return
        if fault == "html":
            self._send(200, b"<!DOCTYPE html><html><body>Domain for sale</body></html>", "text/html")
            return
        body = path.read_bytes()
        etag = f'"{hashlib.md5(body).hexdigest()}"'
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        if match and self.mirror.range_support and if_range in (None, etag) and int(match[1]) < len(body):
            start = int(match[1])
            headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            status, body = 206, body[start:]
        else:
            status, headers = 200, {}
        headers |= {"ETag": etag, "Accept-Ranges": "bytes" if self.mirror.range_support else "none"}
        self._send(status, body, "application/gzip", headers, cut=fault == "cut")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        cut: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)
        self.wfile.flush()
