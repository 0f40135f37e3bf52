"""Which change bought what: single-thread CPU time of a training step, change by change.

``python benchmarks/ladder.py [lenet5|resnet20 ...]``. Each configuration runs
in its own process with one glassnet thread and one BLAS thread and reports
the minimum ``time.thread_time`` of a few steps (CPU time, so that other
processes on a shared machine disturb it little):

1. the reference paths (``GLASSNET_FAST=0``), glibc's malloc defaults
   (``GLASSNET_MALLOC_TUNE=0``), the first convolution's input gradient computed;
2. the fast convolution, pooling and ReLU paths;
3. plus ``model.backward(dy, input_grad=False)`` (the first convolution skips dL/dx);
4. plus glibc keeping freed memory;
5. plus the batch-norm fast path and the row split of large Linear products (the split needs
   two threads, so on this ladder's one thread only batch norm shows);
6. plus issue #16's changes (the default): with strides of 1 the convolution's padded rows
   share one gap of zeros (``fast.conv.SHARED_PADDING``), products with a short inner dimension
   go in blocks of columns (``fast.conv.SHORT_K_BLOCK``), 32-filter products in one call, col2im
   forms each kernel offset's rows just before adding them (``fast.conv.COL2IM_MIN_CHANNELS``); batch
   norm's coefficients are spread over an image plane (``fast.norm.PLANE_MIN_IMAGES``) and ReLU
   takes the maximum against an array of zeros instead of the scalar 0;
7. plus glassnet's C kernels (``fast/_kernels.c``: direct convolutions; the default where built;
   ``GLASSNET_COMPILED=0`` switches them off): LeNet-5's and ResNet-20's convolutions without im2col.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

STEP = r'''
import os, sys, time
import glassnet._threads as T
from threadpoolctl import threadpool_limits
import impl_glassnet
if os.environ.get("LADDER_ROUND1") == "1":  # before issue #16's changes
    import numpy as np
    from glassnet import _threads
    from glassnet.nn.functional.fast import activation, conv, norm
    conv.SHARED_PADDING, conv.SHORT_K_BLOCK, conv.BLOCK_MAX_ROWS, conv.COL2IM_MIN_CHANNELS = False, 0, 32, 1 << 30
    norm.PLANE_MIN_IMAGES = 1 << 62  # batch norm's coefficients broadcast from (1, C, 1)

    def relu_scalar(Z):  # max(Z, 0) against the scalar
        A = np.empty_like(Z)
        _threads.parallel_ranges(len(Z), lambda a, e: np.maximum(Z[a:e], 0, out=A[a:e]), Z.nbytes)
        return A
    activation.relu_forward = relu_scalar
if os.environ.get("LADDER_NO_NORM_LINEAR") == "1":
    from glassnet.nn.functional.fast import linear, norm
    norm.applies = lambda *args: False
    linear.halves = lambda *args: None
T.set_num_threads(1)
model, batch, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with threadpool_limits(1):
    step = impl_glassnet.build({"kind": "train", "model": model, "batch": batch})
    step()
    times = []
    for _ in range(reps):
        t = time.thread_time()
        step()
        times.append(time.thread_time() - t)
print(min(times) * 1e3)
'''

R1 = {"LADDER_ROUND1": "1", "GLASSNET_COMPILED": "0"}
CONFIGS = [
    ("reference paths, glibc defaults, input gradient computed",
     {"GLASSNET_FAST": "0", "GLASSNET_MALLOC_TUNE": "0", "LADDER_NO_SKIP": "1", "GLASSNET_COMPILED": "0"}),
    ("fast conv/pool/ReLU paths",
     {"GLASSNET_MALLOC_TUNE": "0", "LADDER_NO_SKIP": "1", "LADDER_NO_NORM_LINEAR": "1", **R1}),
    ("+ first conv skips dL/dx", {"GLASSNET_MALLOC_TUNE": "0", "LADDER_NO_NORM_LINEAR": "1", **R1}),
    ("+ glibc keeps freed memory", {"LADDER_NO_NORM_LINEAR": "1", **R1}),
    ("+ batch-norm fast path (and Linear's row split)", R1),
    ("+ #16: shared padding, product blocks, coefficient planes, ReLU vs zeros", {"GLASSNET_COMPILED": "0"}),
    ("+ #16: C kernels (direct convolutions)", {}),
]
CASES = [("lenet5", 64, 30), ("lenet5", 256, 10), ("resnet20", 128, 3)]


def main(models: list[str]) -> None:
    src = str(HERE.parent / "src")
    for model, batch, reps in CASES:
        if models and model not in models:
            continue
        for name, extra in CONFIGS:
            n = 1 if model == "resnet20" and extra.get("GLASSNET_FAST") == "0" else reps
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, str(HERE)]), **extra)
            out = subprocess.run([sys.executable, "-c", STEP, model, str(batch), str(n)],
                                 env=env, capture_output=True, text=True, cwd=str(HERE))
            if out.returncode:
                raise SystemExit(out.stderr)
            print(f"{model} b{batch:<4d} {name:60s} {float(out.stdout):9.1f} ms", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
