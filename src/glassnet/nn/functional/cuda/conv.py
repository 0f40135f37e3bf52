"""Convolution on the GPU: im2col as one kernel, a batched matrix product, col2im as one kernel.

With K = C*kh*kw and L = H_out*W_out, for every image n (one batched cuBLAS product for the batch):

    cols[n] = im2col(X[n])              (K, L)   one kernel, padding read as zeros (no padded copy)
    Z[n]    = F.reshape(F_out, K) @ cols[n] + b          (F_out, L) = NCHW directly
    dF      = sum_n dZ[n] @ cols[n]^T   (X correlated with dZ)
    dcols[n] = F^T @ dZ[n]              (K, L): what each output pixel sends back to its window
    dX[n, c, h, w] = sum of dcols[n, (c, i, j), (y, x)] over the windows (y, x) whose offset (i, j)
                     lands on (h, w)     one gather kernel, no atomics: the transpose of im2col
                     (the full convolution of the stride-dilated dZ with rot180(F), zeros skipped)
"""

from __future__ import annotations

import functools

from ..geometry import Window2d

_GEOMETRY = ("int32 C, int32 H, int32 W, int32 kh, int32 kw, int32 sh, int32 sw, int32 pt, int32 pl, int32 dh, "
             "int32 dw, int32 Ho, int32 Wo")


@functools.cache
def _kernels():
    import cupy

    im2col = cupy.ElementwiseKernel(
        "raw T x, " + _GEOMETRY, "T col",
        """
        const long long L = (long long)Ho * Wo, K = (long long)C * kh * kw;
        const long long l = i % L, k = (i / L) % K, n = i / (L * K);
        const int ox = l % Wo, oy = l / Wo;
        const int j = k % kw, ii = (k / kw) % kh, c = k / (kw * kh);
        const int h = oy * sh - pt + ii * dh, w = ox * sw - pl + j * dw;
        col = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * C + c) * H + h) * W + w] : (T)0;
        """,
        "glassnet_im2col",
    )
    col2im = cupy.ElementwiseKernel(
        "raw T dcols, " + _GEOMETRY, "T dx",
        """
        const long long L = (long long)Ho * Wo, K = (long long)C * kh * kw;
        const int w = i % W, h = (i / W) % H, c = (i / ((long long)W * H)) % C;
        const long long n = i / ((long long)W * H * C);
        T s = 0;
        for (int ii = 0; ii < kh; ++ii) {
            const int hh = h + pt - ii * dh;
            if (hh < 0 || hh % sh != 0) continue;
            const int oy = hh / sh;
            if (oy >= Ho) continue;
            for (int j = 0; j < kw; ++j) {
                const int ww = w + pl - j * dw;
                if (ww < 0 || ww % sw != 0) continue;
                const int ox = ww / sw;
                if (ox >= Wo) continue;
                s += dcols[(n * K + (c * kh + ii) * kw + j) * L + (long long)oy * Wo + ox];
            }
        }
        dx = s;
        """,
        "glassnet_col2im",
    )
    return cupy, im2col, col2im


def _geometry(X, w: Window2d):
    N, C, H, W = X.shape
    Ho, Wo = w.out_size(H, W)
    (kh, kw), (sh, sw), (dh, dw) = w.kernel, w.stride, w.dilation
    return (C, H, W, kh, kw, sh, sw, w.pads[0], w.pads[2], dh, dw, Ho, Wo)


def im2col(X, w: Window2d):
    """cols (N, C*kh*kw, H_out*W_out) of a contiguous batch X."""
    cupy, kernel, _ = _kernels()
    g = _geometry(X, w)
    C, kh, kw, Ho, Wo = g[0], g[3], g[4], g[11], g[12]
    cols = cupy.empty((X.shape[0], C * kh * kw, Ho * Wo), dtype=X.dtype)
    kernel(cupy.ascontiguousarray(X), *g, cols)
    return cols


def forward(X, F, b, w: Window2d):
    """Z (N, F_out, H_out, W_out)."""
    cupy = _kernels()[0]
    N, F_out = X.shape[0], F.shape[0]
    Ho, Wo = w.out_size(*X.shape[2:])
    Z = cupy.matmul(F.reshape(F_out, -1), im2col(X, w))  # (F_out, K) @ (N, K, L): one batched product
    if b is not None:
        Z += b[:, None]
    return Z.reshape(N, F_out, Ho, Wo)


def backward(dZ, X, F, has_bias, w: Window2d, need_dX=True):
    """dX (or None), dF, db (or None)."""
    cupy, _, col2im = _kernels()
    N, F_out = X.shape[0], F.shape[0]
    dZ3 = cupy.ascontiguousarray(dZ).reshape(N, F_out, -1)
    db = dZ3.sum(axis=(0, 2)) if has_bias else None
    cols = im2col(X, w)
    dF = cupy.matmul(dZ3, cols.transpose(0, 2, 1)).sum(axis=0).reshape(F.shape)
    if not need_dX:
        return None, dF, db
    dcols = cupy.matmul(F.reshape(F_out, -1).T, dZ3)  # (K, F_out) @ (N, F_out, L) -> (N, K, L)
    dX = cupy.empty(X.shape, dtype=dZ.dtype)
    col2im(dcols, *_geometry(X, w), dX)
    return dX, dF, db
