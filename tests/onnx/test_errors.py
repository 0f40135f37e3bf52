"""One clear line for what cannot be exported or loaded: bad files, unknown ops, weights that do not fit,
layers without an ONNX form."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx_helpers import randomize  # noqa: E402

import glassnet.nn as nn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.models import lenet5  # noqa: E402
from glassnet.onnx import OnnxError  # noqa: E402


def one_line(excinfo, *needles):
    msg = str(excinfo.value)
    assert isinstance(excinfo.value, ValueError) and "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, msg
    return msg


@pytest.fixture
def lenet_file(tmp_path):
    return gx.export(randomize(lenet5()), tmp_path / "lenet.onnx", (1, 28, 28))


def graph_file(path, nodes, inits=(), shape=(1, 2, 4, 4), opset=17, domains=()):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])], list(inits))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    onnx.save(helper.make_model(g, opset_imports=opsets, ir_version=8), str(path))
    return path


# ---------------------------------------------------------------------------- files
@pytest.mark.parametrize("keep", [0, 9, 200, 0.5, -7])
def test_truncated_file(lenet_file, tmp_path, keep):
    data = open(lenet_file, "rb").read()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(data[:n])
    with pytest.raises(OnnxError) as e:
        gx.load(bad)
    one_line(e, str(bad))


def test_not_onnx_at_all(tmp_path):
    bad = tmp_path / "photo.onnx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(OnnxError) as e:
        gx.load(bad)
    one_line(e, str(bad), "not an ONNX model")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(OnnxError) as e:
        gx.load(tmp_path / "nope.onnx")
    one_line(e, "no such file")
    with pytest.raises(OnnxError) as e:
        gx.load(tmp_path)
    one_line(e, "directory")


def test_unknown_op_names_op_and_node(tmp_path):
    path = graph_file(tmp_path / "m.onnx", [helper.make_node("Relu", ["x"], ["a"], name="first"),
                                            helper.make_node("Mish", ["a"], ["y"], name="the_mish")], opset=18)
    with pytest.raises(OnnxError) as e:
        gx.load(path)
    one_line(e, "op Mish", "'the_mish'", "not supported")


def test_custom_domain(tmp_path):
    path = graph_file(tmp_path / "m.onnx", [helper.make_node("Fancy", ["x"], ["y"], name="n", domain="com.acme")],
                      domains=["com.acme"])
    with pytest.raises(OnnxError) as e:
        gx.load(path)
    one_line(e, "com.acme.Fancy", "'n'")


@pytest.mark.parametrize("key, shape", [("classifier.0.weight", (120, 399)), ("features.3.weight", (16, 5, 5, 5)),
                                        ("features.0.bias", (7,)), ("features.3.weight", (16, 6, 5))])
def test_wrong_initializer_shape(lenet_file, tmp_path, key, shape):
    model = onnx.load(str(lenet_file))
    for i, t in enumerate(model.graph.initializer):
        if t.name == key:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.ones(shape, np.float32), key))
    bad = tmp_path / "bad.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(OnnxError) as e:
        gx.load(bad)
    msg = one_line(e, str(bad))
    assert key.rsplit(".", 1)[0] in msg or "shape" in msg


def test_ops_glassnet_cannot_compute_exactly(tmp_path):
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    cases = [
        (helper.make_node("Conv", ["x", "w"], ["y"], name="grouped", group=2, pads=[1, 1, 1, 1]), "group=2"),
        (helper.make_node("MaxPool", ["x"], ["y"], name="asym", kernel_shape=[3, 3], pads=[0, 0, 1, 1]),
         "asymmetric pads"),
        (helper.make_node("LRN", ["x"], ["y"], name="even", size=4), "even"),
        (helper.make_node("Flatten", ["x"], ["y"], name="flat2", axis=2), "axis=2"),
    ]
    for node, needle in cases:
        path = graph_file(tmp_path / f"{node.name}.onnx", [node], [w] if "w" in node.input else [])
        with pytest.raises(OnnxError) as e:
            gx.load(path)
        one_line(e, needle, f"'{node.name}'")


def test_two_inputs_refused(tmp_path):
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "g",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2]) for n in "ab"],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(tmp_path / "m"))
    with pytest.raises(OnnxError) as e:
        gx.load(tmp_path / "m")
    one_line(e, "2 inputs")


# ---------------------------------------------------------------------------- export refusals
class Doubler(nn.Module):
    def forward(self, x):
        return 2 * x


class Shuffled(nn.Sequential):
    def forward(self, x):
        return super().forward(x[:, ::-1])


@pytest.mark.parametrize("model, shape, needles", [
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.ReLU(), Doubler())), (1, 8, 8), ["Doubler", "'1.1'"]),
    (nn.Sequential(nn.ReLU(), Shuffled(nn.ReLU())), (1, 8, 8), ["Shuffled", "'1'", "overrides Sequential.forward"]),
    (nn.Sequential(nn.LocalResponseNorm(4)), (6, 3, 3), ["LocalResponseNorm", "'0'", "even"]),
    (nn.Sequential(nn.BatchNorm2d(2, track_running_stats=False)), (2, 3, 3), ["BatchNorm2d", "running statistics"]),
    (nn.Sequential(nn.Flatten(2)), (2, 3, 3), ["Flatten", "start_dim=2"]),
    (nn.Sequential(nn.Conv2d(1, 1, 1), nn.AdaptiveAvgPool2d(3)), (1, 7, 7), ["AdaptiveAvgPool2d", "'1'", "7x7"]),
])
def test_export_refuses_with_the_layer_path(model, shape, needles, tmp_path):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old")
    with pytest.raises(OnnxError) as e:
        gx.export(model, out, shape)
    one_line(e, "cannot export", *needles)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # untouched


def test_export_arguments(tmp_path):
    with pytest.raises(OnnxError) as e:
        gx.export(nn.Sequential(nn.ReLU()), tmp_path / "m.onnx")
    one_line(e, "input_shape")
    with pytest.raises(OnnxError) as e:
        gx.export(lenet5(), tmp_path / "m.onnx", opset=11)
    one_line(e, "opset", "13")
    with pytest.raises(OnnxError) as e:
        gx.export(lenet5(), tmp_path / "m.onnx", metadata={"mean": [0.1, 0.2]})
    one_line(e, "mean", "1 finite")
    with pytest.raises(OnnxError) as e:
        gx.export(lenet5(), tmp_path / "m.onnx", metadata={"std": [0.0]})
    one_line(e, "std", "positive")
    with pytest.raises(OnnxError) as e:
        gx.export(lenet5(), tmp_path / "m.onnx", (1, 3, 3))
    one_line(e, "cannot export", "Conv2d (features.3)")
