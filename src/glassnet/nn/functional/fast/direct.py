"""Direct convolutions in C for the layers where im2col loses: few filters, small maps (issue #16).

The NumPy fast path (:mod:`.conv`) copies every window into columns and
hands them to one matrix product. For LeNet-5's second layer (6 -> 16
channels, 5x5, 10x10 outputs) the copies cost more than the product, and
PyTorch (oneDNN's direct convolutions) ran it 2-3x faster. The C kernels of
``_conv_kernels.h`` form the same sums with no columns at all, vector lane by
vector lane (16 float32 or 8 float64 values at a time):

* :func:`forward_oc` -- ``Z = X (*) F + b`` with LN **filters** in the lanes:
  each input value is broadcast and multiplied by LN weights at once.
* :func:`forward_px` -- the same sums with LN neighbouring **pixels** of an
  output row in the lanes (for layers with few filters: LeNet-5's first
  layer, and dX of its second, which is a convolution with 6 outputs).
* :func:`weight_grad_oc` -- ``dF += X correlated with dZ``, filters in the lanes;
  :func:`weight_grad_px` the same sums with pixels in the lanes (few filters).

``dX`` is the forward of the full convolution (dZ padded by ``d(k-1) - pad``,
kernel rotated 180 degrees, channels swapped), so it needs no kernel of its
own. The kernels are built from C by ``setup.py`` where a compiler is
present (:mod:`.compiled`: ``AVAILABLE``, ``ENABLED``, ``GLASSNET_COMPILED=0``).
Padding, packing and the split over threads stay in :mod:`.conv`, which
decides where these kernels are used (:func:`.conv.direct_plan`), by the
rules measured in docs/performance.md.

>>> import numpy as np
>>> lanes(np.float32), lanes(np.float64)
(16, 8)
"""

from __future__ import annotations

import numpy as np

from . import compiled

PX_ROWS = 4
"""Output rows per block of :func:`forward_px` (``_conv_kernels.h``'s PX_YB)."""


def lanes(dtype) -> int:
    """Values per vector of the kernels: 16 float32 or 8 float64 (64 bytes)."""
    return 64 // np.dtype(dtype).itemsize


def pack_filters(F, b):
    """F (F_out, C, kh, kw) as (Fb, C, kh, kw, LN) with filter f in lane f % LN of block f // LN; zeros past F_out.

    The bias likewise as (Fb*LN,). Cheap (the size of F), done once per call.
    """
    F_out, C, kh, kw = F.shape
    ln = lanes(F.dtype)
    Fb = -(-F_out // ln)
    wp = np.zeros((Fb * ln, C, kh, kw), F.dtype)
    wp[:F_out] = F
    bp = np.zeros(Fb * ln, F.dtype)
    if b is not None:
        bp[:F_out] = b
    return np.ascontiguousarray(wp.reshape(Fb, ln, C, kh, kw).transpose(0, 2, 3, 4, 1)), bp


def forward_oc(buf, packed, out, kernel, stride, dilation):
    """out (n, F_out, Ho, Wo) = buf (n, C, Hb, Wp, padded) (*) filters + bias; ``packed`` from :func:`pack_filters`."""
    wp, bp = packed
    n, C, Hb, Wp = buf.shape
    F_out, Ho, Wo = out.shape[1:]
    compiled.kernels.fwd_oc(buf, wp, bp, out, (n, C, Hb, Wp, F_out, *kernel, Ho, Wo, *stride, *dilation))


def px_block(Ho, Wo, dtype):
    """(Hv, Wv): the output block :func:`forward_px` computes, Ho and Wo rounded up to PX_ROWS and LN."""
    ln = lanes(dtype)
    return -(-Ho // PX_ROWS) * PX_ROWS, -(-Wo // ln) * ln


def forward_px(buf, F, b, wide, kernel, stride_h, dilation):
    """wide (n, F_out, Hv, Wv) = buf (n, C, Hb, Wq, padded) (*) F + b, pixels in the lanes (stride 1 along x).

    The outputs past (Ho, Wo) are sums over the padding: the caller keeps ``wide[:, :, :Ho, :Wo]``.
    """
    n, C, Hb, Wq = buf.shape
    F_out, Hv, Wv = wide.shape[1:]
    bias = np.zeros(F_out, F.dtype) if b is None else np.ascontiguousarray(b)
    dims = (n, C, Hb, Wq, F_out, *kernel, Hv, Wv, stride_h, *dilation)
    compiled.kernels.fwd_px(buf, np.ascontiguousarray(F), bias, wide, dims)


def weight_grad_oc(buf, dZ, dfp, kernel, stride, dilation):
    """dfp (Fb, C, kh, kw, LN) += buf (n, C, Hb, Wp, padded) correlated with dZ (n, F_out, Ho, Wo)."""
    n, C, Hb, Wp = buf.shape
    F_out, Ho, Wo = dZ.shape[1:]
    compiled.kernels.wgrad_oc(buf, dZ, dfp, (n, C, Hb, Wp, F_out, Ho, Wo, *kernel, *stride, *dilation))


def weight_grad_px(buf, dZp, df, kernel, stride_h, dilation):
    """df (F_out, C, kh, kw) += buf (n, C, Hb, Wq, padded) correlated with dZp (n, F_out, Ho, Wv), pixels in the lanes.

    dZp holds dZ in rows of Wv (a multiple of LN) values, zero past Wo; stride 1 along x.
    """
    n, C, Hb, Wq = buf.shape
    F_out, Ho, Wv = dZp.shape[1:]
    compiled.kernels.wgrad_px(buf, dZp, df, (n, C, Hb, Wq, F_out, Ho, Wv, *kernel, stride_h, *dilation))


def unpack_filters(dfp, F_out):
    """(Fb, C, kh, kw, LN) -> (F_out, C, kh, kw): the inverse of :func:`pack_filters`'s layout."""
    Fb, C, kh, kw, ln = dfp.shape
    return np.ascontiguousarray(dfp.transpose(0, 4, 1, 2, 3).reshape(Fb * ln, C, kh, kw)[:F_out])
