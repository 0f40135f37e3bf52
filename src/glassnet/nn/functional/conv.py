"""2-D convolution (cross-correlation), forward and backward, as the lecture derives it.

Notation (the lecture's): input ``X`` of shape (N, C, H, W), filters ``F``
(PyTorch's ``weight``) of shape (F_out, C, kh, kw), bias ``b`` of shape
(F_out,), output ``Z`` of shape (N, F_out, H_out, W_out) with::

    H_out = floor((H + 2*pad - dilation*(kh-1) - 1) / stride) + 1

Forward (cross-correlation, the kernel is *not* flipped)::

    Z[n, f, y, x] = b[f] + sum_{c,i,j} X_pad[n, c, y*s + i*d, x*s + j*d] * F[f, c, i, j]

computed as one matrix product ``F.reshape(F_out, C*kh*kw) @ im2col(X_pad)``.

Backward, given dZ = dJ/dZ:

* ``db = sum of dZ over (n, y, x)``
* ``dF = X correlated with dZ``: dF[f,c,i,j] = sum_{n,y,x} X_pad[n,c,y*s+i*d,x*s+j*d] dZ[n,f,y,x],
  i.e. ``dZ.reshape(F_out, N*H_out*W_out) @ im2col(X_pad).T``.
* ``dX = full convolution of dZ with F rotated by 180 degrees``: dZ is first
  dilated by the stride (s-1 zeros between its entries), padded by
  d*(k-1) on each side, and then cross-correlated with ``rot180(F)`` whose
  in/out channel axes are swapped; this gives the gradient of the padded
  input, from which the forward padding is cut away. This is the same
  forward function, called on dZ.

Two paths compute these formulas. The **reference path**
(:func:`conv2d_forward_reference`, :func:`conv2d_backward_reference`) is the
text above, line by line: one im2col matrix for the whole batch, one matrix
product, and dX as the full convolution of the dilated dZ. The **fast path**
(:mod:`._conv_fast`, taken for float32/float64 arrays unless
``glassnet.backend.set_fast_paths(False)``) forms exactly the same sums chunk
by chunk in cache-sized buffers, on several threads, saving X instead of its
columns; for a stride > 1 it skips the zeros that the dilation of dZ
inserts (col2im). tests/nn/test_fast_paths.py compares the two.

The lecture's worked example (3x3 X, 2x2 F, stride 1, no padding)::

    z11 = X11 F11 + X12 F12 + X21 F21 + X22 F22        (and z12, z21, z22 alike)
    dJ/dF = conv(X, dJ/dZ)                  dJ/dX = full_conv(dJ/dZ, rot180(F))

>>> import numpy as np
>>> X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3); F = np.ones((1, 1, 2, 2))
>>> Z, ctx = conv2d_forward(X, F, None)
>>> Z[0, 0]                                   # z11 = 1+2+4+5 = 12, ...
array([[12., 16.],
       [24., 28.]])
>>> dX, dF, db = conv2d_backward(np.ones_like(Z), ctx)
>>> dX[0, 0]                                  # how many windows cover each X_ij
array([[1., 2., 1.],
       [2., 4., 2.],
       [1., 2., 1.]])
"""

from __future__ import annotations

from ... import backend as B
from . import _conv_fast
from .im2col import im2col, out_size, pad2d


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _fast(*arrays):
    """The fast path takes float32/float64 arrays of one dtype (``None`` entries ignored)."""
    if not B.fast_paths_enabled():
        return False
    dtypes = {a.dtype for a in arrays if a is not None}
    return len(dtypes) == 1 and dtypes.pop() in (B.xp.float32, B.xp.float64)


def conv2d_forward(X, F, b, stride=1, padding=(0, 0, 0, 0), dilation=1):
    """Z = X (*) F + b  (cross-correlation).

    Inputs:
        X: (N, C, H, W); F: (F_out, C, kh, kw); b: (F_out,) or None;
        stride, dilation: int or (sh, sw); padding: (top, bottom, left, right) or int.
    Returns:
        Z: (N, F_out, H_out, W_out) and ``ctx`` for :func:`conv2d_backward`.
    """
    stride, dilation = _pair(stride), _pair(dilation)
    pads = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
    if _fast(X, F, b) and min(pads) >= 0 and X.shape[0] > 0:
        Z = _conv_fast.forward(X, F, b, stride, pads, dilation)
        return Z, ("fast", X, F, pads, stride, dilation, b is not None)
    return conv2d_forward_reference(X, F, b, stride, pads, dilation)


