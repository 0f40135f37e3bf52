"""Element-wise activations and softmax, forward and backward.

Each backward takes dA = dJ/dA and what its forward saved, and returns
dZ = dJ/dZ = dA * g'(Z), where ``A = g(Z)`` (the lecture's dz[l] = da[l] * g'(z[l])).

>>> import numpy as np
>>> Z = np.array([-2.0, 0.0, 3.0])
>>> A, saved = relu_forward(Z)
>>> A, relu_backward(np.ones(3), saved)
(array([0., 0., 3.]), array([0., 0., 1.]))
>>> softmax_forward(np.array([[1.0, 1.0]]), 1)[0]
array([[0.5, 0.5]])
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ... import backend as B
from .cuda import activation as cuda
from .dispatch import note, use_cuda, use_fast
from .fast import activation as fast


class ActivationSaved(NamedTuple):
    """What an element-wise activation's backward needs: its output A (ReLU, sigmoid, tanh) or its input Z."""

    A: Any


class LeakyReLUSaved(NamedTuple):
    Z: Any
    slope: float


class SoftmaxSaved(NamedTuple):
    A: Any
    """softmax(Z), or log_softmax(Z) for :func:`log_softmax_backward`."""
    dim: int


def relu_forward(Z):
    """A = max(Z, 0). Saves A: A > 0 exactly where Z > 0, and the next layer keeps A anyway."""
    if use_fast(Z) and Z.ndim:
        note("relu_forward", "fast")
        A = fast.relu_forward(Z)
    else:
        note("relu_forward", "reference")
        A = B.get_array_module(Z).maximum(Z, 0)
    return A, ActivationSaved(A)


def relu_backward(dA, saved: ActivationSaved):
    """dZ = dA where Z > 0, else 0 (the kink at 0 gets 0, as PyTorch).

    Computed as ``dA * (A > 0)``: a product with a 0/1 mask is 3-10x faster
    than ``where`` on a random mask (a branch per element).
    """
    A = saved.A
    if use_fast(dA, A) and A.ndim and A.shape == dA.shape:
        note("relu_backward", "fast")
        return fast.relu_backward(dA, A)
    if use_cuda(dA, A) and A.shape == dA.shape:
        note("relu_backward", "cuda")
        return cuda.relu_backward(dA, A)
    note("relu_backward", "reference")
    return dA * (A > 0)


def leaky_relu_forward(Z, slope=0.01):
    """A = Z if Z > 0 else slope * Z."""
    return B.get_array_module(Z).where(Z > 0, Z, Z * slope), LeakyReLUSaved(Z, slope)


def leaky_relu_backward(dA, saved: LeakyReLUSaved):
    """dZ = dA if Z > 0 else slope * dA."""
    Z, slope = saved
    return B.get_array_module(dA).where(Z > 0, dA, dA * slope)


def sigmoid_forward(Z):
    """A = 1 / (1 + exp(-Z)), computed without overflow for large |Z|."""
    xp = B.get_array_module(Z)
    E = xp.exp(-xp.abs(Z))
    A = xp.where(Z >= 0, 1 / (1 + E), E / (1 + E))
    return A, ActivationSaved(A)


def sigmoid_backward(dA, saved: ActivationSaved):
    """dZ = dA * A * (1 - A)."""
    A = saved.A
    return dA * A * (1 - A)


def tanh_forward(Z):
    """A = tanh(Z)."""
    A = B.get_array_module(Z).tanh(Z)
    return A, ActivationSaved(A)


def tanh_backward(dA, saved: ActivationSaved):
    """dZ = dA * (1 - A^2)."""
    A = saved.A
    return dA * (1 - A * A)


def softmax_forward(Z, dim=1):
    """A = exp(Z - max Z) / sum(exp(Z - max Z)) along ``dim`` (shifted by the max: stable)."""
    E = B.get_array_module(Z).exp(Z - Z.max(axis=dim, keepdims=True))
    A = E / E.sum(axis=dim, keepdims=True)
    return A, SoftmaxSaved(A, dim)


def softmax_backward(dA, saved: SoftmaxSaved):
    """dZ = A * (dA - sum(dA * A)) along ``dim`` (the softmax Jacobian applied to dA)."""
    A, dim = saved
    return A * (dA - (dA * A).sum(axis=dim, keepdims=True))


def log_softmax_forward(Z, dim=1):
    """log A = Z - max Z - log(sum(exp(Z - max Z)))  (log-sum-exp, stable)."""
    xp = B.get_array_module(Z)
    S = Z - Z.max(axis=dim, keepdims=True)
    L = S - xp.log(xp.exp(S).sum(axis=dim, keepdims=True))
    return L, SoftmaxSaved(L, dim)


def log_softmax_backward(dL, saved: SoftmaxSaved):
    """dZ = dL - softmax(Z) * sum(dL)  (L = log_softmax(Z))."""
    L, dim = saved
    return dL - B.get_array_module(dL).exp(L) * dL.sum(axis=dim, keepdims=True)
