"""Batch normalisation and local response normalisation, forward and backward.

Batch norm over the axes ``axes`` (batch and spatial), per channel::

    mu = mean(X), var = mean((X - mu)^2)   (biased; the running variance
    stores the unbiased one, as PyTorch)
    X_hat = (X - mu) / sqrt(var + eps),    Y = gamma * X_hat + beta

    dbeta = sum(dY), dgamma = sum(dY * X_hat)
    dX = gamma / sqrt(var + eps) * (dY - mean(dY) - X_hat * mean(dY * X_hat))   (training)
    dX = gamma / sqrt(running_var + eps) * dY                                 (evaluation)

Local response normalisation across channels (AlexNet), window of n channels
``c - n//2 .. c + (n-1)//2``::

    S_c = k + alpha/n * sum_{window(c)} X_c'^2,     Y_c = X_c * S_c^(-beta)
    dX_c = dY_c S_c^(-beta) - 2 alpha beta / n * X_c * sum_{c': c in window(c')} dY_c' X_c' S_c'^(-beta-1)

>>> import numpy as np
>>> Y, ctx, stats = batch_norm_train(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), (0,), 0.0)
>>> Y.ravel()
array([-1.,  1.])
"""

from __future__ import annotations

from ... import backend as B


def _shape(X, axes):
    return tuple(1 if a in axes else s for a, s in enumerate(X.shape))


def batch_norm_train(X, gamma, beta, axes, eps):
    """Normalise with the batch statistics. Returns Y, ctx, (mean, biased var)."""
    shape = _shape(X, axes)
    mu = X.mean(axis=axes, keepdims=True)
    Xc = X - mu
    var = (Xc * Xc).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / B.xp.sqrt(var + eps)
    X_hat = Xc * inv_std
    Y = X_hat * gamma.reshape(shape) + beta.reshape(shape)
    return Y, (X_hat, inv_std, gamma, axes), (mu.reshape(-1), var.reshape(-1))


def batch_norm_eval(X, gamma, beta, running_mean, running_var, axes, eps):
    """Normalise with the running statistics. Returns Y, ctx."""
    shape = _shape(X, axes)
    inv_std = (1.0 / B.xp.sqrt(running_var + eps)).reshape(shape).astype(X.dtype)
    X_hat = (X - running_mean.reshape(shape)) * inv_std
    Y = X_hat * gamma.reshape(shape) + beta.reshape(shape)
    return Y, (X_hat, inv_std, gamma, None)


def batch_norm_backward(dY, ctx):
    """Returns dX, dgamma, dbeta (``axes is None`` marks the evaluation-mode context)."""
    X_hat, inv_std, gamma, axes = ctx
    red = axes if axes is not None else tuple(a for a in range(dY.ndim) if a != 1)
    shape = _shape(dY, red)
    dbeta = dY.sum(axis=red)
    dgamma = (dY * X_hat).sum(axis=red)
    g = gamma.reshape(shape) * inv_std
    if axes is None:
        return dY * g, dgamma, dbeta
    m = dY.size // dbeta.size
    dX = g * (dY - (dbeta / m).reshape(shape) - X_hat * (dgamma / m).reshape(shape))
    return dX, dgamma, dbeta


def _channel_window_sum(A, size):
    """sum over channels c - size//2 .. c + (size-1)//2 (zero outside), axis 1."""
    lo, hi = size // 2, (size - 1) // 2
    C = A.shape[1]
    pad = [(0, 0)] * A.ndim
    pad[1] = (lo + 1, hi)
    cs = B.xp.cumsum(B.xp.pad(A, pad), axis=1)
    return cs[:, size : size + C] - cs[:, 0:C]


def _channel_window_sum_transposed(A, size):
    """sum over the c' whose window contains c: c - (size-1)//2 .. c + size//2."""
    return _channel_window_sum(A[:, ::-1], size)[:, ::-1]


def local_response_norm_forward(X, size, alpha=1e-4, beta=0.75, k=1.0):
    """Y = X * (k + alpha/size * window_sum(X^2))^(-beta). Inputs: X (N, C, ...)."""
    S = k + (alpha / size) * _channel_window_sum(X * X, size)
    Y = X * S**-beta
    return Y, (X, S, size, alpha, beta)


def local_response_norm_backward(dY, ctx):
    X, S, size, alpha, beta = ctx
    inner = _channel_window_sum_transposed(dY * X * S ** (-beta - 1), size)
    return dY * S**-beta - (2 * alpha * beta / size) * X * inner


def dropout_mask(shape, p, dtype):
    """Keep each unit with probability 1-p and scale it by 1/(1-p) (inverted dropout)."""
    keep = B.rng().random(shape) >= p
    return keep.astype(dtype) / (1 - p)
