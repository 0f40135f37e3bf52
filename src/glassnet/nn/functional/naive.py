"""Naive reference implementations: explicit loops, one output pixel at a time.

Slow on purpose and easy to read against the lecture. The tests compare the
fast im2col/strided versions with these (a second oracle beside PyTorch and
the numerical gradient check). Padding is symmetric here: ``pad = (ph, pw)``.
"""

from __future__ import annotations

import numpy as np

from .geometry import axis_out


def conv2d_naive(X, F, b, stride=(1, 1), pad=(0, 0), dilation=(1, 1)):
    """Z[n,f,y,x] = b[f] + sum_{c,i,j} X_pad[n, c, y*s + i*d, x*s + j*d] F[f,c,i,j]."""
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    N, C, H, W = Xp.shape
    Fo, _, kh, kw = F.shape
    Ho, Wo = axis_out(H, kh, sh, 0, 0, dh), axis_out(W, kw, sw, 0, 0, dw)  # the sizes every layer uses
    Z = np.zeros((N, Fo, Ho, Wo), dtype=X.dtype)
    for n in range(N):
        for f in range(Fo):
            for y in range(Ho):
                for x in range(Wo):
                    rows = slice(y * sh, y * sh + dh * (kh - 1) + 1, dh)
                    window = Xp[n, :, rows, x * sw : x * sw + dw * (kw - 1) + 1 : dw]
                    Z[n, f, y, x] = (window * F[f]).sum() + (b[f] if b is not None else 0)
    return Z


def conv2d_backward_naive(dZ, X, F, stride=(1, 1), pad=(0, 0), dilation=(1, 1)):
    """Chain rule term by term: each z[n,f,y,x] sends dZ * F back to its window and dZ * X to F."""
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dXp = np.zeros_like(Xp)
    dF = np.zeros_like(F)
    N, Fo, Ho, Wo = dZ.shape
    kh, kw = F.shape[2:]
    for n in range(N):
        for f in range(Fo):
            for y in range(Ho):
                for x in range(Wo):
                    rows = slice(y * sh, y * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(x * sw, x * sw + dw * (kw - 1) + 1, dw)
                    dF[f] += dZ[n, f, y, x] * Xp[n, :, rows, cols]
                    dXp[n, :, rows, cols] += dZ[n, f, y, x] * F[f]
    dX = dXp[:, :, ph : ph + X.shape[2], pw : pw + X.shape[3]]
    return dX, dF, dZ.sum(axis=(0, 2, 3))


def pool2d_naive(X, k, s, kind="max"):
    """Pooling without padding; returns Y and dX for dY = 1 routed by the lecture's rules."""
    N, C, H, W = X.shape
    Ho, Wo = axis_out(H, k, s, 0, 0), axis_out(W, k, s, 0, 0)
    Y = np.zeros((N, C, Ho, Wo), dtype=X.dtype)
    dX = np.zeros_like(X)
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for x in range(Wo):
                    win = X[n, c, y * s : y * s + k, x * s : x * s + k]
                    if kind == "max":
                        i, j = np.unravel_index(np.argmax(win), win.shape)  # first maximum
                        Y[n, c, y, x] = win[i, j]
                        dX[n, c, y * s + i, x * s + j] += 1.0
                    else:
                        Y[n, c, y, x] = win.mean()
                        dX[n, c, y * s : y * s + k, x * s : x * s + k] += 1.0 / (k * k)
    return Y, dX
