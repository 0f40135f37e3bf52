"""glassnet side of the benchmark: ``build(case)`` returns a function that runs one call of the case.

The worker process is glassnet's own, so it makes the documented process-wide choices a user may make
(``glassnet.tune_process()``: glibc keeps freed memory, a short switch interval in parallel regions), as the
``glassnet`` command does; ``GLASSNET_TUNE=0`` leaves them off (what ``import glassnet`` alone gives).
"""

from __future__ import annotations

import os

import numpy as np
from cases import input_shape

import glassnet
from glassnet import nn
from glassnet.models import get_model
from glassnet.optim import SGD

if os.environ.get("GLASSNET_TUNE", "1") != "0":
    glassnet.tune_process(malloc=os.environ.get("GLASSNET_MALLOC_TUNE", "1") != "0")


def build(case: dict):
    rng = np.random.default_rng(0)
    kind = case["kind"]
    if kind in ("conv", "pool"):
        if kind == "conv":
            N, cin, H, W, cout, k, s, p = case["shape"]
            layer = nn.Conv2d(cin, cout, k, stride=s, padding=p)
        else:
            N, cin, H, W = case["shape"]
            layer = nn.MaxPool2d(2, 2) if case["op"] == "max" else nn.AvgPool2d(2, 2)
        x = rng.standard_normal((N, cin, H, W), dtype=np.float32)
        if not case["backward"]:
            def forward():
                with glassnet.no_grad():
                    layer(x)
            return forward
        dy = rng.standard_normal(layer(x).shape, dtype=np.float32)

        def forward_backward():
            layer(x)
            layer.backward(dy)
        return forward_backward
    model = get_model(case["model"])
    x = rng.standard_normal(input_shape(case["model"], case["batch"]), dtype=np.float32)
    if kind == "infer":
        model.eval()

        def infer():
            with glassnet.no_grad():
                model(x)
        return infer
    input_grad = os.environ.get("LADDER_NO_SKIP") == "1"  # the images need no gradient (nor in PyTorch)
    targets = rng.integers(0, 10, case["batch"])
    loss_fn = nn.CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad()
        loss_fn(model(x), targets)
        model.backward(loss_fn.backward(), input_grad=input_grad)
        opt.step()
    return train_step
