"""The fast path of ReLU: large NumPy batches split over glassnet's threads, reused 0/1 masks."""

from __future__ import annotations

import numpy as np

from .... import _threads


def relu_forward(Z):
    """A = max(Z, 0), batch ranges in parallel when large."""
    A = np.empty_like(Z)
    _threads.parallel_ranges(len(Z), lambda a, e: np.maximum(Z[a:e], 0, out=A[a:e]), Z.nbytes)
    return A


def relu_backward(dA, A):
    """dZ = dA * (A > 0), the mask in a per-thread scratch buffer."""
    dZ = np.empty_like(dA)

    def task(a, e):
        positive = _threads.scratch("positive", A[a:e].shape, bool)
        np.greater(A[a:e], 0, out=positive)
        np.multiply(dA[a:e], positive, out=dZ[a:e])

    _threads.parallel_ranges(len(A), task, A.nbytes)
    return dZ
