"""ONNX node -> glassnet layer, for :func:`glassnet.onnx.load` (the reverse of the exporter's table).

Each builder takes the node, its attributes, its constant inputs (``None`` where
an input is data) and the shape of its data input as ONNX shape inference
found it (``None`` for an unknown size), and returns a module with the
node's weights. Anything a glassnet layer cannot compute exactly is refused
with an :class:`OnnxError` naming the node.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..models.resnet_cifar import ZeroPadShortcut
from .errors import OnnxError
from .modules import Affine, Upsample
from .pooling import torch_padding


class Node:
    """What a builder sees: ``op``, ``label`` (for errors), ``attrs``, ``consts`` and the data input's ``shape``."""

    def __init__(self, op, label, attrs, consts, shape, opset):
        self.op, self.label, self.attrs, self.consts, self.shape, self.opset = op, label, attrs, consts, shape, opset

    def error(self, why: str) -> OnnxError:
        return OnnxError(f"node {self.label} (op {self.op}): {why}")

    def const(self, i, what, required=True):
        c = self.consts[i] if i < len(self.consts) else None
        if c is None and required:
            raise self.error(f"{what} (input {i}) must be a constant (an initializer), not computed in the graph")
        return c

    def shaped(self, i, what, ndim):
        c = self.const(i, what)
        if c.ndim != ndim:
            raise self.error(f"{what} must be {ndim}-d, got shape {tuple(c.shape)}")
        return c

    def rank(self):
        return None if self.shape is None else len(self.shape)

    def channels(self):
        return None if self.shape is None or len(self.shape) < 2 else self.shape[1]


def _f(v) -> float:
    """An ONNX float attribute (stored in float32) as the decimal it was written from: 1e-4, not 9.99999974e-05."""
    return float(f"{float(v):.7g}")


def _set(param, value, node, what):
    value = np.asarray(value, dtype=np.float32)
    if tuple(value.shape) != tuple(param.shape):
        raise node.error(f"{what} has shape {tuple(value.shape)}, expected {tuple(param.shape)}")
    param.data = value.copy()


def _check_in(node, expected, what):
    c = node.channels()
    if c is not None and expected != c:
        raise node.error(f"{what} expects {expected} input channels/features, but the input has {c} "
                         f"(input shape {tuple(node.shape)})")


def _pair_pads(node, pads, kernel, stride, dilation, conv):
    """ONNX pads [top, left, bottom, right] -> glassnet's ``padding`` (a pair or 'same')."""
    t, left, b, r = pads
    if (t, left) == (b, r):
        return (t, left)
    th, tw = (d * (k - 1) for d, k in zip(dilation, kernel, strict=True))
    if conv and stride == (1, 1) and (t, b, left, r) == (th // 2, th - th // 2, tw // 2, tw - tw // 2):
        return "same"
    raise node.error(f"asymmetric pads {list(pads)} (top, left, bottom, right) have no glassnet form "
                     "(symmetric pads, or a stride-1 convolution's 'same' pads with the extra row/column last)")


def _auto_pad(node, kernel, stride, dilation, conv):
    mode = node.attrs.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        pads = node.attrs.get("pads", [0, 0, 0, 0])
        if len(pads) != 4:
            raise node.error(f"pads {list(pads)}: only 2-d windows are supported")
        return _pair_pads(node, list(pads), kernel, stride, dilation, conv)
    if mode == "VALID":
        return (0, 0)
    if mode == "SAME_UPPER" and conv and stride == (1, 1):
        return "same"
    raise node.error(f"auto_pad={mode} is supported only as SAME_UPPER on stride-1 convolutions (and VALID)")


def _pair_attr(node, name, default):
    v = tuple(int(a) for a in node.attrs.get(name, default))
    if len(v) != 2:
        raise node.error(f"{name}={list(v)}: only 2-d windows are supported")
    return v


def conv(node):
    W = node.shaped(1, "the weight", 4)
    B = node.const(2, "the bias", required=False)
    if int(node.attrs.get("group", 1)) != 1:
        raise node.error(f"group={node.attrs['group']}: grouped convolutions are not supported")
    cout, cin, kh, kw = W.shape
    kernel = _pair_attr(node, "kernel_shape", (kh, kw))
    if kernel != (kh, kw):
        raise node.error(f"kernel_shape {list(kernel)} does not match the weight's shape {tuple(W.shape)}")
    _check_in(node, cin, f"the weight {tuple(W.shape)}")
    stride, dilation = _pair_attr(node, "strides", (1, 1)), _pair_attr(node, "dilations", (1, 1))
    padding = _auto_pad(node, kernel, stride, dilation, conv=True)
    m = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, bias=B is not None)
    _set(m.weight, W, node, "the weight")
    if B is not None:
        _set(m.bias, B, node, "the bias")
    return m


