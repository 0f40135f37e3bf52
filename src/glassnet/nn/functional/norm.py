"""Batch normalisation and local response normalisation, forward and backward.

Batch norm over the axes ``axes`` (batch and spatial), per channel::

    mu = mean(X), var = mean((X - mu)^2)   (biased; the running variance
    stores the unbiased one, as PyTorch)
    X_hat = (X - mu) / sqrt(var + eps),    Y = gamma * X_hat + beta

    dbeta = sum(dY), dgamma = sum(dY * X_hat)
    dX = gamma / sqrt(var + eps) * (dY - mean(dY) - X_hat * mean(dY * X_hat))   (training)
    dX = gamma / sqrt(running_var + eps) * dY                                 (evaluation)

The fast path (float32/float64, NC... inputs with spatial axes, see
docs/performance.md) forms the same sums with Xc = X - mu kept instead of
X_hat = Xc * inv_std, per channel coefficients, and cache-sized chunks of
images (each chunk's passes run while it is still in cache; the chunks are
spread over glassnet's threads)::

    Y = Xc * (gamma inv_std) + beta
    dgamma = inv_std * sum(dY * Xc)
    dX = a dY + c Xc + b,   a = gamma inv_std,  b = -a dbeta / m,  c = -a inv_std dgamma / m

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

from ... import _threads
from ... import backend as B

CHUNK_BYTES = 1 << 19
"""Bytes of input per chunk of the fast batch-norm path (a few images, about half an L2 cache)."""


def _shape(X, axes):
    return tuple(1 if a in axes else s for a, s in enumerate(X.shape))


def batch_norm_train(X, gamma, beta, axes, eps):
    """Normalise with the batch statistics. Returns Y, ctx, (mean, biased var)."""
    if _fast(X, axes) and gamma.dtype == beta.dtype == X.dtype:
        return _train_fast(X, gamma, beta, eps)
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
    if _fast(X, axes) and gamma.dtype == beta.dtype == X.dtype:
        return _eval_fast(X, gamma, beta, running_mean, running_var, eps)
    shape = _shape(X, axes)
    inv_std = (1.0 / B.xp.sqrt(running_var + eps)).reshape(shape).astype(X.dtype)
    X_hat = (X - running_mean.reshape(shape)) * inv_std
    Y = X_hat * gamma.reshape(shape) + beta.reshape(shape)
    return Y, (X_hat, inv_std, gamma, None)


def batch_norm_backward(dY, ctx):
    """Returns dX, dgamma, dbeta (``axes is None`` marks the evaluation-mode context)."""
    if isinstance(ctx[0], str):  # ("fast", ...): the fast path's context
        return _backward_fast(dY, ctx)
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


# ------------------------------------------------------------------------------------------- fast path
def _fast(X, axes):
    return (B.fast_paths_enabled() and X.dtype in (B.xp.float32, B.xp.float64) and X.ndim >= 3
            and tuple(axes) == (0, *range(2, X.ndim)) and X.size and X.size // (X.shape[0] * X.shape[1]) >= 8)


def _chunks(X):
    """Images per chunk and the chunk bounds: they depend on the shape only (reductions are reproducible)."""
    N = X.shape[0]
    per = max(1, min(N, CHUNK_BYTES // max(1, X[0].nbytes)))
    return [(a, min(N, a + per)) for a in range(0, N, per)]


def _for_chunks(chunks, X, fn):
    """Run ``fn(a, e)`` on every chunk, on the pool when the array is large enough."""
    if len(chunks) > 1 and X.nbytes >= _threads.MIN_PARALLEL_BYTES:
        _threads.parallel_for(len(chunks), lambda t: fn(*chunks[t]))
    else:
        for a, e in chunks:
            fn(a, e)


def _per_channel_sums(partials):
    total = partials[0]
    for p in partials[1:]:  # task order: the same result on any number of threads
        total = total + p
    return total


def _train_fast(X, gamma, beta, eps):
    N, C = X.shape[:2]
    X3 = X.reshape(N, C, -1)
    m = N * X3.shape[2]
    chunks = _chunks(X)
    index = {a: t for t, (a, _) in enumerate(chunks)}
    sums = [None] * len(chunks)

    def mean_task(a, e):
        sums[index[a]] = B.xp.einsum("ncl->c", X3[a:e])

    _for_chunks(chunks, X, mean_task)
    mu = _per_channel_sums(sums) / m
    Xc = B.xp.empty_like(X3)
    mu3 = mu.reshape(1, C, 1)

    def centre_task(a, e):
        xc = B.xp.subtract(X3[a:e], mu3, out=Xc[a:e])
        sums[index[a]] = B.xp.vecdot(xc, xc).sum(axis=0)

    _for_chunks(chunks, X, centre_task)
    var = _per_channel_sums(sums) / m
    inv_std = 1.0 / B.xp.sqrt(var + eps)
    scale = (gamma * inv_std).astype(X.dtype).reshape(1, C, 1)
    shift = beta.astype(X.dtype).reshape(1, C, 1)
    Y = B.xp.empty_like(X3)

    def scale_task(a, e):
        y = B.xp.multiply(Xc[a:e], scale, out=Y[a:e])
        y += shift

    _for_chunks(chunks, X, scale_task)
    ctx = ("fast", Xc, None, inv_std.astype(X.dtype), gamma, X.shape)
    return Y.reshape(X.shape), ctx, (mu, var)


def _eval_fast(X, gamma, beta, running_mean, running_var, eps):
    """Y = (X - running_mean) * (gamma inv_std) + beta, chunk by chunk; ctx keeps X itself."""
    N, C = X.shape[:2]
    X3 = X.reshape(N, C, -1)
    inv_std = (1.0 / B.xp.sqrt(running_var + eps)).astype(X.dtype)
    mu3 = running_mean.astype(X.dtype).reshape(1, C, 1)
    scale = (gamma * inv_std).reshape(1, C, 1)
    shift = beta.reshape(1, C, 1)
    Y = B.xp.empty_like(X3)

    def task(a, e):
        y = B.xp.subtract(X3[a:e], mu3, out=Y[a:e])
        y *= scale
        y += shift

    _for_chunks(_chunks(X), X, task)
    return Y.reshape(X.shape), ("fast", X3, mu3, inv_std, gamma, X.shape)


def _backward_fast(dY, ctx):
    """The fast path's gradients; ``mu3`` is None in training (Xc kept), the running mean in evaluation."""
    _, Xs, mu3, inv_std, gamma, shape = ctx
    N, C, L = Xs.shape
    dY3 = B.xp.ascontiguousarray(dY).reshape(N, C, L)
    chunks = _chunks(dY3)
    index = {a: t for t, (a, _) in enumerate(chunks)}
    sums, dots = [None] * len(chunks), [None] * len(chunks)

    def sums_task(a, e):
        t = index[a]
        sums[t] = B.xp.einsum("ncl->c", dY3[a:e])
        xc = Xs[a:e]
        if mu3 is not None:  # evaluation: X - running_mean, in a cache-sized scratch buffer
            xc = B.xp.subtract(xc, mu3, out=_threads.scratch("bn_Xc", xc.shape, xc.dtype))
        dots[t] = B.xp.vecdot(dY3[a:e], xc).sum(axis=0)

    _for_chunks(chunks, dY3, sums_task)
    m = N * L
    dbeta = _per_channel_sums(sums)
    dgamma = _per_channel_sums(dots) * inv_std
    a_ = gamma * inv_std
    a3 = a_.astype(dY3.dtype).reshape(1, C, 1)
    b3 = (-a_ * dbeta / m).astype(dY3.dtype).reshape(1, C, 1)
    c3 = (-a_ * inv_std * dgamma / m).astype(dY3.dtype).reshape(1, C, 1)
    dX = B.xp.empty_like(dY3)
    if mu3 is not None:  # evaluation: the statistics are constants, dX = a dY
        _for_chunks(chunks, dY3, lambda a, e: B.xp.multiply(dY3[a:e], a3, out=dX[a:e]))
        return dX.reshape(shape), dgamma, dbeta

    def dx_task(a, e):
        dx = B.xp.multiply(Xs[a:e], c3, out=dX[a:e])
        dx += b3
        tmp = _threads.scratch("bn_dY", dx.shape, dx.dtype)
        dx += B.xp.multiply(dY3[a:e], a3, out=tmp)

    _for_chunks(chunks, dY3, dx_task)
    return dX.reshape(shape), dgamma, dbeta


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
