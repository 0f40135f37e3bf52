"""Max, average and adaptive average pooling, forward and backward.

Windows of ``k`` (kh, kw) slide with stride ``s`` over the padded input::

    H_out = floor((H + 2*pad - kh) / s) + 1          (ceil instead of floor with ceil_mode,
                                                      dropping a last window that would start in the padding)

Backward, exactly the lecture's two rules:

* **average pooling** spreads each output gradient evenly over its window:
  every input in the window receives ``dY / (kh*kw)``;
* **max pooling** routes each output gradient to the one input that was the
  maximum in forward (the argmax recorded then; on ties the first in
  row-major order, as PyTorch). Max pooling pads with -inf, never 0.

Each function has a readable reference version (``*_reference``: one
strided view of every window, then ``argmax``/``sum`` over it, any array
namespace) and the dispatcher takes a fast path for NumPy float arrays
(:mod:`.fast.pooling`, see :mod:`.dispatch`): a loop over the kh*kw kernel
offsets, each step one strided slice of the input compared or added into
the output, so no (N, C, Ho, Wo, kh*kw) temporary is ever built and the
argmax is kept as int8. Same results, same tie rule;
tests/nn/test_fast_paths.py compares the two.

>>> import numpy as np
>>> X = np.array([[[[1., 2.], [4., 3.]]]])
>>> Y, saved = max_pool2d_forward(X, (2, 2), (2, 2))
>>> Y.ravel(), max_pool2d_backward(np.ones_like(Y), saved)[0, 0]
(array([4.]), array([[0., 0.],
       [1., 0.]]))
>>> Y, saved = avg_pool2d_forward(X, (2, 2), (2, 2))
>>> Y.ravel(), avg_pool2d_backward(np.ones_like(Y), saved)[0, 0]
(array([2.5]), array([[0.25, 0.25],
       [0.25, 0.25]]))
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ... import backend as B
from .cuda import pooling as cuda
from .dispatch import note, use_cuda, use_fast
from .fast import pooling as fast
from .geometry import Window2d, axis_out, pool_window
from .im2col import pad2d, windows


class MaxPoolSaved(NamedTuple):
    """What the backward of max pooling needs."""

    arg: Any
    """(N, C, H_out, W_out): the offset i*kw + j of each window's (first) maximum."""
    x_shape: tuple
    window: Window2d


class AvgPoolSaved(NamedTuple):
    """What the backward of average pooling needs."""

    x_shape: tuple
    window: Window2d
    div: Any
    """The window sizes: kh*kw, or an (H_out, W_out) array where windows leave the (padded) input."""


class AdaptiveAvgPoolSaved(NamedTuple):
    x_shape: tuple
    output_size: tuple


def pool_output_size(size: int, k: int, s: int, p: int, ceil_mode: bool = False) -> int:
    """PyTorch's pooling output size (with its ceil_mode rule): :func:`.geometry.axis_out`."""
    return axis_out(size, k, s, p, p, 1, ceil_mode)


def _window(kernel, stride, padding, ceil_mode, window):
    return window if window is not None else pool_window(kernel, stride, padding, ceil_mode)


def _padded(X, w: Window2d, value):
    """X padded with ``value`` (ceil_mode's partial last window included), and (H_out, W_out)."""
    return pad2d(X, w.padded_pads(*X.shape[2:]), value), w.out_size(*X.shape[2:])


def _crop(dXp, x_shape, w: Window2d):
    top, left = w.pads[0], w.pads[2]
    return dXp[:, :, top : top + x_shape[2], left : left + x_shape[3]]


def max_pool2d_forward(X, kernel=None, stride=None, padding=0, ceil_mode=False, *, window: Window2d | None = None):
    """Y[n,c,y,x] = max over the window; also records the argmax.

    Inputs: X (N, C, H, W); kernel, stride, padding: ints or pairs (or one ``window``).
    Returns: Y (N, C, H_out, W_out) and a :class:`MaxPoolSaved`.
    """
    w = _window(kernel, stride, padding, ceil_mode, window)
    if use_fast(X):
        xp = B.get_array_module(X)
        Xp, out_hw = _padded(X, w, -xp.inf)
        Y, arg = fast.max_forward(Xp, w.kernel, w.stride, out_hw)
        if not xp.isnan(Y).any():  # a NaN takes the reference's rule (the first NaN is the max)
            note("max_pool2d_forward", "fast")
            return Y, MaxPoolSaved(arg, X.shape, w)
    elif use_cuda(X):
        note("max_pool2d_forward", "cuda")
        Y, arg = cuda.max_forward(X, w)
        return Y, MaxPoolSaved(arg, X.shape, w)
    note("max_pool2d_forward", "reference")
    return max_pool2d_forward_reference(X, window=w)


