"""im2col: every receptive field of an NCHW batch as one column of a matrix.

Convolution is then a single matrix product (``W @ cols``), with no Python
loop over output pixels or batch items. The columns are laid out with the
kernel axis first, ``(C*kh*kw, N*H_out*W_out)``, so the product is one large
GEMM (measured faster than the textbook row layout).

Output size of a sliding window (the formula every layer here uses)::

    H_out = floor((H + pad_top + pad_bottom - dilation*(kh-1) - 1) / stride) + 1

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> im2col(x, 2, 2, (1, 1), (1, 1)).shape   # (C*kh*kw, N*Ho*Wo)
(4, 9)
>>> out_size(28, 5, 1, 2, 2, 1)
28
"""

from __future__ import annotations

from ... import backend as B
from .geometry import axis_out


def out_size(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int = 1) -> int:
    """``floor((size + pad_lo + pad_hi - dilation*(k-1) - 1) / stride) + 1`` (:func:`.geometry.axis_out`)."""
    return axis_out(size, k, stride, pad_lo, pad_hi, dilation)


def pad2d(x, pads, value=0.0):
    """Pad (or, for negative amounts, crop) the last two axes.

    ``pads = (top, bottom, left, right)``; a negative amount removes rows or
    columns instead (used by the full convolution of the backward pass).
    """
    top, bottom, left, right = pads
    if top == bottom == left == right == 0:
        return x
    crop = (slice(None),) * (x.ndim - 2) + (
        slice(max(-top, 0), x.shape[-2] - max(-bottom, 0)),
        slice(max(-left, 0), x.shape[-1] - max(-right, 0)),
    )
    x = x[crop]
    pt, pb, pl, pr = (max(p, 0) for p in pads)
    if pt == pb == pl == pr == 0:
        return x
    shape = x.shape[:-2] + (x.shape[-2] + pt + pb, x.shape[-1] + pl + pr)
    out = B.get_array_module(x).full(shape, value, dtype=x.dtype)
    out[..., pt : pt + x.shape[-2], pl : pl + x.shape[-1]] = x
    return out


def windows(xp, kh: int, kw: int, stride, dilation, out_hw=None):
    """A strided view ``(N, C, kh, kw, Ho, Wo)`` of an already padded batch (no copy)."""
    N, C, H, W = xp.shape
    sh, sw = stride
    dh, dw = dilation
    Ho, Wo = out_hw or (out_size(H, kh, sh, 0, 0, dh), out_size(W, kw, sw, 0, 0, dw))
    s0, s1, s2, s3 = xp.strides
    as_strided = B.get_array_module(xp).lib.stride_tricks.as_strided
    return as_strided(
        xp, shape=(N, C, kh, kw, Ho, Wo), strides=(s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw), writeable=False
    )


def im2col(xp, kh: int, kw: int, stride, dilation):
    """Columns ``(C*kh*kw, N*Ho*Wo)`` of a padded batch ``xp`` (N, C, H, W).

    Column ``(n, y, x)`` holds the receptive field of output pixel ``(y, x)``
    of image ``n``, flattened in ``(c, i, j)`` order to match
    ``W.reshape(F, C*kh*kw)``.
    """
    v = windows(xp, kh, kw, stride, dilation)
    N, C, _, _, Ho, Wo = v.shape
    return v.transpose(1, 2, 3, 0, 4, 5).reshape(C * kh * kw, N * Ho * Wo)
