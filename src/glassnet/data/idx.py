"""Read and write IDX files, the format MNIST and Fashion-MNIST are published in.

Layout (all header integers are 32-bit big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 * d       the size of each dimension
    ...         prod(sizes) elements, row-major, big-endian

MNIST images are type 0x08 with d = 3 (magic ``0x00000803``, dims N, 28, 28);
labels are type 0x08 with d = 1 (magic ``0x00000801``). A file may be gzipped:
it is recognised by its first two bytes (``1f 8b``), not by its name.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte.gz")
>>> write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
>>> a = read_idx(path)
>>> a.shape, a.dtype, int(a[1, 2, 3])
((2, 3, 4), dtype('uint8'), 23)
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_write
from .errors import DataFormatError

IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX element-type byte -> NumPy dtype (big-endian on disk)."""

_TYPE_CODES = {dt.newbyteorder("=") if dt.itemsize > 1 else dt: code for code, dt in IDX_TYPES.items()}


def read_bytes(path) -> bytes:
    """The content of ``path``, gunzipped when it starts with the gzip magic ``1f 8b``.

    Raises :class:`FileNotFoundError` when it is missing and
    :class:`DataFormatError` (naming the file) when the gzip stream is truncated or corrupt.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise DataFormatError(f"{path}: truncated gzip stream ({exc})") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataFormatError(f"{path}: corrupt gzip data ({exc})") from None


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an IDX file into an array in native byte order (read-only for uint8/int8).

    ``name`` is used in error messages. Checks: the two zero bytes, a known
    element type, that the header is complete, and that the data size is exactly
    ``prod(dims) * itemsize`` (fewer bytes: truncated; more: trailing garbage).
    """
    if len(data) < 4:
        raise DataFormatError(f"{name}: not an IDX file (expected a 4-byte magic number, file holds {len(data)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_TYPES:
        raise DataFormatError(
            f"{name}: not an IDX file (bad magic number 0x{data[:4].hex()}; expected 0x0000TTDD with "
            f"type TT in {{{', '.join(f'{c:02x}' for c in IDX_TYPES)}}})"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(
            f"{name}: truncated header (expected {header} bytes for {ndim} dims, file holds {len(data)})"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise DataFormatError(
            f"{name}: truncated (header says dims {dims} of {dtype.name}, i.e. {expected} bytes; "
            f"file holds {len(data)})"
        )
    if len(data) > expected:
        raise DataFormatError(
            f"{name}: {len(data) - expected} unexpected trailing bytes (header says dims {dims}, i.e. {expected} bytes)"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array; see :func:`parse_idx` for the checks."""
    return parse_idx(read_bytes(path), str(path))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file, atomically; gzipped (level 9, mtime 0) when ``path`` ends in ``.gz``.

    The gzip header carries no name and no time, so equal arrays give equal bytes.
    """
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=") if array.dtype.itemsize > 1 else array.dtype
    if key not in _TYPE_CODES:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX type code (expected one of uint8, int8, "
                        f"int16, int32, float32, float64)")
    code = _TYPE_CODES[key]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    with atomic_write(path) as f:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as gz:
                gz.write(payload)
        else:
            f.write(payload)
