"""Sharding without MPI: N simulated ranks together see exactly the one-process batches, augmentation included."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet.distributed as dist
from glassnet.data import ArrayDataset, Compose, DataLoader, Normalize, RandomCrop, RandomHorizontalFlip
from glassnet.distributed import DistributedSampler, ShardedLoader, StridedLoader, shard_bounds


def _data(n):
    rng = np.random.default_rng(0)
    return ArrayDataset(rng.integers(0, 256, (n, 1, 6, 6), dtype=np.uint8), rng.integers(0, 10, n))


@pytest.mark.parametrize("b,n", [(10, 1), (10, 3), (7, 3), (2, 3), (1, 2), (64, 5)])
def test_shard_bounds_tile_the_batch(b, n):
    bounds = [shard_bounds(b, n, r) for r in range(n)]
    assert bounds[0][0] == 0 and bounds[-1][1] == b
    assert all(bounds[r][1] == bounds[r + 1][0] for r in range(n - 1))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("n_ranks", [1, 2, 3, 4])
@pytest.mark.parametrize("shuffle", [True, False])
def test_sampler_shards_rebuild_the_one_process_order(n_ranks, shuffle):
    loader = DataLoader(_data(23), batch_size=5, shuffle=shuffle, seed=9)
    samplers = [DistributedSampler(23, 5, num_replicas=n_ranks, rank=r, shuffle=shuffle, seed=9) for r in range(n_ranks)]
    for s in samplers:
        s.set_epoch(2)
    order = loader.indices(2)
    per_rank = [list(s) for s in samplers]
    assert all(len(p) == len(loader) == 5 for p in per_rank)
    for k in range(len(loader)):
        joined = np.concatenate([per_rank[r][k][0] for r in range(n_ranks)])
        np.testing.assert_array_equal(joined, order[k * 5:(k + 1) * 5])
        assert {per_rank[r][k][1] for r in range(n_ranks)} == {len(joined)}


@pytest.mark.parametrize("n_ranks", [1, 2, 3])
def test_sharded_loader_gives_the_one_process_images_with_augmentation(n_ranks):
    tf = Compose([RandomCrop(6, padding=2), RandomHorizontalFlip(), Normalize(0.5, 0.25)])
    make = lambda: DataLoader(_data(22), batch_size=10, shuffle=True, seed=4, transform=tf, dtype=np.float64)  # noqa: E731
    one = make()
    one.set_epoch(1)
    ref = list(one)
    shards = []
    for r in range(n_ranks):
        sl = ShardedLoader(make(), n_ranks, r)
        sl.set_epoch(1)
        batches = []
        for x, y in sl:
            batches.append((x, y, sl.weight, sl.n_local, sl.n_global))
        assert sl.epoch == 2 and len(sl) == len(ref)
        shards.append(batches)
    for k, (x, y) in enumerate(ref):
        real = [shards[r][k] for r in range(n_ranks) if shards[r][k][3] > 0]
        np.testing.assert_array_equal(np.concatenate([s[0] for s in real]), x)  # bit for bit
        np.testing.assert_array_equal(np.concatenate([s[1] for s in real]), y)
        assert sum(s[2] for s in real) == pytest.approx(1.0, abs=1e-15)
        assert all(s[4] == len(y) for s in real)


def test_a_rank_without_images_gets_a_stand_in_with_weight_zero():
    # 22 images, batch 10: the last global batch holds 2 images; rank 2 of 3 has none
    sl = ShardedLoader(DataLoader(_data(22), batch_size=10, seed=0), 3, 2)
    last = list(sl)[-1]
    assert last[0].shape[0] == 1 and sl.weight == 0.0 and sl.n_local == 0 and sl.n_global == 2


def test_strided_loader_deals_whole_batches_round_robin():
    loader = DataLoader(_data(23), batch_size=5, transform=Normalize(0.5, 0.25))
    ref = list(loader)
    got = {}
    for r in range(3):
        for k, x, y in StridedLoader(loader, 3, r):
            assert k % 3 == r
            got[k] = (x, y)
    assert sorted(got) == list(range(len(ref)))
    for k, (x, y) in enumerate(ref):
        np.testing.assert_array_equal(got[k][0], x)
        np.testing.assert_array_equal(got[k][1], y)


def test_one_process_world_without_mpi(monkeypatch):
    for var in dist.comm.LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    assert not dist.launched()
    assert (dist.rank(), dist.world_size(), dist.is_root()) == (0, 1, True)
    np.testing.assert_array_equal(dist.allreduce(np.arange(3.0)), np.arange(3.0))
    assert dist.allgather_object("x") == ["x"] and dist.broadcast_object(5) == 5
