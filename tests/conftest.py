import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Tests import their folder's helper modules (cases, cli_helpers, ...) by name; with
# --import-mode=importlib (needed because doctest collection meets several conftest.py) the
# folders must be on sys.path explicitly.
for _folder in sorted((ROOT / "tests").iterdir()):
    if _folder.is_dir() and not _folder.name.startswith((".", "_")):
        sys.path.insert(0, str(_folder))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def mnist_dir():
    """The full MNIST of the shared folder (../shared/data/mnist), or None."""
    import os

    env = os.environ.get("GLASSNET_MNIST_DIR")
    for d in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data" / "mnist"]:
        if (d / "train-images-idx3-ubyte.gz").exists():
            return d
    return None
