"""CIFAR-10 from its published *binary* version (never the pickled "python version").

The archive ``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/`` with
``data_batch_1.bin`` .. ``data_batch_5.bin`` (training, 10,000 images each),
``test_batch.bin`` (10,000 images) and ``batches.meta.txt`` (class names).
Each ``.bin`` file is a sequence of 3073-byte records::

    byte 0        label, 0..9
    bytes 1..3072 the image, uint8, channel-major: 1024 red, 1024 green, 1024 blue,
                  each 32 rows of 32 pixels  ->  reshape (3, 32, 32) gives CHW directly

>>> import numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "batch.bin")
>>> write_cifar_batch(path, np.full((2, 3, 32, 32), 7, np.uint8), [3, 9])
>>> images, labels = read_cifar_batch(path)
>>> images.shape, labels.tolist()
((2, 3, 32, 32), [3, 9])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._files import atomic_write
from .dataset import ArrayDataset
from .download import Resource, default_root, download_all, extract_members, missing_files_error
from .errors import DataFormatError

BATCH_DIR = "cifar-10-batches-bin"
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
META_FILE = "batches.meta.txt"
IMAGE_SHAPE = (3, 32, 32)
RECORD_BYTES = 1 + 3 * 32 * 32


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 ``.bin`` file: images (N, 3, 32, 32) uint8 and labels (N,) int64.

    Raises :class:`DataFormatError` naming the file when its size is not a
    positive multiple of the 3073-byte record, or a label is outside 0..9.
    """
    data = Path(path).read_bytes()
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise DataFormatError(
            f"{path}: {len(data)} bytes is not a positive multiple of the {RECORD_BYTES}-byte CIFAR-10 record "
            f"(1 label byte + 3072 pixel bytes); the file is truncated or not a CIFAR-10 binary batch"
        )
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFormatError(f"{path}: record {bad} has label {labels[bad]}, expected 0..9")
    return records[:, 1:].reshape(-1, *IMAGE_SHAPE), labels


def write_cifar_batch(path, images, labels) -> None:
    """Write images (N, 3, 32, 32) uint8 and labels (N,) as a CIFAR-10 ``.bin`` file, atomically."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE or labels.shape != images.shape[:1]:
        raise ValueError(
            f"write_cifar_batch: expected uint8 images (N, 3, 32, 32) and labels (N,), "
            f"got {images.dtype} {images.shape} and {labels.shape}"
        )
    records = np.empty((len(images), RECORD_BYTES), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = images.reshape(len(images), -1)
    with atomic_write(path) as f:
        f.write(records.tobytes())


class CIFAR10(ArrayDataset):
    """CIFAR-10 (Krizhevsky, 2009): 32x32 colour images, 10 classes; 50,000 train / 10,000 test.

    Args:
        root: directory holding ``cifar-10-batches-bin/`` (or the ``.bin`` files
            themselves, or the archive ``cifar-10-binary.tar.gz``, which is then
            extracted). ``None``: ``data_home() / "cifar10"``.
        train: the five training batches (True) or ``test_batch.bin``.
        download: fetch the archive (MD5-checked) when the files are missing.

    ``images`` is uint8 (N, 3, 32, 32), ``labels`` int64 (N,).
    """

    dataset_name = "cifar10"
    label = "CIFAR-10"
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    resources = [Resource("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")]
    class_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root=None, train: bool = True, download: bool = False):
        self.root = Path(root).expanduser() if root is not None else default_root(self.dataset_name)
        self.train = bool(train)
        files = TRAIN_FILES if self.train else TEST_FILES
        folder = self._locate(files, download)
        parts = [read_cifar_batch(folder / name) for name in files]
        images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else np.ascontiguousarray(parts[0][0])
        labels = np.concatenate([p[1] for p in parts])
        super().__init__(images, labels, self.class_names)

    def _locate(self, files, download: bool) -> Path:
        for folder in (self.root / BATCH_DIR, self.root):
            if all((folder / f).is_file() for f in files):
                return folder
        archive = self.root / self.resources[0].filename
        how_to = f"{archive.name} (or its extracted {BATCH_DIR}/ folder) into {self.root}"
        if not archive.is_file():
            if not download:
                raise missing_files_error(self.label, [f"{BATCH_DIR}/{f}" for f in files], self.root, how_to)
            download_all(self.label, self.resources, self.mirrors, self.root, how_to)
        members = {f"{BATCH_DIR}/{f}": None for f in TRAIN_FILES + TEST_FILES + [META_FILE]}
        extract_members(archive, members, self.root, self.label)
        return self.root / BATCH_DIR
