"""Where one training step goes on this CPU, glassnet beside PyTorch, layer by layer (issue #16).

``python benchmarks/profile_step.py [--model resnet20|lenet5] [--batch 128] [--threads 1] [--reps 5] [--json OUT]``

Every leaf module of each model is timed with hooks (forward: pre-hook to hook; backward: full backward
pre-hook to full backward hook; the residual additions and shortcuts fall into their block's remainder),
the median over ``--reps`` steps after a warm-up, with one thread for both libraries (``torch.set_num_threads
(1)``, glassnet's pool and BLAS on one thread; ``--threads 2`` for both) so that the figures are CPU
work, not scheduling. For each
layer the bytes it must move at least are counted (forward: read X, write Y; backward: read dY and what it
saved, write dX), and the time those bytes take at this machine's memory bandwidth, measured here with a
large copy, is its bandwidth limit: an element-wise layer (batch norm, ReLU) far above its limit wastes
passes over memory; a convolution is bound by arithmetic instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import input_shape  # noqa: E402

import glassnet  # noqa: E402
import glassnet._threads as T  # noqa: E402
from glassnet import nn  # noqa: E402
from glassnet.models import get_model  # noqa: E402


def bandwidth_gb_s() -> float:
    """A large copy's bandwidth (read + write), GB/s: the ceiling of an element-wise pass."""
    a = np.ones(64 << 20 >> 3)  # 64 MB
    b = np.empty_like(a)
    best = min(_timed(lambda: np.copyto(b, a)) for _ in range(5))
    return 2 * a.nbytes / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def kind(m) -> str:
    name = type(m).__name__
    return {"Conv2d": "conv", "BatchNorm2d": "batch norm", "ReLU": "ReLU", "Linear": "linear",
            "AdaptiveAvgPool2d": "pooling", "MaxPool2d": "pooling", "Flatten": "flatten"}.get(name, name)


def profile(modules, step, reps, sync=lambda: None):
    """{name: {"forward": [s], "backward": [s], "fwd_bytes": n, "bwd_bytes": n}} and step times."""
    times = defaultdict(lambda: defaultdict(list))
    nbytes = {}
    starts = {}

    def pre(name, phase):
        def hook(m, args):
            starts[(name, phase)] = time.perf_counter()
            if phase == "forward":
                nbytes.setdefault(name, {})["in"] = int(np.prod(args[0].shape)) * 4
        return hook

    def post(name, phase):
        def hook(m, args, out):
            times[name][phase].append(time.perf_counter() - starts[(name, phase)])
            if phase == "forward":
                nbytes[name]["out"] = int(np.prod(out.shape)) * 4
        return hook

    handles = []
    for name, m, _ in modules:  # the same four hooks in both libraries (PyTorch's names)
        handles += [m.register_forward_pre_hook(pre(name, "forward")),
                    m.register_forward_hook(post(name, "forward")),
                    m.register_full_backward_pre_hook(lambda mm, g, n=name: pre(n, "backward")(mm, g)),
                    m.register_full_backward_hook(lambda mm, gi, go, n=name: post(n, "backward")(mm, gi, go))]
    steps = []
    for r in range(reps + 1):
        t = time.perf_counter()
        step()
        sync()
        if r:
            steps.append(time.perf_counter() - t)
        else:
            times.clear()
    for h in handles:
        h.remove()
    rows = {}
    for name, _, _ in modules:
        t = times[name]
        b = nbytes.get(name, {"in": 0, "out": 0})
        rows[name] = {"forward_ms": 1e3 * statistics.median(t["forward"]) if t["forward"] else 0.0,
                      "backward_ms": 1e3 * statistics.median(t["backward"]) if t["backward"] else 0.0,
                      "fwd_bytes": b["in"] + b["out"], "bwd_bytes": 2 * b["out"] + 2 * b["in"]}
    return rows, 1e3 * statistics.median(steps)


