"""PyTorch side of the benchmark: ``build(case)`` returns a function that runs one call of the case."""

from __future__ import annotations

import os

import numpy as np
import torch
import torch_models
from cases import input_shape

DEVICE = os.environ.get("GLASSNET_BENCH_DEVICE", "cpu")


def _on_device(fn):
    if DEVICE == "cpu":
        return fn

    def synced():
        fn()
        torch.cuda.synchronize()
    return synced


def gpu_memory_mb() -> float | None:
    """Peak bytes PyTorch's caching allocator handed out, in MB."""
    return None if DEVICE == "cpu" else torch.cuda.max_memory_allocated() / 2**20


def build(case: dict):
    return _on_device(_build(case))


def _build(case: dict):
    rng = np.random.default_rng(0)
    kind = case["kind"]
    if kind in ("conv", "pool"):
        if kind == "conv":
            N, cin, H, W, cout, k, s, p = case["shape"]
            layer = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p).to(DEVICE)
        else:
            N, cin, H, W = case["shape"]
            layer = torch.nn.MaxPool2d(2, 2) if case["op"] == "max" else torch.nn.AvgPool2d(2, 2)
        x = torch.from_numpy(rng.standard_normal((N, cin, H, W), dtype=np.float32)).to(DEVICE)
        if not case["backward"]:
            def forward():
                with torch.no_grad():
                    layer(x)
            return forward
        x.requires_grad_(True)  # the layer's input gradient too, as glassnet's Conv2d.backward returns it
        with torch.no_grad():
            dy = torch.from_numpy(rng.standard_normal(tuple(layer(x).shape), dtype=np.float32)).to(DEVICE)

        def forward_backward():
            layer(x).backward(dy)
        return forward_backward
    model = getattr(torch_models, case["model"])().to(DEVICE)
    x = torch.from_numpy(rng.standard_normal(input_shape(case["model"], case["batch"]), dtype=np.float32)).to(DEVICE)
    if kind == "infer":
        model.eval()

        def infer():
            with torch.no_grad():
                model(x)
        return infer
    targets = torch.from_numpy(rng.integers(0, 10, case["batch"])).to(DEVICE)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad()
        loss_fn(model(x), targets).backward()
        opt.step()
    return train_step
