"""ReLU's backward on the GPU in one kernel: dZ = dA where A > 0, else 0."""

from __future__ import annotations

import functools


@functools.cache
def _kernel():
    import cupy

    return cupy.ElementwiseKernel("T da, T a", "T dz", "dz = a > 0 ? da : (T)0", "glassnet_relu_backward")


def relu_backward(dA, A):
    return _kernel()(dA, A)
