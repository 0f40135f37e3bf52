"""Batch normalisation and local response normalisation, forward and backward.

Batch norm over the axes ``axes`` (batch and spatial), per channel::

    mu = mean(X), var = mean((X - mu)^2)   (biased; the running variance
    stores the unbiased one, as PyTorch)
    X_hat = (X - mu) / sqrt(var + eps),    Y = gamma * X_hat + beta

    dbeta = sum(dY), dgamma = sum(dY * X_hat)
    dX = gamma / sqrt(var + eps) * (dY - mean(dY) - X_hat * mean(dY * X_hat))   (training)
    dX = gamma / sqrt(running_var + eps) * dY                                 (evaluation)

Both paths keep Xc = X - mu (training) or X itself (evaluation) in a
:class:`BatchNormSaved`; the fast path (:mod:`.fast.norm`, NumPy float32/float64,
NC... inputs with spatial axes) forms the same sums with per-channel
coefficients in cache-sized chunks on glassnet's threads.

Local response normalisation across channels (AlexNet), window of n channels
``c - n//2 .. c + (n-1)//2``::

    S_c = k + alpha/n * sum_{window(c)} X_c'^2,     Y_c = X_c * S_c^(-beta)
    dX_c = dY_c S_c^(-beta) - 2 alpha beta / n * X_c * sum_{c': c in window(c')} dY_c' X_c' S_c'^(-beta-1)

>>> import numpy as np
>>> Y, saved, stats = batch_norm_train(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), (0,), 0.0)
>>> Y.ravel()
array([-1.,  1.])
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ... import backend as B
from .cuda import norm as cuda
from .dispatch import note, use_cuda, use_fast
from .fast import norm as fast


class BatchNormSaved(NamedTuple):
    """What the backward of batch normalisation needs."""

    x: Any
    """Training: Xc = X - batch mean; evaluation: X itself (``mean`` says what to subtract)."""
    mean: Any
    """None in training (``x`` is centred); the running mean (C,) in evaluation."""
    inv_std: Any
    """1 / sqrt(var + eps), per channel (C,)."""
    gamma: Any
    axes: tuple
    """The reduced axes (batch and spatial)."""


class LRNSaved(NamedTuple):
    X: Any
    S: Any
    """k + alpha/n * window_sum(X^2)."""
    size: int
    alpha: float
    beta: float


def _shape(X, axes):
    return tuple(1 if a in axes else s for a, s in enumerate(X.shape))


def _fast(X, gamma, beta, axes):
    return use_fast(X, gamma, beta) and fast.applies(X, axes)


def _cuda(X, gamma, beta, axes):
    return use_cuda(X, gamma, beta) and X.ndim >= 3 and tuple(axes) == (0, *range(2, X.ndim)) and X.size > 0


def batch_norm_train(X, gamma, beta, axes, eps):
    """Normalise with the batch statistics. Returns Y, a :class:`BatchNormSaved`, (mean, biased var)."""
    if _fast(X, gamma, beta, axes):
        note("batch_norm_train", "fast")
        Y, Xc, mu, var, inv_std = fast.train(X, gamma, beta, eps)
        return Y, BatchNormSaved(Xc, None, inv_std, gamma, tuple(axes)), (mu, var)
    if _cuda(X, gamma, beta, axes):
        note("batch_norm_train", "cuda")
        Y, Xc, mu, var, inv_std = cuda.train(X, gamma, beta, eps)
        return Y, BatchNormSaved(Xc, None, inv_std, gamma, tuple(axes)), (mu, var)
    note("batch_norm_train", "reference")
    xp = B.get_array_module(X)
    shape = _shape(X, axes)
    mu = X.mean(axis=axes, keepdims=True)
    Xc = X - mu
    var = (Xc * Xc).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt(var + eps)
    Y = Xc * inv_std * gamma.reshape(shape) + beta.reshape(shape)
    saved = BatchNormSaved(Xc, None, inv_std.reshape(-1), gamma, tuple(axes))
    return Y, saved, (mu.reshape(-1), var.reshape(-1))


def batch_norm_eval(X, gamma, beta, running_mean, running_var, axes, eps):
    """Normalise with the running statistics. Returns Y and a :class:`BatchNormSaved`."""
    if _fast(X, gamma, beta, axes):
        note("batch_norm_eval", "fast")
        Y, inv_std = fast.evaluate(X, gamma, beta, running_mean, running_var, eps)
        return Y, BatchNormSaved(X, running_mean, inv_std, gamma, tuple(axes))
    if _cuda(X, gamma, beta, axes):
        note("batch_norm_eval", "cuda")
        Y, inv_std = cuda.evaluate(X, gamma, beta, running_mean, running_var, eps)
        return Y, BatchNormSaved(X, running_mean, inv_std, gamma, tuple(axes))
    note("batch_norm_eval", "reference")
    xp = B.get_array_module(X)
    shape = _shape(X, axes)
    inv_std = (1.0 / xp.sqrt(running_var + eps)).astype(X.dtype)
    X_hat = (X - running_mean.reshape(shape)) * inv_std.reshape(shape)
    Y = X_hat * gamma.reshape(shape) + beta.reshape(shape)
    return Y, BatchNormSaved(X, running_mean, inv_std, gamma, tuple(axes))


def batch_norm_backward(dY, saved: BatchNormSaved):
    """Returns dX, dgamma, dbeta (the evaluation form when ``saved.mean`` is set: the statistics are constants)."""
    x, mean, inv_std, gamma, axes = saved
    if _fast(dY, x, gamma, axes):
        note("batch_norm_backward", "fast")
        return fast.backward(dY, x, mean, inv_std, gamma)
    if mean is None and _cuda(dY, x, gamma, axes):
        note("batch_norm_backward", "cuda")
        return cuda.backward(dY, x, inv_std, gamma)
    note("batch_norm_backward", "reference")
    shape = _shape(dY, axes)
    inv = inv_std.reshape(shape)
    X_hat = (x if mean is None else x - mean.reshape(shape)) * inv
    dbeta = dY.sum(axis=axes)
    dgamma = (dY * X_hat).sum(axis=axes)
    g = gamma.reshape(shape) * inv
    if mean is not None:
        return dY * g, dgamma, dbeta
    m = dY.size // dbeta.size
    dX = g * (dY - (dbeta / m).reshape(shape) - X_hat * (dgamma / m).reshape(shape))
    return dX, dgamma, dbeta


def running_stats_update(running_mean, running_var, mean, var, momentum, m):
    """The running statistics after a training batch of m values per channel; returns (running_mean, running_var).

    running_mean = (1 - momentum) running_mean + momentum mean
    running_var = (1 - momentum) running_var + momentum var m/(m - 1)   (the unbiased variance, as PyTorch)
    """
    if use_cuda(running_mean, running_var):  # in place, one kernel
        cuda.update_running(running_mean, running_var, mean, var, momentum, m)
        return running_mean, running_var
    unbiased = var * (m / (m - 1))
    new_mean = ((1 - momentum) * running_mean + momentum * mean).astype(running_mean.dtype)
    new_var = ((1 - momentum) * running_var + momentum * unbiased).astype(running_var.dtype)
    return new_mean, new_var


# ------------------------------------------------------------------------------------------- local response norm
def _channel_window_sum(A, size):
    """sum over channels c - size//2 .. c + (size-1)//2 (zero outside), axis 1."""
    lo, hi = size // 2, (size - 1) // 2
    C = A.shape[1]
    pad = [(0, 0)] * A.ndim
    pad[1] = (lo + 1, hi)
    xp = B.get_array_module(A)
    cs = xp.cumsum(xp.pad(A, pad), axis=1)
    return cs[:, size : size + C] - cs[:, 0:C]


def _channel_window_sum_transposed(A, size):
    """sum over the c' whose window contains c: c - (size-1)//2 .. c + size//2."""
    return _channel_window_sum(A[:, ::-1], size)[:, ::-1]


def local_response_norm_forward(X, size, alpha=1e-4, beta=0.75, k=1.0):
    """Y = X * (k + alpha/size * window_sum(X^2))^(-beta). Inputs: X (N, C, ...)."""
    S = k + (alpha / size) * _channel_window_sum(X * X, size)
    Y = X * S**-beta
    return Y, LRNSaved(X, S, size, alpha, beta)


def local_response_norm_backward(dY, saved: LRNSaved):
    """dX (see the module docstring)."""
    X, S, size, alpha, beta = saved
    inner = _channel_window_sum_transposed(dY * X * S ** (-beta - 1), size)
    return dY * S**-beta - (2 * alpha * beta / size) * X * inner


