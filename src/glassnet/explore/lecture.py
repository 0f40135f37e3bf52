"""The lecture's arithmetic for one output value, written out with every number (float64, pure functions).

Each function takes the layer's input ``x`` of one sample and returns a JSON-able record of how one
output value is made, so that the page can show the numbers and the tests can check them against the
value glassnet's forward pass produced.

* Convolution (cross-correlation, as PyTorch): with the input zero-padded by (top, bottom, left, right),
  ``z[co, i, j] = b[co] + sum_ci sum_p sum_q X[ci, i*s_h + p*d_h, j*s_w + q*d_w] * F[co, ci, p, q]``.
* Max pooling: the window's maximum; padding counts as -inf; ties go to the first maximum (as PyTorch).
* Average pooling: the window's sum over its size (``count_include_pad``) or over its real pixels.
* Weight gradient of a convolution, the lecture's rule ``dF = X correlated with dZ``:
  ``dF[co, ci, p, q] = sum_i sum_j X[ci, i*s_h + p*d_h, j*s_w + q*d_w] * dZ[co, i, j]``.

>>> import numpy as np
>>> x = np.arange(9.0).reshape(1, 3, 3)                      # the lecture's 3x3 input
>>> F = np.array([[[[1.0, 0.0], [0.0, 1.0]]]])                # one 2x2 kernel
>>> r = conv_pixel(x, F, None, (1, 1), (0, 0, 0, 0), (1, 1), 0, 0, 0)
>>> r["window"], r["total"]                                   # z11 = X11 F11 + X12 F12 + X21 F21 + X22 F22
([[[0.0, 1.0], [3.0, 4.0]]], 4.0)
"""

from __future__ import annotations

import math

import numpy as np


def _taps(start: int, stride: int, dilation: int, k: int, pad: int, i: int) -> np.ndarray:
    """Input coordinates (unpadded; negative or >= size means padding) read by output index ``i``."""
    return i * stride + dilation * np.arange(k) - pad + start


def _gather(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill: float):
    """x[:, rows][:, :, cols] where the coordinates are inside, ``fill`` outside; also the inside mask."""
    h, w = x.shape[1:]
    r_in = (rows >= 0) & (rows < h)
    c_in = (cols >= 0) & (cols < w)
    inside = r_in[:, None] & c_in[None, :]
    out = np.full((x.shape[0], len(rows), len(cols)), fill, np.float64)
    sub = x[:, np.clip(rows, 0, h - 1)][:, :, np.clip(cols, 0, w - 1)].astype(np.float64)
    out[:, inside] = sub[:, inside]
    return out, inside


def _check_index(name: str, value: int, size: int) -> int:
    if not 0 <= value < size:
        raise ValueError(f"{name} must be in 0..{size - 1}, got {value}")
    return int(value)


def out_size(n: int, k: int, s: int, d: int, pad: int) -> int:
    """floor((n + pad_total - d*(k-1) - 1) / s) + 1."""
    return (n + pad - d * (k - 1) - 1) // s + 1


def conv_pixel(x, weight, bias, stride, pads, dilation, co: int, i: int, j: int) -> dict:
    """How ``z[co, i, j]`` of a convolution is made from its input ``x`` (C_in, H, W).

    ``pads`` is (top, bottom, left, right). Returns the window (C_in, kh, kw; padding reads 0), the kernels
    F[co] (C_in, kh, kw), their element-wise products, the sum per input channel, the bias and the total,
    with the input rows and columns the window covers.
    """
    x = np.asarray(x)
    weight = np.asarray(weight, np.float64)
    c_out, c_in, kh, kw = weight.shape
    (sh, sw), (dh, dw), (t, b, left, r) = stride, dilation, pads
    oh = out_size(x.shape[1], kh, sh, dh, t + b)
    ow = out_size(x.shape[2], kw, sw, dw, left + r)
    co, i, j = _check_index("channel", co, c_out), _check_index("row", i, oh), _check_index("column", j, ow)
    rows, cols = _taps(0, sh, dh, kh, t, i), _taps(0, sw, dw, kw, left, j)
    window, inside = _gather(x, rows, cols, 0.0)
    products = window * weight[co]
    per_channel = products.sum(axis=(1, 2))
    bias_value = 0.0 if bias is None else float(np.asarray(bias, np.float64)[co])
    return {
        "op": "conv", "channel": co, "row": i, "col": j, "out_size": [oh, ow], "in_size": list(x.shape[1:]),
        "stride": [sh, sw], "dilation": [dh, dw], "padding": [t, b, left, r],
        "rows": rows.tolist(), "cols": cols.tolist(), "inside": inside.tolist(),
        "window": window.tolist(), "kernel": weight[co].tolist(), "products": products.tolist(),
        "channel_sums": per_channel.tolist(), "bias": bias_value,
        "total": float(per_channel.sum() + bias_value),
    }


