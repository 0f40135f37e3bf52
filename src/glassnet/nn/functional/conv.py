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

Two paths compute these formulas, behind one dispatcher (:func:`conv2d_forward`,
:func:`conv2d_backward`, see :mod:`.dispatch`). The **reference path**
(:func:`conv2d_forward_reference`, :func:`conv2d_backward_reference`) is the
text above, line by line: one im2col matrix for the whole batch, one matrix
product, and dX as the full convolution of the dilated dZ; it runs on any
array namespace (NumPy, CuPy, SymPy objects). The **fast path**
(:mod:`.fast.conv`, NumPy float32/float64) forms exactly the same sums chunk
by chunk in cache-sized buffers, on several threads; for a stride > 1 it
skips the zeros that the dilation of dZ inserts (col2im). On the GPU
(:mod:`.cuda.conv`, CuPy) im2col and col2im are one kernel each around a
batched matrix product. All save the same :class:`ConvSaved`;
tests/nn/test_fast_paths.py and tests/gpu compare them with the reference.

The lecture's worked example (3x3 X, 2x2 F, stride 1, no padding)::

    z11 = X11 F11 + X12 F12 + X21 F21 + X22 F22        (and z12, z21, z22 alike)
    dJ/dF = conv(X, dJ/dZ)                  dJ/dX = full_conv(dJ/dZ, rot180(F))

>>> import numpy as np
>>> X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3); F = np.ones((1, 1, 2, 2))
>>> Z, saved = conv2d_forward(X, F, None)
>>> Z[0, 0]                                   # z11 = 1+2+4+5 = 12, ...
array([[12., 16.],
       [24., 28.]])
>>> dX, dF, db = conv2d_backward(np.ones_like(Z), saved)
>>> dX[0, 0]                                  # how many windows cover each X_ij
array([[1., 2., 1.],
       [2., 4., 2.],
       [1., 2., 1.]])
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ... import backend as B
from .cuda import conv as cuda
from .dispatch import note, use_cuda, use_fast
from .fast import conv as fast
from .geometry import Window2d, pair, quad
from .im2col import im2col, pad2d


class ConvSaved(NamedTuple):
    """What the backward of a convolution needs."""

    X: Any
    """The input (N, C, H, W)."""
    F: Any
    """The filters (F_out, C, kh, kw)."""
    window: Window2d
    has_bias: bool
    need_dX: bool = True
    """False: backward skips dX (the images need no gradient) and returns None for it."""


def _window(F, stride, padding, dilation, window):
    if window is not None:
        return window
    return Window2d(tuple(F.shape[2:]), pair(stride, "stride"), quad(padding), pair(dilation, "dilation"))


def conv2d_forward(X, F, b, stride=1, padding=0, dilation=1, *, window: Window2d | None = None):
    """Z = X (*) F + b  (cross-correlation).

    Inputs:
        X: (N, C, H, W); F: (F_out, C, kh, kw); b: (F_out,) or None;
        stride, dilation: int or (sh, sw); padding: int, (ph, pw) or (top, bottom, left, right);
        or ``window``, a :class:`~.geometry.Window2d` that says all of it (what `Conv2d` passes).
    Returns:
        Z: (N, F_out, H_out, W_out) and a :class:`ConvSaved` for :func:`conv2d_backward`.
    """
    w = _window(F, stride, padding, dilation, window)
    saved = ConvSaved(X, F, w, b is not None)
    if use_fast(X, F, b) and min(w.pads) >= 0 and X.shape[0] > 0:
        note("conv2d_forward", "fast")
        return fast.forward(X, F, b, w.stride, w.pads, w.dilation), saved
    if use_cuda(X, F, b) and min(w.pads) >= 0 and X.shape[0] > 0:
        note("conv2d_forward", "cuda")
        return cuda.forward(X, F, b, w), saved
    note("conv2d_forward", "reference")
    return conv2d_forward_reference(X, F, b, window=w)[0], saved


