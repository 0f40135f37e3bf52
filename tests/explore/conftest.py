"""Fixtures of the explorer tests: a LeNet-5 run trained here (2 epochs on the shipped MNIST subset, with
per-epoch weights), its explorer and app, its ONNX export, and a live server on a free port."""

import pytest
from explore_helpers import serve

import glassnet.backend as B


@pytest.fixture(scope="session")
def lenet_run(tmp_path_factory):
    """A run directory of ``glassnet train --keep-epoch-weights`` (LeNet-5, 2 epochs, about 97 % test accuracy)."""
    from glassnet.cli import main

    state = B.get_rng_state()
    out = tmp_path_factory.mktemp("explore-runs") / "lenet"
    rc = main(["train", "--epochs", "2", "--out", str(out), "--no-progress", "--keep-epoch-weights"])
    B.set_rng_state(state)
    assert rc == 0
    return out


@pytest.fixture(scope="session")
def lenet_onnx(lenet_run, tmp_path_factory):
    """``glassnet export`` of the LeNet-5 run (its normalisation, class names and data set in the metadata)."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from glassnet.cli import main

    out = tmp_path_factory.mktemp("explore-onnx") / "lenet5.onnx"
    assert main(["export", str(lenet_run), "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def app(lenet_run):
    from glassnet.explore import open_explorer
    from glassnet.explore.server import App

    return App(open_explorer(lenet_run), "127.0.0.1", 8765)


@pytest.fixture(scope="session")
def live(lenet_run):
    """(base URL, app) of a real server on the LeNet run."""
    from glassnet.explore import open_explorer
    from glassnet.explore.server import App

    app = App(open_explorer(lenet_run))
    server, url = serve(app)
    yield url, app
    server.shutdown()
    server.server_close()
