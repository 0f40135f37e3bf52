"""Fully connected layer, in the lecture's notation.

Layer l has n[l] units; W[l] has shape (n[l], n[l-1]) and b[l] shape (n[l],).
For one column vector: z[l] = W[l] a[l-1] + b[l]. For a batch of m examples
stored as rows (A_prev of shape (m, n[l-1]), PyTorch's layout)::

    Z = A_prev W^T + b                          (m, n[l])
    dA_prev = dZ W                              (m, n[l-1])
    dW = dZ^T A_prev   (= dz[l] a[l-1]^T summed over the batch)   (n[l], n[l-1])
    db = sum of dZ over the batch               (n[l],)

>>> import numpy as np
>>> Z = linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)); Z.shape
(2, 4)
"""

from __future__ import annotations


def linear_forward(A_prev, W, b):
    """Z = A_prev W^T + b."""
    Z = A_prev @ W.T
    if b is not None:
        Z += b
    return Z


def linear_backward(dZ, A_prev, W, has_bias=True):
    """Returns dA_prev (m, n[l-1]), dW (n[l], n[l-1]), db (n[l],) or None."""
    dA_prev = dZ @ W
    dW = dZ.T @ A_prev
    db = dZ.sum(axis=0) if has_bias else None
    return dA_prev, dW, db
