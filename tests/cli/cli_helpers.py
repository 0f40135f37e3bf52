"""Fixtures of the command-line tests, imported by the test modules (no conftest.py: its name clashes with
the other test folders' under --doctest-modules): a tiny MNIST directory and a trained run."""

from __future__ import annotations

import pytest
from train_helpers import write_tiny_mnist

import glassnet.backend as B


@pytest.fixture(scope="session", name="tiny_mnist")
def tiny_mnist_fixture(tmp_path_factory):
    """320 training and 100 test images of the shipped subset, written as a real (gzipped IDX) MNIST directory."""
    return write_tiny_mnist(tmp_path_factory.mktemp("tiny-mnist"))


@pytest.fixture(scope="session", name="trained_run")
def trained_run_fixture(tiny_mnist, tmp_path_factory):
    """A run directory from ``glassnet train`` (2 epochs on the tiny set), shared by the read-only tests."""
    from glassnet.cli import main

    out = tmp_path_factory.mktemp("runs") / "run"
    rc = main(["train", "--dataset", "mnist", "--data-dir", str(tiny_mnist), "--epochs", "2", "--batch-size", "32",
               "--out", str(out), "--no-progress"])
    assert rc == 0
    return out


@pytest.fixture(autouse=True)
def _keep_rng():
    state = B.get_rng_state()
    yield
    B.set_rng_state(state)
