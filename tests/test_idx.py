"""IDX reading and writing: round trips, and a clear IDXError naming the file for every malformed case."""

import gzip
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from npsoftmax.idx import IDXError, open_regular, parse_idx, read_idx, write_idx


def _header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 28, 28), (2, 3, 4, 5), (0, 28, 28)])
def test_round_trip(tmp_path, name, shape):
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)),
    gz=st.booleans(),
)
def test_round_trip_property(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a.gz" if gz else "a")
    write_idx(path, array)
    np.testing.assert_array_equal(read_idx(path), array)


def test_raw_layout_is_big_endian_header_then_c_order_payload(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "a", array)
    assert (tmp_path / "a").read_bytes() == b"\x00\x00\x08\x02" + b"\x00\x00\x00\x02\x00\x00\x00\x03" + bytes(range(6))


def test_non_contiguous_arrays_are_written_in_c_order(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4).T
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)


def test_gzip_output_is_deterministic(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_reads_real_fashion_mnist_header_layout(tmp_path):
    # The layout of the real label files: magic 0x00000801, one dimension.
    raw = b"\x00\x00\x08\x01\x00\x00\x00\x03" + bytes([9, 0, 3])
    (tmp_path / "labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels-idx1-ubyte.gz"), [9, 0, 3])


MALFORMED = {
    "empty": (b"", "too short for the 4-byte IDX magic"),
    "short magic": (b"\x00\x00\x08", "too short"),
    "nonzero first bytes": (
        b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00",
        "bad magic number 0x01000801",
    ),
    "float32 type code": (_header(0x0D, (1,)) + b"\x00" * 4, "type code 0x0d (float32) is not supported"),
    "unknown type code": (_header(0x42, (1,)) + b"\x00", "type code 0x42 (unknown)"),
    "zero dimensions": (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    "header cut in the dimensions": (
        b"\x00\x00\x08\x03" + struct.pack(">I", 2),
        "declares 3 dimensions but ends after 1",
    ),
    "short payload": (
        _header(0x08, (2, 3)) + b"\x00" * 5,
        "payload is 5 bytes but the dimensions (2, 3) need 6",
    ),
    "no payload": (_header(0x08, (60000, 28, 28)), "payload is 0 bytes"),
    "trailing bytes": (_header(0x08, (2,)) + b"\x00" * 3, "unexpected bytes after the 2-byte payload"),
}


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_content_raises_idx_error_naming_file_and_defect(tmp_path, case, gz):
    content, expected = MALFORMED[case]
    path = tmp_path / ("bad-idx-ubyte.gz" if gz else "bad-idx-ubyte")
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(IDXError, match="bad-idx-ubyte") as info:
        read_idx(path)
    assert expected in str(info.value)
    assert isinstance(info.value, ValueError)


def _valid_gz(n: int = 2000) -> bytes:
    array = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8)
    return gzip.compress(_header(0x08, (n,)) + array.tobytes())


def test_not_gzip_under_gz_name(tmp_path):
    path = tmp_path / "page.gz"
    path.write_bytes(b"<html><body>404 Not Found</body></html>")
    with pytest.raises(IDXError, match=r"page\.gz: not valid gzip data"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(_valid_gz()[:-100])
    with pytest.raises(IDXError, match=r"cut\.gz: gzip data ends early"):
        read_idx(path)


def test_corrupt_deflate_stream(tmp_path):
    data = bytearray(_valid_gz())
    data[20:40] = b"\xff" * 20
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=r"corrupt\.gz: (corrupt gzip data|not valid gzip data|gzip data ends early)"):
        read_idx(path)


def test_crc_mismatch(tmp_path):
    data = bytearray(_valid_gz())
    data[-8] ^= 0xFF  # the CRC32 of the trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXError, match=r"crc\.gz: not valid gzip data \(CRC check failed"):
        read_idx(path)


def test_huge_declared_shape_fails_without_allocating_it(tmp_path):
    path = tmp_path / "huge-idx-ubyte"
    path.write_bytes(_header(0x08, (0xFFFFFFFF, 0xFFFFFFFF)) + b"\x00" * 10)
    with pytest.raises(IDXError, match="payload is 10 bytes"):
        read_idx(path)


def test_missing_file_is_file_not_found_not_idx_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.gz")


@pytest.mark.parametrize(
    ("array", "error", "match"),
    [
        (np.zeros(3, np.int64), TypeError, "uint8 arrays only, got int64"),
        (np.zeros(3, np.float32), TypeError, "got float32"),
        ([1, 2, 3], TypeError, "got list"),
        (np.array(3, dtype=np.uint8), ValueError, "at least one dimension"),
    ],
)
def test_write_idx_rejects_what_idx_cannot_hold(tmp_path, array, error, match):
    with pytest.raises(error, match=match):
        write_idx(tmp_path / "x", array)
    assert not (tmp_path / "x").exists()


class Chunks:
    """A stream that hands out ``data`` a few bytes at a time, as a download being decompressed does, and counts
    the bytes read."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data, self.step, self.position = data, step, 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.position : self.position + min(size, self.step)]
        self.position += len(chunk)
        return chunk


def test_parse_idx_reads_a_stream_in_pieces_into_the_expected_shape():
    array = np.random.default_rng(2).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    stream = Chunks(_header(0x08, array.shape) + array.tobytes())
    back = parse_idx(stream, shape=(5, 4, 3))
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable and stream.position == len(stream.data)


def test_a_header_other_than_the_expected_shape_is_refused_before_the_payload_is_read():
    stream = Chunks(_header(0x08, (0xFFFFFFFF, 0xFFFFFFFF)) + b"\x00" * 1000)
    with pytest.raises(IDXError, match=r"^the header declares dimensions \(4294967295, 4294967295\), where \(3, 2\)"):
        parse_idx(stream, shape=(3, 2))
    assert stream.position == 12, "nothing of the payload read"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_header(0x08, (3, 2)) + b"\x00" * 5, "payload is 5 bytes but the dimensions (3, 2) need 6"),
        (_header(0x08, (3, 2)) + b"\x00" * 7, "unexpected bytes after the 6-byte payload"),
        (_header(0x08, (6,)) + b"\x00" * 6, "declares dimensions (6,), where (3, 2) are expected"),
    ],
)
def test_parse_idx_with_a_shape_refuses_what_read_idx_refuses(content, message):
    with pytest.raises(IDXError, match=r"^stream: ") as info:
        parse_idx(Chunks(content), shape=(3, 2), name="stream")
    assert message in str(info.value)


def test_read_idx_checks_the_expected_shape(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((2, 3), np.uint8))
    assert read_idx(tmp_path / "a.gz", shape=(2, 3)).shape == (2, 3)
    with pytest.raises(IDXError, match=r"a\.gz: the header declares dimensions \(2, 3\), where \(3, 2\)"):
        read_idx(tmp_path / "a.gz", shape=(3, 2))


def test_only_regular_files_are_opened(tmp_path):
    os.mkfifo(tmp_path / "fifo-idx-ubyte")  # no writer: reading would block for ever
    (tmp_path / "zeros-idx-ubyte.gz").symlink_to("/dev/zero")
    for name, kind in [("fifo-idx-ubyte", "a FIFO"), ("zeros-idx-ubyte.gz", "a character device"), (".", "a folder")]:
        with pytest.raises(OSError, match=f"not a regular file but {kind}") as info:
            read_idx(tmp_path / name)
        assert not isinstance(info.value, IDXError)
    with open_regular(__file__) as f:
        assert f.read(3) == b'"""'
