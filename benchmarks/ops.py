"""Reference path against fast path for each benchmarked convolution and pooling: ``python benchmarks/ops.py``.

Single-thread CPU time (the minimum ``time.thread_time`` of several runs), one
glassnet thread and one BLAS thread, float32.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cases import CONV_SHAPES, POOL_SHAPES  # noqa: E402

import glassnet._threads as T  # noqa: E402
from glassnet import backend as B  # noqa: E402
from glassnet.nn.functional import conv as C  # noqa: E402
from glassnet.nn.functional import pooling as P  # noqa: E402


def cpu_ms(fn, reps: int) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t)
    return best * 1e3


def both(make, reps_ref: int, reps_fast: int):
    """(forward, forward+backward) CPU ms for the reference and the fast path."""
    out = []
    for fast, reps in ((False, reps_ref), (True, reps_fast)):
        B.set_fast_paths(fast)
        fwd, fwd_bwd = make()
        out.append((cpu_ms(fwd, reps), cpu_ms(fwd_bwd, reps)))
    B.set_fast_paths(True)
    return out


def main() -> None:
    T.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"{'operation':52s} {'forward ms':>20s} {'forward+backward ms':>26s}")
    with threadpool_limits(1):
        for N, cin, H, W, cout, k, s, p in CONV_SHAPES:
            X = rng.standard_normal((N, cin, H, W), dtype=np.float32)
            F = rng.standard_normal((cout, cin, k, k), dtype=np.float32)
            b = np.zeros(cout, np.float32)

            def make(X=X, F=F, b=b, s=s, p=p):
                def fwd_bwd():
                    Z, ctx = C.conv2d_forward(X, F, b, s, p)
                    C.conv2d_backward(Z, ctx)
                return (lambda: C.conv2d_forward(X, F, b, s, p)), fwd_bwd
            (rf, rb), (ff, fb) = both(make, 2, 10)
            name = f"conv {N}x{cin}x{H}x{W} -> {cout} k{k} s{s} p{p}"
            print(f"{name:52s} {rf:9.2f} -> {ff:7.2f} ({rf / ff:4.1f}x) {rb:10.2f} -> {fb:8.2f} ({rb / fb:4.1f}x)")
        for shape in POOL_SHAPES:
            X = rng.standard_normal(shape, dtype=np.float32)
            for op in ("max", "avg"):
                fwd = P.max_pool2d_forward if op == "max" else P.avg_pool2d_forward
                bwd = P.max_pool2d_backward if op == "max" else P.avg_pool2d_backward

                def make(X=X, fwd=fwd, bwd=bwd):
                    def fwd_bwd():
                        Y, ctx = fwd(X, (2, 2), (2, 2))
                        bwd(Y, ctx)
                    return (lambda: fwd(X, (2, 2), (2, 2))), fwd_bwd
                (rf, rb), (ff, fb) = both(make, 10, 20)
                name = f"{op}pool 2x2/2 " + "x".join(map(str, shape))
                print(f"{name:52s} {rf:9.2f} -> {ff:7.2f} ({rf / ff:4.1f}x) {rb:10.2f} -> {fb:8.2f} ({rb / fb:4.1f}x)")


if __name__ == "__main__":
    main()
