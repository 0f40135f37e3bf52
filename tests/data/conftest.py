"""Fixtures for the data tests: files written byte by byte in the published formats, and the full MNIST."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file built by hand: 0x0000, type byte, ndim byte, big-endian uint32 dims, big-endian data."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[type_code]
    head = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return head + np.asarray(array).astype(dtype).tobytes()


def write_mnist_dir(root: Path, n_train=12, n_test=7, gz=True, seed=0) -> dict:
    """Write the four MNIST IDX files of a small random set into ``root``; return the arrays by split."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for train, n in ((True, n_train), (False, n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        for stem, array in zip(MNIST_FILES[train], (images, labels), strict=True):
            data = idx_bytes(array)
            if gz:
                (root / f"{stem}.gz").write_bytes(gzip.compress(data))
            else:
                (root / stem).write_bytes(data)
        out[train] = (images, labels)
    return out


def cifar_records(images: np.ndarray, labels) -> bytes:
    """CIFAR-10 binary records built by hand: per image, 1 label byte then R, G, B planes of 32 rows of 32."""
    chunks = []
    for image, label in zip(images, labels, strict=True):
        chunks.append(bytes([int(label)]))
        for c in range(3):
            for r in range(32):
                chunks.append(bytes(int(v) for v in image[c, r]))
    return b"".join(chunks)


def find_full_mnist() -> Path | None:
    env = os.environ.get("GLASSNET_MNIST_DIR")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data" / "mnist"]:
        if (candidate / "train-images-idx3-ubyte.gz").is_file():
            return candidate
    return None


@pytest.fixture
def full_mnist_dir() -> Path:
    path = find_full_mnist()
    if path is None:
        pytest.skip("the full MNIST is not available (set GLASSNET_MNIST_DIR or provide ../shared/data/mnist)")
    return path


@pytest.fixture
def mnist_dir(tmp_path) -> tuple[Path, dict]:
    root = tmp_path / "mnist"
    return root, write_mnist_dir(root)


@pytest.fixture
def fmt():
    """The hand-written format helpers above, for tests (importing conftest by name is fragile)."""
    import types

    return types.SimpleNamespace(idx_bytes=idx_bytes, write_mnist_dir=write_mnist_dir, cifar_records=cifar_records,
                                 MNIST_FILES=MNIST_FILES)
