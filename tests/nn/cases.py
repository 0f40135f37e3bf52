"""Layer cases shared by the live PyTorch comparison and the golden-fixture script.

A case is a JSON-able ``spec`` (layer kind, keyword arguments, children for
containers, training mode) plus the input shape. Both libraries build the
same layer from it; glassnet's state dict is loaded into the torch module
(which also proves the key names match), both run forward and backward with
the same dY, and every output and gradient is compared.
"""

from __future__ import annotations

import os

import numpy as np

import glassnet.backend as B
import glassnet.nn as gnn

DEVICE = os.environ.get("GLASSNET_TEST_DEVICE", "cpu")
"""Where glassnet runs the cases: ``cpu`` (NumPy), or ``cuda`` (CuPy) on a GPU machine, where PyTorch runs on
CUDA too (``GLASSNET_TEST_DEVICE=cuda pytest tests/nn``, see benchmarks/gpu_check.sh)."""

# ----------------------------------------------------------------------------- random configurations


def conv_case(rng):
    kh, kw = (int(v) for v in rng.integers(1, 8, 2))
    dh, dw = (int(v) for v in rng.integers(1, 3, 2)) if rng.random() < 0.3 else (1, 1)
    stride = [int(v) for v in rng.integers(1, 4, 2)]
    choice = rng.integers(0, 4)
    if choice == 0:
        padding = int(rng.integers(0, 4))
    elif choice == 1:
        padding = [int(v) for v in rng.integers(0, 4, 2)]
    elif choice == 2:
        padding, stride = "same", [1, 1]
    else:
        padding = "valid"
    ph, pw = (padding, padding) if isinstance(padding, int) else (padding if isinstance(padding, list) else (0, 0))
    H = max(dh * (kh - 1) + 1 - 2 * ph, 1) + int(rng.integers(0, 8))
    W = max(dw * (kw - 1) + 1 - 2 * pw, 1) + int(rng.integers(0, 8))
    cin, cout = (int(v) for v in rng.integers(1, 5, 2))
    kwargs = dict(in_channels=cin, out_channels=cout, kernel_size=[kh, kw], stride=stride, padding=padding,
                  dilation=[dh, dw], bias=bool(rng.random() < 0.8))
    return {"kind": "Conv2d", "kwargs": kwargs}, [int(rng.integers(1, 4)), cin, H, W]


def pool_case(rng, kind):
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    stride = None if rng.random() < 0.3 else [int(v) for v in rng.integers(1, 4, 2)]
    padding = [int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))]
    kwargs = dict(kernel_size=[kh, kw], stride=stride, padding=padding, ceil_mode=bool(rng.random() < 0.4))
    if kind == "AvgPool2d":
        kwargs["count_include_pad"] = bool(rng.random() < 0.7)
    shape = [int(rng.integers(1, 4)), int(rng.integers(1, 4)), kh + int(rng.integers(0, 9)), kw + int(rng.integers(0, 9))]
    return {"kind": kind, "kwargs": kwargs}, shape