def conv2d_backward(dZ, ctx, need_dX=True):
    """Gradients of the convolution.

    Inputs:
        dZ: (N, F_out, H_out, W_out); ctx from :func:`conv2d_forward`.
    Returns:
        dX: (N, C, H, W) (``None`` if not ``need_dX``), dF: (F_out, C, kh, kw),
        db: (F_out,) or None.
    """
    if ctx[0] == "fast":
        _, X, F, pads, stride, dilation, has_bias = ctx
        if _fast(dZ, X):
            return _conv_fast.backward(dZ, X, F, has_bias, stride, pads, dilation, need_dX)
        ctx = _reference_context(X, F, pads, stride, dilation, has_bias)
    return conv2d_backward_reference(dZ, ctx, need_dX)


# ------------------------------------------------------------------------------------------ the reference path
def conv2d_forward_reference(X, F, b, stride=1, padding=(0, 0, 0, 0), dilation=1):
    """The forward as the lecture writes it: ``Z = F.reshape(F_out, C*kh*kw) @ im2col(X_pad) + b``.

    Same inputs and outputs as :func:`conv2d_forward`; works for any dtype
    (``glassnet.explain`` runs it on SymPy symbols).
    """
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    pads = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
    N, C, H, W = X.shape
    F_out, _, kh, kw = F.shape
    Xp = pad2d(X, pads)
    Ho = out_size(Xp.shape[2], kh, sh, 0, 0, dh)
    Wo = out_size(Xp.shape[3], kw, sw, 0, 0, dw)
    cols = im2col(Xp, kh, kw, (sh, sw), (dh, dw))  # (C*kh*kw, N*Ho*Wo)
    Z = F.reshape(F_out, -1) @ cols  # (F_out, N*Ho*Wo)
    if b is not None:
        Z += b[:, None]
    Z = B.xp.ascontiguousarray(Z.reshape(F_out, N, Ho, Wo).transpose(1, 0, 2, 3))
    ctx = ("reference", cols, F, X.shape, pads, (sh, sw), (dh, dw), b is not None)
    return Z, ctx


def _reference_context(X, F, pads, stride, dilation, has_bias):
    kh, kw = F.shape[2:]
    cols = im2col(pad2d(X, pads), kh, kw, stride, dilation)
    return ("reference", cols, F, X.shape, pads, stride, dilation, has_bias)


def conv2d_backward_reference(dZ, ctx, need_dX=True):
    """The backward as the lecture writes it: dF = X correlated with dZ; dX = full conv of dilated dZ with rot180(F).

    ``ctx`` comes from :func:`conv2d_forward_reference`.
    """
    _, cols, F, x_shape, pads, (sh, sw), (dh, dw), has_bias = ctx
    N, C, H, W = x_shape
    F_out, _, kh, kw = F.shape
    Ho, Wo = dZ.shape[2], dZ.shape[3]
    dZm = dZ.transpose(1, 0, 2, 3).reshape(F_out, N * Ho * Wo)
    db = dZm.sum(axis=1) if has_bias else None
    # dF = X correlated with dZ (the im2col columns are X's receptive fields)
    dF = (dZm @ cols.T).reshape(F.shape)
    if not need_dX:
        return None, dF, db
    # dX = full convolution of the stride-dilated dZ with the 180-degree-rotated kernel:
    # pad the dilated dZ by d*(k-1) (plus the rows/columns the stride never reached), correlate
    # with rot180(F) whose in/out channels are swapped, which gives dX_pad; then drop the padding.
    Hp, Wp = H + pads[0] + pads[1], W + pads[2] + pads[3]
    rh = (Hp - dh * (kh - 1) - 1) % sh  # rows the forward stride never reached
    rw = (Wp - dw * (kw - 1) - 1) % sw
    dZd = dilate(dZ, (sh, sw))
    full = (dh * (kh - 1), dh * (kh - 1) + rh, dw * (kw - 1), dw * (kw - 1) + rw)
    F_rot = B.xp.ascontiguousarray(F[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, F_out, kh, kw)
    dXp, _ = conv2d_forward_reference(dZd, F_rot, None, 1, full, (dh, dw))  # (N, C, Hp, Wp)
    dX = B.xp.ascontiguousarray(dXp[:, :, pads[0] : pads[0] + H, pads[2] : pads[2] + W])
    return dX, dF, db


def dilate(dZ, stride):
    """Insert ``stride-1`` zeros between the entries of dZ's last two axes."""
    sh, sw = stride
    if sh == sw == 1:
        return dZ
    N, C, Ho, Wo = dZ.shape
    out = B.xp.zeros((N, C, (Ho - 1) * sh + 1, (Wo - 1) * sw + 1), dtype=dZ.dtype)
    out[:, :, ::sh, ::sw] = dZ
    return out


def conv_output_shape(hw, kernel, stride=1, padding=(0, 0, 0, 0), dilation=1):
    """(H_out, W_out) of a convolution or pooling window on an (H, W) input."""
    (kh, kw), (sh, sw), (dh, dw) = _pair(kernel), _pair(stride), _pair(dilation)
    pads = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
    return (out_size(hw[0], kh, sh, pads[0], pads[1], dh), out_size(hw[1], kw, sw, pads[2], pads[3], dw))
