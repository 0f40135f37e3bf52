"""Summing gradients over the ranks: flat buckets, one MPI all-reduce per bucket.

After every rank's backward pass, each ``Parameter.grad`` holds that rank's
(weighted) gradient; :func:`allreduce_gradients` replaces it by the sum over
the ranks. One ``MPI_Allreduce`` per tensor would pay the call's latency
(tens of microseconds on one machine, more across a network) about 60 times
for a ResNet-18, so the gradients are copied into flat buffers of about
``bucket_mb`` MB (parameters in reverse order, the order backward produces
them, as PyTorch's DDP; one dtype per bucket), each buffer is all-reduced in
place, and the sums are copied back::

    bucket = concat(g_1.ravel(), ..., g_k.ravel())     (~bucket_mb MB)
    Allreduce(IN_PLACE, bucket, SUM)                   one call per bucket
    g_i[...] = bucket[o_i : o_i + size_i]

A parameter whose ``grad`` is ``None`` (unused in this step) is left out;
every rank runs the same model, so the same parameters are left out everywhere.

The sum is what one process with the global batch would get once each rank
has scaled its loss gradient by ``n_r / b`` (see :mod:`.sampler`); the
all-reduce's result is bit for bit the same on every rank (floating-point
addition is commutative, and every MPI reduction algorithm forms each sum
once), so the ranks' weights stay identical.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import comm

BUCKET_MB = 25.0
"""Default bucket size in MB (PyTorch DDP's ``bucket_cap_mb``)."""


class GradientReducer:
    """Bucketed all-reduce of the gradients of a fixed list of parameters (buffers reused between steps)."""

    def __init__(self, params, bucket_mb: float = BUCKET_MB):
        self.params = list(params)
        self.bucket_bytes = max(1, int(bucket_mb * 2**20))
        self._plan = None
        self._buffers: list[np.ndarray] = []

    def _make_plan(self, live):
        """Group the live parameters (reverse order) into buckets of one dtype and at most bucket_bytes."""
        buckets, current, size, dtype = [], [], 0, None
        for p in reversed(live):
            nbytes = p.grad.size * p.grad.dtype.itemsize
            if current and (p.grad.dtype != dtype or size + nbytes > self.bucket_bytes):
                buckets.append((dtype, current))
                current, size = [], 0
            current.append(p)
            size += nbytes
            dtype = p.grad.dtype
        if current:
            buckets.append((dtype, current))
        self._plan = ([id(p) for p in live], buckets)
        self._buffers = [np.empty(sum(p.grad.size for p in ps), dtype=dt) for dt, ps in buckets]

    @property
    def n_buckets(self) -> int:
        return len(self._plan[1]) if self._plan else 0

    def __call__(self, world=None) -> None:
        """Replace every ``grad`` by its sum over the ranks."""
        w = world if world is not None else comm.world()
        if w.size == 1:
            return
        live = [p for p in self.params if p.grad is not None]
        if self._plan is None or self._plan[0] != [id(p) for p in live] or any(
                b.dtype != dt for b, (dt, _) in zip(self._buffers, self._plan[1], strict=True)):
            self._make_plan(live)
        for buf, (_, ps) in zip(self._buffers, self._plan[1], strict=True):
            o = 0
            for p in ps:
                buf[o:o + p.grad.size] = p.grad.ravel()
                o += p.grad.size
            w.allreduce_(buf)
            o = 0
            for p in ps:
                p.grad[...] = buf[o:o + p.grad.size].reshape(p.grad.shape)
                o += p.grad.size


_reducers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def allreduce_gradients(model, bucket_mb: float = BUCKET_MB) -> None:
    """Sum ``model``'s parameter gradients over the ranks, in buckets of about ``bucket_mb`` MB (no-op on 1 rank).

    Call it after ``model.backward(...)`` and before ``optimizer.step()``.
    Each rank's gradient must already be weighted: with a loss that is a mean
    over the rank's shard, pass ``loss_fn.backward(n_local / n_global)``
    (``ShardedLoader.weight``) so that the sum is the global batch's gradient.
    The buffers are kept with the model and reused.
    """
    reducer = _reducers.get(model)
    if reducer is None or reducer.bucket_bytes != max(1, int(bucket_mb * 2**20)):
        reducer = _reducers[model] = GradientReducer(model.parameters(), bucket_mb)
    reducer()


def broadcast_parameters(model, root: int = 0) -> None:
    """Make every rank's parameters and buffers those of rank ``root`` (e.g. after initialisation)."""
    w = comm.world()
    if w.size == 1:
        return
    state = w.bcast(model.state_dict() if w.rank == root else None, root)
    model.load_state_dict(state)


def broadcast_buffers(model, root: int = 0) -> None:
    """Copy rank ``root``'s buffers (BatchNorm running statistics) to every rank."""
    w = comm.world()
    if w.size == 1:
        return
    names = [n for n, b in model.named_buffers() if b is not None]
    if names:
        buffers = dict(model.named_buffers())
        values = w.bcast([buffers[n] for n in names] if w.rank == root else None, root)
        model.load_state_dict(dict(zip(names, values, strict=True)), strict=False)


class DistributedOptimizer:
    """Wrap an optimizer so that ``step()`` first sums the gradients over the ranks (Horovod's pattern).

    ``opt = DistributedOptimizer(SGD(model.parameters(), lr=0.1))``; everything
    else (``zero_grad``, ``param_groups``, ``state_dict`` ...) is the wrapped
    optimizer's.
    """

    def __init__(self, optimizer, bucket_mb: float = BUCKET_MB):
        self.optimizer = optimizer
        self._reducer = GradientReducer([p for g in optimizer.param_groups for p in g["params"]], bucket_mb)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        self._reducer()
        self.optimizer.step()
        return loss

    def __getattr__(self, name):
        return getattr(self.optimizer, name)
