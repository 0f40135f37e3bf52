"""Data-parallel training over MPI on one machine, measured; and the cost model's inputs.

Three parts (``--part``, default all), each repeated ``--repeats`` times (the machine may be shared:
the JSON keeps every repeat, the table gives the median and the range):

* **throughput**: training images/s of LeNet-5 (MNIST-sized, global batch 64) and ResNet-20 (CIFAR-sized,
  global batch 64), **2 ranks x 1 thread** (``mpirun -n 2``, ``GLASSNET_NUM_THREADS=1``) against **1 process
  x 2 threads** (``GLASSNET_NUM_THREADS=2``), the same loop (forward, backward, bucketed all-reduce, SGD step)
  on synthetic data.
* **allreduce**: on 2 ranks, the time of one bucketed gradient all-reduce (25 MB buckets) per step for LeNet-5,
  ResNet-20 and ResNet-18 (11.7 M parameters, CIFAR-sized input), and its share of the whole step
  (forward + backward + all-reduce, local batch 32); plus the bandwidth it reached.
* **steps**: one process's step time (forward + backward, ``GLASSNET_NUM_THREADS=2``) of ResNet-20
  (32x32, batch 128) and ResNet-50 (224x224, batch 4): the compute term of the cost model in
  docs/distributed.md, which is then printed (:func:`project`; or give ``--ms-per-image R20,R50``).

Usage::

    python benchmarks/distributed.py                        # all parts, 3 repeats
    python benchmarks/distributed.py --part throughput --repeats 5 --json benchmarks/results/distributed.json

Needs Open MPI's mpirun and mpi4py (``pip install -e '.[mpi]'``). As root, set
``OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`` (this script sets them for its own runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {"lenet5": (1, 28, 28), "resnet20": (3, 32, 32), "resnet18": (3, 32, 32), "resnet50": (3, 224, 224)}


# ---------------------------------------------------------------------------- workers (one process or one rank)
def _model(name):
    import glassnet
    from glassnet import models

    glassnet.manual_seed(0)
    return models.get_model(name, num_classes=10)


def worker_train(name: str, batch: int, steps: int, warmup: int) -> dict:
    """The training loop, timed per step; under mpirun each rank takes its shard of every global batch."""
    import glassnet.distributed as dist
    from glassnet import nn, optim
    from glassnet.data import ArrayDataset, DataLoader

    model = _model(name)
    dist.broadcast_parameters(model)
    n = batch * (steps + warmup)
    rng = np.random.default_rng(0)
    data = ArrayDataset(rng.integers(0, 256, (n, *SHAPES[name]), dtype=np.uint8), rng.integers(0, 10, n))
    loader = dist.ShardedLoader(DataLoader(data, batch_size=batch, shuffle=True, seed=0))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    nn.skip_input_gradient(model)
    step_s, reduce_s = [], []
    dist.barrier()
    for i, (x, y) in enumerate(loader):
        t0 = time.perf_counter()
        model.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(loader.weight))
        t1 = time.perf_counter()
        dist.allreduce_gradients(model)
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= warmup:
            step_s.append(t3 - t0)
            reduce_s.append(t2 - t1)
    # the slowest rank sets the pace: take each step's maximum over the ranks
    all_steps = np.array(dist.allgather_object(step_s)).max(axis=0)
    # in the all-reduce, the first rank to arrive also waits for the last (max over ranks: transfer + waiting);
    # the last to arrive waits for nobody (min over ranks: about the transfer alone)
    reduce_by_rank = np.array(dist.allgather_object(reduce_s))
    return {"model": name, "ranks": dist.world_size(), "global_batch": batch, "steps": steps,
            "img_per_s": batch * steps / float(all_steps.sum()), "step_s_median": float(np.median(all_steps)),
            "allreduce_s_median": float(np.median(reduce_by_rank.max(axis=0))),
            "allreduce_transfer_s_median": float(np.median(reduce_by_rank.min(axis=0)))}


def worker_allreduce(name: str, local_batch: int, reps: int) -> dict:
    """One all-reduce of the model's real gradient sizes, timed ``reps`` times; and one local step, timed."""
    import glassnet.distributed as dist
    from glassnet import nn

    model = _model(name)
    rng = np.random.default_rng(dist.rank())
    x = rng.standard_normal((local_batch, *SHAPES[name])).astype(np.float32)
    y = rng.integers(0, 10, local_batch)
    loss_fn = nn.CrossEntropyLoss()
    nn.skip_input_gradient(model)
    compute = []
    for _ in range(3):
        model.zero_grad()
        t0 = time.perf_counter()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        compute.append(time.perf_counter() - t0)
    reducer = dist.GradientReducer(model.parameters())
    reducer()  # plan the buckets
    times = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        reducer()
        times.append(time.perf_counter() - t0)
    times = np.array(dist.allgather_object(times)).max(axis=0)
    compute = max(float(np.median(c)) for c in dist.allgather_object(compute))
    nbytes = sum(p.grad.nbytes for p in model.parameters())
    ar = float(np.median(times))
    return {"model": name, "ranks": dist.world_size(), "local_batch": local_batch, "grad_mb": nbytes / 2**20,
            "buckets": reducer.n_buckets, "allreduce_s": ar, "compute_s": compute, "share": ar / (ar + compute),
            "bus_gb_per_s": 2 * (dist.world_size() - 1) / dist.world_size() * nbytes / ar / 1e9}


