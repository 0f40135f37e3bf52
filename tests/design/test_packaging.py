"""Packaging that tells the truth: one version, the licence and the data notice shipped, the NumPy bound tested."""

import importlib.metadata
import re
from pathlib import Path

import numpy as np

import glassnet

ROOT = Path(__file__).resolve().parents[2]


def test_one_version_source():
    assert importlib.metadata.version("glassnet") == glassnet.__version__
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'attr = "glassnet._version.__version__"' in text
    assert re.search(r"^version\s*=\s*\"", text, re.M) is None  # no second copy of the number
    assert f"## {glassnet.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def test_licence_and_data_notice_ship_with_the_package():
    licence = (ROOT / "LICENSE").read_text()
    assert "MIT License" in licence and "CC BY-SA 3.0" in licence and "MNIST" in licence
    meta = importlib.metadata.metadata("glassnet")
    assert meta["License-Expression"] == "MIT" and "LICENSE" in (meta.get_all("License-File") or [])
    assert (Path(glassnet.__file__).parent / "py.typed").exists()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()


def test_the_declared_numpy_bound_is_the_one_ci_tests():
    requires = importlib.metadata.requires("glassnet")
    bound = next(r for r in requires if r.startswith("numpy"))
    assert bound.replace(" ", "") == "numpy>=2.0"
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"numpy==2.0.*"' in ci and "python3.13" in ci
    assert np.lib.NumpyVersion(np.__version__) >= "2.0.0"
