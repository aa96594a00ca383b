"""The IDX file format of (Fashion-)MNIST, read and written with validation.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one big-endian
uint32 per dimension, then the payload in C order. Only type code 0x08 (unsigned byte) occurs in
Fashion-MNIST, so it is the only one supported. A name ending in ``.gz`` means the file is gzip-compressed.

:func:`parse_idx` is the one parser: :func:`read_idx` runs it on a file, and :mod:`npsoftmax.data` on a
download while it is being decompressed. Memory is bounded by what really arrives, or, when the expected shape
is known, by that shape, checked against the header before anything is allocated.
"""

from __future__ import annotations

import errno
import gzip
import math
import os
import stat
import struct
import zlib
from typing import BinaryIO, Protocol

import numpy as np

__all__ = ["IDXError", "open_regular", "parse_idx", "read_idx", "write_idx"]

_UNSIGNED_BYTE = 0x08
_TYPE_NAMES = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
_CHUNK = 1 << 20
_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
_KINDS |= {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


class IDXError(ValueError):
    """Data is not a valid IDX file of unsigned bytes (of the expected shape); the message names the file and
    the defect."""


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for reading in binary mode if it is a regular file (a symlink is followed).

    A device, FIFO, socket or folder raises OSError (EINVAL) saying what it is, without blocking on it or
    reading from it: ``/dev/zero`` or a FIFO under a file's name would otherwise read for ever or hang.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a file")
            raise OSError(errno.EINVAL, f"not a regular file but {kind}", os.fspath(path))
        return open(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_idx(path: str | os.PathLike[str], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzip-compressed when the name ends in ``.gz``.

    Parameters
    ----------
    path : str or path-like
        A regular file. ``.gz`` files are decompressed on the fly.
    shape : tuple of int, optional
        The shape the file must hold; any other in the header is refused before the payload is read.

    Returns
    -------
    ndarray of uint8, shape (d_1, ..., d_k)
        The payload, writable, with the dimensions the header declares (e.g. (60000, 28, 28) for images,
        (60000,) for labels).

    Raises
    ------
    IDXError
        On a bad magic number, a type code other than 0x08, zero dimensions, dimensions other than ``shape``,
        a header or payload shorter than the dimensions require, bytes after the payload, or corrupt or
        truncated gzip data.
    FileNotFoundError
        When ``path`` does not exist (not a format problem, so not an ``IDXError``).
    OSError
        When ``path`` is a device, FIFO, socket or folder, or cannot be read.
    """
    path = os.fspath(path)
    with open_regular(path) as raw:
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if path.endswith(".gz") else raw
        try:
            return parse_idx(stream, shape=shape, name=path)
        except gzip.BadGzipFile as exc:
            raise IDXError(f"{path}: not valid gzip data ({exc})") from exc
        except EOFError as exc:
            raise IDXError(f"{path}: gzip data ends early, the file is truncated ({exc})") from exc
        except zlib.error as exc:
            raise IDXError(f"{path}: corrupt gzip data ({exc})") from exc


def parse_idx(stream: Readable, *, shape: tuple[int, ...] | None = None, name: str | None = None) -> np.ndarray:
    """Parse IDX data from ``stream``, read in chunks: a file, a gzip stream, or a download as it arrives.

    Parameters
    ----------
    stream : object with ``read(n)``
        Returns at most ``n`` bytes, ``b""`` at the end. Its own errors (e.g. a failed download) propagate.
    shape : tuple of int, optional
        The shape expected. The header must declare exactly it, and the payload is then read into an array
        allocated for it; without, memory grows only with the bytes that arrive, whatever the header claims.
    name : str, optional
        Put before every message (a path, a file name).

    Returns
    -------
    ndarray of uint8, shape (d_1, ..., d_k)
        Writable, with the dimensions of the header.

    Raises
    ------
    IDXError
        As :func:`read_idx`.
    """

    def fail(message: str) -> IDXError:
        return IDXError(f"{name}: {message}" if name else message)

    magic = _read_at_most(stream, 4)
    if len(magic) < 4:
        raise fail(f"{len(magic)} bytes long, too short for the 4-byte IDX magic number")
    if magic[0] or magic[1]:
        raise fail(f"bad magic number 0x{magic.hex()}; an IDX file starts with two zero bytes")
    type_code, ndim = magic[2], magic[3]
    if type_code != _UNSIGNED_BYTE:
        kind = _TYPE_NAMES.get(type_code, "unknown")
        raise fail(f"type code 0x{type_code:02x} ({kind}) is not supported, only 0x08 (unsigned byte)")
    if ndim == 0:
        raise fail("the header declares 0 dimensions")
    dims_bytes = _read_at_most(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise fail(f"the header declares {ndim} dimensions but ends after {len(dims_bytes) // 4} of them")
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    if shape is not None and dims != tuple(shape):
        raise fail(f"the header declares dimensions {dims}, where {tuple(shape)} are expected")
    expected = math.prod(dims)
    payload = _read_at_most(stream, expected, np.empty(expected, np.uint8) if shape is not None else None)
    if len(payload) < expected:
        raise fail(f"payload is {len(payload)} bytes but the dimensions {dims} need {expected}; the file is truncated")
    if stream.read(1):
        raise fail(f"unexpected bytes after the {expected}-byte payload of dimensions {dims}")
    try:
        return np.frombuffer(payload, dtype=np.uint8).reshape(dims)
    except ValueError as exc:
        raise fail(f"dimensions {dims} cannot be represented as an array ({exc})") from exc


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file of unsigned bytes, gzip-compressed when the name ends in ``.gz``.

    The gzip header carries no time stamp and no file name, so equal arrays give byte-identical files.
    The write is not atomic: this is for making test fixtures and exports, not for the download cache.

    Parameters
    ----------
    path : str or path-like
    array : ndarray of uint8, shape (d_1, ..., d_k), k >= 1
        Every dimension must fit in a uint32.

    Raises
    ------
    TypeError
        When ``array`` is not a uint8 ndarray.
    ValueError
        When it has no dimensions or one that does not fit in a uint32.
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(f"write_idx writes uint8 arrays only, got {got}; convert with .astype(np.uint8) first")
    if array.ndim == 0:
        raise ValueError("write_idx needs an array with at least one dimension, got a 0-d array")
    if max(array.shape) > 0xFFFFFFFF:
        raise ValueError(f"every dimension must fit in a uint32, got shape {array.shape}")
    header = bytes([0, 0, _UNSIGNED_BYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array).data
    path = os.fspath(path)
    with open(path, "wb") as raw:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", filename="", mtime=0) as compressed:
                compressed.write(header)
                compressed.write(payload)
        else:
            raw.write(header)
            raw.write(payload)


def _read_at_most(stream: Readable, n_bytes: int, into: np.ndarray | None = None) -> bytearray | memoryview:
    """Read up to ``n_bytes``: into ``into`` (of ``n_bytes`` bytes) when given, else into a bytearray that grows
    with what actually arrives.

    A corrupt header can claim gigabytes; ``stream.read(n_bytes)`` would allocate the claim up front. Both
    results are writable, so the array built on them is too, without a copy.
    """
    data = bytearray() if into is None else memoryview(into)
    filled = 0
    while filled < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - filled))
        if not chunk:
            break
        data[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    return data if into is None else data[:filled]
