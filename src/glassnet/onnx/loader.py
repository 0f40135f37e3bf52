"""Load an ONNX file as a glassnet module (weights included), or read its metadata.

Steps: parse the file (a truncated or corrupt file is one clear error), check
it with ``onnx.checker``, infer the shape of every value, fold constants
(initializers, ``Constant`` nodes, ``Identity`` of a constant), turn each node
into a glassnet layer (:mod:`glassnet.onnx.ops`) or a join (``Add`` of two
computed values, ``Concat``), and nest them into containers
(:mod:`glassnet.onnx.structure`). The model then runs once on a zero batch of
the file's input shape, so weights that do not fit the graph fail here, with
the layer named, not later. An op without a glassnet layer is refused with one
line naming the op and the node.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..nn.module import no_grad
from . import ops
from .errors import OnnxError
from .structure import Unit, assemble

JSON_KEYS = ("input_mean", "input_std", "class_names", "input_shape", "glassnet_num_batches_tracked")


def _read(path):
    import onnx
    from google.protobuf.message import DecodeError

    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise OnnxError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise OnnxError(f"{source}: is a directory, not an ONNX file") from None
    except OSError as e:
        raise OnnxError(f"{source}: cannot read ({e.strerror or e})") from None
    try:
        proto = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise OnnxError(f"{source}: not an ONNX model (truncated or corrupt: {str(e).splitlines()[0]})") from None
    if not proto.graph.node or not proto.graph.output:
        raise OnnxError(f"{source}: not an ONNX model (no graph: an empty, truncated or foreign file)")
    return proto, source


def read_metadata(path) -> dict:
    """``metadata_props`` of an ONNX file as a dict (``input_mean``, ``input_std``, ``class_names`` ... decoded
    from JSON), plus ``producer_name``, ``producer_version`` and ``input_shape`` (one sample's shape, from the
    graph's input when the file does not say)."""
    proto, source = _read(path)
    return _metadata(proto, source)


def _metadata(proto, source) -> dict:
    meta = {"producer_name": proto.producer_name, "producer_version": proto.producer_version}
    for p in proto.metadata_props:
        meta[p.key] = p.value
        if p.key in JSON_KEYS:
            try:
                meta[p.key] = json.loads(p.value)
            except json.JSONDecodeError:
                raise OnnxError(f"{source}: metadata entry {p.key!r} is not valid JSON: {p.value[:60]!r}") from None
    if "input_shape" not in meta:
        inits = {i.name for i in proto.graph.initializer}
        inputs = [i for i in proto.graph.input if i.name not in inits]
        if len(inputs) == 1:
            dims = inputs[0].type.tensor_type.shape.dim[1:]
            meta["input_shape"] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    return meta


def _shapes(proto) -> dict:
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=False)
    except Exception:  # inconsistent files are reported by the layers' own checks below
        inferred = proto
    out = {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return out


def _hint(name: str, producer: str):
    """The module path a node came from: glassnet names nodes ``path/Op``; PyTorch ``/scope/.../Op``."""
    if producer == "glassnet":
        return name.split("/")[0]
    if producer == "pytorch" and name.startswith("/"):
        path, prev = "", None
        for comp in name.split("/")[1:-1]:  # a container's child is scoped "<container>.<child>"
            local = comp[len(prev) + 1:] if prev and comp.startswith(prev + ".") else comp
            path, prev = (f"{path}.{local}" if path else local), comp
        return path
    return None


def _attrs(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return out


def _label(node, i) -> str:
    return f"'{node.name}'" if node.name else f"#{i} (output '{node.output[0]}')"


def build_module(proto, source: str = "<model>"):
    """The glassnet module of an ``onnx.ModelProto`` (see the module docstring); evaluation mode."""
    import onnx
    from onnx import numpy_helper

    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise OnnxError(f"{source}: no ai.onnx operator set is imported")
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as e:
        raise OnnxError(f"{source}: invalid ONNX model: {str(e).strip().splitlines()[0]}") from None
    graph = proto.graph
    consts = {}
    for t in graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise OnnxError(f"{source}: initializer '{t.name}' is stored in an external file; save the model "
                            "with its weights inside (onnx.save_model(..., save_as_external_data=False))")
        consts[t.name] = numpy_helper.to_array(t)
    inputs = [i.name for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise OnnxError(f"{source}: the graph has {len(inputs)} inputs and {len(graph.output)} outputs; "
                        "glassnet loads graphs of one input and one output")
    shapes = _shapes(proto)
    hinted = proto.producer_name in ("glassnet", "pytorch")
    units, skip = [], set()
    consumers = {}
    for node in graph.node:
        for v in node.input:
            consumers.setdefault(v, []).append(node)
    for i, node in enumerate(graph.node):
        if i in skip:
            continue
        label = _label(node, i)
        if node.domain not in ("", "ai.onnx"):
            raise OnnxError(f"{source}: node {label}: op {node.domain}.{node.op_type} (a custom domain) is not "
                            "supported")
        if node.op_type == "Constant":
            value = _attrs(node)
            consts[node.output[0]] = (numpy_helper.to_array(value["value"]) if "value" in value
                                      else np.asarray(next(iter(value.values()))))
            continue
        if node.op_type == "Identity" and node.input[0] in consts:
            consts[node.output[0]] = consts[node.input[0]]
            continue
        for extra in node.output[1:]:
            if extra and consumers.get(extra):
                raise OnnxError(f"{source}: node {label} (op {node.op_type}): its output '{extra}' is used; only "
                                "the first output of a node is supported")
        data = [v for v in node.input if v and v not in consts]
        hint = _hint(node.name, proto.producer_name) if hinted else None
        unit = Unit(len(units), "module", data[:1], node.output[0], hint=hint)
        spec = ops.Node(node.op_type, label, _attrs(node), [consts.get(v) if v else None for v in node.input],
                        shapes.get(data[0]) if data else None, opset)
        try:
            unit.module = _layer(node, spec, data, unit, graph, consumers, skip, shapes, consts, opset)
        except OnnxError as e:
            raise OnnxError(f"{source}: {e}") from None
        units.append(unit)
    model = assemble(units, inputs[0], graph.output[0].name, hinted)
    model.eval()
    meta = _metadata(proto, source)
    counts = meta.get("glassnet_num_batches_tracked")
    if isinstance(counts, dict) and proto.producer_name == "glassnet":
        keys = set(model.state_dict())  # the training step counts, kept for an exact round trip
        model.load_state_dict({k: np.asarray(v, np.int64) for k, v in counts.items() if k in keys}, strict=False)
    _dry_run(model, shapes.get(inputs[0]), shapes.get(graph.output[0].name), source)
    return model


def _layer(node, spec, data, unit, graph, consumers, skip, shapes, consts, opset):
    op = node.op_type
    if op == "Add" and len(data) == 2:
        unit.kind, unit.inputs = "add", data
        return None
    if op == "Concat":
        if len(data) != len(node.input):
            raise spec.error("constant inputs of Concat are not supported")
        unit.kind, unit.inputs, unit.axis = "concat", data, int(spec.attrs["axis"])
        return None
    if len(data) != 1 or node.input[0] not in data and op not in ("Add", "Mul"):
        raise spec.error(f"{len(data)} computed inputs; expected one (the data), the rest constants")
    if op in ("Add", "Mul"):
        return ops.affine(spec, 0 if node.input[0] == data[0] else 1)
    if op == "Slice":
        after = consumers.get(node.output[0], [])
        pad = None
        if len(after) == 1 and after[0].op_type == "Pad" and after[0].input[0] == node.output[0]:
            j = list(graph.node).index(after[0])
            pad = ops.Node("Pad", _label(after[0], j), _attrs(after[0]),
                           [consts.get(v) if v else None for v in after[0].input], None, opset)
            skip.add(j)
            unit.output = after[0].output[0]
        return ops.zero_pad_shortcut(spec, pad)
    build = ops.unary(op)
    if build is None:
        raise spec.error(f"op {op} is not supported by glassnet.onnx.load (supported: {', '.join(ops.SUPPORTED)})"
                         if op != "Pad" else "Pad is supported only after a Slice (option-A ResNet shortcuts)")
    return build(spec)


def _dry_run(model, in_shape, out_shape, source):
    """Run the model once on zeros of the file's input shape: weights that do not fit fail here, named."""
    if not in_shape or any(d is None for d in in_shape[1:]):
        return
    x = np.zeros((1, *in_shape[1:]), np.float32)
    try:
        with no_grad():
            y = model(x)
    except (ValueError, IndexError) as e:
        raise OnnxError(f"{source}: the weights do not fit the graph: {e}") from None
    if out_shape and any(d is not None and d != s for d, s in zip(out_shape[1:], y.shape[1:], strict=False)):
        raise OnnxError(f"{source}: the graph declares an output of shape {out_shape}, its layers compute "
                        f"{list(y.shape)}")


def load(path):
    """Build a glassnet module, in evaluation mode with the file's weights, from the ONNX file ``path``.

    Supported ops: those of the exporter's table (see ``docs/onnx.md``), from glassnet's files and from
    PyTorch's ``torch.onnx.export``. Raises :class:`~glassnet.onnx.OnnxError` (a ``ValueError``) with one
    line for a file that cannot be read, a file that is not valid ONNX, an op without a glassnet layer
    (naming the op and the node) and weights whose shapes do not fit the graph.
    """
    proto, source = _read(path)
    return build_module(proto, source)
