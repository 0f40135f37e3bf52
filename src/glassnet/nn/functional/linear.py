"""Fully connected layer, in the lecture's notation.

Layer l has n[l] units; W[l] has shape (n[l], n[l-1]) and b[l] shape (n[l],).
For one column vector: z[l] = W[l] a[l-1] + b[l]. For a batch of m examples
stored as rows (A_prev of shape (m, n[l-1]), PyTorch's layout)::

    Z = A_prev W^T + b                          (m, n[l])
    dA_prev = dZ W                              (m, n[l-1])
    dW = dZ^T A_prev   (= dz[l] a[l-1]^T summed over the batch)   (n[l], n[l-1])
    db = sum of dZ over the batch               (n[l],)

Large batches (float32/float64, at least :data:`SPLIT_MACS` multiply-adds)
are split in two halves of rows on glassnet's threads: Z and dA_prev row by
row, dW as the sum of the two halves' dZ^T A_prev (added in a fixed order,
so the result does not depend on the thread count).

>>> import numpy as np
>>> Z = linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)); Z.shape
(2, 4)
"""

from __future__ import annotations

from ... import _threads
from ... import backend as B

SPLIT_MACS = 1 << 23
"""Products of at least this many multiply-adds (8M) take two threads, half of the rows each.

LeNet-5's first Linear (400 -> 120) at batch 256 (12M): forward + backward
0.75 -> 0.5 ms on two cores; at batch 64 (3M) the split gained nothing.
"""


def _halves(A, W):
    """Row ranges of the split (the problem size decides, never the thread count), or None."""
    m = A.shape[0]
    if not (B.fast_paths_enabled() and m >= 2 and A.dtype == W.dtype and A.dtype in (B.xp.float32, B.xp.float64)
            and m * W.size >= SPLIT_MACS):
        return None
    return [(0, m // 2), (m // 2, m)]


def linear_forward(A_prev, W, b):
    """Z = A_prev W^T + b."""
    halves = _halves(A_prev, W)
    if halves is None:
        Z = A_prev @ W.T
    else:
        Z = B.xp.empty((A_prev.shape[0], W.shape[0]), dtype=A_prev.dtype)
        _threads.parallel_for(2, lambda t: B.xp.matmul(A_prev[slice(*halves[t])], W.T, out=Z[slice(*halves[t])]))
    if b is not None:
        Z += b
    return Z


def linear_backward(dZ, A_prev, W, has_bias=True):
    """Returns dA_prev (m, n[l-1]), dW (n[l], n[l-1]), db (n[l],) or None."""
    halves = _halves(A_prev, W) if dZ.dtype == A_prev.dtype else None
    if halves is None:
        dA_prev = dZ @ W
        dW = dZ.T @ A_prev
    else:
        dA_prev = B.xp.empty(A_prev.shape, dtype=A_prev.dtype)
        parts = [None, None]

        def task(t):
            rows = slice(*halves[t])
            B.xp.matmul(dZ[rows], W, out=dA_prev[rows])
            parts[t] = dZ[rows].T @ A_prev[rows]

        _threads.parallel_for(2, task)
        dW = parts[0] + parts[1]
    db = dZ.sum(axis=0) if has_bias else None
    return dA_prev, dW, db