def worker_steps(name: str, batch: int, reps: int) -> dict:
    from glassnet import nn

    model = _model(name)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *SHAPES[name])).astype(np.float32)
    y = rng.integers(0, 10, batch)
    loss_fn = nn.CrossEntropyLoss()
    nn.skip_input_gradient(model)
    times = []
    for _ in range(reps + 1):
        model.zero_grad()
        t0 = time.perf_counter()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        times.append(time.perf_counter() - t0)
    step = float(np.median(times[1:]))
    return {"model": name, "batch": batch, "step_s": step, "s_per_image": step / batch}


# ---------------------------------------------------------------------------- driver
def _env(threads: int) -> dict:
    e = dict(os.environ, GLASSNET_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1",
             OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [e.get("PYTHONPATH")])])
    return e


MPIRUN_OPTIONS: list[str] = []


def _run(ranks: int, threads: int, *args) -> dict:
    cmd = [sys.executable, __file__, "--worker", *map(str, args)]
    if ranks:
        cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", *MPIRUN_OPTIONS, *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads), timeout=1800)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _spread(values) -> str:
    return f"{statistics.median(values):.4g} [{min(values):.4g}-{max(values):.4g}]"


def throughput(repeats: int) -> list[dict]:
    out = []
    for name, steps in (("lenet5", 60), ("resnet20", 12)):
        runs = {"1 process x 2 threads": [], "2 ranks x 1 thread": []}
        for _ in range(repeats):  # alternate, so that a busy spell hits both
            runs["1 process x 2 threads"].append(_run(0, 2, "train", name, 64, steps, 3))
            runs["2 ranks x 1 thread"].append(_run(2, 1, "train", name, 64, steps, 3))
        for how, rs in runs.items():
            ips = [r["img_per_s"] for r in rs]
            ar = [r["allreduce_s_median"] * 1e3 for r in rs]
            tr = [r["allreduce_transfer_s_median"] * 1e3 for r in rs]
            step = [r["step_s_median"] * 1e3 for r in rs]
            print(f"{name:9s} {how:22s} img/s {_spread(ips)}  step ms {_spread(step)}  all-reduce ms/step: "
                  f"with waiting {_spread(ar)}, transfer {_spread(tr)}", flush=True)
            out.append({"model": name, "setup": how, "img_per_s": ips, "step_ms": step, "allreduce_ms": ar,
                        "allreduce_transfer_ms": tr, "runs": rs})
    return out


def allreduce(repeats: int) -> list[dict]:
    out = []
    for name in ("lenet5", "resnet20", "resnet18"):
        rs = [_run(2, 1, "allreduce", name, 32, 20) for _ in range(repeats)]
        ms = [r["allreduce_s"] * 1e3 for r in rs]
        share = [r["share"] * 100 for r in rs]
        bw = [r["bus_gb_per_s"] for r in rs]
        print(f"{name:9s} {rs[0]['grad_mb']:6.2f} MB in {rs[0]['buckets']} bucket(s): all-reduce ms {_spread(ms)}, "
              f"share of the step % {_spread(share)} (step {rs[0]['compute_s'] * 1e3:.0f} ms), "
              f"bus GB/s {_spread(bw)}", flush=True)
        out.append({"model": name, "allreduce_ms": ms, "share_pct": share, "bus_gb_per_s": bw, "runs": rs})
    return out