def max_pool2d_backward(dY, saved: MaxPoolSaved):
    """dX: each dY[n,c,y,x] goes to the input position that was the window's max."""
    if use_cuda(dY) and str(saved.arg.dtype) == "int32":  # the argmax of the CUDA forward
        note("max_pool2d_backward", "cuda")
        return cuda.max_backward(dY, saved.arg, saved.x_shape, saved.window)
    if not use_fast(dY):
        note("max_pool2d_backward", "reference")
        return max_pool2d_backward_reference(dY, saved)
    note("max_pool2d_backward", "fast")
    arg, x_shape, w = saved
    xp_shape = x_shape[:2] + _padded_hw(x_shape, w)
    return _crop(fast.max_backward(dY, arg, xp_shape, w.kernel, w.stride), x_shape, w)


def _padded_hw(x_shape, w: Window2d):
    t, b, left, r = w.padded_pads(*x_shape[2:])
    return (x_shape[2] + t + b, x_shape[3] + left + r)


def max_pool2d_forward_reference(X, kernel=None, stride=None, padding=0, ceil_mode=False, *, window=None):
    """Reference: every window as a row of a (N, C, Ho, Wo, kh*kw) array, then its first argmax."""
    w = _window(kernel, stride, padding, ceil_mode, window)
    xp = B.get_array_module(X)
    (kh, kw) = w.kernel
    Xp, (Ho, Wo) = _padded(X, w, -xp.inf)
    N, C = X.shape[:2]
    # (N, C, Ho, Wo, kh*kw): each window as a row, then the first maximum of each row
    win = windows(Xp, kh, kw, w.stride, (1, 1), (Ho, Wo)).transpose(0, 1, 4, 5, 2, 3).reshape(N, C, Ho, Wo, kh * kw)
    arg = win.argmax(axis=-1)
    Y = xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    return Y, MaxPoolSaved(arg, X.shape, w)


def max_pool2d_backward_reference(dY, saved: MaxPoolSaved):
    """Reference: for each kernel offset, route dY where the argmax points to it."""
    arg, x_shape, w = saved
    xp = B.get_array_module(dY)
    (kh, kw), (sh, sw) = w.kernel, w.stride
    N, C, Ho, Wo = dY.shape
    dXp = xp.zeros(x_shape[:2] + _padded_hw(x_shape, w), dtype=dY.dtype)
    for i in range(kh):  # a loop over the kernel offsets, never over pixels
        for j in range(kw):
            routed = xp.where(arg == i * kw + j, dY, 0)
            dXp[:, :, i : i + sh * Ho : sh, j : j + sw * Wo : sw] += routed
    return _crop(dXp, x_shape, w)


def avg_pool2d_forward(X, kernel=None, stride=None, padding=0, ceil_mode=False, count_include_pad=True, *,
                       window: Window2d | None = None):
    """Y[n,c,y,x] = mean of the window (zero padding counted, as PyTorch's default).

    Inputs: X (N, C, H, W). Returns: Y (N, C, H_out, W_out) and an :class:`AvgPoolSaved`.
    """
    w = _window(kernel, stride, padding, ceil_mode, window)
    if not use_fast(X):
        note("avg_pool2d_forward", "reference")
        return avg_pool2d_forward_reference(X, count_include_pad=count_include_pad, window=w)
    note("avg_pool2d_forward", "fast")
    Xp, out_hw = _padded(X, w, 0.0)
    div = _divisor(X, w, out_hw, count_include_pad)
    Y = fast.avg_forward(Xp, w.kernel, w.stride, out_hw, div)
    return Y, AvgPoolSaved(X.shape, w, div)


def avg_pool2d_forward_reference(X, kernel=None, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                                 *, window=None):
    """Reference: the mean over a (N, C, kh, kw, Ho, Wo) view of every window."""
    w = _window(kernel, stride, padding, ceil_mode, window)
    (kh, kw) = w.kernel
    Xp, (Ho, Wo) = _padded(X, w, 0.0)
    win = windows(Xp, kh, kw, w.stride, (1, 1), (Ho, Wo))  # (N, C, kh, kw, Ho, Wo) view
    div = _divisor(X, w, (Ho, Wo), count_include_pad)
    Y = win.sum(axis=(2, 3)) / div
    return Y, AvgPoolSaved(X.shape, w, div)


