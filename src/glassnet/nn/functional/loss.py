"""Losses, forward and backward (mean reduction, as PyTorch's default).

Cross-entropy is fused with a max-shifted log-softmax, so it never takes the
log of an underflowed probability::

    log p = Z - max(Z) - log(sum(exp(Z - max(Z))))
    J = -(1/N) sum_n sum_k q[n,k] log p[n,k],   q = (1-eps) onehot(t) + eps/K
    dJ/dZ = (softmax(Z) - q) / N

>>> import numpy as np
>>> J, ctx = cross_entropy_forward(np.zeros((2, 4)), np.array([0, 3]))
>>> round(float(J), 6) == round(float(np.log(4)), 6)
True
>>> cross_entropy_backward(ctx)[0]
array([-0.375,  0.125,  0.125,  0.125])
"""

from __future__ import annotations

from ... import backend as B
from .activation import log_softmax_forward, sigmoid_forward


def cross_entropy_forward(Z, target, label_smoothing=0.0):
    """Inputs: Z logits (N, K); target (N,) integer class indices. Returns J (scalar) and ctx."""
    N, K = Z.shape
    logp = log_softmax_forward(Z, 1)
    nll = -logp[B.xp.arange(N), target]
    if label_smoothing:
        J = ((1 - label_smoothing) * nll - label_smoothing * logp.mean(axis=1)).mean()
    else:
        J = nll.mean()
    return B.xp.asarray(J, dtype=Z.dtype), (logp, target, label_smoothing)


def cross_entropy_backward(ctx, dJ=1.0):
    """dZ = dJ * (softmax(Z) - q) / N, shape (N, K)."""
    logp, target, eps = ctx
    N, K = logp.shape
    dZ = B.xp.exp(logp)
    if eps:
        dZ -= eps / K
    dZ[B.xp.arange(N), target] -= 1 - eps
    dZ *= dJ / N
    return dZ


def mse_forward(Y, T):
    """J = mean((Y - T)^2) over every element."""
    D = Y - T
    return B.xp.asarray((D * D).mean(), dtype=Y.dtype), D


def mse_backward(D, dJ=1.0):
    """dY = 2 (Y - T) / numel."""
    return D * (2.0 * dJ / D.size)


def bce_with_logits_forward(Z, T):
    """J = mean(max(Z, 0) - Z*T + log(1 + exp(-|Z|)))  (stable sigmoid + binary cross-entropy)."""
    J = B.xp.maximum(Z, 0) - Z * T + B.xp.log1p(B.xp.exp(-B.xp.abs(Z)))
    return B.xp.asarray(J.mean(), dtype=Z.dtype), (Z, T)


def bce_with_logits_backward(ctx, dJ=1.0):
    """dZ = (sigmoid(Z) - T) / numel."""
    Z, T = ctx
    return (sigmoid_forward(Z) - T) * (dJ / Z.size)
