"""Single-thread CPU time of one training step (the minimum over a few steps): ``python benchmarks/step_cpu_time.py``.

Robust against a busy machine (``time.thread_time`` counts only this thread's CPU time), so two trees can
be compared in one session, e.g. before and after a redesign::

    (cd OLD_CHECKOUT && python /path/to/benchmarks/step_cpu_time.py)   # uses OLD_CHECKOUT's src/ and benchmarks/
    python benchmarks/step_cpu_time.py

The step is benchmarks/impl_glassnet.py's (SGD with momentum, the images' gradient skipped), with one glassnet
thread and one BLAS thread. Options: ``--cases lenet5:64:40 resnet20:128:4`` (model:batch:steps).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.getcwd(), "benchmarks"))
sys.path.insert(0, os.path.join(os.getcwd(), "src"))

import impl_glassnet  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import glassnet._threads as T  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=["lenet5:64:40", "lenet5:256:15", "resnet20:128:4"])
    args = p.parse_args()
    T.set_num_threads(1)
    with threadpool_limits(1):
        for spec in args.cases:
            model, batch, reps = spec.split(":")
            step = impl_glassnet.build({"kind": "train", "model": model, "batch": int(batch)})
            step()
            step()
            cpu = []
            for _ in range(int(reps)):
                t = time.thread_time()
                step()
                cpu.append(time.thread_time() - t)
            print(f"{model} b{batch}: {min(cpu) * 1e3:.2f} ms CPU per step (minimum of {reps})", flush=True)


if __name__ == "__main__":
    main()
