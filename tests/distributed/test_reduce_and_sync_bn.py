"""Bucketed gradient all-reduce and SyncBatchNorm conversion, without MPI (a stand-in world)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet
from glassnet import models, nn
from glassnet.distributed import GradientReducer, SyncBatchNorm, convert_sync_batchnorm


class DoublingWorld:
    """Two identical ranks: an all-reduce doubles every element. Records the size of each call."""

    rank, size = 0, 2

    def __init__(self):
        self.calls = []

    def allreduce_(self, buf):
        self.calls.append((buf.dtype, buf.size))
        buf *= 2
        return buf


def _grads(model, rng):
    for p in model.parameters():
        p.grad = rng.standard_normal(p.shape).astype(p.dtype)
    return {id(p): p.grad.copy() for p in model.parameters()}


@pytest.mark.parametrize("bucket_mb", [1e-4, 0.01, 25.0])
def test_buckets_cover_every_gradient_once(bucket_mb):
    glassnet.manual_seed(0)
    model = models.resnet20()
    before = _grads(model, np.random.default_rng(1))
    world = DoublingWorld()
    reducer = GradientReducer(model.parameters(), bucket_mb)
    reducer(world)
    for p in model.parameters():
        np.testing.assert_array_equal(p.grad, 2 * before[id(p)])
    total = sum(p.size for p in model.parameters())
    assert sum(n for _, n in world.calls) == total
    for _, ps in reducer._plan[1]:  # at most bucket_mb, unless one tensor alone is larger
        assert len(ps) == 1 or sum(p.grad.nbytes for p in ps) <= bucket_mb * 2**20
    if bucket_mb == 25.0:
        assert len(world.calls) == 1  # ResNet-20's 0.27 M parameters: one call, not one per tensor
    assert reducer.n_buckets == len(world.calls)


def test_unused_parameters_are_left_out_and_dtypes_are_not_mixed():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[1].to(np.float64)
    _grads(model, np.random.default_rng(2))
    model[0].bias.grad = None
    world = DoublingWorld()
    GradientReducer(model.parameters())(world)
    assert model[0].bias.grad is None
    assert sorted((str(d), n) for d, n in world.calls) == [("float32", 12), ("float64", 10)]


def test_convert_keeps_keys_parameters_and_the_one_rank_results():
    glassnet.manual_seed(0)
    model = models.resnet20()
    x = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
    ref = models.resnet20()
    ref.load_state_dict(model.state_dict())
    keys, params = list(model.state_dict()), [id(p) for p in model.parameters()]
    convert_sync_batchnorm(model)
    assert list(model.state_dict()) == keys and [id(p) for p in model.parameters()] == params
    n_sync = sum(isinstance(m, SyncBatchNorm) for m in model.modules())
    assert n_sync == sum(isinstance(m, nn.BatchNorm2d) for m in ref.modules()) == 19
    np.testing.assert_array_equal(model(x), ref(x))  # one rank: the plain batch norm
    dy = np.ones((4, 10), np.float32)
    np.testing.assert_array_equal(model.backward(dy), ref.backward(dy))
    assert isinstance(convert_sync_batchnorm(nn.BatchNorm1d(3)), SyncBatchNorm)
