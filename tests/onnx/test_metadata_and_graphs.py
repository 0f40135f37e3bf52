"""Metadata, opsets, a fixed batch, atomic writes; non-nested graphs (the Graph module) and the loader's own
modules (Upsample, Affine) with their backward passes; `import glassnet` stays free of onnx."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402
from onnx_helpers import TOL, assert_same_state, export_checked, inputs, ort_run, randomize, rel_err  # noqa: E402

import glassnet  # noqa: E402
import glassnet.nn as nn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.models import lenet5, resnet20  # noqa: E402
from glassnet.onnx.modules import Affine, Graph, Upsample  # noqa: E402


def test_import_glassnet_loads_no_onnx():
    code = ("import sys, glassnet, glassnet.onnx, glassnet.nn, glassnet.models; "
            "print([m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime', 'google')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_metadata_round_trip(tmp_path):
    model = randomize(lenet5())
    path = gx.export(model, tmp_path / "m.onnx", metadata={
        "mean": [0.1307], "std": [0.3081], "class_names": [str(i) for i in range(10)], "dataset": "mnist",
        "epochs": 6})
    meta = gx.read_metadata(path)
    assert meta["producer_name"] == "glassnet" and meta["producer_version"] == glassnet.__version__
    assert meta["glassnet_version"] == glassnet.__version__ and meta["producer"] == "glassnet"
    assert meta["input_mean"] == [0.1307] and meta["input_std"] == [0.3081]
    assert meta["class_names"] == list("0123456789") and meta["dataset"] == "mnist" and meta["epochs"] == "6"
    assert meta["input_shape"] == [1, 28, 28]  # LeNet5.input_size, from the graph's input


def test_batch_norm_step_counts_survive(tmp_path):
    model = randomize(resnet20())
    loaded = gx.load(gx.export(model, tmp_path / "m.onnx"))
    assert_same_state(model, loaded)  # num_batches_tracked included
    assert int(loaded.state_dict()["bn1.num_batches_tracked"]) == int(model.bn1.num_batches_tracked) > 0


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opsets(opset, tmp_path):
    # 5x3 -> ceil-mode pool 3x2 -> adaptive (1, 4): an average pool over H and a nearest upsampling of W
    model = randomize(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.MaxPool2d(2, ceil_mode=True), nn.Dropout(0.2),
                                    nn.AdaptiveAvgPool2d((1, 4)), nn.Flatten(), nn.Linear(12, 4), nn.Softmax(1)))
    path = export_checked(model, tmp_path / "m.onnx", (2, 5, 3), opset=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset
    x = inputs((2, 5, 3), 7)
    assert rel_err(ort_run(path, x), model(x)) < TOL
    assert rel_err(gx.load(path)(x), model(x)) < TOL


def test_fixed_batch(tmp_path):
    path = gx.export(lenet5(), tmp_path / "m.onnx", dynamic_batch=False)
    dim = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_value == 1 and not dim.dim_param
    dim = onnx.load(str(gx.export(lenet5(), tmp_path / "d.onnx"))).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "batch"


def test_export_restores_training_mode(tmp_path):
    model = lenet5().train()
    gx.export(model, tmp_path / "m.onnx")
    assert all(m.training for m in model.modules())


def test_dropout_probability_and_activation_constants_come_back(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.4), nn.LeakyReLU(0.07), nn.BatchNorm1d(3, 1e-3))
    loaded = gx.load(gx.export(model, tmp_path / "m.onnx", (4,)))
    assert loaded[2].p == 0.4 and loaded[3].negative_slope == 0.07 and loaded[4].eps == 1e-3


# ---------------------------------------------------------------------------- graphs that are not nests
def tangled_file(path):
    """a = relu(x); b = tanh(x); s = a + b; c = sigmoid(conv(a)); y = s + c: branch 'a' feeds both joins."""
    w = np.random.default_rng(0).standard_normal((2, 2, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Tanh", ["x"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Conv", ["a", "w"], ["ca"], pads=[1] * 4),
             helper.make_node("Sigmoid", ["ca"], ["c"]), helper.make_node("Add", ["s", "c"], ["y"])]
    g = helper.make_graph(nodes, "tangled", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, 5, 5])],
                          [onnx.numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def test_a_graph_that_is_not_a_nest(tmp_path):
    path = tangled_file(tmp_path / "t.onnx")
    model = gx.load(path)
    assert isinstance(model, Graph)
    x = inputs((2, 5, 5), 7)
    assert rel_err(model(x), ort_run(path, x)) < TOL
    glassnet.gradcheck(model, x[:2])  # backward: nodes in reverse, gradients of shared values summed
    again = gx.load(export_checked(model, tmp_path / "again.onnx", (2, 5, 5)))
    assert rel_err(again(x), model(x)) < TOL


def test_residual_recognised_without_names(tmp_path):
    """A foreign file (no producer) with a residual add and a concat comes back as Residual and Concat."""
    w = onnx.numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["h2"]),
             helper.make_node("Add", ["h2", "x"], ["s"]), helper.make_node("Relu", ["s"], ["r"]),
             helper.make_node("Sigmoid", ["r"], ["p"]), helper.make_node("Concat", ["r", "p"], ["y"], axis=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, 3, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4, 3, 3])], [w])
    path = tmp_path / "r.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    model = gx.load(path)
    assert [type(m).__name__ for m in model.children()] == ["Residual", "Concat"]
    assert model[0].act is not None and model[0].shortcut is None
    x = inputs((2, 3, 3), 7)
    assert rel_err(model(x), ort_run(path, x)) < TOL


@pytest.mark.parametrize("name, kwargs, shape", [("alexnet", {"width": 0.1}, (3, 63, 63)),
                                                  ("googlenet", {"width": 0.125, "paper": True,
                                                                 "transform_input": True}, (3, 224, 224))])
def test_loaded_models_export_again(name, kwargs, shape, tmp_path):
    """The loader's own modules (Upsample for AlexNet's adaptive pool, Affine for transform_input) export too."""
    from glassnet.models import get_model

    model = randomize(get_model(name, **kwargs))
    loaded = gx.load(gx.export(model, tmp_path / "a.onnx", shape))
    assert any(isinstance(m, (Upsample, Affine)) for m in loaded.modules())
    path = export_checked(loaded, tmp_path / "b.onnx", shape)
    assert_same_state(model, gx.load(path))
    x = inputs(shape, 2)
    assert rel_err(ort_run(path, x), model(x)) < TOL


def test_lazy_attribute():
    assert glassnet.onnx.load is gx.load


def test_loader_modules_backward():
    x = inputs((2, 3, 2), 2).astype(np.float64)
    glassnet.gradcheck(Upsample((2, 3)), x)
    glassnet.gradcheck(Affine(scale=np.array([2.0, -1.0]).reshape(1, 2, 1, 1), shift=np.ones((1, 2, 1, 1))), x)
