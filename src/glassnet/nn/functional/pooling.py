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
strided view of every window, then ``argmax``/``sum`` over it) and takes a
fast path for float arrays (:mod:`._pool_fast`, unless
``glassnet.backend.set_fast_paths(False)``): a loop over the kh*kw kernel
offsets, each step one strided slice of the input compared or added into
the output, so no (N, C, Ho, Wo, kh*kw) temporary is ever built and the
argmax is kept as int8. Same results, same tie rule;
tests/nn/test_fast_paths.py compares the two.

>>> import numpy as np
>>> X = np.array([[[[1., 2.], [4., 3.]]]])
>>> Y, ctx = max_pool2d_forward(X, (2, 2), (2, 2))
>>> Y.ravel(), max_pool2d_backward(np.ones_like(Y), ctx)[0, 0]
(array([4.]), array([[0., 0.],
       [1., 0.]]))
>>> Y, ctx = avg_pool2d_forward(X, (2, 2), (2, 2))
>>> Y.ravel(), avg_pool2d_backward(np.ones_like(Y), ctx)[0, 0]
(array([2.5]), array([[0.25, 0.25],
       [0.25, 0.25]]))
"""

from __future__ import annotations

import math

from ... import backend as B
from . import _pool_fast
from .im2col import pad2d, windows


def pool_output_size(size: int, k: int, s: int, p: int, ceil_mode: bool = False) -> int:
    """PyTorch's pooling output size (with its ceil_mode rule)."""
    if ceil_mode:
        out = -(-(size + 2 * p - k) // s) + 1
        if (out - 1) * s >= size + p:  # the last window must start inside the input or left padding
            out -= 1
        return out
    return (size + 2 * p - k) // s + 1


def _padded(X, k, s, p, ceil_mode, value):
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    H, W = X.shape[2:]
    Ho, Wo = pool_output_size(H, kh, sh, ph, ceil_mode), pool_output_size(W, kw, sw, pw, ceil_mode)
    extra_h = max((Ho - 1) * sh + kh - (H + 2 * ph), 0)  # ceil_mode may need a partial last window
    extra_w = max((Wo - 1) * sw + kw - (W + 2 * pw), 0)
    Xp = pad2d(X, (ph, ph + extra_h, pw, pw + extra_w), value)
    return Xp, Ho, Wo


def _fast(a) -> bool:
    return B.fast_paths_enabled() and a.dtype in (B.xp.float32, B.xp.float64)


def max_pool2d_forward(X, kernel, stride, padding=(0, 0), ceil_mode=False):
    """Y[n,c,y,x] = max over the window; also records the argmax.

    Inputs: X (N, C, H, W); kernel, stride, padding: pairs.
    Returns: Y (N, C, H_out, W_out) and ctx (argmax within each window, as int).
    """
    if _fast(X):
        Xp, Ho, Wo = _padded(X, kernel, stride, padding, ceil_mode, -B.xp.inf)
        Y, arg = _pool_fast.max_forward(Xp, kernel, stride, (Ho, Wo))
        if not B.xp.isnan(Y).any():  # a NaN takes the reference's rule (the first NaN is the max)
            return Y, (arg, X.shape, Xp.shape, kernel, stride, padding)
    return max_pool2d_forward_reference(X, kernel, stride, padding, ceil_mode)


def max_pool2d_backward(dY, ctx):
    """dX: each dY[n,c,y,x] goes to the input position that was the window's max."""
    if not _fast(dY):
        return max_pool2d_backward_reference(dY, ctx)
    arg, x_shape, xp_shape, kernel, stride, (ph, pw) = ctx
    dXp = _pool_fast.max_backward(dY, arg, xp_shape, kernel, stride)
    return dXp[:, :, ph : ph + x_shape[2], pw : pw + x_shape[3]]


def max_pool2d_forward_reference(X, kernel, stride, padding=(0, 0), ceil_mode=False):
    """Reference: every window as a row of a (N, C, Ho, Wo, kh*kw) array, then its first argmax."""
    (kh, kw), (sh, sw) = kernel, stride
    Xp, Ho, Wo = _padded(X, kernel, stride, padding, ceil_mode, -B.xp.inf)
    N, C = X.shape[:2]
    # (N, C, Ho, Wo, kh*kw): each window as a row, then the first maximum of each row
    win = windows(Xp, kh, kw, (sh, sw), (1, 1), (Ho, Wo)).transpose(0, 1, 4, 5, 2, 3).reshape(N, C, Ho, Wo, kh * kw)
    arg = win.argmax(axis=-1)
    Y = B.xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    return Y, (arg, X.shape, Xp.shape, kernel, stride, padding)


def max_pool2d_backward_reference(dY, ctx):
    """Reference: for each kernel offset, route dY where the argmax points to it."""
    arg, x_shape, xp_shape, (kh, kw), (sh, sw), (ph, pw) = ctx
    N, C, Ho, Wo = dY.shape
    dXp = B.xp.zeros(xp_shape, dtype=dY.dtype)
    for i in range(kh):  # a loop over the kernel offsets, never over pixels
        for j in range(kw):
            routed = B.xp.where(arg == i * kw + j, dY, 0)
            dXp[:, :, i : i + sh * Ho : sh, j : j + sw * Wo : sw] += routed
    return dXp[:, :, ph : ph + x_shape[2], pw : pw + x_shape[3]]


def avg_pool2d_forward(X, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    """Y[n,c,y,x] = mean of the window (zero padding counted, as PyTorch's default).

    Inputs: X (N, C, H, W). Returns: Y (N, C, H_out, W_out) and ctx.
    """
    if not _fast(X):
        return avg_pool2d_forward_reference(X, kernel, stride, padding, ceil_mode, count_include_pad)
    Xp, Ho, Wo = _padded(X, kernel, stride, padding, ceil_mode, 0.0)
    div = _divisor(X.shape[2:], kernel, stride, padding, (Ho, Wo), count_include_pad, X.dtype)
    Y = _pool_fast.avg_forward(Xp, kernel, stride, (Ho, Wo), div)
    return Y, (X.shape, Xp.shape, kernel, stride, padding, div)


def avg_pool2d_forward_reference(X, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    """Reference: the mean over a (N, C, kh, kw, Ho, Wo) view of every window."""
    (kh, kw), (sh, sw) = kernel, stride
    Xp, Ho, Wo = _padded(X, kernel, stride, padding, ceil_mode, 0.0)
    win = windows(Xp, kh, kw, (sh, sw), (1, 1), (Ho, Wo))  # (N, C, kh, kw, Ho, Wo) view
    div = _divisor(X.shape[2:], kernel, stride, padding, (Ho, Wo), count_include_pad, X.dtype)
    Y = win.sum(axis=(2, 3)) / div
    return Y, (X.shape, Xp.shape, kernel, stride, padding, div)


def avg_pool2d_backward(dY, ctx):
    """dX: each dY[n,c,y,x] is spread evenly, dY / window size, over its window."""
    if not _fast(dY):
        return avg_pool2d_backward_reference(dY, ctx)
    x_shape, xp_shape, kernel, stride, (ph, pw), div = ctx
    dXp = _pool_fast.avg_backward(dY, xp_shape, kernel, stride, div)
    return dXp[:, :, ph : ph + x_shape[2], pw : pw + x_shape[3]]


def avg_pool2d_backward_reference(dY, ctx):
    """Reference: every input of a window receives dY / window size."""
    x_shape, xp_shape, (kh, kw), (sh, sw), (ph, pw), div = ctx
    N, C, Ho, Wo = dY.shape
    share = dY / div
    dXp = B.xp.zeros(xp_shape, dtype=dY.dtype)
    for i in range(kh):
        for j in range(kw):
            dXp[:, :, i : i + sh * Ho : sh, j : j + sw * Wo : sw] += share
    return dXp[:, :, ph : ph + x_shape[2], pw : pw + x_shape[3]]


def _divisor(hw, kernel, stride, padding, out_hw, count_include_pad, dtype):
    """Window sizes: kh*kw, or fewer where a window leaves the (padded) input."""
    (H, W), (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = hw, kernel, stride, padding, out_hw
    lo_pad, hi_pad = (-ph, -pw), (H + ph, W + pw)
    lo_in, hi_in = (0, 0), (H, W)
    lo, hi = (lo_pad, hi_pad) if count_include_pad else (lo_in, hi_in)
    ys = B.xp.arange(Ho) * sh - ph
    xs = B.xp.arange(Wo) * sw - pw
    h = B.xp.minimum(ys + kh, min(hi[0], hi_pad[0])) - B.xp.maximum(ys, lo[0])
    w = B.xp.minimum(xs + kw, min(hi[1], hi_pad[1])) - B.xp.maximum(xs, lo[1])
    div = (h[:, None] * w[None, :]).astype(dtype)
    return div if (div != kh * kw).any() else dtype.type(kh * kw)


def adaptive_bins(size: int, out: int):
    """PyTorch's adaptive bins: [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def adaptive_avg_pool2d_forward(X, output_size):
    """Average over adaptive bins so that the output is ``output_size`` (Ho, Wo).

    ``output_size=(1, 1)`` is global average pooling. Inputs: X (N, C, H, W).
    """
    N, C, H, W = X.shape
    Ho, Wo = output_size
    if H % Ho == 0 and W % Wo == 0:  # equal, non-overlapping bins: one reshape
        Y = X.reshape(N, C, Ho, H // Ho, Wo, W // Wo).mean(axis=(3, 5))
    else:
        Y = B.xp.empty((N, C, Ho, Wo), dtype=X.dtype)
        for i, (y0, y1) in enumerate(adaptive_bins(H, Ho)):  # a loop over the (few) output bins
            for j, (x0, x1) in enumerate(adaptive_bins(W, Wo)):
                Y[:, :, i, j] = X[:, :, y0:y1, x0:x1].mean(axis=(2, 3))
    return Y, (X.shape, (Ho, Wo))


def adaptive_avg_pool2d_backward(dY, ctx):
    """dX: each bin's gradient spread evenly over the bin."""
    (N, C, H, W), (Ho, Wo) = ctx
    if H % Ho == 0 and W % Wo == 0:
        kh, kw = H // Ho, W // Wo
        dX = B.xp.broadcast_to((dY / (kh * kw))[:, :, :, None, :, None], (N, C, Ho, kh, Wo, kw))
        return dX.reshape(N, C, H, W)
    dX = B.xp.zeros((N, C, H, W), dtype=dY.dtype)
    for i, (y0, y1) in enumerate(adaptive_bins(H, Ho)):
        for j, (x0, x1) in enumerate(adaptive_bins(W, Wo)):
            dX[:, :, y0:y1, x0:x1] += (dY[:, :, i, j] / ((y1 - y0) * (x1 - x0)))[:, :, None, None]
    return dX
