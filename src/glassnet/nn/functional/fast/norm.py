"""The fast path of batch normalisation: the same sums as :mod:`..norm`'s reference, chunk by chunk.

Per channel coefficients and cache-sized chunks of images (each chunk's
passes run while it is still in cache; the chunks are spread over
glassnet's threads). Xc = X - mu is kept instead of X_hat = Xc * inv_std::

    Y = Xc * (gamma inv_std) + beta
    dgamma = inv_std * sum(dY * Xc)
    dX = a dY + c Xc + b,   a = gamma inv_std,  b = -a dbeta / m,  c = -a inv_std dgamma / m

In evaluation X itself is kept (the layer before holds it anyway) and
X - running_mean is formed again, chunk by chunk, in backward.

The per-channel coefficients are spread over one image's plane, (1, C, L),
before they are applied (:func:`_plane`): NumPy 2.x runs ``X * scale`` with
``scale`` of shape (1, C, 1), a value broadcast along the inner axis, in a
slower loop than ``X * plane``, where the inner loop runs over C*L values
of two arrays. Measured on a 4x16x1024 float32 chunk, one thread: 16 ->
11 us per multiplication; on a whole 128x16x32x32 batch 1005 -> 539 us
(the AMD EPYC of issue #16, NumPy 2.4). The products are the same.
"""

from __future__ import annotations

import numpy as np

from .... import _threads

CHUNK_BYTES = 1 << 19
"""Bytes of input per chunk (a few images, about half an L2 cache)."""


def applies(X, axes) -> bool:
    """NC... inputs with spatial axes (statistics over all but the channels), at least 8 values per image plane."""
    return (X.ndim >= 3 and tuple(axes) == (0, *range(2, X.ndim)) and X.size > 0
            and X.size // (X.shape[0] * X.shape[1]) >= 8)


PLANE_MIN_IMAGES = 4
"""Spread the coefficients over a plane only for batches of this many images or more (the plane costs one image)."""


def _plane(v, shape, dtype):
    """The per-channel values ``v`` (C,) spread over one image: a contiguous (1, C, L) array of ``dtype``.

    For batches of fewer than :data:`PLANE_MIN_IMAGES` images writing the plane would cost a good part of
    the work it speeds up: then the (1, C, 1) view.
    """
    N, C, L = shape
    column = np.asarray(v, dtype=dtype).reshape(1, C, 1)
    return column if N < PLANE_MIN_IMAGES else np.ascontiguousarray(np.broadcast_to(column, (1, C, L)))


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


def train(X, gamma, beta, eps):
    """Y, Xc = X - mu, mu, biased var and inv_std (per channel) of an (N, C, ...) batch."""
    N, C = X.shape[:2]
    X3 = X.reshape(N, C, -1)
    m = N * X3.shape[2]
    chunks = _chunks(X)
    index = {a: t for t, (a, _) in enumerate(chunks)}
    sums = [None] * len(chunks)

    def mean_task(a, e):
        sums[index[a]] = np.einsum("ncl->c", X3[a:e])

    _for_chunks(chunks, X, mean_task)
    mu = _per_channel_sums(sums) / m
    Xc = np.empty_like(X3)
    mu3 = _plane(mu, X3.shape, X.dtype)

    def centre_task(a, e):
        xc = np.subtract(X3[a:e], mu3, out=Xc[a:e])
        sums[index[a]] = np.vecdot(xc, xc).sum(axis=0)

    _for_chunks(chunks, X, centre_task)
    var = _per_channel_sums(sums) / m
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = _plane(gamma * inv_std, X3.shape, X.dtype)
    shift = _plane(beta, X3.shape, X.dtype)
    Y = np.empty_like(X3)

    def scale_task(a, e):
        y = np.multiply(Xc[a:e], scale, out=Y[a:e])
        y += shift

    _for_chunks(chunks, X, scale_task)
    return Y.reshape(X.shape), Xc.reshape(X.shape), mu, var, inv_std.astype(X.dtype)


def evaluate(X, gamma, beta, running_mean, running_var, eps):
    """Y = (X - running_mean) * (gamma inv_std) + beta, chunk by chunk; returns Y and inv_std."""
    N, C = X.shape[:2]
    X3 = X.reshape(N, C, -1)
    inv_std = (1.0 / np.sqrt(running_var + eps)).astype(X.dtype)
    mu3 = _plane(running_mean, X3.shape, X.dtype)
    scale = _plane(gamma * inv_std, X3.shape, (gamma * inv_std).dtype)
    shift = _plane(beta, X3.shape, beta.dtype)
    Y = np.empty_like(X3)

    def task(a, e):
        y = np.subtract(X3[a:e], mu3, out=Y[a:e])
        y *= scale
        y += shift

    _for_chunks(_chunks(X), X, task)
    return Y.reshape(X.shape), inv_std


def backward(dY, x, mean, inv_std, gamma):
    """dX, dgamma, dbeta; ``x`` is Xc (training, ``mean`` None) or X (evaluation, ``mean`` the running mean)."""
    shape = x.shape
    N, C = shape[:2]
    Xs = x.reshape(N, C, -1)
    L = Xs.shape[2]
    mu3 = None if mean is None else _plane(mean, Xs.shape, x.dtype)
    dY3 = np.ascontiguousarray(dY).reshape(N, C, L)
    chunks = _chunks(dY3)
    index = {a: t for t, (a, _) in enumerate(chunks)}
    sums, dots = [None] * len(chunks), [None] * len(chunks)

    def sums_task(a, e):
        t = index[a]
        sums[t] = np.einsum("ncl->c", dY3[a:e])
        xc = Xs[a:e]
        if mu3 is not None:  # evaluation: X - running_mean, in a cache-sized scratch buffer
            xc = np.subtract(xc, mu3, out=_threads.scratch("bn_Xc", xc.shape, xc.dtype))
        dots[t] = np.vecdot(dY3[a:e], xc).sum(axis=0)

    _for_chunks(chunks, dY3, sums_task)
    m = N * L
    dbeta = _per_channel_sums(sums)
    dgamma = _per_channel_sums(dots) * inv_std
    a_ = gamma * inv_std
    a3 = _plane(a_, dY3.shape, dY3.dtype)
    b3 = _plane(-a_ * dbeta / m, dY3.shape, dY3.dtype)
    c3 = _plane(-a_ * inv_std * dgamma / m, dY3.shape, dY3.dtype)
    dX = np.empty_like(dY3)
    if mu3 is not None:  # evaluation: the statistics are constants, dX = a dY
        _for_chunks(chunks, dY3, lambda a, e: np.multiply(dY3[a:e], a3, out=dX[a:e]))
        return dX.reshape(shape), dgamma, dbeta

    def dx_task(a, e):
        dx = np.multiply(Xs[a:e], c3, out=dX[a:e])
        dx += b3
        tmp = _threads.scratch("bn_dY", dx.shape, dx.dtype)
        dx += np.multiply(dY3[a:e], a3, out=tmp)

    _for_chunks(chunks, dY3, dx_task)
    return dX.reshape(shape), dgamma, dbeta


