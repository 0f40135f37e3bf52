"""Max pooling on the GPU: one kernel forward (max and its first argmax), one gather kernel backward.

Forward, per output (n, c, y, x): the maximum over the window of the -inf-padded input, and the offset
i*kw + j of its first occurrence in row-major order (PyTorch's tie rule; a NaN wins, as in the reference).
Backward, per input (h, w): the sum of dY over the windows whose argmax offset lands on (h, w).
"""

from __future__ import annotations

import functools

from ..geometry import Window2d

_GEOMETRY = "int32 H, int32 W, int32 kh, int32 kw, int32 sh, int32 sw, int32 pt, int32 pl, int32 Ho, int32 Wo"


@functools.cache
def _kernels():
    import cupy

    forward = cupy.ElementwiseKernel(
        "raw T x, " + _GEOMETRY, "T y, int32 arg",
        """
        const int ox = i % Wo, oy = (i / Wo) % Ho;
        const long long plane = i / ((long long)Wo * Ho);
        T best = 0; int where = -1;
        for (int ii = 0; ii < kh; ++ii) {
            for (int j = 0; j < kw; ++j) {
                const int h = oy * sh - pt + ii, w = ox * sw - pl + j;
                if (h < 0 || h >= H || w < 0 || w >= W) continue;   // -inf padding never wins
                const T v = x[(plane * H + h) * W + w];
                if (where < 0 || v > best || (isnan(v) && !isnan(best))) { best = v; where = ii * kw + j; }
            }
        }
        y = best; arg = where;
        """,
        "glassnet_max_pool_forward",
    )
    backward = cupy.ElementwiseKernel(
        "raw T dy, raw int32 arg, " + _GEOMETRY, "T dx",
        """
        const int w = i % W, h = (i / W) % H;
        const long long plane = i / ((long long)W * H);
        T s = 0;
        for (int ii = 0; ii < kh; ++ii) {
            const int hh = h + pt - ii;
            if (hh < 0 || hh % sh != 0 || hh / sh >= Ho) continue;
            for (int j = 0; j < kw; ++j) {
                const int ww = w + pl - j;
                if (ww < 0 || ww % sw != 0 || ww / sw >= Wo) continue;
                const long long o = (plane * Ho + hh / sh) * Wo + ww / sw;
                if (arg[o] == ii * kw + j) s += dy[o];
            }
        }
        dx = s;
        """,
        "glassnet_max_pool_backward",
    )
    return cupy, forward, backward


def max_forward(X, w: Window2d):
    """Y (N, C, H_out, W_out) and the argmax offsets (int32)."""
    cupy, kernel, _ = _kernels()
    N, C, H, W = X.shape
    Ho, Wo = w.out_size(H, W)
    Y = cupy.empty((N, C, Ho, Wo), dtype=X.dtype)
    arg = cupy.empty((N, C, Ho, Wo), dtype=cupy.int32)
    kernel(cupy.ascontiguousarray(X), H, W, *w.kernel, *w.stride, w.pads[0], w.pads[2], Ho, Wo, Y, arg)
    return Y, arg


def max_backward(dY, arg, x_shape, w: Window2d):
    """dX (N, C, H, W)."""
    cupy, _, kernel = _kernels()
    N, C, H, W = x_shape
    Ho, Wo = dY.shape[2:]
    dX = cupy.empty(x_shape, dtype=dY.dtype)
    kernel(cupy.ascontiguousarray(dY), arg, H, W, *w.kernel, *w.stride, w.pads[0], w.pads[2], Ho, Wo, dX)
    return dX
