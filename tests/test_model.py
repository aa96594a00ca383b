"""SoftmaxRegression, SGD and the schedules."""

import io
import os
import pickle
import re
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

import npsoftmax as nps


def test_initialization_follows_d2l():
    net = nps.SoftmaxRegression(seed=0)
    assert net.W.shape == (784, 10) and net.b.shape == (10,)
    assert net.W.dtype == net.b.dtype == np.float32
    assert np.all(net.b == 0)
    assert abs(net.W.mean()) < 1e-3 and net.W.std() == pytest.approx(0.01, rel=0.02)
    assert np.array_equal(net.W, nps.SoftmaxRegression(seed=0).W)
    assert not np.array_equal(net.W, nps.SoftmaxRegression(seed=1).W)
    assert nps.SoftmaxRegression(dtype=np.float64).W.dtype == np.float64


def test_forward_matches_torch_linear_and_accepts_images():
    rng = np.random.default_rng(0)
    net = nps.SoftmaxRegression(seed=0, dtype=np.float64)
    net.b[:] = rng.normal(size=10)
    X = rng.uniform(size=(5, 1, 28, 28))
    expected = torch.tensor(X).reshape(5, -1) @ torch.tensor(net.W) + torch.tensor(net.b)
    # A logit sums 784 products and b: in any order, with or without FMA, each of the two computations errs by at
    # most 785 u times the sum of the terms' magnitudes (Higham, section 3.1), so they differ by at most
    # 785 eps times it; a probability's relative error is at most twice the largest logit error, plus a few eps.
    logit_bound = 785 * np.finfo(np.float64).eps * (np.abs(X.reshape(5, -1)) @ np.abs(net.W) + np.abs(net.b))
    logit_error = np.abs(net(X) - expected.numpy())
    worst = np.unravel_index(np.argmax(logit_error / logit_bound), logit_error.shape)
    assert np.all(logit_error <= logit_bound), (
        f"logit {worst}: error {logit_error[worst]:.2e}, expected at most {logit_bound[worst]:.2e}"
    )
    np.testing.assert_array_equal(net.forward(X.reshape(5, 28, 28)), net(X))
    proba = net.predict_proba(X)
    proba_rtol = 2 * logit_bound.max() + 16 * np.finfo(np.float64).eps
    np.testing.assert_allclose(proba, torch.softmax(expected, 1).numpy(), rtol=proba_rtol)
    np.testing.assert_array_equal(net.predict(X), expected.argmax(1).numpy())


def test_save_and_load_round_trip(tmp_path):
    net = nps.SoftmaxRegression(seed=3, dtype=np.float64)
    net.b += 0.5
    path = net.save(tmp_path / "model.npz")
    loaded = nps.SoftmaxRegression.load(path)
    np.testing.assert_array_equal(loaded.W, net.W)
    np.testing.assert_array_equal(loaded.b, net.b)
    assert loaded.dtype == np.float64
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


def _npz_with_forged_header(path, shape):
    """An .npz whose W header claims ``shape`` while holding only a few bytes of data."""
    np.savez(path, W=np.zeros((4, 3), np.float32), b=np.zeros(3, np.float32))
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    old = members["W.npy"]
    header_end = old.index(b"\n") + 1
    header = old[:header_end].replace(b"(4, 3)", repr(shape).encode())
    header = header[:-1].ljust(header_end - 1) + b"\n" if len(header) <= header_end else header
    members["W.npy"] = header + old[header_end:]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _write(path, maker):
    maker(path)
    return path


