"""The exporter's layer table: one function per glassnet layer, adding its ONNX node(s).

Each function takes the graph being built, the module, its path (for names
and errors), the name of the value it reads and that value's array (one real
forward pass runs beside the export, so shapes are known), and returns the
name of the value it writes. Weights become initializers named by their
state-dict keys. The conventions that differ between ONNX and PyTorch are
in ``docs/onnx.md``.
"""

from __future__ import annotations

import numpy as np

from .. import backend as B
from .errors import OnnxError
from .pooling import onnx_pads

INT64_MAX = np.iinfo(np.int64).max

class Builder:
    """Collects nodes and initializers; hands out unique value names."""

    def __init__(self):
        self.nodes, self.initializers, self.used = [], [], set()
        self.counts = {}  # BatchNorm's num_batches_tracked by state-dict key: metadata, for an exact round trip

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}#{k}"
        self.used.add(name)
        return name

    def const(self, name: str, array) -> str:
        from onnx import numpy_helper

        a = np.asarray(B.to_host(array))  # weights of a model on a GPU come to the host
        a = a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(a.copy(order="C"), name))
        return name

    def node(self, op: str, inputs, path: str, **attrs) -> str:
        from onnx import helper

        name = self.unique(f"{path}/{op}")
        out = self.unique(f"{path}/{op}:out")
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=name, **attrs))
        return out


def refuse(path: str, m, why: str) -> OnnxError:
    where = f"'{path}'" if path else "the model's root"
    return OnnxError(f"cannot export {type(m).__name__} at {where}: {why}")


# ---------------------------------------------------------------------------- leaf layers
def conv(g, m, path, x_name, x):
    t, b, left, r = m._pads
    inputs = [x_name, g.const(f"{path}.weight" if path else "weight", m.weight.data)]
    if m.bias is not None:
        inputs.append(g.const(f"{path}.bias" if path else "bias", m.bias.data))
    return g.node("Conv", inputs, path, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  pads=[t, left, b, r], dilations=list(m.dilation), group=1)


def linear(g, m, path, x_name, x):
    inputs = [x_name, g.const(f"{path}.weight" if path else "weight", m.weight.data)]
    if m.bias is not None:
        inputs.append(g.const(f"{path}.bias" if path else "bias", m.bias.data))
    return g.node("Gemm", inputs, path, alpha=1.0, beta=1.0, transA=0, transB=1)


def batch_norm(g, m, path, x_name, x):
    if not m.track_running_stats:
        raise refuse(path, m, "track_running_stats=False normalises with the batch's own statistics in "
                               "evaluation too; ONNX's BatchNormalization (inference) needs running statistics")
    pre = f"{path}." if path else ""
    g.counts[pre + "num_batches_tracked"] = int(m.num_batches_tracked)
    c = m.num_features
    gamma = m.weight.data if m.affine else np.ones(c, np.float32)
    beta = m.bias.data if m.affine else np.zeros(c, np.float32)
    names = [g.const(pre + ("weight" if m.affine else "scale:ones"), gamma),
             g.const(pre + ("bias" if m.affine else "shift:zeros"), beta),
             g.const(pre + "running_mean", m.running_mean), g.const(pre + "running_var", m.running_var)]
    return g.node("BatchNormalization", [x_name, *names], path, epsilon=float(m.eps))


def lrn(g, m, path, x_name, x):
    if m.size % 2 == 0:
        raise refuse(path, m, f"size={m.size} is even: ONNX's LRN window is [c - (size-1)//2, c + size//2] and "
                               "PyTorch's [c - size//2, c + (size-1)//2], which differ for even sizes "
                               "(and onnxruntime accepts odd sizes only)")
    return g.node("LRN", [x_name], path, size=int(m.size), alpha=float(m.alpha), beta=float(m.beta),
                  bias=float(m.k))


