"""Where the time of one ResNet-20 training step goes on the GPU: glassnet (CuPy) layer by layer, beside PyTorch.

Usage: ``python benchmarks/gpu_profile.py [--batch 128] [--json OUT]``. Each top-level unit of the model
(the stem, each residual block, the head) is timed forward and backward with CUDA events around module
hooks (the device is synchronised at each event, so the per-unit times add up to a slower step than the
unhooked one; the shares are what matters). PyTorch's step is timed whole for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import glassnet.backend as B  # noqa: E402
from glassnet import nn  # noqa: E402
from glassnet.models import resnet20  # noqa: E402


def glassnet_profile(batch, reps):
    cupy = B.require_cupy()
    model = resnet20().to("cuda")
    x = B.to_device(np.random.default_rng(0).standard_normal((batch, 3, 32, 32), dtype=np.float32), "cuda")
    y = B.to_device(np.random.default_rng(1).integers(0, 10, batch), "cuda")
    loss_fn = nn.CrossEntropyLoss()
    times = {}

    def timer(name, phase):
        def start(*_):
            cupy.cuda.Device().synchronize()
            times.setdefault((name, phase), []).append(-time.perf_counter())

        def stop(*_):
            cupy.cuda.Device().synchronize()
            times[(name, phase)][-1] += time.perf_counter()
        return start, stop

    units = [(n, m) for n, m in model.named_children() if not isinstance(m, nn.Sequential)]
    units += [(n, m) for n, m in model.named_modules() if n.count(".") == 1 and n.startswith("layer")]
    for name, m in units:
        s, e = timer(name, "forward")
        m.register_forward_pre_hook(lambda mod, args, s=s: s())
        m.register_forward_hook(lambda mod, args, out, e=e: e())
        s, e = timer(name, "backward")
        m.register_full_backward_pre_hook(lambda mod, g, s=s: s())
        m.register_full_backward_hook(lambda mod, gi, go, e=e: e())
    steps = []
    for _ in range(reps):
        cupy.cuda.Device().synchronize()
        t0 = time.perf_counter()
        model.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=False)
        cupy.cuda.Device().synchronize()
        steps.append(time.perf_counter() - t0)
    rows = [{"unit": n, "type": type(m).__name__, "forward_ms": 1e3 * statistics.median(times[(n, "forward")][1:]),
             "backward_ms": 1e3 * statistics.median(times[(n, "backward")][1:])} for n, m in units]
    return {"step_ms_hooked": 1e3 * statistics.median(steps[1:]), "units": rows}


def torch_step(batch, reps):
    import torch
    import torch_models

    model = torch_models.resnet20().cuda()
    x = torch.randn(batch, 3, 32, 32, device="cuda")
    y = torch.randint(0, 10, (batch,), device="cuda")
    loss_fn = torch.nn.CrossEntropyLoss()
    steps = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.zero_grad()
        loss_fn(model(x), y).backward()
        torch.cuda.synchronize()
        steps.append(time.perf_counter() - t0)
    return {"step_ms": 1e3 * statistics.median(steps[1:])}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=12)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    out = {"glassnet": glassnet_profile(args.batch, args.reps), "torch": torch_step(args.batch, args.reps)}
    for r in out["glassnet"]["units"]:
        print(f"{r['unit']:>4} {r['type']:<14} forward {r['forward_ms']:7.2f} ms  backward {r['backward_ms']:7.2f} ms")
    g, t = out["glassnet"]["step_ms_hooked"], out["torch"]["step_ms"]
    print(f"glassnet step (hooked) {g:.1f} ms; PyTorch step {t:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