BAD_MODEL_FILES = {
    "empty": (lambda p: p.write_bytes(b""), "not an .npz file"),
    "bare-npy": (lambda p: np.save(open(p, "wb"), np.zeros((4, 3))), "not an .npz file"),
    "text": (lambda p: p.write_text("W = 1"), "not an .npz file"),
    "missing-arrays": (lambda p: np.savez(p, weights=np.zeros(3)), "no array 'W'"),
    "b-mismatch": (lambda p: np.savez(p, W=np.zeros((4, 3)), b=np.zeros(2)), r"b must have shape \(3,\)"),
    "zero-rows": (lambda p: np.savez(p, W=np.zeros((0, 10)), b=np.zeros(10)), "both >= 1"),
    "1-D-W": (lambda p: np.savez(p, W=np.zeros(12), b=np.zeros(3)), "W must be 2-D"),
    "integer": (lambda p: np.savez(p, W=np.zeros((4, 3), int), b=np.zeros(3, int)), "float32 or float64, got int64"),
    "complex-b": (lambda p: np.savez(p, W=np.zeros((4, 3)), b=np.zeros(3) + 1j), "float32 or float64, got complex"),
    "object": (lambda p: np.savez(p, W=np.array([None] * 12).reshape(4, 3), b=np.zeros(3)), "got object"),
    "nan": (lambda p: np.savez(p, W=np.full((4, 3), np.nan), b=np.zeros(3)), "NaN or infinite"),
    "huge-header": (lambda p: _npz_with_forged_header(p, (10**13, 3)), "claims shape"),
    "truncated-zip": (
        lambda p: (np.savez(p, W=np.zeros((40, 30)), b=np.zeros(30)), p.write_bytes(p.read_bytes()[:300])),
        "not an .npz file",
    ),
}


@pytest.mark.parametrize("case", BAD_MODEL_FILES)
def test_load_rejects_every_bad_file_with_a_value_error_naming_it(tmp_path, case):
    maker, message = BAD_MODEL_FILES[case]
    path = _write(tmp_path / "model.npz", maker)
    with pytest.raises(ValueError, match=message) as info:
        nps.SoftmaxRegression.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dtype": np.int32}, "^dtype must be float32 or float64, got int32$"),
        ({"dtype": np.float16}, "^dtype must be float32 or float64, got float16$"),
        ({"dtype": "fp32"}, "^dtype must be float32 or float64, got fp32$"),
        ({"num_inputs": 0}, r"^num_inputs must be an integer in \[1, inf\), got 0$"),
        ({"num_inputs": True}, r"^num_inputs must be an integer in \[1, inf\), got True$"),
        ({"num_outputs": 2.5}, r"^num_outputs must be an integer in \[1, inf\), got 2.5$"),
        ({"num_outputs": "10"}, r"^num_outputs must be an integer in \[1, inf\), got '10'$"),
        ({"seed": -1}, r"^seed must be an integer in \[0, inf\), got -1$"),
        ({"seed": False}, r"^seed must be an integer in \[0, inf\), got False$"),
    ],
)
def test_bad_model_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nps.SoftmaxRegression(**kwargs)


def test_numpy_integers_are_accepted_as_sizes_and_seeds():
    net = nps.SoftmaxRegression(np.int64(6), np.int32(3), seed=np.uint8(4))
    assert net.W.shape == (6, 3) and net.b.shape == (3,)
    np.testing.assert_array_equal(net.W, nps.SoftmaxRegression(6, 3, seed=4).W)


def test_forward_rejects_the_wrong_number_of_features():
    with pytest.raises(ValueError, match="100 features per example"):
        nps.SoftmaxRegression()(np.zeros((2, 10, 10)))


# ---------------------------------------------------------------------------------------------------------
# Files users hand us: only regular files are read, sizes are bounded, any byte order loads.

