"""A mirror on 127.0.0.1 that serves a folder's files and misbehaves on request, as broken or hostile mirrors do.

Nothing here reaches the internet: the server binds an ephemeral port on 127.0.0.1 and stops with the test.
"""

from __future__ import annotations

import functools
import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DRIP_SECONDS = 0.2
# A gzip header, then empty stored deflate blocks: valid gzip that decompresses to nothing, for ever.
GZIP_HEADER, EMPTY_BLOCK = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"\x00\x00\x00\xff\xff"


class HostileMirror:
    """Serves ``folder``'s files at ``url``; ``behave(name, *modes)`` scripts the answers to the requests for
    ``name`` (or for every file when ``name`` is None), the last mode repeating.

    Modes: ``ok``; ``404``; ``500``; ``html`` (an error page with status 200); ``cut`` (full Content-Length,
    half the body, then the connection closes); ``stall`` (the same, but the connection stays open); ``hang``
    (no answer until the server stops); ``endless`` (no length, valid gzip that never ends); ``gzip`` (the
    file gzipped again, with ``Content-Encoding: gzip``); ``drip`` (one byte every DRIP_SECONDS);
    ``bad-length`` (``Content-Length: ²``); ``bomb`` (a gzip of zeros, 64 MB decompressed).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: list[str] = []
        self.authorization: list[str | None] = []
        self._scripts: dict[str | None, list[str]] = {}
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Handler,), {"mirror": self}))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def behave(self, name: str | None, *modes: str) -> None:
        if "bomb" in modes:
            _bomb()  # made now: compressing 64 MB while the client waits would read as a stalled mirror
        self._scripts[name] = list(modes)

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _mode(self, name: str) -> str:
        script = self._scripts.get(name, self._scripts.get(None, ["ok"]))
        return script.pop(0) if len(script) > 1 else script[0]


@functools.cache
def _bomb() -> bytes:
    bomber, zeros = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(1 << 20)
    return b"".join([*(bomber.compress(zeros) for _ in range(64)), bomber.flush()])


class _Handler(BaseHTTPRequestHandler):
    mirror: HostileMirror

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.mirror.requests.append(name)
        self.mirror.authorization.append(self.headers.get("Authorization"))
        mode, path = self.mirror._mode(name), self.mirror.folder / name
        try:
            if mode == "hang":
                self.mirror._stop.wait(60)
            elif mode in ("404", "500"):
                self.send_error(int(mode))
            elif mode == "html":
                self._send(b"<!DOCTYPE html><html><body>Domain for sale</body></html>")
            elif mode == "endless":
                self._send(GZIP_HEADER, length=None)
                while not self.mirror._stop.is_set():
                    self.wfile.write(EMPTY_BLOCK * 10_000)
            elif mode == "bomb":
                self._send(_bomb())
            elif not path.is_file():
                self.send_error(404)
            elif mode == "gzip":
                self._send(gzip.compress(path.read_bytes()), headers={"Content-Encoding": "gzip"})
            elif mode == "bad-length":
                self._send(path.read_bytes(), headers={"Content-Length": "²"}, length=None)
            elif mode == "drip":
                self._send(b"", length=path.stat().st_size)
                for byte in path.read_bytes():
                    if self.mirror._stop.wait(DRIP_SECONDS):
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                body = path.read_bytes()
                self._send(body[: len(body) // 2] if mode in ("cut", "stall") else body, length=len(body))
                if mode == "stall":
                    self.mirror._stop.wait(60)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def _send(self, body: bytes, headers: dict[str, str] | None = None, length: int | None = -1) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        if length is not None:
            self.send_header("Content-Length", str(len(body) if length == -1 else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
