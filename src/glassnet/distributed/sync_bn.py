"""Synchronised batch normalisation: the batch statistics of the global batch, summed over the ranks.

By default every rank normalises with the mean and variance of its own
shard (PyTorch's DistributedDataParallel does the same), which is not what
one process with the whole batch computes. :class:`SyncBatchNorm` sums the
per-channel statistics over the ranks first, so N ranks compute exactly the
one-process formulas of :mod:`glassnet.nn.functional.norm` over the global
batch of M = sum_r m_r values per channel (two passes, as the one-process
code: the mean first, then the centred squares)::

    forward:   M = allreduce(m_r),  mu = allreduce(sum X) / M
               var = allreduce(sum (X - mu)^2) / M           (biased; running_var gets var * M / (M - 1))
               X_hat = (X - mu) / sqrt(var + eps),   Y = gamma X_hat + beta
    backward:  dbeta  = allreduce(sum dY),   dgamma = allreduce(sum dY X_hat)       (one call, 2C numbers)
               dX = gamma / sqrt(var + eps) * (dY - dbeta / M - X_hat dgamma / M)

Each rank's ``dY`` is its part of the global loss's gradient (the loss
gradient was scaled by ``n_r / b``); the parameter gradients each rank adds
are its local sums, and the gradient all-reduce completes them. Synchronised
only in training mode: evaluation uses the running statistics (or, with
``track_running_stats=False``, each evaluation batch's own, as one process).
Every rank must run every forward and backward pass (a collective per layer).
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np

from ..nn import BatchNorm1d, BatchNorm2d
from ..nn.functional import norm as Fn
from . import comm

_stand_in = False
_BATCH_NORMS = (BatchNorm1d, BatchNorm2d)


@contextlib.contextmanager
def stand_in(active: bool = True):
    """Inside, this rank's samples are a stand-in (weight 0): they add nothing to the synchronised statistics."""
    global _stand_in
    previous, _stand_in = _stand_in, bool(active)
    try:
        yield
    finally:
        _stand_in = previous


class _SyncCtx(NamedTuple):
    """What the synchronised backward needs: X_hat, 1/sqrt(var + eps), gamma, the reduced axes, M, 0/1 weight."""

    X_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    axes: tuple
    M: int
    keep: float


class SyncBatchNorm(BatchNorm2d):
    """:class:`glassnet.nn.BatchNorm2d` whose training statistics are those of the global batch over all ranks.

    Takes (N, C), (N, C, L) and (N, C, H, W) inputs (as PyTorch's
    ``SyncBatchNorm``); same arguments, parameters, buffers and state-dict
    keys as the batch norm it replaces (see :func:`convert_sync_batchnorm`).
    On one rank it is the plain batch norm.
    """

    _axes_by_ndim = {2: (0,), 3: (0, 2), 4: (0, 2, 3)}
    _expected = "(N, {C}), (N, {C}, L) or (N, {C}, H, W)"

    def forward(self, x):
        w = comm.world()
        if not self.training or w.size == 1:
            return super().forward(x)
        if np.ndim(x) not in self._axes_by_ndim or x.shape[1] != self.num_features:
            raise self._shape_error(self._expected.format(C=self.num_features), x)
        axes = self._axes_by_ndim[np.ndim(x)]
        C = self.num_features
        keep = 0.0 if _stand_in else 1.0
        first = np.empty(C + 1, dtype=x.dtype)
        first[:C] = x.sum(axis=axes) * keep
        first[C] = x.size // C * keep
        w.allreduce_(first)
        M = int(round(float(first[C])))
        if M <= 1:
            raise ValueError(f"{self.label}: expected more than 1 value per channel over all ranks when training, "
                             f"got {M}")
        shape = tuple(1 if a in axes else s for a, s in enumerate(x.shape))
        mu = first[:C] / M
        Xc = x - mu.reshape(shape)
        second = (Xc * Xc).sum(axis=axes) * keep
        var = w.allreduce_(np.ascontiguousarray(second, dtype=x.dtype)) / M
        inv_std = 1.0 / np.sqrt(var + self.eps)
        X_hat = Xc * inv_std.reshape(shape)
        gamma, beta = self._affine(x.dtype)
        Y = X_hat * gamma.reshape(shape) + beta.reshape(shape)
        if self.track_running_stats:
            self._update_running(mu, var, M)
        self._save(_SyncCtx(X_hat, inv_std, gamma, axes, M, keep))
        return Y

    def backward(self, dy):
        ctx = self._saved()  # taken once: a module used twice keeps one saved state per use
        if not isinstance(ctx, _SyncCtx):  # evaluation or one rank: the plain batch norm's backward
            dx, dgamma, dbeta = Fn.batch_norm_backward(dy, ctx)
            if self.affine:
                self.weight.accumulate(dgamma)
                self.bias.accumulate(dbeta)
            return dx
        X_hat, inv_std, gamma, axes, M, keep = ctx
        C = self.num_features
        shape = tuple(1 if a in axes else s for a, s in enumerate(dy.shape))
        dbeta = dy.sum(axis=axes)
        dgamma = (dy * X_hat).sum(axis=axes)
        sums = np.concatenate([dbeta, dgamma]).astype(dy.dtype) * keep
        comm.world().allreduce_(sums)
        g = (gamma * inv_std).reshape(shape)
        dX = g * (dy - (sums[:C] / M).reshape(shape) - X_hat * (sums[C:] / M).reshape(shape))
        if not keep:  # a stand-in's input gradient must be 0 too (the global sums make the formula's non-zero)
            dX = np.zeros_like(dX)
        if self.affine:
            self.weight.accumulate(dgamma * keep)
            self.bias.accumulate(dbeta * keep)
        return dX

    def extra_repr(self):
        return super().extra_repr() + ", synchronised over the MPI ranks"


def convert_sync_batchnorm(module):
    """Replace every ``BatchNorm1d``/``BatchNorm2d`` in ``module`` by a :class:`SyncBatchNorm`, in place.

    The new layer takes over the old one's parameters (the same ``Parameter``
    objects, so an optimizer built before keeps working), buffers, mode and
    name: the state-dict keys do not change. Returns ``module`` (or the new
    layer, when ``module`` itself is a batch norm).

    >>> import glassnet.nn as nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    >>> keys = list(net.state_dict())
    >>> net = convert_sync_batchnorm(net)
    >>> type(net[1]).__name__, list(net.state_dict()) == keys
    ('SyncBatchNorm', True)
    """

    def converted(bn):
        new = object.__new__(SyncBatchNorm)
        new.__dict__.update(bn.__dict__)
        return new

    if isinstance(module, _BATCH_NORMS) and not isinstance(module, SyncBatchNorm):
        return converted(module)
    for _, m in list(module.named_modules()):
        for name, child in list(m._modules.items()):
            if isinstance(child, _BATCH_NORMS) and not isinstance(child, SyncBatchNorm):
                m._modules[name] = converted(child)
    return module