def conv2d_backward(dZ, saved: ConvSaved):
    """Gradients of the convolution.

    Inputs:
        dZ: (N, F_out, H_out, W_out); ``saved`` from :func:`conv2d_forward`.
    Returns:
        dX: (N, C, H, W) (``None`` if not ``saved.need_dX``), dF: (F_out, C, kh, kw),
        db: (F_out,) or None.
    """
    X, F, w, has_bias, need_dX = saved
    if use_fast(dZ, X, F) and min(w.pads) >= 0 and X.shape[0] > 0:
        note("conv2d_backward", "fast")
        return fast.backward(dZ, X, F, has_bias, w.stride, w.pads, w.dilation, need_dX)
    if use_cuda(dZ, X, F) and min(w.pads) >= 0 and X.shape[0] > 0:
        note("conv2d_backward", "cuda")
        return cuda.backward(dZ, X, F, has_bias, w, need_dX)
    note("conv2d_backward", "reference")
    return conv2d_backward_reference(dZ, saved)


# ------------------------------------------------------------------------------------------ the reference path
def conv2d_forward_reference(X, F, b, stride=1, padding=0, dilation=1, *, window: Window2d | None = None):
    """The forward as the lecture writes it: ``Z = F.reshape(F_out, C*kh*kw) @ im2col(X_pad) + b``.

    Same inputs and outputs as :func:`conv2d_forward`; works for any array
    namespace and dtype (``glassnet.explain`` runs it on SymPy symbols).
    """
    w = _window(F, stride, padding, dilation, window)
    xp = B.get_array_module(X)
    N = X.shape[0]
    F_out = F.shape[0]
    Ho, Wo = w.out_size(*X.shape[2:])
    cols = im2col(pad2d(X, w.pads), *w.kernel, w.stride, w.dilation)  # (C*kh*kw, N*Ho*Wo)
    Z = F.reshape(F_out, -1) @ cols  # (F_out, N*Ho*Wo)
    if b is not None:
        Z += b[:, None]
    Z = xp.ascontiguousarray(Z.reshape(F_out, N, Ho, Wo).transpose(1, 0, 2, 3))
    return Z, ConvSaved(X, F, w, b is not None)


def conv2d_backward_reference(dZ, saved: ConvSaved):
    """The backward as the lecture writes it: dF = X correlated with dZ; dX = full conv of dilated dZ with rot180(F).

    ``saved`` comes from :func:`conv2d_forward` (either path).
    """
    X, F, w, has_bias, need_dX = saved
    xp = B.get_array_module(dZ)
    (kh, kw), (sh, sw), (dh, dw), pads = w.kernel, w.stride, w.dilation, w.pads
    N, C, H, W = X.shape
    F_out = F.shape[0]
    Ho, Wo = dZ.shape[2], dZ.shape[3]
    dZm = dZ.transpose(1, 0, 2, 3).reshape(F_out, N * Ho * Wo)
    db = dZm.sum(axis=1) if has_bias else None
    # dF = X correlated with dZ (the im2col columns are X's receptive fields)
    cols = im2col(pad2d(X, pads), kh, kw, (sh, sw), (dh, dw))
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
    F_rot = xp.ascontiguousarray(F[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, F_out, kh, kw)
    dXp, _ = conv2d_forward_reference(dZd, F_rot, None, 1, full, (dh, dw))  # (N, C, Hp, Wp)
    dX = xp.ascontiguousarray(dXp[:, :, pads[0] : pads[0] + H, pads[2] : pads[2] + W])
    return dX, dF, db


def dilate(dZ, stride):
    """Insert ``stride-1`` zeros between the entries of dZ's last two axes."""
    sh, sw = stride
    if sh == sw == 1:
        return dZ
    N, C, Ho, Wo = dZ.shape
    out = B.get_array_module(dZ).zeros((N, C, (Ho - 1) * sh + 1, (Wo - 1) * sw + 1), dtype=dZ.dtype)
    out[:, :, ::sh, ::sw] = dZ
    return out


def conv_output_shape(hw, kernel, stride=1, padding=0, dilation=1):
    """(H_out, W_out) of a convolution window on an (H, W) input."""
    w = Window2d(pair(kernel, "kernel_size"), pair(stride, "stride"), quad(padding), pair(dilation, "dilation"))
    return w.out_size(*hw)
