"""glassnet's classic CNNs have torchvision's state-dict keys and shapes, in torchvision's order.

Without torch: compare against tests/fixtures/torchvision_keys.json, written by
scripts/make_torchvision_keys.py from torch.nn transcriptions of torchvision's model sources.
With torch: rebuild those transcriptions at reduced width, move the weights across in both
directions, and check that both libraries compute the same outputs and gradients (float64).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from model_helpers import build_structure

from glassnet.models import get_model

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "torchvision_keys.json").read_text())["models"]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_state_dict_keys_and_shapes_match_torchvision(name):
    model = build_structure(name)
    ours = [[k, list(np.shape(v))] for k, v in model.state_dict().items()]
    theirs = REFERENCE[name]["state_dict"]
    assert {k for k, _ in ours} == {k for k, _ in theirs}, "key names differ"
    assert ours == theirs, "same keys, but a shape or the order differs"
    assert model.num_parameters() == REFERENCE[name]["num_parameters"]


def test_reference_covers_the_documented_figures():
    figures = {"alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512, "resnet50": 25_557_032,
               "googlenet": 6_624_904}
    assert {k: REFERENCE[k]["num_parameters"] for k in figures} == figures


# ----------------------------------------------------------------- live, with torch
# (name, glassnet kwargs, width, input size)
LIVE = [
    ("alexnet", {"dropout": 0.0}, 1 / 16, 67),
    ("vgg11_bn", {"dropout": 0.0}, 1 / 16, 32),
    ("vgg16", {"dropout": 0.0}, 1 / 32, 32),
    ("googlenet", {"dropout": 0.0}, 1 / 8, 64),
    ("resnet18", {}, 1 / 8, 32),
    ("resnet34", {}, 1 / 16, 32),
    ("resnet50", {}, 1 / 16, 64),
]


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-6))


@pytest.mark.torch
@pytest.mark.parametrize("name,kw,width,size", LIVE, ids=[c[0] for c in LIVE])
def test_live_same_outputs_and_gradients_as_torch(name, kw, width, size):
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_torchvision_keys as tv

    torch.manual_seed(0)
    theirs = tv.build(name, width=width, num_classes=7).double()
    with torch.no_grad():  # make BatchNorm's affine parameters and running statistics matter
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 1.5)
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
    ours = get_model(name, num_classes=7, width=width, **kw).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # strict
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})  # strict

    x = np.random.default_rng(1).standard_normal((2, 3, size, size))
    R = np.random.default_rng(2).standard_normal((2, 7))
    # training mode: BatchNorm uses the batch statistics
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs.train()(xt)
    yt.backward(torch.tensor(R))
    y = ours.train()(x)
    dx = ours.backward(R)
    assert _rel(y, yt.detach().numpy()) < 1e-9
    assert _rel(dx, xt.grad.numpy()) < 1e-9
    grads = dict(theirs.named_parameters())
    bad = [k for k, p in ours.named_parameters() if _rel(p.grad, grads[k].grad.numpy()) > 1e-8]
    assert not bad, f"parameter gradients differ: {bad[:5]}"
    running = dict(theirs.named_buffers())
    for k, v in ours.state_dict().items():
        if k.endswith("running_mean") or k.endswith("running_var"):
            assert _rel(v, running[k].numpy()) < 1e-9, k
    # evaluation mode: running statistics
    with torch.no_grad():
        yt = theirs.eval()(torch.tensor(x))
    assert _rel(ours.eval()(x), yt.numpy()) < 1e-9