# The child prints the message, then its peak resident memory in KB (VmHWM: since its exec, unlike ru_maxrss,
# which Linux carries over from the parent pytest process). Its address space is capped at 3 GB, so that a load
# reading /dev/zero ends in a MemoryError instead of taking the machine's memory.
_LOAD_IN_A_CHILD = """
import re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import npsoftmax as nps
try:
    nps.SoftmaxRegression.load(sys.argv[1])
except ValueError as exc:
    print(exc)
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


@pytest.mark.parametrize(
    "kind, make, message",
    [
        ("dev-zero", lambda p: p.symlink_to("/dev/zero"), "is a character device, not a model file"),
        ("fifo", lambda p: os.mkfifo(p), r"is a FIFO \(named pipe\), not a model file"),
        ("directory", lambda p: p.mkdir(), "is a directory, not a model file"),
    ],
)
def test_load_reads_only_regular_files_quickly_in_bounded_memory(tmp_path, kind, make, message):
    """A real child process: a FIFO with no writer must not block it (the timeout bounds the wait), /dev/zero
    must not fill its memory."""
    path = tmp_path / "model.npz"
    make(path)
    child = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_CHILD, str(path)], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr
    first, max_rss_kb = child.stdout.splitlines()
    assert re.fullmatch(
        rf"{re.escape(str(path))} {message}; SoftmaxRegression\.load reads only regular files, "
        r"as SoftmaxRegression\.save writes them",
        first,
    ), first
    # Importing numpy and npsoftmax needs well under 300 MB; reading /dev/zero would need all there is.
    assert int(max_rss_kb) < 300_000, f"the child's peak memory was {max_rss_kb} KB, expected under 300000 KB"
    assert "Traceback" not in child.stderr


def test_load_refuses_a_file_too_large_to_be_a_model_before_reading_it(tmp_path):
    from npsoftmax.model import MAX_FILE_BYTES

    path = tmp_path / "model.npz"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used, but stat says 2 GB
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))} holds {MAX_FILE_BYTES + 1} bytes, more than"):
        nps.SoftmaxRegression.load(path)


def test_load_follows_a_symlink_to_a_model_and_says_when_there_is_no_file(tmp_path):
    net = nps.SoftmaxRegression(5, 3, seed=0)
    target = net.save(tmp_path / "real.npz")
    (tmp_path / "link.npz").symlink_to(target)
    np.testing.assert_array_equal(nps.SoftmaxRegression.load(tmp_path / "link.npz").W, net.W)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        nps.SoftmaxRegression.load(tmp_path / "missing.npz")
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "gone.npz")
    with pytest.raises(FileNotFoundError, match="dangling.npz"):
        nps.SoftmaxRegression.load(tmp_path / "dangling.npz")


def test_load_refuses_a_zip_listing_more_members_than_a_model_before_reading_the_list(tmp_path):
    from npsoftmax.model import MAX_ZIP_MEMBERS

    path = tmp_path / "model.npz"
    arrays = {"W": np.zeros((4, 3)), "b": np.zeros(3)} | {f"extra{i}": np.zeros(1) for i in range(MAX_ZIP_MEMBERS)}
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))} lists {MAX_ZIP_MEMBERS + 2} members in \d+ bytes"):
        nps.SoftmaxRegression.load(path)
    with zipfile.ZipFile(path, "a") as archive:  # a comment after the list: the record is found all the same
        archive.comment = b"x" * 1000
    with pytest.raises(ValueError, match=f"lists {MAX_ZIP_MEMBERS + 2} members"):
        nps.SoftmaxRegression.load(path)
    np.savez(path, W=np.zeros((4, 3)), b=np.zeros(3), note=np.zeros(1))  # a few extra members are fine
    assert nps.SoftmaxRegression.load(path).W.shape == (4, 3)


@pytest.mark.parametrize("dtype", [">f4", ">f8", "<f4", "<f8"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_a_model_saved_in_any_byte_order_loads_and_predicts_the_same(tmp_path, dtype, order):
    rng = np.random.default_rng(5)
    net = nps.SoftmaxRegression(784, 10, seed=1, dtype=np.dtype(dtype).newbyteorder("="))
    net.b[:] = rng.normal(size=10)
    np.savez(tmp_path / "model.npz", W=np.asarray(net.W, dtype=dtype, order=order), b=net.b.astype(dtype))
    loaded = nps.SoftmaxRegression.load(tmp_path / "model.npz")
    assert loaded.dtype == net.dtype and loaded.dtype.isnative and loaded.W.flags.c_contiguous
    np.testing.assert_array_equal(loaded.W, net.W)
    np.testing.assert_array_equal(loaded.b, net.b)
    X = rng.uniform(size=(50, 1, 28, 28)).astype(net.dtype)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_big_endian_arrays_of_two_precisions_are_still_refused(tmp_path):
    np.savez(tmp_path / "model.npz", W=np.zeros((4, 3), ">f4"), b=np.zeros(3, ">f8"))
    with pytest.raises(ValueError, match="W and b must share one dtype, got float32 and float64"):
        nps.SoftmaxRegression.load(tmp_path / "model.npz")


# ---------------------------------------------------------------------------------------------------------
# Malformed archives, built byte by byte: one ValueError naming the file, in memory bounded by what it declares.

_LOCAL_HEADER, _CENTRAL_HEADER = b"PK\x03\x04", b"PK\x01\x02"
# Offsets of the general-purpose flags, the compression method and the uncompressed size in each record.
_FIELDS = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "size": (22, 24, "<L")}


def _archive(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _model_members(W: np.ndarray | None = None, b: np.ndarray | None = None) -> dict[str, bytes]:
    members = {}
    for name, array in (
        ("W", np.zeros((4, 3), np.float32) if W is None else W),
        ("b", np.zeros(3, np.float32) if b is None else b),
    ):
        buffer = io.BytesIO()
        np.save(buffer, array)
        members[f"{name}.npy"] = buffer.getvalue()
    return members


def _set_field(raw: bytes, member: str, field: str, value: int) -> bytes:
    """``raw`` with ``field`` of ``member``'s local header and central directory entry set to ``value``."""
    local_at, central_at, fmt = _FIELDS[field]
    data = bytearray(raw)
    for signature, offset, name_at in ((_LOCAL_HEADER, local_at, 30), (_CENTRAL_HEADER, central_at, 46)):
        at = data.find(signature)
        while at >= 0:
            if data[at + name_at : at + name_at + len(member)] == member.encode():
                struct.pack_into(fmt, data, at + offset, value)
            at = data.find(signature, at + 4)
    return bytes(data)


