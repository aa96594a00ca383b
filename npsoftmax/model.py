"""The model: ``softmax(X @ W + b)`` with d2l's initialization, ``W ~ N(0, 0.01)``, ``b = 0``."""

from __future__ import annotations

import math
import os
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._blas import one_blas_thread
from ._io import write_atomic
from .losses import softmax
from .validation import check_float_array, check_float_dtype, check_problem, check_scalar, flatten_examples

__all__ = ["SoftmaxRegression"]


class SoftmaxRegression:
    """Softmax regression: logits ``X @ W + b``, probabilities ``softmax(logits)``.

    Parameters
    ----------
    num_inputs : int, default 784
        Features per example (28 * 28 pixels).
    num_outputs : int, default 10
        Classes.
    seed : int >= 0 or None
        Seed of the ``W ~ N(0, 0.01)`` draw; None draws fresh entropy.
    dtype : float32 or float64, default float32

    Attributes
    ----------
    W : ndarray of shape (num_inputs, num_outputs)
    b : ndarray of shape (num_outputs,)
    """

    def __init__(
        self, num_inputs: int = 784, num_outputs: int = 10, seed: int | None = None, dtype: DTypeLike = np.float32
    ) -> None:
        dtype = check_float_dtype(dtype)
        num_inputs = check_scalar(num_inputs, "num_inputs", int, min_val=1)
        num_outputs = check_scalar(num_outputs, "num_outputs", int, min_val=1)
        if seed is not None:
            seed = check_scalar(seed, "seed", int, min_val=0)
        rng = np.random.default_rng(seed)
        self.W = rng.normal(0.0, 0.01, size=(num_inputs, num_outputs)).astype(dtype)
        self.b = np.zeros(num_outputs, dtype=dtype)

    @property
    def params(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)``, the arrays an optimizer updates in place."""
        return self.W, self.b

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    def forward(self, X: ArrayLike) -> np.ndarray:
        """Logits ``X @ W + b`` of shape (n, num_outputs); ``X`` is (n, d) or images (n, 28, 28) / (n, 1, 28, 28).

        ``X`` of another dtype than the model's (uint8 pixels, float64) is converted a few thousand rows at a
        time, so the memory used beyond ``X`` and the logits is a few MB whatever its size, not a float copy of
        it (8 times the size of uint8 pixels).
        """
        X = np.asarray(X)
        # Checked as flatten_examples checks, on stand-ins that hold no data: only the dtype, only the shape.
        check_float_array("X", np.empty(0, X.dtype), finite=False)
        flatten_examples(np.broadcast_to(np.empty((), self.dtype), X.shape), self.W.shape[0])
        d, k = self.W.shape
        if X.dtype == self.dtype:
            logits = X.reshape(len(X), d) @ self.W
        else:
            logits = np.empty((len(X), k), self.dtype)
            converted = np.empty((max(1, min(len(X), _CONVERTED_BYTES // (d * self.dtype.itemsize))), d), self.dtype)
            with one_blas_thread():  # the chunks' products are small, as a batch's are
                for start in range(0, len(X), len(converted)):
                    rows = X[start : start + len(converted)].reshape(-1, d)
                    converted[: len(rows)] = rows  # cast into the model's dtype
                    np.matmul(converted[: len(rows)], self.W, out=logits[start : start + len(rows)])
        logits += self.b
        return logits

    __call__ = forward

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities ``softmax(X @ W + b)``, shape (n, num_outputs), rows summing to 1; memory as
        :meth:`forward`."""
        return softmax(self.forward(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each example, int64 of shape (n,); memory as :meth:`forward`."""
        return self.forward(X).argmax(axis=1)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``W`` and ``b`` to an ``.npz`` file atomically (a temporary file, then a rename)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        return write_atomic(path, lambda f: np.savez(f, W=self.W, b=self.b))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SoftmaxRegression:
        """Read a model written by :meth:`save` (or by ``np.savez`` with arrays ``W`` and ``b``).

        Arrays stored in either byte order load as native float32 or float64. Only a regular file is read:
        a symlink is followed, but a directory, a device (such as ``/dev/zero``), a FIFO or a socket is
        refused before a byte is read, and so is a file larger than :data:`MAX_FILE_BYTES` or a zip listing more
        than :data:`MAX_ZIP_MEMBERS` members.

        Raises ``ValueError`` naming the file and the problem for anything that is not such a model: not a
        regular file, too large or listing too many members, empty, truncated, not an ``.npz`` (a bare ``.npy``
        among them), a zip this reader cannot open (an encrypted member, an unknown compression method, damaged
        records), missing arrays, shapes that do not fit, are empty or negative, a dtype other than
        float32/float64 (complex, integer, object), or array headers claiming more data than the file declares.
        Sizes are checked before anything is allocated or inflated, so memory stays within the sizes the file
        declares (at most :data:`MAX_ARRAY_BYTES` an array), and pickles are refused. ``FileNotFoundError`` if
        there is no file.
        """
        with _open_regular_file(path) as f:
            try:
                _check_zip_directory(f, path)
                with zipfile.ZipFile(f) as archive:
                    W, b = (_read_npz_member(archive, name, path) for name in ("W", "b"))
            except (_NotAModel, MemoryError):
                raise
            except Exception as exc:
                # zipfile and its decompressors fail in many ways on a damaged or hostile archive (BadZipFile,
                # EOFError, zlib.error, RuntimeError for an encrypted member, NotImplementedError for an unknown
                # compression method, OSError from bz2, ...): every one means the same to the caller.
                raise _NotAModel(
                    f"{path} is not an .npz file SoftmaxRegression can read ({_describe(exc)}); "
                    f"a model file is written by SoftmaxRegression.save"
                ) from None
        if W.ndim != 2 or b.ndim != 1:
            raise ValueError(f"{path}: W must be 2-D and b 1-D, got shapes {W.shape} and {b.shape}")
        if W.dtype != b.dtype:
            raise ValueError(f"{path}: W and b must share one dtype, got {W.dtype} and {b.dtype}")
        try:
            check_problem(np.zeros((1, W.shape[0]), W.dtype), np.zeros(1, np.int64), W, b)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        model = cls.__new__(cls)
        model.W, model.b = W, b
        return model

    def __repr__(self) -> str:
        d, k = self.W.shape
        return f"SoftmaxRegression(num_inputs={d}, num_outputs={k}, dtype={self.dtype.name})"


# X in another dtype than the model's is converted this many bytes at a time (1,337 rows of 784 float32 pixels):
# enough rows for an efficient product, a few MB next to inputs of hundreds.
_CONVERTED_BYTES = 1 << 22
# A model's arrays are a few hundred KB; a header claiming more than this is not a model.
MAX_ARRAY_BYTES = 1 << 30
# Two arrays and the zip's own records: a larger file is not a model, and is not read.
MAX_FILE_BYTES = 2 * MAX_ARRAY_BYTES + (1 << 20)
# np.savez lists two members; zipfile holds a file's whole list of members in memory, so a longer list is not
# read. (A member's entry is 46 bytes plus its name.)
MAX_ZIP_MEMBERS = 16
MAX_ZIP_DIRECTORY_BYTES = 1 << 16
_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")  # the zip's last record: its list's length and size


class _NotAModel(ValueError):
    """A refusal that already names the file; any other failure while reading it is worded into one."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_FILE_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISSOCK: "a socket",
}


def _open_regular_file(path: str | os.PathLike):
    """``path`` opened for binary reading, if it is a regular file of at most :data:`MAX_FILE_BYTES`.

    The file is opened without blocking (a FIFO with no writer would otherwise wait forever) and its type
    is read from the open descriptor, so what is checked is what is read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except IsADirectoryError:  # where a directory cannot even be opened
        mode = stat.S_IFDIR
    else:
        info = os.fstat(fd)
        mode, size = info.st_mode, info.st_size
        if stat.S_ISREG(mode) and size <= MAX_FILE_BYTES:
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        os.close(fd)
        if stat.S_ISREG(mode):
            raise _NotAModel(f"{path} holds {size} bytes, more than a model file can ({MAX_FILE_BYTES}); not a model")
    kind = next((name for is_kind, name in _FILE_KINDS.items() if is_kind(mode)), "not a regular file")
    raise _NotAModel(
        f"{path} is {kind}, not a model file; SoftmaxRegression.load reads only regular files, "
        f"as SoftmaxRegression.save writes them"
    )


def _check_zip_directory(f, path: str | os.PathLike) -> None:
    """Refuse a zip listing more members, or a longer list, than a model file has, before zipfile reads it.

    The end-of-directory record sits in the file's last 22 bytes, or up to 64 KB before them (a comment may
    follow it). A file without one is left to zipfile, which says it is not a zip.
    """
    size = os.fstat(f.fileno()).st_size
    tail_bytes = min(size, _END_OF_DIRECTORY.size + 0xFFFF)
    f.seek(size - tail_bytes)
    tail = f.read(tail_bytes)
    f.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END_OF_DIRECTORY.size:
        return
    _, _, _, _, n_members, directory_bytes, _, _ = _END_OF_DIRECTORY.unpack_from(tail, at)
    if n_members > MAX_ZIP_MEMBERS or directory_bytes > MAX_ZIP_DIRECTORY_BYTES:
        raise _NotAModel(
            f"{path} lists {n_members} members in {directory_bytes} bytes; a model file holds two arrays, W and b "
            f"(at most {MAX_ZIP_MEMBERS} members, {MAX_ZIP_DIRECTORY_BYTES} bytes of list are read)"
        )


def _read_npz_member(archive: zipfile.ZipFile, name: str, path: str | os.PathLike) -> np.ndarray:
    """Array ``name`` of an open ``.npz``, after checking its header against the bytes actually stored."""
    try:
        info = archive.getinfo(f"{name}.npy")
    except KeyError:
        raise _NotAModel(f"{path} is not a SoftmaxRegression file: no array {name!r}") from None
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(f)
        except ValueError as exc:
            raise _NotAModel(f"{path}: array {name!r} has a malformed header ({exc})") from None
        try:
            native = check_float_dtype(dtype, name)
        except ValueError as exc:
            raise _NotAModel(f"{path}: {exc}") from None
        declared = info.file_size - f.tell()
        if any(n < 0 for n in shape):
            raise _NotAModel(f"{path}: array {name!r} claims shape {shape}, with a negative dimension")
        n_bytes = math.prod(shape) * dtype.itemsize
        if n_bytes > min(declared, MAX_ARRAY_BYTES):
            raise _NotAModel(
                f"{path}: array {name!r} claims shape {shape} ({n_bytes} bytes) but the file declares "
                f"{declared} bytes of it (a model's array holds at most {MAX_ARRAY_BYTES})"
            )
        data = f.read(n_bytes)
    if len(data) != n_bytes:
        raise _NotAModel(f"{path}: array {name!r} is truncated ({len(data)} of {n_bytes} bytes)")
    stored = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran_order else "C")
    return stored.astype(native, order="C")  # a copy, as save() writes it: native byte order, C order
