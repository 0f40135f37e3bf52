"""MNIST and Fashion-MNIST from their published IDX files, and the MNIST subset shipped with glassnet.

Both datasets come as four IDX files (see :mod:`glassnet.data.idx`), gzipped or
not, with the same names::

    train-images-idx3-ubyte[.gz]   60000 x 28 x 28 uint8   magic 0x00000803
    train-labels-idx1-ubyte[.gz]   60000 uint8 in 0..9     magic 0x00000801
    t10k-images-idx3-ubyte[.gz]    10000 x 28 x 28 uint8
    t10k-labels-idx1-ubyte[.gz]    10000 uint8 in 0..9

``MNIST(root)`` reads them from ``root`` (default: ``~/.cache/glassnet/mnist``,
or ``$GLASSNET_DATA/mnist``). The result has ``images`` uint8 (N, 1, 28, 28),
``labels`` int64 (N,) and ``classes``.

>>> train = load_mnist_subset(train=True)
>>> train.images.shape, train.labels.dtype, train.class_counts().tolist() == [1000] * 10
((10000, 1, 28, 28), dtype('int64'), True)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset
from .download import Resource, default_root, download_all, missing_files_error
from .errors import DataFormatError
from .idx import read_idx

SUBSET_DIR = Path(__file__).with_name("subset")
"""Where the shipped MNIST subset lives (inside the installed package)."""

_SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class MNIST(ArrayDataset):
    """The MNIST handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0): 28x28 grey, 10 classes.

    Args:
        root: directory holding the IDX files (gzipped or not). ``None``: the
            cache directory ``data_home() / "mnist"``.
        train: the 60,000-image training split (True) or the 10,000-image test split.
        download: fetch missing files from :attr:`mirrors` (MD5-checked) first.

    Files you place yourself are checked structurally (magic number, dims,
    sizes, label range), not by checksum, so a recompressed copy works.
    """

    dataset_name = "mnist"
    label = "MNIST"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    resources = [
        Resource("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        Resource("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        Resource("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        Resource("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    class_names = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]

    def __init__(self, root=None, train: bool = True, download: bool = False):
        self.root = Path(root).expanduser() if root is not None else default_root(self.dataset_name)
        self.train = bool(train)
        image_path, label_path = self._locate(download)
        images = read_idx(image_path)
        labels = read_idx(label_path)
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataFormatError(
                f"{image_path}: expected uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise DataFormatError(
                f"{label_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}"
            )
        if len(labels) != len(images):
            raise DataFormatError(
                f"{label_path}: {len(labels)} labels, but {image_path.name} holds {len(images)} images"
            )
        if labels.size and labels.max() >= len(self.class_names):
            raise DataFormatError(f"{label_path}: label {labels.max()} out of range 0..{len(self.class_names) - 1}")
        super().__init__(images[:, None], labels, self.class_names)

    def _how_to(self) -> str:
        names = ", ".join(r.filename for r in self.resources)
        return f"{names} (gzipped or not) into {self.root}"

    def _locate(self, download: bool) -> tuple[Path, Path]:
        def find(stem):
            for name in (stem + ".gz", stem):
                if (self.root / name).is_file():
                    return self.root / name
            return None

        stems = _SPLIT_FILES[self.train]
        missing = [s + ".gz" for s in stems if find(s) is None]
        if missing and download:
            wanted = [r for r in self.resources if r.filename in missing]
            download_all(self.label, wanted, self.mirrors, self.root, self._how_to())
        elif missing:
            raise missing_files_error(self.label, missing, self.root, self._how_to())
        return find(stems[0]), find(stems[1])


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao, Rasul, Vollgraf; Zalando Research, MIT licence): 28x28 grey clothing, 10 classes.

    Same files, format and arguments as :class:`MNIST`; default root ``data_home() / "fashion-mnist"``.
    """

    dataset_name = "fashion-mnist"
    label = "Fashion-MNIST"
    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]
    resources = [
        Resource("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        Resource("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        Resource("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        Resource("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


class MNISTSubset(MNIST):
    """The real-MNIST subset shipped inside glassnet: 10,000 training and 2,000 test images, class-balanced.

    1,000 (train) / 200 (test) images per digit, drawn with a fixed seed from
    the full MNIST by ``scripts/make_mnist_subset.py``; :attr:`provenance` holds
    the source checksums, the chosen indices and the licence. Works offline.
    """

    label = "MNIST subset"

    def __init__(self, train: bool = True):
        super().__init__(SUBSET_DIR, train=train, download=False)

    @property
    def provenance(self) -> dict:
        """The content of ``subset/provenance.json``."""
        return json.loads((SUBSET_DIR / "provenance.json").read_text())


def load_mnist_subset(train: bool = True) -> MNISTSubset:
    """The shipped MNIST subset (10,000 train / 2,000 test images, 1,000 / 200 per class); no download needed."""
    return MNISTSubset(train=train)
