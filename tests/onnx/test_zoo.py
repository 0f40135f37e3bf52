"""Every model of the zoo, exported and run in onnxruntime (batch 1 and 7), and loaded back (same state dict, same
outputs). Small inputs and width multipliers keep each case to about a second."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_helpers import TOL, assert_same_state, export_checked, inputs, ort_run, randomize, rel_err  # noqa: E402

import glassnet  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.models import available_models, get_model  # noqa: E402
from glassnet.nn import no_grad  # noqa: E402

# name -> (builder arguments, input): the smallest input each architecture accepts
ZOO = {
    "lenet5": ({}, (1, 28, 28)),
    "resnet20": ({}, (3, 32, 32)),
    "resnet32": ({"width": 0.5}, (3, 32, 32)),
    "resnet44": ({"width": 0.25}, (3, 32, 32)),
    "resnet56": ({"width": 0.25}, (3, 32, 32)),
    "alexnet": ({"width": 0.1}, (3, 63, 63)),  # 1x1 features, adaptive pool to 6x6: nearest upsampling
    "vgg11": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg11_bn": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg13": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg13_bn": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg16": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg16_bn": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg19": ({"width": 1 / 16}, (3, 32, 32)),
    "vgg19_bn": ({"width": 1 / 16}, (3, 32, 32)),
    "googlenet": ({"width": 0.25}, (3, 32, 32)),
    "resnet18": ({"width": 0.25}, (3, 32, 32)),
    "resnet34": ({"width": 0.125}, (3, 32, 32)),
    "resnet50": ({"width": 0.25}, (3, 32, 32)),
}
EXTRA = {  # variants with layers the defaults lack
    "googlenet-paper": ("googlenet", {"width": 0.125, "paper": True, "transform_input": True}, (3, 224, 224)),
    "googlenet-aux": ("googlenet", {"width": 0.25, "aux_logits": True}, (3, 32, 32)),
    "vgg11-224": ("vgg11", {"width": 1 / 32}, (3, 224, 224)),  # avgpool 7 -> 7 (a 1x1 average pool)
    "alexnet-96": ("alexnet", {"width": 0.1}, (3, 127, 127)),  # 3x3 features -> 6x6
}
CASES = {name: (name, *spec) for name, spec in ZOO.items()} | EXTRA


def test_every_zoo_model_is_covered():
    assert set(ZOO) == set(available_models())


def build(name):
    model_name, kwargs, shape = CASES[name]
    glassnet.manual_seed(0)
    return randomize(get_model(model_name, **kwargs)), shape


@pytest.mark.parametrize("name", list(CASES))
def test_zoo_model_in_onnxruntime_and_back(name, tmp_path):
    model, shape = build(name)
    path = export_checked(model, tmp_path / f"{name}.onnx", shape)
    loaded = gx.load(path)
    # auxiliary heads run in training only: they are not in the graph
    assert_same_state(model, loaded, skip="aux" if CASES[name][1].get("aux_logits") else None)
    for batch in (1, 7):
        x = inputs(shape, batch)
        with no_grad():
            y = model(x)
        if batch > 1:  # the output depends on the input, not on the last bias alone
            assert np.ptp(y, axis=0).max() > 1e-2 * np.abs(y).max()
        assert rel_err(ort_run(path, x), y) < TOL
        with no_grad():
            assert np.array_equal(loaded(x), y)  # the same layers with the same weights: bit for bit