def gemm(node):
    W = node.shaped(1, "the weight B", 2)
    C = node.const(2, "the bias C", required=False)
    if int(node.attrs.get("transA", 0)):
        raise node.error("transA=1 is not supported")
    W = W if int(node.attrs.get("transB", 0)) else W.T
    W = W * np.float32(node.attrs.get("alpha", 1.0))
    out, cin = W.shape
    _check_in(node, cin, f"the weight {tuple(W.shape)} (after transB)")
    m = nn.Linear(cin, out, bias=C is not None)
    _set(m.weight, W, node, "the weight")
    if C is not None:
        if C.size not in (1, out) or C.ndim > 2:
            raise node.error(f"the bias C has shape {tuple(C.shape)}, expected ({out},)")
        _set(m.bias, np.broadcast_to(C.reshape(-1) * np.float32(node.attrs.get("beta", 1.0)), (out,)), node,
             "the bias")
    return m


def batch_norm(node):
    if int(node.attrs.get("training_mode", 0)):
        raise node.error("training_mode=1: only the inference form is supported")
    scale = node.shaped(1, "scale", 1)
    c = scale.shape[0]
    _check_in(node, c, f"scale ({c},)")
    rank = node.rank()
    if rank not in (2, 3, 4):
        raise node.error(f"the input's rank is {'unknown' if rank is None else rank}; expected 2, 3 or 4")
    m = (nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d)(c, eps=_f(node.attrs.get("epsilon", 1e-5)))
    _set(m.weight, scale, node, "scale")
    _set(m.bias, node.shaped(2, "B", 1), node, "B")
    for i, key in ((3, "running_mean"), (4, "running_var")):
        v = np.asarray(node.shaped(i, key.replace("running_", "input_"), 1), np.float32)
        if v.shape != (c,):
            raise node.error(f"{key} has shape {tuple(v.shape)}, expected ({c},)")
        setattr(m, key, v.copy())
    return m


def _pool(node, cls, **extra):

    kernel = _pair_attr(node, "kernel_shape", ())
    stride = _pair_attr(node, "strides", (1, 1))
    if _pair_attr(node, "dilations", (1, 1)) != (1, 1):
        raise node.error("dilated pooling is not supported")
    if int(node.attrs.get("storage_order", 0)):
        raise node.error("storage_order=1 is not supported")
    ceil = bool(node.attrs.get("ceil_mode", 0))
    mode = node.attrs.get("auto_pad", "NOTSET")
    if mode not in ("NOTSET", "", "VALID"):
        raise node.error(f"auto_pad={mode} is not supported for pooling")
    pads = [0, 0, 0, 0] if mode == "VALID" else [int(p) for p in node.attrs.get("pads", [0, 0, 0, 0])]
    if len(pads) != 4:
        raise node.error(f"pads {pads}: only 2-d windows are supported")
    sizes = None if node.rank() != 4 else node.shape[2:]
    found = torch_padding(sizes, kernel, stride, pads, ceil, extra.get("count_include_pad", False))
    if found is None:
        raise node.error(f"asymmetric pads {pads} (top, left, bottom, right) have no glassnet form (symmetric "
                         "pads, or end pads that only make the ceil_mode windows PyTorch's)")
    padding, ceil = found
    try:
        return cls(kernel, stride=stride, padding=padding, ceil_mode=ceil, **extra)
    except ValueError as e:
        raise node.error(str(e)) from None


def max_pool(node):
    return _pool(node, nn.MaxPool2d)


def average_pool(node):
    return _pool(node, nn.AvgPool2d, count_include_pad=bool(node.attrs.get("count_include_pad", 0)))


def global_average_pool(node):
    if node.rank() not in (4, None):
        raise node.error(f"a {node.rank()}-d input: only (N, C, H, W) is supported")
    return nn.AdaptiveAvgPool2d(1)


def lrn(node):
    size = int(node.attrs["size"])
    if size % 2 == 0:
        raise node.error(f"size={size} is even: ONNX's window differs from glassnet's (PyTorch's) for even sizes")
    return nn.LocalResponseNorm(size, alpha=_f(node.attrs.get("alpha", 1e-4)),
                                beta=_f(node.attrs.get("beta", 0.75)), k=_f(node.attrs.get("bias", 1.0)))


def flatten(node):
    axis, rank = int(node.attrs.get("axis", 1)), node.rank()
    if axis == 1 or (rank is not None and axis == 1 - rank):
        return nn.Flatten()
    raise node.error(f"axis={axis}: only Flatten with axis 1 (keep the batch, merge the rest) is supported")


def softmax(node):
    rank = node.rank()
    axis = int(node.attrs.get("axis", -1 if node.opset >= 13 else 1))
    if node.opset < 13 and not (rank is not None and axis % rank == rank - 1):
        raise node.error(f"opset {node.opset} Softmax coerces the input to 2-d at axis {axis}; "
                         "only the last axis is supported before opset 13")
    return nn.Softmax(dim=axis)