def glassnet_side(name, batch, reps, threads):
    T.set_num_threads(threads)
    glassnet.manual_seed(0)
    model = get_model(name)
    x = np.random.default_rng(0).standard_normal(input_shape(name, batch), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, batch)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        model.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=False)

    leaves = [(n, m, "glassnet") for n, m in model.named_modules() if n and not m._modules]
    return profile(leaves, step, reps), {n: kind(m) for n, m, _ in leaves}


def torch_side(name, batch, reps, threads):
    import torch
    import torch_models

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torch_models, name)()
    for m in model.modules():  # hooks cannot see in-place ops' inputs
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False
    x = torch.randn(*input_shape(name, batch))  # no gradient for the images, as glassnet's step (input_grad=False)
    y = torch.randint(0, 10, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    warnings.filterwarnings("ignore", "Full backward hook is firing")  # the first conv: its input needs no grad

    def step():
        model.zero_grad()
        loss_fn(model(x), y).backward()

    leaves = [(n, m, "torch") for n, m in model.named_modules() if n and not list(m.children())]
    return profile(leaves, step, reps), {n: kind(m) for n, m, _ in leaves}


def by_kind(rows, kinds):
    out = defaultdict(lambda: {"forward_ms": 0.0, "backward_ms": 0.0, "fwd_bytes": 0, "bwd_bytes": 0, "count": 0})
    for name, r in rows.items():
        k = out[kinds[name]]
        for f in ("forward_ms", "backward_ms", "fwd_bytes", "bwd_bytes"):
            k[f] += r[f]
        k["count"] += 1
    return dict(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet20", choices=["resnet20", "lenet5"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=1, help="threads of both libraries (default 1)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    bw = bandwidth_gb_s()
    with glassnet._threads.blas_threads(1):
        (g_rows, g_step), g_kinds = glassnet_side(args.model, args.batch, args.reps, args.threads)
    (t_rows, t_step), t_kinds = torch_side(args.model, args.batch, args.reps, args.threads)
    g, t = by_kind(g_rows, g_kinds), by_kind(t_rows, t_kinds)
    print(f"memory bandwidth (copy): {bw:.1f} GB/s; {args.model} training step, batch {args.batch}, "
          f"{args.threads} thread(s)")
    print(f"{'layer kind':<12}{'n':>4}{'glassnet fwd':>14}{'bwd':>9}{'PyTorch fwd':>13}{'bwd':>9}"
          f"{'MB moved f/b':>16}{'limit f/b ms':>15}")
    for k in sorted(g, key=lambda k: -(g[k]["forward_ms"] + g[k]["backward_ms"])):
        a, b = g[k], t.get(k, {"forward_ms": float("nan"), "backward_ms": float("nan")})
        lim_f, lim_b = a["fwd_bytes"] / bw / 1e6, a["bwd_bytes"] / bw / 1e6
        print(f"{k:<12}{a['count']:>4}{a['forward_ms']:>14.1f}{a['backward_ms']:>9.1f}{b['forward_ms']:>13.1f}"
              f"{b['backward_ms']:>9.1f}{a['fwd_bytes'] / 1e6:>9.0f}/{a['bwd_bytes'] / 1e6:<6.0f}"
              f"{lim_f:>8.1f}/{lim_b:<6.1f}")
    g_layers = sum(r["forward_ms"] + r["backward_ms"] for r in g_rows.values())
    t_layers = sum(r["forward_ms"] + r["backward_ms"] for r in t_rows.values())
    print(f"whole step: glassnet {g_step:.0f} ms (layers {g_layers:.0f} ms, the rest: residual additions, "
          f"shortcuts, loss, bookkeeping {g_step - g_layers:.0f} ms); PyTorch {t_step:.0f} ms (layers {t_layers:.0f}, "
          f"rest {t_step - t_layers:.0f})")
    if args.json:
        args.json.write_text(json.dumps({"bandwidth_gb_s": bw, "glassnet": {"step_ms": g_step, "by_kind": g},
                                         "torch": {"step_ms": t_step, "by_kind": t}}, indent=1))


if __name__ == "__main__":
    main()