def avg_pool2d_backward(dY, saved: AvgPoolSaved):
    """dX: each dY[n,c,y,x] is spread evenly, dY / window size, over its window."""
    if not use_fast(dY):
        note("avg_pool2d_backward", "reference")
        return avg_pool2d_backward_reference(dY, saved)
    note("avg_pool2d_backward", "fast")
    x_shape, w, div = saved
    xp_shape = x_shape[:2] + _padded_hw(x_shape, w)
    return _crop(fast.avg_backward(dY, xp_shape, w.kernel, w.stride, div), x_shape, w)


def avg_pool2d_backward_reference(dY, saved: AvgPoolSaved):
    """Reference: every input of a window receives dY / window size."""
    x_shape, w, div = saved
    xp = B.get_array_module(dY)
    (kh, kw), (sh, sw) = w.kernel, w.stride
    N, C, Ho, Wo = dY.shape
    share = dY / div
    dXp = xp.zeros(x_shape[:2] + _padded_hw(x_shape, w), dtype=dY.dtype)
    for i in range(kh):
        for j in range(kw):
            dXp[:, :, i : i + sh * Ho : sh, j : j + sw * Wo : sw] += share
    return _crop(dXp, x_shape, w)


def _divisor(X, w: Window2d, out_hw, count_include_pad):
    """Window sizes: kh*kw, or an (H_out, W_out) array where a window leaves the (padded) input."""
    np, dtype = B.host, X.dtype
    (H, W), (kh, kw), (sh, sw), (Ho, Wo) = X.shape[2:], w.kernel, w.stride, out_hw
    ph, pw = w.pads[0], w.pads[2]
    lo_pad, hi_pad = (-ph, -pw), (H + ph, W + pw)
    lo_in, hi_in = (0, 0), (H, W)
    lo, hi = (lo_pad, hi_pad) if count_include_pad else (lo_in, hi_in)
    ys = np.arange(Ho) * sh - ph
    xs = np.arange(Wo) * sw - pw
    h = np.minimum(ys + kh, min(hi[0], hi_pad[0])) - np.maximum(ys, lo[0])
    wd = np.minimum(xs + kw, min(hi[1], hi_pad[1])) - np.maximum(xs, lo[1])
    div = (h[:, None] * wd[None, :]).astype(dtype)  # a few numbers: computed on the host
    if (div != kh * kw).any():
        return B.get_array_module(X).asarray(div)
    return dtype.type(kh * kw)


def adaptive_bins(size: int, out: int):
    """PyTorch's adaptive bins: [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def adaptive_avg_pool2d_forward(X, output_size):
    """Average over adaptive bins so that the output is ``output_size`` (Ho, Wo).

    ``output_size=(1, 1)`` is global average pooling. Inputs: X (N, C, H, W).
    """
    xp = B.get_array_module(X)
    N, C, H, W = X.shape
    Ho, Wo = output_size
    if H % Ho == 0 and W % Wo == 0:  # equal, non-overlapping bins: one reshape
        Y = X.reshape(N, C, Ho, H // Ho, Wo, W // Wo).mean(axis=(3, 5))
    else:
        Y = xp.empty((N, C, Ho, Wo), dtype=X.dtype)
        for i, (y0, y1) in enumerate(adaptive_bins(H, Ho)):  # a loop over the (few) output bins
            for j, (x0, x1) in enumerate(adaptive_bins(W, Wo)):
                Y[:, :, i, j] = X[:, :, y0:y1, x0:x1].mean(axis=(2, 3))
    return Y, AdaptiveAvgPoolSaved(X.shape, (Ho, Wo))


def adaptive_avg_pool2d_backward(dY, saved: AdaptiveAvgPoolSaved):
    """dX: each bin's gradient spread evenly over the bin."""
    xp = B.get_array_module(dY)
    (N, C, H, W), (Ho, Wo) = saved
    if H % Ho == 0 and W % Wo == 0:
        kh, kw = H // Ho, W // Wo
        dX = xp.broadcast_to((dY / (kh * kw))[:, :, :, None, :, None], (N, C, Ho, kh, Wo, kw))
        return dX.reshape(N, C, H, W)
    dX = xp.zeros((N, C, H, W), dtype=dY.dtype)
    for i, (y0, y1) in enumerate(adaptive_bins(H, Ho)):
        for j, (x0, x1) in enumerate(adaptive_bins(W, Wo)):
            dX[:, :, y0:y1, x0:x1] += (dY[:, :, i, j] / ((y1 - y0) * (x1 - x0)))[:, :, None, None]
    return dX
