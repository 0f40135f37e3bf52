"""Run by the tests under ``mpirun -n N`` (and in-process as the one-process reference).

``python mpi_worker.py equiv OUT.npz --net conv|bn --dtype float64 --steps 20 --batch 10 --n 52 [--sync-bn]``
trains with the public API of glassnet.distributed for ``steps`` global batches and has rank 0 save the
weights; every rank checks that its weights equal rank 0's bit for bit.
``python mpi_worker.py fail RANK`` makes rank RANK raise inside training while the others wait in an all-reduce.
"""

from __future__ import annotations

import argparse
import os
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
    p.add_argument("--data")
    a = p.parse_args(argv)
    if a.what == "fail":
        return fail(int(a.out))
    if a.what == "trainer_bn":
        trainer_bn(a.out, a.sync_bn)
        return 0
    if a.what in ("resume", "interrupted", "fit_fails"):
        return {"resume": run_dirs, "interrupted": interrupted, "fit_fails": fit_fails}[a.what](a.out, a.data)
    state = train(a.net, a.dtype, a.steps, a.batch, a.n, a.sync_bn, a.optimizer)
    per_rank = a.net == "bn" and not a.sync_bn  # per-rank batch norm: running statistics are each rank's own
    digests = dist.allgather_object({k: v.tobytes() for k, v in state.items()
                                     if not (per_rank and ("running_" in k or "num_batches" in k))})
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
                print(f"pid {os.getpid()}", flush=True)
                time.sleep(600)  # to be killed from outside
            loss_fn(model(x), y)
            model.backward(loss_fn.backward(loader.weight))
            dist.allreduce_gradients(model)
    return 0



def run_dirs(out: str, data_dir: str, other_n_dir: str = ""):
    """Under mpirun: an uninterrupted fit into OUT/a; a fit into OUT/b stopped (all ranks, by a callback) in the
    middle of epoch 2, then resumed; rank 0 writes OUT/verdict.json comparing the two bit for bit."""
    import json
    from pathlib import Path

    from glassnet.train import TrainConfig, TrainingInterrupted, fit, resume

    class StopAt:
        def on_batch_end(self, trainer, step, logs):
            if trainer.epoch == 1 and step == 2:
                raise KeyboardInterrupt

    def config():
        return TrainConfig(dataset="mnist", data_root=data_dir, epochs=3, batch_size=32, val_split=0.1)

    out = Path(out)
    fit(config(), out / "a")
    try:
        fit(config(), out / "b", callbacks=[StopAt()])
        raise AssertionError("not interrupted")
    except TrainingInterrupted:
        pass
    resume(out / "b")
    if dist.is_root():
        from safetensors.numpy import load_file

        a, b = load_file(out / "a" / "model.safetensors"), load_file(out / "b" / "model.safetensors")
        ha = json.loads((out / "a" / "history.json").read_text())["epochs"]
        hb = json.loads((out / "b" / "history.json").read_text())["epochs"]
        strip = [{k: v for k, v in r.items() if k != "seconds"} for r in ha], \
            [{k: v for k, v in r.items() if k != "seconds"} for r in hb]
        verdict = {"weights_equal": all(np.array_equal(a[k], b[k]) for k in a), "history_equal": strip[0] == strip[1],
                   "metrics_equal": (out / "a" / "metrics.json").read_text() == (out / "b" / "metrics.json").read_text()}
        (out / "verdict.json").write_text(json.dumps(verdict))
    return 0


def interrupted(out: str, data_dir: str):
    """Under mpirun: fit into OUT stopped by a callback in the middle of epoch 2 (to resume with another N)."""
    from glassnet.train import TrainConfig, TrainingInterrupted, fit

    class StopAt:
        def on_batch_end(self, trainer, step, logs):
            if trainer.epoch == 1 and step == 2:
                raise KeyboardInterrupt

    try:
        fit(TrainConfig(dataset="mnist", data_root=data_dir, epochs=3, batch_size=32, val_split=0.1), out,
            callbacks=[StopAt()])
    except TrainingInterrupted:
        return 0
    return 1


def fit_fails(out: str, data_dir: str):
    """Under mpirun: rank 1 raises in a callback at epoch 1, step 2, inside glassnet.train.fit."""
    from glassnet.train import TrainConfig, fit

    class Fail:
        def on_batch_end(self, trainer, step, logs):
            if step == 2 and dist.rank() == 1:
                raise ValueError("injected failure in a callback")

    fit(TrainConfig(dataset="mnist", data_root=data_dir, epochs=2, batch_size=32), out, callbacks=[Fail()])
    return 0


def trainer_bn(out: str | None = None, sync_bn: bool = True, epochs: int = 2):
    """The Trainer with DataParallel (a ShardedLoader, SyncBatchNorm, validation split over the ranks) on the
    batch-norm net in float64; returns (state dict, history); rank 0 writes them to OUT under mpirun."""
    import json

    from glassnet.distributed import DataParallel, ShardedLoader
    from glassnet.train import Trainer

    model = make_net("bn", np.float64)
    under_mpi = dist.launched()
    if under_mpi and sync_bn:
        model = dist.convert_sync_batchnorm(model)
    parallel = DataParallel(model) if under_mpi else None
    loader = DataLoader(data(52), batch_size=10, shuffle=True, seed=3, dtype=np.float64)
    val = DataLoader(data(37), batch_size=8, dtype=np.float64)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), ShardedLoader(loader)
                      if under_mpi else loader, val_loader=val, epochs=epochs, parallel=parallel)
    history = trainer.fit()
    state = model.state_dict()
    if out is not None and dist.is_root():
        np.savez(out, **state)
        with open(out + ".json", "w") as f:
            json.dump(history, f)
    return state, history


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