def pool_pixel(x, kind: str, kernel, stride, padding, c: int, i: int, j: int, *, ceil_mode=False,
               count_include_pad=True) -> dict:
    """How output ``[c, i, j]`` of a max or average pooling is made from ``x`` (C, H, W)."""
    x = np.asarray(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    h, w = x.shape[1:]
    oh, ow = _pool_size(h, kh, sh, ph, ceil_mode), _pool_size(w, kw, sw, pw, ceil_mode)
    c, i, j = _check_index("channel", c, x.shape[0]), _check_index("row", i, oh), _check_index("column", j, ow)
    rows, cols = _taps(0, sh, 1, kh, ph, i), _taps(0, sw, 1, kw, pw, j)
    window, inside = _gather(x[c:c + 1], rows, cols, -math.inf if kind == "max" else 0.0)
    window = window[0]
    rec = {"op": f"{kind}pool", "channel": c, "row": i, "col": j, "out_size": [oh, ow], "kernel": [kh, kw],
           "stride": [sh, sw], "padding": [ph, pw], "rows": rows.tolist(), "cols": cols.tolist(),
           "inside": inside.tolist()}
    if kind == "max":
        flat = int(np.argmax(window))  # first maximum, as PyTorch
        rec.update(window=np.where(inside, window, np.nan).tolist(), argmax=[flat // kw, flat % kw],
                   total=float(window.flat[flat]))
    else:
        # PyTorch: with count_include_pad the divisor counts padding but not the part of a ceil_mode window
        # that hangs past the padded input
        r_pad = (rows >= -ph) & (rows < h + ph)
        c_pad = (cols >= -pw) & (cols < w + pw)
        divisor = int(r_pad.sum() * c_pad.sum()) if count_include_pad else int(inside.sum())
        rec.update(window=window.tolist(), sum=float(window.sum()), divisor=divisor,
                   total=float(window.sum() / divisor))
    return rec


def _pool_size(n, k, s, p, ceil_mode):
    if not ceil_mode:
        return (n + 2 * p - k) // s + 1
    o = -(-(n + 2 * p - k) // s) + 1
    return o - 1 if (o - 1) * s >= n + p else o


def adaptive_pool_pixel(x, out_size_hw, c: int, i: int, j: int) -> dict:
    """Adaptive average pooling: rows floor(i*H/oh) .. ceil((i+1)*H/oh) - 1, and the same for columns."""
    x = np.asarray(x)
    h, w = x.shape[1:]
    oh, ow = out_size_hw
    c, i, j = _check_index("channel", c, x.shape[0]), _check_index("row", i, oh), _check_index("column", j, ow)
    r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
    c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
    window = x[c, r0:r1, c0:c1].astype(np.float64)
    return {"op": "avgpool", "channel": c, "row": i, "col": j, "out_size": [oh, ow], "rows": list(range(r0, r1)),
            "cols": list(range(c0, c1)), "window": window.tolist(), "sum": float(window.sum()),
            "divisor": int(window.size), "total": float(window.mean())}


def linear_unit(x, weight, bias, j: int) -> dict:
    """How output ``y[j] = b[j] + sum_i W[j, i] x[i]`` of a linear layer is made from ``x`` (in_features,)."""
    x = np.asarray(x, np.float64).reshape(-1)
    weight = np.asarray(weight, np.float64)
    j = _check_index("unit", j, weight.shape[0])
    products = weight[j] * x
    b = 0.0 if bias is None else float(np.asarray(bias, np.float64)[j])
    order = np.argsort(-np.abs(products), kind="stable")[:16]
    return {"op": "linear", "unit": j, "in_features": int(x.size), "bias": b, "sum": float(products.sum()),
            "total": float(products.sum() + b), "largest": [{"index": int(k), "x": float(x[k]),
                                                               "w": float(weight[j, k]),
                                                               "product": float(products[k])} for k in order]}


def weight_gradient(x, dz, stride, pads, dilation, kernel_size, ci: int, co: int, p: int, q: int) -> dict:
    """The lecture's ``dF = X correlated with dZ`` for one kernel ``F[co, ci]``, with entry (p, q) written out.

    ``x`` is the layer input (C_in, H, W), ``dz`` the gradient at its output (C_out, oh, ow).
    """
    x, dz = np.asarray(x), np.asarray(dz, np.float64)
    (sh, sw), (dh, dw), (t, _, left, _), (kh, kw) = stride, dilation, pads, kernel_size
    c_in = x.shape[0]
    ci, co = _check_index("input channel", ci, c_in), _check_index("output channel", co, dz.shape[0])
    p, q = _check_index("kernel row", p, kh), _check_index("kernel column", q, kw)
    oh, ow = dz.shape[1:]
    dF = np.zeros((kh, kw))
    slices = {}
    for a in range(kh):
        for b in range(kw):
            rows = a * dh + sh * np.arange(oh) - t
            cols = b * dw + sw * np.arange(ow) - left
            xs, _ = _gather(x[ci:ci + 1], rows, cols, 0.0)
            dF[a, b] = float((xs[0] * dz[co]).sum())
            if (a, b) == (p, q):
                slices = {"rows": rows.tolist(), "cols": cols.tolist(), "x": xs[0].tolist(),
                          "products": (xs[0] * dz[co]).tolist()}
    return {"op": "weight_gradient", "in_channel": ci, "out_channel": co, "entry": [p, q], "dZ": dz[co].tolist(),
            "dF": dF.tolist(), "entry_value": float(dF[p, q]), **slices}