def dropout(node):
    mode = node.const(2, "training_mode", required=False)
    if mode is not None and bool(mode):
        raise node.error("training_mode=true is not supported (inference only)")
    ratio = node.const(1, "ratio", required=False)
    return nn.Dropout(0.5 if ratio is None else _f(np.asarray(ratio).reshape(())))


def resize(node):

    mode = node.attrs.get("mode", "nearest")
    ctm = node.attrs.get("coordinate_transformation_mode", "half_pixel")
    nearest = node.attrs.get("nearest_mode", "round_prefer_floor")
    if mode != "nearest" or ctm not in ("asymmetric", "half_pixel", "pytorch_half_pixel"):
        raise node.error(f"mode={mode}, coordinate_transformation_mode={ctm}: only nearest-neighbour upsampling "
                         "by integer factors is supported")
    scales = node.const(2, "scales", required=False)
    sizes = node.const(3, "sizes", required=False)
    if scales is not None and scales.size:
        factors = [float(s) for s in scales]
    elif sizes is not None and node.shape is not None and None not in node.shape:
        factors = [s / i for s, i in zip(sizes, node.shape, strict=True)]
    else:
        raise node.error("needs constant scales, or constant sizes and a known input shape")
    if len(factors) != 4 or factors[:2] != [1, 1] or not all(f >= 1 and f == int(f) for f in factors[2:]):
        raise node.error(f"scales {factors}: only integer upsampling of H and W is supported")
    a, b = int(factors[2]), int(factors[3])
    if ctm == "asymmetric" and nearest != "floor" and max(a, b) > 2:
        raise node.error(f"asymmetric coordinates with nearest_mode={nearest} do not repeat pixels evenly")
    return Upsample((a, b))


def affine(node, data_index):
    """``Mul`` or ``Add`` with one constant operand."""

    c = np.asarray(node.consts[1 - data_index], np.float32)
    if node.shape is not None and None not in node.shape:
        if np.broadcast_shapes(tuple(node.shape), c.shape) != tuple(node.shape):
            raise node.error(f"the constant {tuple(c.shape)} does not broadcast to the input {tuple(node.shape)}")
    return Affine(scale=c) if node.op == "Mul" else Affine(shift=c)


def zero_pad_shortcut(node, pad):
    """``Slice`` (every s-th pixel of H and W) optionally followed by ``Pad`` (zero channels appended)."""

    starts, ends = node.const(1, "starts"), node.const(2, "ends")
    axes = node.const(3, "axes", required=False)
    steps = node.const(4, "steps", required=False)
    rank = node.rank()
    axes = [a % 4 for a in (axes if axes is not None else range(len(starts)))] if rank == 4 else None
    steps = list(steps) if steps is not None else [1] * len(starts)
    ok = axes == [2, 3] and list(starts) == [0, 0] and len(set(steps)) == 1 and steps[0] >= 1
    dims = node.shape[2:] if rank == 4 else (None, None)
    ok = ok and all(e >= (d if d is not None else np.iinfo(np.int64).max) for e, d in zip(ends, dims, strict=True))
    if not ok:
        raise node.error("only a Slice that keeps every s-th pixel of H and W (option-A ResNet shortcuts) "
                         "is supported")
    c = node.channels()
    if c is None:
        raise node.error("the input's channel count is unknown")
    extra = 0
    if pad is not None:
        if pad.attrs.get("mode", "constant") != "constant":
            raise pad.error("only constant padding is supported")
        pads = [int(p) for p in pad.const(1, "pads")]
        value = pad.const(2, "constant_value", required=False)
        if len(pads) != 8 or any(p for i, p in enumerate(pads) if i != 5) or (value is not None and np.any(value)):
            raise pad.error(f"pads {pads}: only zero channels appended (option-A ResNet shortcuts) are supported")
        extra = pads[5]
    return ZeroPadShortcut(c, c + extra, int(steps[0]))


def unary(op):
    return {
        "Relu": lambda n: nn.ReLU(), "Sigmoid": lambda n: nn.Sigmoid(), "Tanh": lambda n: nn.Tanh(),
        "LeakyRelu": lambda n: nn.LeakyReLU(_f(n.attrs.get("alpha", 0.01))),
        "Identity": lambda n: nn.Identity(),
        "Conv": conv, "Gemm": gemm, "BatchNormalization": batch_norm, "MaxPool": max_pool,
        "AveragePool": average_pool, "GlobalAveragePool": global_average_pool, "LRN": lrn, "Flatten": flatten,
        "Softmax": softmax, "Dropout": dropout, "Resize": resize,
    }.get(op)


SUPPORTED = sorted(["Relu", "Sigmoid", "Tanh", "LeakyRelu", "Identity", "Conv", "Gemm", "BatchNormalization",
                    "MaxPool", "AveragePool", "GlobalAveragePool", "LRN", "Flatten", "Softmax", "Dropout", "Resize",
                    "Add", "Mul", "Concat", "Slice", "Pad", "Constant"])