def misc_cases():
    """Every other layer and the containers, in train and eval mode."""
    conv = {"kind": "Conv2d", "kwargs": dict(in_channels=3, out_channels=4, kernel_size=3, padding=1)}
    bn2 = {"kind": "BatchNorm2d", "kwargs": dict(num_features=4)}
    return [
        ({"kind": "Linear", "kwargs": dict(in_features=7, out_features=5)}, [6, 7]),
        ({"kind": "Linear", "kwargs": dict(in_features=3, out_features=9, bias=False)}, [2, 3]),
        ({"kind": "ReLU", "kwargs": {}}, [4, 3, 5, 6]),
        ({"kind": "LeakyReLU", "kwargs": dict(negative_slope=0.2)}, [4, 9]),
        ({"kind": "Sigmoid", "kwargs": {}}, [3, 2, 4, 4]),
        ({"kind": "Tanh", "kwargs": {}}, [5, 6]),
        ({"kind": "Softmax", "kwargs": dict(dim=1)}, [4, 10]),
        ({"kind": "Flatten", "kwargs": {}}, [3, 2, 4, 5]),
        ({"kind": "AdaptiveAvgPool2d", "kwargs": dict(output_size=1)}, [2, 3, 7, 7]),
        ({"kind": "AdaptiveAvgPool2d", "kwargs": dict(output_size=[3, 2])}, [2, 3, 7, 5]),
        ({"kind": "AdaptiveAvgPool2d", "kwargs": dict(output_size=[6, 6])}, [1, 2, 13, 13]),
        ({"kind": "BatchNorm1d", "kwargs": dict(num_features=5)}, [8, 5]),
        ({"kind": "BatchNorm1d", "kwargs": dict(num_features=3)}, [4, 3, 6]),
        ({"kind": "BatchNorm2d", "kwargs": dict(num_features=4)}, [3, 4, 5, 6]),
        ({"kind": "BatchNorm2d", "kwargs": dict(num_features=4), "eval": True}, [3, 4, 5, 6]),
        ({"kind": "BatchNorm1d", "kwargs": dict(num_features=5), "eval": True}, [8, 5]),
        ({"kind": "LocalResponseNorm", "kwargs": dict(size=5, alpha=1e-2, beta=0.75, k=2.0)}, [2, 7, 4, 4]),
        ({"kind": "LocalResponseNorm", "kwargs": dict(size=2)}, [2, 4, 3, 3]),
        ({"kind": "Dropout", "kwargs": dict(p=0.5), "eval": True}, [4, 6]),
        ({"kind": "Dropout", "kwargs": dict(p=0.0)}, [4, 6]),
        ({"kind": "Sequential", "children": [conv, bn2, {"kind": "ReLU", "kwargs": {}},
                                             {"kind": "MaxPool2d", "kwargs": dict(kernel_size=2)},
                                             {"kind": "Flatten", "kwargs": {}},
                                             {"kind": "Linear", "kwargs": dict(in_features=36, out_features=3)}]},
         [2, 3, 6, 6]),
        ({"kind": "Concat", "children": [
            {"kind": "Conv2d", "kwargs": dict(in_channels=3, out_channels=2, kernel_size=1)},
            {"kind": "Sequential", "children": [
                {"kind": "Conv2d", "kwargs": dict(in_channels=3, out_channels=2, kernel_size=1)},
                {"kind": "Conv2d", "kwargs": dict(in_channels=2, out_channels=3, kernel_size=3, padding=1)}]},
            {"kind": "MaxPool2d", "kwargs": dict(kernel_size=3, stride=1, padding=1)}]}, [2, 3, 5, 5]),
        ({"kind": "Residual", "children": [{"kind": "Sequential", "children": [
            {"kind": "Conv2d", "kwargs": dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1)},
            bn2, {"kind": "ReLU", "kwargs": {}},
            {"kind": "Conv2d", "kwargs": dict(in_channels=4, out_channels=4, kernel_size=3, padding=1)}]},
            {"kind": "Sequential", "children": [
                {"kind": "Conv2d", "kwargs": dict(in_channels=3, out_channels=4, kernel_size=1, stride=2, bias=False)},
                bn2]}], "relu": True}, [2, 3, 6, 7]),
        ({"kind": "Residual", "children": [{"kind": "Sequential", "children": [
            {"kind": "Conv2d", "kwargs": dict(in_channels=3, out_channels=3, kernel_size=3, padding=1)},
            {"kind": "Tanh", "kwargs": {}}]}]}, [2, 3, 4, 4]),
    ]


# ----------------------------------------------------------------------------- builders


def _kw(kwargs):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def build_glassnet(spec):
    kind = spec["kind"]
    if kind == "Sequential":
        m = gnn.Sequential(*[build_glassnet(c) for c in spec["children"]])
    elif kind == "Concat":
        m = gnn.Concat(*[build_glassnet(c) for c in spec["children"]])
    elif kind == "Residual":
        kids = [build_glassnet(c) for c in spec["children"]]
        m = gnn.Residual(kids[0], kids[1] if len(kids) > 1 else None, gnn.ReLU() if spec.get("relu") else None)
    else:
        m = getattr(gnn, kind)(**_kw(spec["kwargs"]))
    m.to(np.float64)
    return m.eval() if spec.get("eval") else m.train()