def _pool(g, m, path, x_name, x, op, **extra):

    found = onnx_pads(x.shape[2:], m.kernel_size, m.stride, m.padding, m.ceil_mode, extra.get("count_include_pad"))
    if found is None:
        raise refuse(path, m, f"ceil_mode with count_include_pad on a {x.shape[2]}x{x.shape[3]} input: ONNX's pads "
                               "and ceil_mode cannot give PyTorch's windows on both axes (see docs/onnx.md)")
    pads, ceil = found
    return g.node(op, [x_name], path, kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=pads,
                  ceil_mode=ceil, **extra)


def max_pool(g, m, path, x_name, x):
    return _pool(g, m, path, x_name, x, "MaxPool")


def avg_pool(g, m, path, x_name, x):
    return _pool(g, m, path, x_name, x, "AveragePool", count_include_pad=int(m.count_include_pad))


def adaptive_avg_pool(g, m, path, x_name, x):
    (h, w), (oh, ow) = x.shape[2:], m.output_size
    if (oh, ow) == (1, 1):
        return g.node("GlobalAveragePool", [x_name], path)
    pool, up = [], []
    for size, out in ((h, oh), (w, ow)):
        if size % out == 0:
            pool.append(size // out)
            up.append(1)
        elif out % size == 0:
            pool.append(1)
            up.append(out // size)
        else:
            raise refuse(path, m, f"output {oh}x{ow} from input {h}x{w}: adaptive windows of unequal sizes have no "
                                   "ONNX form (exact when one size divides the other); export at another input size")
    y = x_name
    if pool != [1, 1] or up == [1, 1]:
        y = g.node("AveragePool", [y], path, kernel_shape=pool, strides=pool, pads=[0, 0, 0, 0])
    if up != [1, 1]:
        y = _resize(g, path, y, up)
    return y


def _resize(g, path, x_name, factors):
    scales = g.const(f"{path}.scales" if path else "scales", np.array([1, 1, *factors], np.float32))
    return g.node("Resize", [x_name, "", scales], path, mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def flatten(g, m, path, x_name, x):
    end = m.end_dim % x.ndim if x.ndim else 0
    if m.start_dim % max(x.ndim, 1) != 1 or end != x.ndim - 1:
        raise refuse(path, m, f"Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}) on a {x.ndim}-d input: only "
                               "Flatten(1, -1) (ONNX Flatten, axis 1) is exported")
    return g.node("Flatten", [x_name], path, axis=1)


def dropout(g, m, path, x_name, x):
    ratio = g.const(f"{path}.ratio" if path else "ratio", np.array(m.p, np.float32))
    return g.node("Dropout", [x_name, ratio], path)


def softmax(g, m, path, x_name, x):
    return g.node("Softmax", [x_name], path, axis=int(m.dim))


def simple(op, **attrs):
    def emit(g, m, path, x_name, x):
        values = {k: (v(m) if callable(v) else v) for k, v in attrs.items()}
        return g.node(op, [x_name], path, **values)

    return emit


def zero_pad_shortcut(g, m, path, x_name, x):
    s = m.stride
    pre = f"{path}." if path else ""
    y = g.node("Slice", [x_name, g.const(pre + "starts", [0, 0]), g.const(pre + "ends", [INT64_MAX, INT64_MAX]),
                         g.const(pre + "axes", [2, 3]), g.const(pre + "steps", [s, s])], path)
    extra = m.out_channels - m.in_channels
    if extra:
        y = g.node("Pad", [y, g.const(pre + "pads", [0, 0, 0, 0, 0, extra, 0, 0])], path, mode="constant")
    return y


def upsample(g, m, path, x_name, x):
    return _resize(g, path, x_name, list(m.scale_factor))


def affine(g, m, path, x_name, x):
    pre = f"{path}." if path else ""
    y = x_name
    if m.scale is not None:
        y = g.node("Mul", [y, g.const(pre + "scale", m.scale)], path)
    if m.shift is not None:
        y = g.node("Add", [y, g.const(pre + "shift", m.shift)], path)
    return y
