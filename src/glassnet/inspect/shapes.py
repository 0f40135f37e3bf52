"""Shape inference per layer type: output shape, multiply-accumulates and receptive-field geometry.

:func:`layer_geometry` answers, for one leaf module and the per-sample input
shape (C, H, W) or (F,), without running any array:

* ``out_shape``: the per-sample output shape, by the layer's size formula,
  e.g. ``H_out = floor((H + pad_top + pad_bottom - d*(k-1) - 1) / s) + 1``;
* ``macs``: multiply-accumulates of one sample's forward pass. The counting
  rule: a convolution costs ``C_out * H_out * W_out * (C_in * kh * kw)``, a
  linear layer ``in * out``; biases, BatchNorm, activations, pooling,
  dropout and additions count 0;
* ``kernel`` and ``stride``: the effective kernel ``d*(k-1) + 1`` and the
  stride per spatial axis, for the receptive-field recursion
  ``r_out = r_in + (k - 1) * j_in``, ``j_out = j_in * s``.

A module of another type may describe itself with a ``summary_info(in_shape)``
method returning a :class:`Geometry`-like dict; otherwise it is run once on
zeros of the input shape (batch 1, ``no_grad``) to learn its output shape,
and its cost and receptive-field geometry are reported as unknown.

>>> from glassnet import nn
>>> g = layer_geometry(nn.Conv2d(3, 10, 3), (3, 100, 100))
>>> g.out_shape, g.macs, g.kernel, g.stride
((10, 98, 98), 2593080, (3, 3), (1, 1))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import backend as B
from .. import nn
from ..nn.module import format_shape


@dataclass(frozen=True)
class Geometry:
    out_shape: tuple
    macs: int | None = 0
    kernel: tuple | None = (1, 1)
    """Effective kernel per spatial axis; None when unknown."""
    stride: tuple | None = (1, 1)
    view: bool = False
    """True when the output is a view of the input (no new memory: Flatten, Identity)."""


def _shape_str(shape) -> str:
    return " x ".join(str(s) for s in shape)


def _fail(module, expected, in_shape):
    return ValueError(f"{module.label}: expected input {expected}, got {_shape_str(in_shape)} (per sample)")


def _spatial(module, in_shape, channels=None):
    if len(in_shape) != 3 or (channels is not None and in_shape[0] != channels):
        raise _fail(module, f"{channels if channels is not None else 'C'} x H x W", in_shape)
    return in_shape


def _conv(m, s):
    """Output shape and MACs from the layer's own window (:class:`~glassnet.nn.functional.geometry.Window2d`)."""
    c, h, w = _spatial(m, s, m.in_channels)
    win = m.window
    if not win.fits(h, w):
        keh, kew = win.span
        raise _fail(m, f"{m.in_channels} x H x W with H + padding >= {keh} and W + padding >= {kew}", s)
    ho, wo = win.out_size(h, w)
    (kh, kw) = win.kernel
    return Geometry((m.out_channels, ho, wo), m.out_channels * ho * wo * m.in_channels * kh * kw, win.span, win.stride)


def _pool(m, s):
    c, h, w = _spatial(m, s)
    win = m.window
    if not win.fits(h, w):
        mh, mw = win.min_input()
        raise _fail(m, f"C x H x W with H >= {mh} and W >= {mw}", s)
    return Geometry((c,) + win.out_size(h, w), 0, win.kernel, win.stride)


def adaptive_window(size: int, out: int) -> tuple[int, int]:
    """(kernel, stride) of adaptive pooling along one axis: exact when ``out`` divides ``size``; otherwise the
    largest bin [floor(i*size/out), ceil((i+1)*size/out)) as kernel and floor(size/out) (at least 1) as stride."""
    if size % out == 0:
        return size // out, size // out
    k = max(math.ceil((i + 1) * size / out) - math.floor(i * size / out) for i in range(out))
    return k, max(1, size // out)


def _adaptive(m, s):
    c, h, w = _spatial(m, s)
    oh, ow = m.output_size
    (kh, sh), (kw, sw) = adaptive_window(h, oh), adaptive_window(w, ow)
    return Geometry((c, oh, ow), 0, (kh, kw), (sh, sw))


def _linear(m, s):
    if tuple(s) != (m.in_features,):
        raise _fail(m, f"{m.in_features} features", s)
    return Geometry((m.out_features,), m.in_features * m.out_features, None, None)


def _flatten(m, s):
    full = (1,) + tuple(s)
    start, end = m.start_dim % len(full), m.end_dim % len(full)
    if start == 0:
        raise ValueError(f"{m.label}: summary needs the batch axis kept (start_dim >= 1), got start_dim={m.start_dim}")
    out = full[:start] + (math.prod(full[start : end + 1]),) + full[end + 1 :]
    spatial = len(out) == 4
    return Geometry(out[1:], 0, (1, 1) if spatial else None, (1, 1) if spatial else None, view=True)


def _batchnorm(m, s):
    if not s or s[0] != m.num_features:
        raise _fail(m, f"{m.num_features} channels first", s)
    return Geometry(tuple(s))


def _same(m, s):
    return Geometry(tuple(s), view=isinstance(m, nn.Identity))


RULES = {
    nn.Conv2d: _conv,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.Linear: _linear,
    nn.Flatten: _flatten,
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
}
for _t in (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.Dropout, nn.LocalResponseNorm, nn.Identity):
    RULES[_t] = _same


def layer_geometry(module, in_shape) -> Geometry:
    """Output shape, MACs and receptive-field geometry of one leaf ``module`` for a per-sample ``in_shape``."""
    in_shape = tuple(int(v) for v in in_shape)
    for cls in type(module).__mro__:
        if cls in RULES:
            return RULES[cls](module, in_shape)
    info = getattr(module, "summary_info", None)
    if callable(info):
        return Geometry(**info(in_shape))
    return _run_once(module, in_shape)


def _run_once(module, in_shape) -> Geometry:
    """Learn the output shape of an unknown layer by running it on zeros; MACs and geometry unknown."""
    x = B.xp.zeros((1,) + in_shape, dtype=module.dtype)
    flags = [(m, m.training) for m in module.modules()]
    module.eval()  # no running-statistics updates
    try:
        with nn.no_grad():
            y = module(x)
    except Exception as e:
        msg = f"{module.label}: could not infer its output shape for input {format_shape(in_shape)}: {e}"
        raise ValueError(msg) from e
    finally:
        for m, flag in flags:
            object.__setattr__(m, "training", flag)
    return Geometry(tuple(y.shape[1:]), None, None, None)
