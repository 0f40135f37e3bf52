"""Helpers and fixtures of the training tests (imported by the test modules; a module name no other test
folder uses, and no conftest.py, whose name clashes with the other folders' under --doctest-modules)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import glassnet.backend as B
from glassnet import nn
from glassnet.data import ArrayDataset, load_mnist_subset, write_idx


def write_tiny_mnist(root, n_train=320, n_test=100):
    """The first ``n_train`` / ``n_test`` images of the shipped subset as a real MNIST directory (IDX, gzipped)."""
    root.mkdir(parents=True, exist_ok=True)
    for train, n, stem in ((True, n_train, "train"), (False, n_test, "t10k")):
        ds = load_mnist_subset(train=train)
        pick = np.random.default_rng(7).permutation(len(ds))[:n]
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", ds.images[pick, 0])
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", ds.labels[pick].astype(np.uint8))
    return root


@pytest.fixture(scope="session", name="tiny_mnist")
def tiny_mnist_fixture(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("tiny-mnist"))


@pytest.fixture(name="tiny_data")
def tiny_data_fixture():
    """(train, val) ArrayDatasets of 192 and 64 real digits, uint8 (N, 1, 28, 28)."""
    ds = load_mnist_subset(train=True)
    pick = np.random.default_rng(3).permutation(len(ds))[:256]
    images, labels = ds.images[pick], ds.labels[pick]
    return ArrayDataset(images[:192], labels[:192]), ArrayDataset(images[192:], labels[192:])


@pytest.fixture(autouse=True)
def _keep_rng():
    state = B.get_rng_state()
    yield
    B.set_rng_state(state)


def small_net(dropout: float = 0.25):
    """conv 4@3x3 -> ReLU -> max-pool -> flatten -> dropout -> linear 676 -> 10 (uses the library's RNG)."""
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(1, 4, 3), relu=nn.ReLU(), pool=nn.MaxPool2d(2), flatten=nn.Flatten(),
        drop=nn.Dropout(dropout), fc=nn.Linear(4 * 13 * 13, 10),
    ))
