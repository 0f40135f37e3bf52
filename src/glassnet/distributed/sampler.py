"""Data for N ranks: every rank takes its shard of each *global* batch, in the order one process would.

One process with batch size B walks the epoch's permutation (a pure function
of ``(seed, epoch)``, see :mod:`glassnet.data.loader`) in global batches
``order[k B : (k + 1) B]``. Here each global batch of b images (b = B, or
less for the last one) is cut into N contiguous shards, the first ``b % N``
one image longer::

    b = 10, N = 3:   rank 0 -> images 0..3,  rank 1 -> 4..6,  rank 2 -> 7..9

so the ranks together see exactly the global batch, and a rank gathers (and
augments) only its own images. A rank whose shard of a short last batch is
empty (b < N) runs the batch's first image with weight 0, so that every
rank still takes part in every collective; that image adds nothing to the
gradients, the metrics or synchronised batch statistics.

Weights: the loss of a shard is its mean over the shard's ``n_r`` images, the
loss of the global batch is the mean over ``b``, so
``J = sum_r (n_r / b) J_r`` and ``dJ/dtheta = sum_r (n_r / b) dJ_r/dtheta``:
each rank scales its loss gradient by ``n_r / b`` (:attr:`ShardedLoader.weight`)
and the gradients are then summed over the ranks. Uneven shards are exact.

Augmentation: random transforms draw the numbers of the whole global batch
from the loader's generator and keep the rows of their shard, so the images a
rank trains on are bit for bit those one process would train on.

>>> shard_bounds(10, 3, 0), shard_bounds(10, 3, 1), shard_bounds(10, 3, 2)
((0, 4), (4, 7), (7, 10))
>>> s = DistributedSampler(10, batch_size=4, num_replicas=2, rank=1, shuffle=False)
>>> [idx.tolist() for idx, _ in s]
[[2, 3], [6, 7], [9]]
"""

from __future__ import annotations

import numpy as np

from ..data.transforms import Transform
from . import comm


def shard_bounds(b: int, n_ranks: int, rank: int) -> tuple[int, int]:
    """``(start, stop)`` of ``rank``'s shard of a batch of ``b`` items: contiguous, the first ``b % n_ranks`` longer."""
    base, extra = divmod(b, n_ranks)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


class DistributedSampler:
    """The indices of this rank's shard of each global batch of an epoch (PyTorch's ``DistributedSampler``, by batch).

    Args:
        n: number of samples in the data set.
        batch_size: the **global** batch size B.
        num_replicas, rank: default from :mod:`glassnet.distributed` (1 and 0 outside mpirun).
        shuffle, seed: the epoch's order is ``np.random.default_rng(SeedSequence([seed, epoch]).spawn(2)[0])
            .permutation(n)``, the same on every rank and the same as :class:`glassnet.data.DataLoader`'s.
        drop_last: drop the final short global batch.

    Iterating yields ``(indices, b)`` per global batch: this rank's indices (possibly empty) and
    the global batch's size. ``set_epoch(e)`` chooses the epoch, as PyTorch's.
    """

    def __init__(self, n: int, batch_size: int, *, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        self.n, self.batch_size = int(n), int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"DistributedSampler: batch_size must be positive, got {batch_size!r}")
        self.num_replicas = comm.world_size() if num_replicas is None else int(num_replicas)
        self.rank = comm.rank() if rank is None else int(rank)
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is not in 0..{self.num_replicas - 1}")
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """The global order of ``epoch`` (every rank computes the same)."""
        if not self.shuffle:
            return np.arange(self.n)
        seq = np.random.SeedSequence([self.seed, self.epoch if epoch is None else epoch]).spawn(2)[0]
        return np.random.default_rng(seq).permutation(self.n)

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self):
        order, B = self.order(), self.batch_size
        for k in range(len(self)):
            batch = order[k * B:(k + 1) * B]
            lo, hi = shard_bounds(len(batch), self.num_replicas, self.rank)
            yield batch[lo:hi], len(batch)