def _npy_with_header(array: np.ndarray, shape_text: str, payload: bytes) -> bytes:
    """An .npy whose header claims ``shape_text``, followed by ``payload`` instead of the array's data."""
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": ()}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    text = buffer.getvalue().replace(b"()", shape_text.encode(), 1)
    magic_and_length = 10
    text = text[:-1].rstrip(b" ") + b" " * 64
    text = text[: (len(text) // 64) * 64 - 1] + b"\n"
    return text[:8] + struct.pack("<H", len(text) - magic_and_length) + text[magic_and_length:] + payload


def _load_traced(path):
    """``SoftmaxRegression.load(path)``'s ValueError and the peak of Python's allocations while it ran, in bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            nps.SoftmaxRegression.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(str(path)), info.value
    return info.value, peak


def test_a_negative_dimension_is_refused_before_the_member_is_inflated(tmp_path):
    # 64 MB of zeros deflate to 64 KB: reading the member whole would inflate all of it.
    members = _model_members()
    members["W.npy"] = _npy_with_header(np.zeros(1, np.float32), "(-1, 3)", bytes(64 << 20))
    path = tmp_path / "model.npz"
    path.write_bytes(_archive(members, zipfile.ZIP_DEFLATED))
    assert path.stat().st_size < 1 << 20
    error, peak = _load_traced(path)
    assert "negative dimension" in str(error)
    assert peak < 2 << 20, f"{peak} bytes allocated"


@pytest.mark.parametrize(
    "case, field, value, message",
    [
        ("encrypted", "flags", 0x1, "encrypted"),
        ("unknown-compression", "method", 99, "compression method"),
        ("declared-huge", "size", 0xFFFFFFFF, "truncated"),
    ],
)
def test_a_member_zipfile_cannot_read_is_a_value_error_naming_the_file(tmp_path, case, field, value, message):
    members = _model_members()
    # The header claims 120 MB, which the patched size declares: all that is read is what the file holds.
    members["W.npy"] = _npy_with_header(np.zeros(1, np.float32), "(10000000, 3)", bytes(48))
    path = tmp_path / "model.npz"
    path.write_bytes(_set_field(_archive(members), "W.npy", field, value))
    error, peak = _load_traced(path)
    assert message in str(error)
    assert peak < 2 << 20, f"{peak} bytes allocated"


@pytest.mark.parametrize(
    "compression",
    [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA],
    ids=["stored", "deflated", "bzip2", "lzma"],
)
def test_every_truncation_and_every_damaged_byte_loads_or_is_a_value_error_naming_the_file(tmp_path, compression):
    """A model archive cut at every length, and with each of its bytes in turn set to 0xFF (or 0x00 where it
    was 0xFF): each either loads (a byte that does not matter, such as a timestamp) or raises one ValueError
    that names the file, never another exception."""
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    raw = _archive(_model_members(W, b), compression)
    path = tmp_path / "model.npz"
    variants = [raw[:cut] for cut in range(len(raw))]
    variants += [raw[:i] + bytes([0x00 if raw[i] == 0xFF else 0xFF]) + raw[i + 1 :] for i in range(len(raw))]
    loaded = 0
    for variant in variants:
        path.write_bytes(variant)
        try:
            model = nps.SoftmaxRegression.load(path)
        except ValueError as exc:
            assert str(exc).startswith(str(path)), exc
        else:
            loaded += 1
            assert model.W.shape == (4, 3) and model.b.shape == (3,)
    assert loaded < len(raw), "most damage is noticed"


@pytest.mark.parametrize(
    "members, message",
    [
        ({"W.npy/": b"", "b.npy": b""}, "no array 'W'"),  # a folder entry
        ({"W": b"", "b": b""}, "no array 'W'"),
        ({"W.npy": b"W = [[1, 2]]", "b.npy": b""}, "malformed header"),
        ({"W.npy": pickle.dumps(np.zeros((4, 3))), "b.npy": b""}, "malformed header"),
    ],
)
def test_wrong_members_are_a_value_error_naming_the_file(tmp_path, members, message):
    path = tmp_path / "model.npz"
    path.write_bytes(_archive(members))
    with pytest.raises(ValueError, match=message) as info:
        nps.SoftmaxRegression.load(path)
    assert str(info.value).startswith(str(path))


# ---------------------------------------------------------------------------------------------------------
# Large inputs: converted in chunks, in the model's dtype, never as a float copy of the whole input


@pytest.mark.parametrize("input_dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("method", ["predict_proba", "predict", "forward"])
def test_large_inputs_take_memory_a_fraction_of_their_size_and_give_the_plain_numbers(input_dtype, method):
    rng = np.random.default_rng(0)
    net = nps.SoftmaxRegression(seed=0)
    net.b[:] = rng.normal(size=10)
    images = rng.integers(0, 256, size=(20_000, 28, 28), dtype=np.uint8).astype(input_dtype)
    if input_dtype == np.float64:
        images /= 255
    tracemalloc.start()
    try:
        result = getattr(net, method)(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The plain computation made a float64 copy of everything, then a float32 one: 12 times uint8 input.
    assert peak < images.nbytes / 2 + result.nbytes, (
        f"{method} on {images.nbytes} bytes of {images.dtype} allocated {peak} bytes at its peak"
    )

    # The same numbers as the plain computation in float64, within float32's error: a logit sums 784 products
    # and b, each computation erring by at most 785 u times the sum of the terms' magnitudes (Higham, section
    # 3.1); a probability's relative error is at most twice the largest logit error, plus a few eps.
    X = torch.from_numpy(images.reshape(len(images), -1).astype(np.float64))
    W, b = torch.from_numpy(net.W.astype(np.float64)), torch.from_numpy(net.b.astype(np.float64))
    logits = X @ W + b
    bound = (785 * np.finfo(np.float32).eps * (X.abs() @ W.abs() + b.abs())).numpy()
    if method == "forward":
        assert result.dtype == np.float32 and np.all(np.abs(result - logits.numpy()) <= bound)
    elif method == "predict_proba":
        rtol = 2 * bound.max() + 16 * np.finfo(np.float32).eps
        assert result.dtype == np.float32
        np.testing.assert_allclose(result, torch.softmax(logits, 1).numpy(), rtol=rtol, atol=1e-30)
    else:
        # Where the two best logits are further apart than the error bound, the argmax is the same.
        top2 = np.sort(logits.numpy(), axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 2 * bound.max(axis=1)
        assert clear.mean() > 0.99
        np.testing.assert_array_equal(result[clear], logits.argmax(1).numpy()[clear])


def test_a_chunked_forward_checks_the_input_as_before():
    net = nps.SoftmaxRegression()
    with pytest.raises(ValueError, match=r"100 features per example \(shape \(2, 10, 10\)\)"):
        net.forward(np.zeros((2, 10, 10), np.uint8))
    with pytest.raises(ValueError, match=r"got shape \(784,\)"):
        net.predict(np.zeros(784, np.uint8))
    with pytest.raises(TypeError, match="complex"):
        net.predict_proba(np.zeros((2, 784), complex))
    with pytest.raises(TypeError, match="must hold real numbers, got dtype <U1"):
        net.predict_proba(np.full((2, 784), "a"))
    assert net.predict_proba(np.zeros((0, 28, 28), np.uint8)).shape == (0, 10)
    assert net.forward(np.ones((3, 1, 28, 28), bool)).dtype == np.float32
