"""IDX reader and writer: the real byte layout, round trips, and clear errors on bad files."""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glassnet.data import DataFormatError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gz", [False, True])
def test_reads_hand_written_files(tmp_path, fmt, dtype, gz):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    data = fmt.idx_bytes(a, CODES[dtype])
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative
    np.testing.assert_array_equal(b, a)


def test_mnist_header_bytes(tmp_path):
    images = np.zeros((2, 28, 28), np.uint8)
    write_idx(tmp_path / "i", images)
    write_idx(tmp_path / "l", np.array([3, 7], np.uint8))
    raw_i, raw_l = (tmp_path / "i").read_bytes(), (tmp_path / "l").read_bytes()
    assert raw_i[:16] == bytes.fromhex("00000803" "00000002" "0000001c" "0000001c")
    assert len(raw_i) == 16 + 2 * 784
    assert raw_l == bytes.fromhex("00000801" "00000002" "0307")


def test_gzip_is_detected_by_content_not_name(tmp_path, fmt):
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    (tmp_path / "plain.gz").write_bytes(fmt.idx_bytes(a))
    (tmp_path / "packed").write_bytes(gzip.compress(fmt.idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "packed"), a)


def test_gzip_writes_are_deterministic_and_nameless(tmp_path):
    a = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "x.gz", a)
    write_idx(tmp_path / "y.gz", a)
    raw = (tmp_path / "x.gz").read_bytes()
    assert raw == (tmp_path / "y.gz").read_bytes()
    assert raw[3] & 0x08 == 0, "FNAME flag set: the gzip header carries a file name"
    assert raw[4:8] == b"\0\0\0\0", "the gzip header carries a modification time"


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=4), dtype=st.sampled_from(DTYPES), gz=st.booleans())
def test_round_trip(tmp_path_factory, shape, dtype, gz):
    rng = np.random.default_rng(len(shape))
    a = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path_factory.mktemp("rt") / ("a.gz" if gz else "a")
    write_idx(path, a)
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype
    np.testing.assert_array_equal(b, a)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="bool has no IDX type code"):
        write_idx(tmp_path / "b", np.zeros(3, bool))


def _bad(tmp_path, data: bytes, name="bad-idx3-ubyte"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataFormatError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_wrong_magic(tmp_path, fmt):
    good = fmt.idx_bytes(np.zeros((2, 28, 28), np.uint8))
    assert "bad magic number 0x12340803" in _bad(tmp_path, b"\x12\x34" + good[2:])
    assert "bad magic number 0x00000703" in _bad(tmp_path, good[:2] + b"\x07" + good[3:])
    assert "bad magic number 0x3c68746d" in _bad(tmp_path, b"<html>not found</html>")


def test_empty_and_tiny_files(tmp_path):
    assert "file holds 0 bytes" in _bad(tmp_path, b"")
    assert "file holds 3 bytes" in _bad(tmp_path, b"\0\0\x08")


def test_truncated_header(tmp_path, fmt):
    good = fmt.idx_bytes(np.zeros((2, 28, 28), np.uint8))
    msg = _bad(tmp_path, good[:10])
    assert "truncated header" in msg and "expected 16 bytes for 3 dims" in msg and "holds 10" in msg


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, fmt, gz):
    good = fmt.idx_bytes(np.zeros((2, 28, 28), np.uint8))
    short = good[:-100]
    msg = _bad(tmp_path, gzip.compress(short) if gz else short)
    assert "truncated" in msg and "(2, 28, 28)" in msg and f"{len(good)} bytes" in msg and f"holds {len(short)}" in msg


def test_trailing_bytes(tmp_path, fmt):
    good = fmt.idx_bytes(np.zeros(5, np.uint8))
    assert "3 unexpected trailing bytes" in _bad(tmp_path, good + b"abc")


def test_truncated_gzip_stream(tmp_path, fmt):
    packed = gzip.compress(fmt.idx_bytes(np.arange(5000, dtype=np.int32)))
    assert "truncated gzip stream" in _bad(tmp_path, packed[: len(packed) // 2])


def test_corrupt_gzip(tmp_path, fmt):
    packed = bytearray(gzip.compress(fmt.idx_bytes(np.arange(5000, dtype=np.int32))))
    packed[-6] ^= 0xFF  # inside the CRC-32 trailer
    assert "corrupt gzip data" in _bad(tmp_path, bytes(packed))
    bad_deflate = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 20
    with pytest.raises(zlib.error):
        zlib.decompress(b"\xff" * 20, -15)  # the same bytes are invalid raw deflate data
    assert "corrupt gzip data" in _bad(tmp_path, bad_deflate)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")