def build_torch(spec):
    import torch

    class Concat(torch.nn.Module):
        def __init__(self, *branches):
            super().__init__()
            for i, b in enumerate(branches):
                self.add_module(str(i), b)

        def forward(self, x):
            return torch.cat([b(x) for b in self.children()], 1)

    class Residual(torch.nn.Module):
        def __init__(self, body, shortcut, relu):
            super().__init__()
            self.body, self.relu = body, relu
            if shortcut is not None:
                self.shortcut = shortcut

        def forward(self, x):
            z = self.body(x) + (self.shortcut(x) if hasattr(self, "shortcut") else x)
            return torch.relu(z) if self.relu else z

    kind = spec["kind"]
    if kind == "Sequential":
        m = torch.nn.Sequential(*[build_torch(c) for c in spec["children"]])
    elif kind == "Concat":
        m = Concat(*[build_torch(c) for c in spec["children"]])
    elif kind == "Residual":
        kids = [build_torch(c) for c in spec["children"]]
        m = Residual(kids[0], kids[1] if len(kids) > 1 else None, bool(spec.get("relu")))
    else:
        m = getattr(torch.nn, kind)(**_kw(spec["kwargs"]))
    m.double()
    return m.eval() if spec.get("eval") else m.train()


def randomise_state(module, rng):
    """Random values for every parameter and buffer (so BatchNorm's affine and running stats matter)."""
    state = {}
    for k, v in module.state_dict().items():
        if k.endswith("num_batches_tracked"):
            state[k] = np.array(int(rng.integers(0, 5)), dtype=np.int64)
        elif k.endswith("running_var"):
            state[k] = rng.uniform(0.5, 2.0, v.shape)
        else:
            state[k] = rng.standard_normal(v.shape)
    module.load_state_dict(state)
    return module.state_dict()


# ----------------------------------------------------------------------------- running


def run_glassnet(module, x, dy):
    """Forward and backward on DEVICE; everything returned as NumPy arrays."""
    if DEVICE != "cpu":
        module.to(DEVICE)
        x, dy = B.to_device(x, DEVICE), B.to_device(dy, DEVICE)
    module.zero_grad()
    y = module(x)
    dx = module.backward(dy)
    grads = {k: (B.to_host(p.grad) if p.grad is not None else np.zeros(p.shape)) for k, p in module.named_parameters()}
    return B.to_host(y), B.to_host(dx), grads, module.state_dict()


def run_torch(spec, state, x, dy):
    import torch

    dev = "cuda" if DEVICE != "cpu" else "cpu"
    m = build_torch(spec).to(dev)
    m.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, strict=True)
    tx = torch.tensor(x, requires_grad=True, device=dev)
    ty = m(tx)
    ty.backward(torch.from_numpy(dy).to(dev))
    grads = {k: (p.grad.cpu().numpy() if p.grad is not None else np.zeros(tuple(p.shape)))
             for k, p in m.named_parameters()}
    after = {k: v.detach().cpu().numpy() for k, v in m.state_dict().items()}
    return ty.detach().cpu().numpy(), tx.grad.cpu().numpy(), grads, after


def rel_err(a, b):
    """max |a - b| / max(max |b|, 1e-6): the max-norm relative error.

    The floor only matters for quantities that are mathematically zero (the
    bias gradient of a convolution followed by batch norm): there both
    libraries return rounding noise of about 1e-17, which must then agree to
    an absolute 1e-14 at TOL64.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.abs(a - b).max(initial=0.0) / max(np.abs(b).max(initial=0.0), 1e-6)


def assert_same(got, want, tol, what=""):
    y, dx, grads, state = got
    ty, tdx, tgrads, tstate = want
    assert rel_err(y, ty) <= tol, f"{what} output: rel err {rel_err(y, ty):.3e}"
    assert rel_err(dx, tdx) <= tol, f"{what} input grad: rel err {rel_err(dx, tdx):.3e}"
    assert set(grads) == set(tgrads), (sorted(grads), sorted(tgrads))
    for k in grads:
        assert rel_err(grads[k], tgrads[k]) <= tol, f"{what} grad of {k}: rel err {rel_err(grads[k], tgrads[k]):.3e}"
    for k in tstate:  # running statistics after the forward pass
        assert rel_err(state[k], tstate[k]) <= tol, f"{what} state {k}: rel err {rel_err(state[k], tstate[k]):.3e}"


def make_inputs(spec, shape, rng):
    """Input, dY and a state for one case; ties are made likely for max pooling."""
    x = rng.standard_normal(shape)
    if spec["kind"] == "MaxPool2d" and rng.random() < 0.5:
        x = np.round(x * 2) / 2  # many exact ties: the first-argmax rule must match
    m = build_glassnet(spec)
    state = randomise_state(m, rng)
    y = m(x)
    dy = rng.standard_normal(y.shape)
    return x, dy, state
