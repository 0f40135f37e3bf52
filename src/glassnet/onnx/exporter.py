"""Export a glassnet model to ONNX, walking its module tree.

The walk runs the model once on a zero batch of ``input_shape`` (evaluation
mode, ``no_grad``), container by container: each layer adds its ONNX node(s)
and passes its real output on, so every node knows the exact shape it reads
(adaptive pooling and ceil-mode pooling need it). Containers compose: a
``Sequential`` chains its children, a ``Concat`` feeds one input to every
branch and joins them with ``Concat``, a ``Residual`` adds its body's and
shortcut's outputs with ``Add`` and then applies its activation. A module with
a forward of its own that the walk does not know is refused, naming its path.

Names: a node is named ``<module path>/<Op>`` and a weight keeps its state-dict
key (``features.0.weight``), so :func:`glassnet.onnx.load` rebuilds the same
tree with the same keys. Weights are written in float32.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping

import numpy as np

from .. import __version__, nn
from .. import backend as B
from ..io import atomic_write_bytes
from ..models.googlenet import _MEAN, _STD, GoogLeNet
from ..models.resnet_cifar import ZeroPadShortcut
from ..nn.module import no_grad
from . import export_layers as L
from .errors import OnnxError
from .export_layers import Builder, refuse
from .modules import Affine, Graph, Upsample

MIN_OPSET = 13  # Softmax along one axis, Pad/Slice/Resize/Dropout taking their parameters as inputs


# ---------------------------------------------------------------------------- containers and custom trees
def _sequential(g, m, path, x_name, x):
    for name, child in m.named_children():
        x_name, x = _walk(g, child, _join(path, name), x_name, x)
    return x_name, x


def _concat(g, m, path, x_name, x):
    names, outs = [], []
    for name, child in m.named_children():
        y_name, y = _walk(g, child, _join(path, name), x_name, x)
        names.append(y_name)
        outs.append(y)
    return g.node("Concat", names, path, axis=int(m.dim)), B.get_array_module(*outs).concatenate(outs, axis=m.dim)


def _residual(g, m, path, x_name, x):
    h_name, h = x_name, x
    for name in m.body_names:
        h_name, h = _walk(g, m._modules[name], _join(path, name), h_name, h)
    s_name, s = x_name, x
    if m.shortcut is not None:
        s_name, s = _walk(g, m.shortcut, _join(path, m.shortcut_name), x_name, x)
    if h.shape != s.shape:
        raise refuse(path, m, f"body output {h.shape} and shortcut output {s.shape} differ")
    y_name, y = g.node("Add", [h_name, s_name], path), h + s
    if m.act is not None:
        y_name, y = _walk(g, m.act, _join(path, m.activation_name), y_name, y)
    return y_name, y


def _googlenet(g, m, path, x_name, x):

    if m.transform_input:
        scale = np.array([s / 0.5 for s in _STD], np.float32).reshape(1, 3, 1, 1)
        shift = np.array([(mu - 0.5) / 0.5 for mu in _MEAN], np.float32).reshape(1, 3, 1, 1)
        tpath = _join(path, "transform_input")
        x_name = g.node("Add", [g.node("Mul", [x_name, g.const(f"{tpath}.scale", scale)], tpath),
                                g.const(f"{tpath}.shift", shift)], tpath)
        xp = B.get_array_module(x)
        x = x * xp.asarray(scale, dtype=x.dtype) + xp.asarray(shift, dtype=x.dtype)
    for name in m.trunk:  # evaluation mode: the auxiliary heads do not run
        x_name, x = _walk(g, m._modules[name], _join(path, name), x_name, x)
    return x_name, x


def _graph(g, m, path, x_name, x):
    env = {m.input_name: (x_name, x)}
    for kind, child, inputs, output, axis in m.steps:
        args = [env[v] for v in inputs]
        if kind == "module":
            env[output] = _walk(g, m._modules[child], _join(path, child), *args[0])
        elif kind == "add":
            y_name, y = args[0]
            for a_name, a in args[1:]:
                y_name, y = g.node("Add", [y_name, a_name], _join(path, output)), y + a
            env[output] = (y_name, y)
        else:
            arrays = [a[1] for a in args]
            env[output] = (g.node("Concat", [a[0] for a in args], _join(path, output), axis=int(axis)),
                           B.get_array_module(*arrays).concatenate(arrays, axis=axis))
    return env[m.output_name]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _handlers():

    leaves = {
        nn.Conv2d: L.conv, nn.Linear: L.linear, nn.BatchNorm1d: L.batch_norm, nn.BatchNorm2d: L.batch_norm,
        nn.LocalResponseNorm: L.lrn, nn.MaxPool2d: L.max_pool, nn.AvgPool2d: L.avg_pool,
        nn.AdaptiveAvgPool2d: L.adaptive_avg_pool, nn.Flatten: L.flatten, nn.Dropout: L.dropout,
        nn.Identity: L.simple("Identity"), nn.ReLU: L.simple("Relu"),
        nn.LeakyReLU: L.simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
        nn.Sigmoid: L.simple("Sigmoid"), nn.Tanh: L.simple("Tanh"), nn.Softmax: L.softmax,
        ZeroPadShortcut: L.zero_pad_shortcut, Upsample: L.upsample, Affine: L.affine,
    }
    trees = {nn.Sequential: _sequential, nn.Concat: _concat, nn.Residual: _residual, GoogLeNet: _googlenet,
             Graph: _graph}
    return leaves, trees


_HANDLERS = None


def _walk(g, m, path, x_name, x):
    """Add ``m``'s nodes reading value ``x_name`` (whose array is ``x``); return ``(output name, output array)``."""
    global _HANDLERS
    if _HANDLERS is None:
        _HANDLERS = _handlers()
    leaves, trees = _HANDLERS
    for cls in type(m).__mro__:
        handler = leaves.get(cls) or trees.get(cls)
        if handler is None:
            continue
        if type(m).forward is not cls.forward:
            raise refuse(path, m, f"it overrides {cls.__name__}.forward, and a custom forward has no ONNX mapping "
                                   "(build it from Sequential, Concat, Residual and the layers of docs/onnx.md)")
        if cls in trees:
            return handler(g, m, path, x_name, x)
        try:
            y = m(x)
        except ValueError as e:
            raise OnnxError(f"cannot export: {e}") from None
        return handler(g, m, path, x_name, x), y
    raise refuse(path, m, "no ONNX mapping for this module type (supported layers and containers: see docs/onnx.md)")


