"""The fast path of max and average pooling: the same results as the reference in :mod:`..pooling`.

The reference builds a view of every window, (N, C, Ho, Wo, kh*kw), and
reduces it (``argmax``, ``sum``): the reduction over a short, strided last
axis is slow, and max pooling copies every window. Here one loop runs over
the kh*kw kernel offsets; each step is one strided slice of the input
(the inputs at offset (i, j) of all windows), compared or added into the
output. The argmax is kept as int8 and built without masked writes: offsets
are visited in row-major order, so ``arg = max(arg, (i*kw + j) * (v > Y))``
records the first maximum, as PyTorch does. The batch is split over the
thread pool of :mod:`glassnet._threads`.
"""

from __future__ import annotations

import numpy as np

from .... import _threads


def _offset(Xp, i, j, out_hw, stride):
    """The inputs at kernel offset (i, j) of every window: Xp[:, :, i + y*sh, j + x*sw], shape (N, C, Ho, Wo)."""
    (Ho, Wo), (sh, sw) = out_hw, stride
    return Xp[:, :, i : i + sh * (Ho - 1) + 1 : sh, j : j + sw * (Wo - 1) + 1 : sw]


def tiles(xp_shape, out_hw, kernel, stride) -> bool:
    """Whether the windows cover the padded input exactly once (stride = kernel, no remainder)."""
    (Ho, Wo), (kh, kw), (sh, sw) = out_hw, kernel, stride
    return sh == kh and sw == kw and xp_shape[2] == Ho * sh and xp_shape[3] == Wo * sw


def max_forward(Xp, kernel, stride, out_hw):
    """Y (N, C, Ho, Wo) and the argmax (int8, i*kw + j of the first maximum) of a padded input."""
    kh, kw = kernel
    N, C = Xp.shape[:2]
    Y = np.empty((N, C) + tuple(out_hw), dtype=Xp.dtype)
    arg = np.empty(Y.shape, dtype=np.int8 if kh * kw < 128 else np.int32)

    def task(a, e):
        y, idx = Y[a:e], arg[a:e]
        np.copyto(y, _offset(Xp[a:e], 0, 0, out_hw, stride))  # running maximum, starting at offset (0, 0)
        idx[...] = 0
        greater = _threads.scratch("greater", y.shape, bool)
        step = _threads.scratch("step", y.shape, arg.dtype)
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    v = _offset(Xp[a:e], i, j, out_hw, stride)
                    np.greater(v, y, out=greater)  # strictly greater: the first maximum wins ties
                    np.multiply(greater, i * kw + j, out=step)
                    np.maximum(idx, step, out=idx)
                    np.maximum(y, v, out=y)  # propagates NaN (the caller checks)

    _threads.parallel_ranges(N, task, Xp.nbytes)
    return Y, arg


def max_backward(dY, arg, xp_shape, kernel, stride):
    """dX_pad: each dY goes to the input that was its window's maximum."""
    (kh, kw), (Ho, Wo) = kernel, dY.shape[2:]
    whole = tiles(xp_shape, (Ho, Wo), kernel, stride)
    dXp = (np.empty if whole else np.zeros)(xp_shape, dtype=dY.dtype)  # tiling windows write everything

    def task(a, e):
        dy, idx, out = dY[a:e], arg[a:e], dXp[a:e]
        hit = _threads.scratch("hit", dy.shape, bool)
        routed = _threads.scratch("routed", dy.shape, dy.dtype)
        for i in range(kh):  # a loop over the kernel offsets, never over pixels
            for j in range(kw):
                np.equal(idx, i * kw + j, out=hit)
                np.multiply(dy, hit, out=routed)  # dY where this offset was the maximum, else 0
                target = _offset(out, i, j, (Ho, Wo), stride)
                if whole:
                    target[...] = routed
                else:
                    target += routed

    _threads.parallel_ranges(dY.shape[0], task, dXp.nbytes)
    return dXp


def avg_forward(Xp, kernel, stride, out_hw, div):
    """Y = (sum of the window) / div for a padded input."""
    kh, kw = kernel
    N, C = Xp.shape[:2]
    Y = np.empty((N, C) + tuple(out_hw), dtype=Xp.dtype)

    def task(a, e):
        y = Y[a:e]
        np.copyto(y, _offset(Xp[a:e], 0, 0, out_hw, stride))
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    y += _offset(Xp[a:e], i, j, out_hw, stride)
        y /= div

    _threads.parallel_ranges(N, task, Xp.nbytes)
    return Y


def avg_backward(dY, xp_shape, kernel, stride, div):
    """dX_pad: each dY / div spread over its window."""
    (kh, kw), (Ho, Wo) = kernel, dY.shape[2:]
    whole = tiles(xp_shape, (Ho, Wo), kernel, stride)
    dXp = (np.empty if whole else np.zeros)(xp_shape, dtype=dY.dtype)

    def task(a, e):
        share = _threads.scratch("share", dY[a:e].shape, dY.dtype)
        np.divide(dY[a:e], div, out=share)
        for i in range(kh):
            for j in range(kw):
                target = _offset(dXp[a:e], i, j, (Ho, Wo), stride)
                if whole:
                    target[...] = share
                else:
                    target += share

    _threads.parallel_ranges(dY.shape[0], task, dXp.nbytes)
    return dXp
