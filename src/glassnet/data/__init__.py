"""Datasets, a batch loader and batch transforms.

- Readers of the published formats: :class:`MNIST`, :class:`FashionMNIST`
  (IDX), :class:`CIFAR10` (binary version); :class:`ArrayDataset` for any arrays.
- :func:`load_mnist_subset`: 10,000 + 2,000 real MNIST images shipped inside
  the package (works offline; the default of ``glassnet train``).
- :func:`get_dataset` by name; :class:`DataLoader`; :mod:`~glassnet.data.transforms`.

See ``docs/data.md``.
"""

from .cifar import CIFAR10, read_cifar_batch, write_cifar_batch
from .dataset import ArrayDataset
from .download import data_home, default_root
from .errors import ChecksumError, DataFormatError, DatasetNotFoundError, DownloadError
from .idx import read_idx, write_idx
from .loader import DataLoader
from .mnist import MNIST, SUBSET_DIR, FashionMNIST, MNISTSubset, load_mnist_subset
from .registry import DATASETS, get_dataset
from .transforms import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    MNIST_MEAN,
    MNIST_STD,
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Transform,
)

__all__ = [
    "ArrayDataset", "MNIST", "FashionMNIST", "MNISTSubset", "CIFAR10", "load_mnist_subset", "get_dataset", "DATASETS",
    "SUBSET_DIR", "DataLoader", "Transform", "Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip",
    "MNIST_MEAN", "MNIST_STD", "CIFAR10_MEAN", "CIFAR10_STD", "read_idx", "write_idx", "read_cifar_batch",
    "write_cifar_batch", "data_home", "default_root", "DataFormatError", "ChecksumError", "DownloadError",
    "DatasetNotFoundError",
]