# ---------------------------------------------------------------------------- the model
def _metadata_props(metadata, channels, counts) -> dict:

    if not isinstance(metadata, Mapping | None):
        raise OnnxError(f"metadata must be a mapping of names to values, got {type(metadata).__name__}")
    props = {"producer": "glassnet", "glassnet_version": __version__}
    meta = dict(metadata or {})
    for key in ("mean", "std"):
        if meta.get(key) is not None:
            v = [float(a) for a in np.ravel(meta.pop(key))]
            if len(v) != channels or not all(math.isfinite(a) for a in v) or (key == "std" and min(v) <= 0):
                raise OnnxError(f"metadata {key}: expected {channels} finite numbers (one per input channel)"
                                f"{', positive' if key == 'std' else ''}, got {v}")
            props[f"input_{key}"] = json.dumps(v)
    if meta.get("class_names") is not None:
        props["class_names"] = json.dumps([str(c) for c in meta.pop("class_names")])
    for key, value in meta.items():
        if value is not None:
            props[str(key)] = value if isinstance(value, str) else json.dumps(value)
    if counts:
        props["glassnet_num_batches_tracked"] = json.dumps(counts)
    return props


def build(model, input_shape=None, opset: int = 17, dynamic_batch: bool = True, metadata=None):
    """The checked ``onnx.ModelProto`` of ``model`` (what :func:`export` writes)."""
    import onnx
    from onnx import TensorProto, helper


    if not isinstance(model, nn.Module):
        raise OnnxError(f"export expects a glassnet Module, got {type(model).__name__}")
    if input_shape is None:
        input_shape = getattr(model, "input_size", None)
        if input_shape is None:
            raise OnnxError(f"{type(model).__name__} has no input_size: pass input_shape=(C, H, W)")
    input_shape = tuple(int(s) for s in input_shape)
    if not input_shape or min(input_shape) < 1:
        raise OnnxError(f"input_shape must be positive sizes without the batch, e.g. (1, 28, 28); got {input_shape}")
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise OnnxError(f"opset must be an int from {MIN_OPSET} to {newest} (this onnx package's newest), "
                        f"got {opset!r}")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    g = Builder()
    g.used.add("input")
    try:
        with no_grad():
            x = np.zeros((1, *input_shape), dtype=model.dtype)  # moved to the model's device by its forward
            out_name, y = _walk(g, model, "", "input", x)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    if not B.is_array(y):
        raise OnnxError(f"cannot export {type(model).__name__}: its output is a {type(y).__name__}, not one array")
    batch = "batch" if dynamic_batch else 1
    if not g.nodes or g.nodes[-1].output[0] != out_name:  # e.g. an empty Sequential
        out_name = g.node("Identity", [out_name], "")
    g.nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        g.nodes, type(model).__name__,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, *input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, *y.shape[1:]])],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="glassnet", producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    helper.set_model_props(proto, _metadata_props(metadata, input_shape[0], g.counts))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:  # a bug of this exporter
        raise OnnxError(f"the exported graph fails onnx.checker: {str(e).splitlines()[0]}") from e
    return proto


def export(model, path, input_shape=None, opset: int = 17, dynamic_batch: bool = True, metadata=None):
    """Write ``model`` as an ONNX file at ``path`` (atomically) and return the path.

    Args:
        model: a glassnet module built from ``Sequential``, ``Concat``, ``Residual``, the layers of
            :mod:`glassnet.nn` and the models of :mod:`glassnet.models` (see ``docs/onnx.md``).
        input_shape: one sample's shape, ``(C, H, W)`` (or ``(features,)``); default ``model.input_size``.
        opset: the ONNX operator set (13 to the installed onnx's newest; 17 by default).
        dynamic_batch: a symbolic batch dimension (``"batch"``); ``False`` fixes it to 1.
        metadata: optional mapping: ``mean`` and ``std`` (the input normalisation, one number per channel),
            ``class_names``, ``dataset``, ``model``, and any other entry, stored as ``metadata_props``
            (non-strings as JSON).

    The model runs once on a zero batch in evaluation mode (its modes are restored
    afterwards); the graph is checked with ``onnx.checker.check_model(full_check=True)``.
    """

    data = build(model, input_shape, opset, dynamic_batch, metadata).SerializeToString()
    atomic_write_bytes(path, data)
    return os.fspath(path)