def steps(repeats: int) -> list[dict]:
    out = []
    for name, batch, reps in (("resnet20", 128, 3), ("resnet50", 4, 2)):
        rs = [_run(0, 2, "steps", name, batch, reps) for _ in range(repeats)]
        per = [r["s_per_image"] * 1e3 for r in rs]
        print(f"{name:9s} batch {batch}: ms per image (forward + backward, 1 process x 2 threads) {_spread(per)}",
              flush=True)
        out.append({"model": name, "batch": batch, "ms_per_image": per, "runs": rs})
    return out


# ---------------------------------------------------------------------------- the cost model (docs/distributed.md)
LINKS = {"10 Gbit/s": (10e9 / 8, 30e-6), "100 Gbit/s": (100e9 / 8, 5e-6)}
"""Link bandwidth in bytes/s and per-message latency alpha (10 GbE over TCP; 100 Gbit/s InfiniBand/RoCE)."""
GRAD_BYTES = {"resnet20": 269_722 * 4, "resnet50": 25_557_032 * 4}
LOCAL_BATCH = {"resnet20": 128, "resnet50": 32}
BUCKET_BYTES = 25 * 2**20


def ring_allreduce_s(nbytes: float, n: int, bandwidth: float, alpha: float) -> float:
    """Ring all-reduce of ``nbytes`` over ``n`` machines, one ring per 25 MB bucket:
    2 (n-1)/n * bytes / bandwidth + 2 (n-1) * alpha * buckets."""
    buckets = max(1, -(-int(nbytes) // BUCKET_BYTES))
    return 2 * (n - 1) / n * nbytes / bandwidth + 2 * (n - 1) * alpha * buckets


def project(ms_per_image: dict) -> list[dict]:
    """img/s and efficiency for 8 and 64 machines like this one (1 rank x all cores each), weak scaling."""
    rows = []
    for name, ms in ms_per_image.items():
        b = LOCAL_BATCH[name]
        compute = ms / 1e3 * b
        for link, (bw, alpha) in LINKS.items():
            for n in (8, 64):
                comm = ring_allreduce_s(GRAD_BYTES[name], n, bw, alpha)
                step = compute + comm  # no overlap: glassnet all-reduces after backward
                overlap = compute / 3 + max(2 * compute / 3, comm)  # if backward (2/3 of it) hid the all-reduce
                rows.append({"model": name, "link": link, "machines": n, "local_batch": b, "compute_s": compute,
                             "allreduce_s": comm, "img_per_s": n * b / step, "efficiency": compute / step,
                             "efficiency_overlap": compute / overlap, "one_machine_img_per_s": b / compute})
                print(f"{name:9s} {link:10s} {n:3d} machines: step {compute:.3g} s + all-reduce {comm * 1e3:.3g} ms "
                      f"-> {n * b / step:,.0f} img/s, efficiency {compute / step:.2%} "
                      f"(with overlap {compute / overlap:.2%})", flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("throughput", "allreduce", "steps", "all"), default="all")
    p.add_argument("--ms-per-image", metavar="R20,R50", help="skip the steps part: the cost model from these "
                   "measured ms per image of ResNet-20 and ResNet-50")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--mpirun", default="", metavar="OPTIONS", help="more mpirun options, e.g. "
                   "'--mca mpi_yield_when_idle 1' (what glassnet train --nproc passes)")
    p.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        what, name, *nums = a.worker
        fn = {"train": worker_train, "allreduce": worker_allreduce, "steps": worker_steps}[what]
        result = fn(name, *map(int, nums))
        import glassnet.distributed as dist

        if dist.is_root():
            print(json.dumps(result))
        return 0
    MPIRUN_OPTIONS[:] = a.mpirun.split()
    results = {"mpirun_options": MPIRUN_OPTIONS,
               "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                           "load_before": os.getloadavg()}}
    for part, fn in (("throughput", throughput), ("allreduce", allreduce), ("steps", steps)):
        if a.part in (part, "all") and not (part == "steps" and a.ms_per_image):
            results[part] = fn(a.repeats)
    if a.ms_per_image:
        r20, r50 = map(float, a.ms_per_image.split(","))
        results["model"] = project({"resnet20": r20, "resnet50": r50})
    elif "steps" in results:
        results["model"] = project({s["model"]: statistics.median(s["ms_per_image"]) for s in results["steps"]})
    results["machine"]["load_after"] = os.getloadavg()
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
