"""The IDX file format of (Fashion-)MNIST, read and written with validation.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one big-endian
uint32 per dimension, then the payload in C order. Only type code 0x08 (unsigned byte) occurs in
Fashion-MNIST, so it is the only one supported. A name ending in ``.gz`` means the file is gzip-compressed.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

__all__ = ["IDXError", "read_idx", "write_idx"]

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


class IDXError(ValueError):
    """A file is not a valid IDX file of unsigned bytes; the message names the file and the defect."""


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzip-compressed when the name ends in ``.gz``.

    Parameters
    ----------
    path : str or path-like
        The file. ``.gz`` files are decompressed on the fly.

    Returns
    -------
    ndarray of uint8, shape (d_1, ..., d_k)
        The payload, writable, with the dimensions the header declares (e.g. (60000, 28, 28) for images,
        (60000,) for labels).

    Raises
    ------
    IDXError
        On a bad magic number, a type code other than 0x08, zero dimensions, a header or payload shorter
        than the dimensions require, bytes after the payload, or corrupt or truncated gzip data.
    FileNotFoundError
        When ``path`` does not exist (not a format problem, so not an ``IDXError``).
    """
    path = os.fspath(path)
    compressed = path.endswith(".gz")
    with open(path, "rb") as raw:
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            return _parse(stream, path)
        except gzip.BadGzipFile as exc:
            raise IDXError(f"{path}: not valid gzip data ({exc})") from exc
        except EOFError as exc:
            raise IDXError(f"{path}: gzip data ends early, the file is truncated ({exc})") from exc
        except zlib.error as exc:
            raise IDXError(f"{path}: corrupt gzip data ({exc})") from exc


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
        raise TypeError(
            f"write_idx writes uint8 arrays only, got {got}; convert with .astype(np.uint8) first"
        )
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


def _parse(stream: BinaryIO, path: str) -> np.ndarray:
    magic = _read_at_most(stream, 4)
    if len(magic) < 4:
        raise IDXError(f"{path}: {len(magic)} bytes long, too short for the 4-byte IDX magic number")
    if magic[0] or magic[1]:
        raise IDXError(f"{path}: bad magic number 0x{magic.hex()}; an IDX file starts with two zero bytes")
    type_code, ndim = magic[2], magic[3]
    if type_code != _UNSIGNED_BYTE:
        kind = _TYPE_NAMES.get(type_code, "unknown")
        raise IDXError(
            f"{path}: type code 0x{type_code:02x} ({kind}) is not supported, only 0x08 (unsigned byte)"
        )
    if ndim == 0:
        raise IDXError(f"{path}: the header declares 0 dimensions")
    dims_bytes = _read_at_most(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise IDXError(
            f"{path}: the header declares {ndim} dimensions but ends after {len(dims_bytes) // 4} of them"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    expected = math.prod(shape)
    # One byte more than the shape needs, to tell "exact" from "trailing garbage" without reading the rest.
    payload = _read_at_most(stream, expected + 1)
    if len(payload) < expected:
        raise IDXError(
            f"{path}: payload is {len(payload)} bytes but the dimensions {shape} need {expected}; "
            "the file is truncated"
        )
    if len(payload) > expected:
        raise IDXError(f"{path}: unexpected bytes after the {expected}-byte payload of dimensions {shape}")
    try:
        return np.frombuffer(payload, dtype=np.uint8).reshape(shape)
    except ValueError as exc:
        raise IDXError(f"{path}: dimensions {shape} cannot be represented as an array ({exc})") from exc


def _read_at_most(stream: BinaryIO, n_bytes: int) -> bytearray:
    """Read up to ``n_bytes``, growing with what actually arrives.

    A corrupt header can claim gigabytes; reading in chunks keeps memory bounded by the real content,
    where ``stream.read(n_bytes)`` would allocate the claimed size up front. The bytearray makes the array
    built on it writable without a copy.
    """
    data = bytearray()
    while len(data) < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - len(data)))
        if not chunk:
            break
        data += chunk
    return data
