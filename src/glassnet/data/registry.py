"""Datasets by name, for configuration files and the command line.

>>> get_dataset("mnist-subset", train=False).class_counts().tolist()
[200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
>>> get_dataset("imagenet")
Traceback (most recent call last):
...
ValueError: unknown dataset 'imagenet'; valid names: mnist-subset, mnist, fashion-mnist, cifar10
"""

from __future__ import annotations

from .cifar import CIFAR10
from .mnist import MNIST, FashionMNIST, MNISTSubset

DATASETS = {
    "mnist-subset": MNISTSubset,
    "mnist": MNIST,
    "fashion-mnist": FashionMNIST,
    "cifar10": CIFAR10,
}
"""Name -> dataset class."""


def get_dataset(name: str, root=None, train: bool = True, download: bool = False):
    """The dataset called ``name`` (one of :data:`DATASETS`), its training or test split.

    ``"mnist-subset"`` is the subset shipped inside glassnet: it needs no files,
    so ``root`` must be ``None`` and ``download`` is ignored.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}")
    if name == "mnist-subset":
        if root is not None:
            raise ValueError(f"dataset 'mnist-subset' is shipped inside glassnet and takes no root (got root={root!r})")
        return MNISTSubset(train=train)
    return DATASETS[name](root=root, train=train, download=download)
