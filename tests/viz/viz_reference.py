"""The saliency / Grad-CAM / resize cases checked against PyTorch, and the PyTorch side of them.

Shared by the tests in this folder and by ``scripts/make_viz_golden.py``,
which records PyTorch's results in ``tests/viz/fixtures/viz_golden.npz`` for
machines without torch. torch is imported only inside the ``*_torch``
functions.

The network (float64, input 2 x 8 x 8, 5 classes) has a Concat block, so
that the Grad-CAM layer follows a block of parallel convolutions, not a
single layer::

    0 conv 2->3 3x3 pad 1 | 1 ReLU | 2 max-pool 2 | 3 Concat(conv 3->2 1x1, conv 3->2 3x3 pad 1)
    4 ReLU | 5 flatten | 6 linear 64 -> 5
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassnet import nn

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "viz_golden.npz"
CAM_LAYER = "4"  # the ReLU after the Concat block: the default Grad-CAM layer
RESIZE_CASES = [((2, 3, 5, 7), (11, 4)), ((1, 4, 4), (8, 8)), ((6, 9), (3, 2))]


def make_weights(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {
        "0.weight": (3, 2, 3, 3), "0.bias": (3,),
        "3.0.weight": (2, 3, 1, 1), "3.0.bias": (2,),
        "3.1.weight": (2, 3, 3, 3), "3.1.bias": (2,),
        "6.weight": (5, 64), "6.bias": (5,),
    }
    return {k: rng.normal(0, 0.5, s) for k, s in shapes.items()}


def make_input(seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (1, 2, 8, 8))


def build_glassnet(weights) -> nn.Sequential:
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, dtype=np.float64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Concat(nn.Conv2d(3, 2, 1, dtype=np.float64), nn.Conv2d(3, 2, 3, padding=1, dtype=np.float64)),
        nn.ReLU(), nn.Flatten(), nn.Linear(64, 5, dtype=np.float64),
    )
    net.load_state_dict(weights)
    return net.eval()


def build_torch(weights):
    import torch

    class Branches(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Conv2d(3, 2, 1)
            self.b = torch.nn.Conv2d(3, 2, 3, padding=1)

        def forward(self, x):
            return torch.cat([self.a(x), self.b(x)], dim=1)

    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), Branches(),
        torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 5),
    ).double()
    renamed = {k.replace("3.0.", "3.a.").replace("3.1.", "3.b."): torch.from_numpy(v) for k, v in weights.items()}
    net.load_state_dict(renamed)
    return net.eval()


def saliency_torch(weights, x, target):
    """(ds/dx (C, H, W), CAM at the layer's size (h, w), CAM upsampled (H, W), channel weights (K,)).

    Grad-CAM on the output of module 4 (the ReLU after the Concat block).
    """
    import torch

    net = build_torch(weights)
    xt = torch.from_numpy(x).requires_grad_(True)
    head, tail = net[:5], net[5:]
    A = head(xt)
    A.retain_grad()
    score = tail(A)[0, target]
    score.backward()
    w = A.grad[0].mean(dim=(1, 2))
    cam = torch.relu((w[:, None, None] * A[0]).sum(0)).detach()
    up = torch.nn.functional.interpolate(cam[None, None], size=x.shape[2:], mode="bilinear", align_corners=False)
    return xt.grad[0].numpy(), cam.numpy(), up[0, 0].numpy(), w.detach().numpy()


def resize_torch(a, size):
    import torch

    t = torch.from_numpy(np.asarray(a, np.float64))
    shape = t.shape
    t4 = t.reshape(-1, 1, *shape[-2:])
    out = torch.nn.functional.interpolate(t4, size=size, mode="bilinear", align_corners=False)
    return out.reshape(*shape[:-2], *size).numpy()


def resize_inputs(seed: int = 7):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, shape) for shape, _ in RESIZE_CASES]