class _ShardRNG:
    """A generator that draws the numbers of the whole global batch and hands back the shard's rows.

    Random batch transforms ask for ``size=n`` numbers (one per image); asked
    for the shard's ``n`` they draw ``total`` from the real generator and
    return rows ``start:stop``, so the global batch's random stream is
    consumed exactly as in one process. Other sizes pass through.
    """

    _SIZE_ARG = {"random": 0, "standard_normal": 0, "integers": 2, "uniform": 2, "normal": 2, "choice": 1,
                 "binomial": 2, "exponential": 1}

    def __init__(self, rng: np.random.Generator, start: int, stop: int, total: int):
        self._rng, self._start, self._stop, self._total = rng, start, stop, total

    def __getattr__(self, name):
        fn = getattr(self._rng, name)
        pos = self._SIZE_ARG.get(name)
        if pos is None:
            return fn

        def draw(*args, **kwargs):
            args = list(args)
            size = args[pos] if len(args) > pos else kwargs.get("size")
            shape = (size,) if np.isscalar(size) else tuple(size) if size is not None else None
            if not shape or shape[0] != self._stop - self._start:
                return fn(*args, **kwargs)
            full = (self._total, *shape[1:]) if isinstance(size, tuple | list) else self._total
            if len(args) > pos:
                args[pos] = full
            else:
                kwargs["size"] = full
            return fn(*args, **kwargs)[self._start:self._stop]

        return draw


class ShardedLoader:
    """A :class:`glassnet.data.DataLoader` seen by one rank: its shard of every global batch.

    Same length, ``set_epoch``, ``state_dict`` and batch order as ``loader``
    (whose ``batch_size`` is the global batch); iterating yields this rank's
    ``(x, y)`` per global batch and sets :attr:`weight` (``n_r / b``, 0 for a
    stand-in image, see the module docstring), :attr:`n_local` (images that
    count) and :attr:`n_global` (b).
    """

    def __init__(self, loader, num_replicas: int | None = None, rank: int | None = None):
        self.loader = loader
        self.num_replicas = comm.world_size() if num_replicas is None else int(num_replicas)
        self.rank = comm.rank() if rank is None else int(rank)
        self.weight, self.n_local, self.n_global = 1.0, 0, 0

    # the DataLoader's bookkeeping, unchanged: the global batch sequence does not depend on the ranks
    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state)

    @property
    def epoch(self) -> int:
        return self.loader.epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.loader.epoch = value

    @property
    def batch_size(self) -> int:
        return self.loader.batch_size

    @property
    def dataset(self):
        return self.loader.dataset

    def __iter__(self):
        epoch = self.loader.epoch
        self.loader.epoch += 1
        return self._batches(epoch)

    def _batches(self, epoch: int):
        L = self.loader
        n, B = len(L.dataset.labels), L.batch_size
        order = L.indices(epoch)
        transform_rng = L._generators(epoch)[1]
        stop = n - n % B if L.drop_last else n
        for start in range(0, stop, B):
            batch = order[start:min(start + B, n)]
            lo, hi = shard_bounds(len(batch), self.num_replicas, self.rank)
            real = hi > lo
            if not real:  # a short last batch with fewer images than ranks: a stand-in image, weight 0
                lo, hi = 0, 1
            x = load_batch(L, batch[lo:hi], _ShardRNG(transform_rng, lo, hi, len(batch)))
            self.n_local, self.n_global = (hi - lo) if real else 0, len(batch)
            self.weight = self.n_local / self.n_global
            yield x, np.array(L.dataset.labels[batch[lo:hi]], dtype=np.int64)


def load_batch(loader, idx, rng) -> np.ndarray:
    """The images ``idx`` as ``loader`` makes a batch of them: scaled to [0, 1] when uint8, cast, transformed."""
    raw = loader.dataset.images[idx]
    x = np.divide(raw, 255, dtype=loader.dtype) if raw.dtype == np.uint8 else raw.astype(loader.dtype)
    t = loader.transform
    if t is not None:
        x = t(x, rng=rng) if isinstance(t, Transform) else t(x)
    return x


class StridedLoader:
    """Whole batches ``rank, rank + N, rank + 2N, ...`` of an evaluation loader (no shuffling).

    Each batch is the very batch one process evaluates (same images, same
    size), so per-image results are bit for bit the same; iterating yields
    ``(k, x, y)`` with the global batch number ``k``.
    """

    def __init__(self, loader, num_replicas: int | None = None, rank: int | None = None):
        if loader.shuffle:
            raise ValueError("StridedLoader: an evaluation loader must not shuffle")
        self.loader = loader
        self.num_replicas = comm.world_size() if num_replicas is None else int(num_replicas)
        self.rank = comm.rank() if rank is None else int(rank)

    def __iter__(self):
        L = self.loader
        n, B = len(L.dataset.labels), L.batch_size
        rng = L._generators(L.epoch)[1]  # evaluation transforms are deterministic (normalisation)
        for k in range(self.rank, len(L), self.num_replicas):
            idx = slice(k * B, min(k * B + B, n))
            yield k, load_batch(L, idx, rng), np.array(L.dataset.labels[idx], dtype=np.int64)
