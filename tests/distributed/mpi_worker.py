"""Run by the tests under ``mpirun -n N`` (and in-process as the one-process reference).

``python mpi_worker.py equiv OUT.npz --net conv|bn --dtype float64 --steps 20 --batch 10 --n 52 [--sync-bn]``
trains with the public API of glassnet.distributed for ``steps`` global batches and has rank 0 save the
weights; every rank checks that its weights equal rank 0's bit for bit.
``python mpi_worker.py fail RANK`` makes rank RANK raise inside training while the others wait in an all-reduce.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import OrderedDict

import numpy as np

import glassnet
import glassnet.distributed as dist
from glassnet import nn, optim
from glassnet.data import ArrayDataset, DataLoader


def make_net(kind: str, dtype):
    glassnet.manual_seed(0)
    if kind == "conv":
        layers = OrderedDict(conv=nn.Conv2d(1, 4, 3), relu=nn.ReLU(), pool=nn.MaxPool2d(2), flat=nn.Flatten(),
                             fc=nn.Linear(4 * 5 * 5, 5))
    else:  # BatchNorm after the convolution and before the classifier
        layers = OrderedDict(conv=nn.Conv2d(1, 4, 3), bn=nn.BatchNorm2d(4), relu=nn.ReLU(), pool=nn.MaxPool2d(2),
                             flat=nn.Flatten(), fc=nn.Linear(4 * 5 * 5, 16), bn1=nn.BatchNorm1d(16),
                             relu1=nn.ReLU(), out=nn.Linear(16, 5))
    return nn.Sequential(layers).to(dtype)


def data(n: int):
    rng = np.random.default_rng(5)
    return ArrayDataset(rng.integers(0, 256, (n, 1, 12, 12), dtype=np.uint8), rng.integers(0, 5, n))


def train(net="conv", dtype="float64", steps=20, batch=10, n=52, sync_bn=False, optimizer="sgd", augment=True):
    """Weights (state dict) after ``steps`` global batches; under mpirun, with the ranks' shards."""
    from glassnet.data import Compose, RandomCrop, RandomHorizontalFlip

    dtype = np.dtype(dtype)
    model = make_net(net, dtype)
    if sync_bn:
        model = dist.convert_sync_batchnorm(model)
    dist.broadcast_parameters(model)
    params = list(model.parameters())
    opt = (optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3) if optimizer == "sgd"
           else optim.Adam(params, lr=1e-3))
    tf = Compose([RandomCrop(12, padding=1), RandomHorizontalFlip()]) if augment else None
    loader = dist.ShardedLoader(DataLoader(data(n), batch_size=batch, shuffle=True, seed=3, transform=tf,
                                           dtype=dtype))
    loss_fn = nn.CrossEntropyLoss()
    done = 0
    while done < steps:
        for x, y in loader:
            model.zero_grad()
            with dist.sync_bn.stand_in(loader.n_local == 0):
                loss_fn(model(x), y)
                model.backward(loss_fn.backward(loader.weight))
            dist.allreduce_gradients(model, bucket_mb=0.001)  # tiny buckets: several all-reduces per step
            opt.step()
            done += 1
            if done == steps:
                break
    return model.state_dict()


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("what")
    p.add_argument("out")
    p.add_argument("--net", default="conv")
    p.add_argument("--dtype", default="float64")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--n", type=int, default=52)
    p.add_argument("--sync-bn", action="store_true")
    p.add_argument("--optimizer", default="sgd")
    a = p.parse_args(argv)
    if a.what == "fail":
        return fail(int(a.out))
    state = train(a.net, a.dtype, a.steps, a.batch, a.n, a.sync_bn, a.optimizer)
    digests = dist.allgather_object({k: v.tobytes() for k, v in state.items()})
    if any(d != digests[0] for d in digests):
        print(f"rank {dist.rank()}: weights differ between ranks", file=sys.stderr)
        return 3
    if dist.is_root():
        np.savez(a.out, **state)
    return 0


def fail(bad_rank: int):
    """Rank ``bad_rank`` raises on its third step; the others are then blocked in the gradient all-reduce."""
    from glassnet.distributed.comm import guard

    model = make_net("conv", np.float64)
    loader = dist.ShardedLoader(DataLoader(data(400), batch_size=8, shuffle=True, seed=0, dtype=np.float64))
    loss_fn = nn.CrossEntropyLoss()
    with guard("mpi_worker"):
        for step, (x, y) in enumerate(loader):
            if step == 2 and dist.rank() == bad_rank:
                raise ValueError("injected failure")
            if step == 2 and bad_rank < 0 and dist.rank() == -bad_rank:
                time.sleep(600)  # to be killed from outside
            loss_fn(model(x), y)
            model.backward(loss_fn.backward(loader.weight))
            dist.allreduce_gradients(model)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
