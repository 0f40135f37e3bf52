"""Losses, forward and backward (mean reduction, as PyTorch's default).

Like every op, ``J, saved = *_forward(...)`` and ``dZ = *_backward(dJ, saved)``,
with dJ = dL/dJ (1 when J is the loss itself).

Cross-entropy is fused with a max-shifted log-softmax, so it never takes the
log of an underflowed probability::

    log p = Z - max(Z) - log(sum(exp(Z - max(Z))))
    J = -(1/N) sum_n sum_k q[n,k] log p[n,k],   q = (1-eps) onehot(t) + eps/K
    dJ/dZ = (softmax(Z) - q) / N

>>> import numpy as np
>>> J, saved = cross_entropy_forward(np.zeros((2, 4)), np.array([0, 3]))
>>> round(float(J), 6) == round(float(np.log(4)), 6)
True
>>> cross_entropy_backward(1.0, saved)[0]
array([-0.375,  0.125,  0.125,  0.125])
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ... import backend as B
from .activation import log_softmax_forward, sigmoid_forward


class CrossEntropySaved(NamedTuple):
    logp: Any
    """log softmax(Z), (N, K)."""
    target: Any
    label_smoothing: float


class MSESaved(NamedTuple):
    D: Any
    """Y - T."""


class BCEWithLogitsSaved(NamedTuple):
    Z: Any
    T: Any


def cross_entropy_forward(Z, target, label_smoothing=0.0):
    """Inputs: Z logits (N, K); target (N,) integer class indices. Returns J (0-d) and a :class:`CrossEntropySaved`."""
    xp = B.get_array_module(Z)
    N, K = Z.shape
    logp, _ = log_softmax_forward(Z, 1)
    nll = -logp[xp.arange(N), target]
    if label_smoothing:
        J = ((1 - label_smoothing) * nll - label_smoothing * logp.mean(axis=1)).mean()
    else:
        J = nll.mean()
    return xp.asarray(J, dtype=Z.dtype), CrossEntropySaved(logp, target, label_smoothing)


def cross_entropy_backward(dJ, saved: CrossEntropySaved):
    """dZ = dJ * (softmax(Z) - q) / N, shape (N, K)."""
    logp, target, eps = saved
    xp = B.get_array_module(logp)
    N, K = logp.shape
    dZ = xp.exp(logp)
    if eps:
        dZ -= eps / K
    dZ[xp.arange(N), target] -= 1 - eps
    dZ *= dJ / N
    return dZ


def mse_forward(Y, T):
    """J = mean((Y - T)^2) over every element."""
    D = Y - T
    return B.get_array_module(Y).asarray((D * D).mean(), dtype=Y.dtype), MSESaved(D)


def mse_backward(dJ, saved: MSESaved):
    """dY = 2 (Y - T) / numel."""
    D = saved.D
    return D * (2.0 * dJ / D.size)


def bce_with_logits_forward(Z, T):
    """J = mean(max(Z, 0) - Z*T + log(1 + exp(-|Z|)))  (stable sigmoid + binary cross-entropy)."""
    xp = B.get_array_module(Z)
    J = xp.maximum(Z, 0) - Z * T + xp.log1p(xp.exp(-xp.abs(Z)))
    return xp.asarray(J.mean(), dtype=Z.dtype), BCEWithLogitsSaved(Z, T)


def bce_with_logits_backward(dJ, saved: BCEWithLogitsSaved):
    """dZ = (sigmoid(Z) - T) / numel."""
    Z, T = saved
    return (sigmoid_forward(Z)[0] - T) * (dJ / Z.size)
