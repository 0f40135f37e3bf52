"""Data-parallel training over MPI (mpi4py and the system's Open MPI): one process per rank, same result as one.

``mpirun -n N glassnet train ...`` (or ``glassnet train --nproc N``) trains
with N ranks: each takes its shard of every global batch (``--batch-size``
stays the global batch), the gradients are summed over the ranks with
bucketed ``MPI_Allreduce``, every rank takes the same optimizer step. For a
loop of your own::

    import glassnet.distributed as dist
    loader = dist.ShardedLoader(DataLoader(train, batch_size=256, shuffle=True, seed=0))
    dist.broadcast_parameters(model)
    for x, y in loader:
        model.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward(loader.weight))   # n_local / n_global
        dist.allreduce_gradients(model)                   # sum over the ranks
        optimizer.step()

Outside mpirun the world is this one process (rank 0 of 1) and nothing here
imports mpi4py; ``import glassnet`` never imports this package. See
``docs/distributed.md``.

>>> import glassnet.distributed as dist
>>> dist.rank(), dist.world_size()
(0, 1)
"""

from .comm import (
    DistributedError,
    allgather_object,
    allreduce,
    barrier,
    broadcast_object,
    init,
    is_initialized,
    is_root,
    launched,
    rank,
    world_size,
)
from .parallel import DataParallel
from .reduce import DistributedOptimizer, GradientReducer, allreduce_gradients, broadcast_buffers, broadcast_parameters
from .sampler import DistributedSampler, ShardedLoader, StridedLoader, shard_bounds
from .sync_bn import SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    "init", "is_initialized", "launched", "rank", "world_size", "is_root", "barrier", "allreduce",
    "broadcast_object", "allgather_object", "DistributedError", "DistributedSampler", "ShardedLoader",
    "StridedLoader", "shard_bounds", "allreduce_gradients", "broadcast_parameters", "broadcast_buffers",
    "GradientReducer", "DistributedOptimizer", "SyncBatchNorm", "convert_sync_batchnorm", "DataParallel",
]
