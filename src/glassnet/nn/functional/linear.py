"""Fully connected layer, in the lecture's notation.

Layer l has n[l] units; W[l] has shape (n[l], n[l-1]) and b[l] shape (n[l],).
For one column vector: z[l] = W[l] a[l-1] + b[l]. For a batch of m examples
stored as rows (A_prev of shape (m, n[l-1]), PyTorch's layout)::

    Z = A_prev W^T + b                          (m, n[l])
    dA_prev = dZ W                              (m, n[l-1])
    dW = dZ^T A_prev   (= dz[l] a[l-1]^T summed over the batch)   (n[l], n[l-1])
    db = sum of dZ over the batch               (n[l],)

Large NumPy batches take the fast path (:mod:`.fast.linear`: two halves of
rows on glassnet's threads, the same sums).

>>> import numpy as np
>>> Z, saved = linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)); Z.shape
(2, 4)
>>> dA, dW, db = linear_backward(np.ones((2, 4)), saved); dA.shape, dW.shape, db.shape
((2, 3), (4, 3), (4,))
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .dispatch import note, use_fast
from .fast import linear as fast


class LinearSaved(NamedTuple):
    """What the backward of a fully connected layer needs."""

    A_prev: Any
    """The input (m, n[l-1])."""
    W: Any
    has_bias: bool
    need_dA: bool = True
    """False: backward skips dA_prev (returns None for it)."""


def _split(A_prev, W):
    return fast.halves(A_prev, W) if use_fast(A_prev, W) else None


def linear_forward(A_prev, W, b):
    """Z = A_prev W^T + b. Returns Z and a :class:`LinearSaved`."""
    saved = LinearSaved(A_prev, W, b is not None)
    parts = _split(A_prev, W)
    if parts is not None:
        note("linear_forward", "fast")
        return fast.forward(A_prev, W, b, parts), saved
    note("linear_forward", "reference")
    Z = A_prev @ W.T
    if b is not None:
        Z += b
    return Z, saved


def linear_backward(dZ, saved: LinearSaved):
    """Returns dA_prev (m, n[l-1]) or None, dW (n[l], n[l-1]), db (n[l],) or None."""
    A_prev, W, has_bias, need_dA = saved
    parts = _split(A_prev, W) if use_fast(dZ, A_prev) else None
    if parts is not None:
        note("linear_backward", "fast")
        return fast.backward(dZ, A_prev, W, has_bias, need_dA, parts)
    note("linear_backward", "reference")
    dA_prev = dZ @ W if need_dA else None
    dW = dZ.T @ A_prev
    db = dZ.sum(axis=0) if has_bias else None
    return dA_prev, dW, db
