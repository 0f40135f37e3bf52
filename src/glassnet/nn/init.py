"""Weight initialisers (in place on a `Parameter`), with PyTorch's formulas.

For a weight of shape (out, in, *kernel): fan_in = in * prod(kernel),
fan_out = out * prod(kernel).

* He / Kaiming (for ReLU): std = gain / sqrt(fan), gain = sqrt(2 / (1 + a^2));
  uniform bound = sqrt(3) * std.
* Xavier / Glorot (for tanh/sigmoid): std = gain * sqrt(2 / (fan_in + fan_out));
  uniform bound = sqrt(3) * std.

Default initialisation of `Linear` and `Conv2d` (PyTorch's): weight =
``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and
bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

>>> import numpy as np
>>> from glassnet.nn import Parameter
>>> w = Parameter(np.empty((64, 3, 3, 3)))
>>> _ = kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
>>> fan_in_and_fan_out(w)
(27, 576)
"""

from __future__ import annotations

import math

from .. import backend as B


def fan_in_and_fan_out(p) -> tuple[int, int]:
    shape = p.shape
    if len(shape) < 2:
        raise ValueError(f"fan in/out need at least 2 dimensions, got shape {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param=None) -> float:
    """PyTorch's recommended gains: relu sqrt(2), tanh 5/3, leaky_relu sqrt(2/(1+a^2)), linear/sigmoid 1."""
    if nonlinearity in ("linear", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + a * a))
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fill(p, values):
    p.data = B.get_array_module(p.data).asarray(values, dtype=p.data.dtype).reshape(p.shape)
    return p



def _float(p):
    return p.data.dtype if p.data.dtype in (B.xp.float32, B.xp.float64) else B.xp.float64


def uniform_(p, a=0.0, b=1.0):
    """U(a, b), drawn directly in the parameter's dtype (no float64 detour for big layers)."""
    u = B.rng().random(p.shape, dtype=_float(p))
    u *= b - a
    u += a
    return _fill(p, u)


def normal_(p, mean=0.0, std=1.0):
    """N(mean, std^2), drawn directly in the parameter's dtype."""
    v = B.rng().standard_normal(p.shape, dtype=_float(p))
    v *= std
    v += mean
    return _fill(p, v)


def constant_(p, value):
    return _fill(p, B.xp.full(p.shape, value))


def zeros_(p):
    return constant_(p, 0.0)


def ones_(p):
    return constant_(p, 1.0)


def _kaiming_std(p, a, mode, nonlinearity):
    fan_in, fan_out = fan_in_and_fan_out(p)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(p, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    bound = math.sqrt(3.0) * _kaiming_std(p, a, mode, nonlinearity)
    return uniform_(p, -bound, bound)


def kaiming_normal_(p, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(p, 0.0, _kaiming_std(p, a, mode, nonlinearity))


def xavier_uniform_(p, gain=1.0):
    fan_in, fan_out = fan_in_and_fan_out(p)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(p, -bound, bound)


def xavier_normal_(p, gain=1.0):
    fan_in, fan_out = fan_in_and_fan_out(p)
    return normal_(p, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def trunc_normal_(p, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Normal(mean, std) truncated to [a, b] (resampling outside values)."""
    v = B.rng().normal(mean, std, p.shape)
    bad = (v < a) | (v > b)
    while bad.any():
        v[bad] = B.rng().normal(mean, std, int(bad.sum()))
        bad = (v < a) | (v > b)
    return _fill(p, v)


def default_weight_and_bias_(weight, bias):
    """PyTorch's default for Linear and Conv2d (see the module docstring)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in_and_fan_out(weight)[0])
        uniform_(bias, -bound, bound)
