"""A small CNN trained by glassnet (layers + loss + optimizer + scheduler) and by PyTorch in lockstep.

The parameters agree after every step (float64), the weights file written by
glassnet loads into the PyTorch model, and a PyTorch file loads into glassnet.
"""

import numpy as np
import pytest

import glassnet.nn as gnn
from glassnet.io import load_model_weights, save_weights
from glassnet.optim import SGD, Adam
from glassnet.optim.lr_scheduler import OneCycleLR

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def models():
    # No conv bias before BatchNorm: its true gradient is 0, and Adam would blow the rounding noise of both
    # libraries (~1e-17) up to unit-size steps in random directions.
    ours = gnn.Sequential(gnn.Conv2d(1, 3, 3, padding=1, bias=False), gnn.BatchNorm2d(3), gnn.ReLU(), gnn.MaxPool2d(2),
                          gnn.Flatten(), gnn.Linear(3 * 3 * 3, 4)).double()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1, bias=False), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(3 * 3 * 3, 4)).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("make", [
    lambda ps: (SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3), None),
    lambda ps: (lambda o: (o, OneCycleLR(o, max_lr=0.05, total_steps=6)))(Adam(ps, lr=0.01, amsgrad=True)),
], ids=["sgd_nesterov", "adam_onecycle"])
def test_training_steps_match_pytorch(make, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 6, 6))
    y = rng.integers(0, 4, size=8)
    ours, theirs = models()
    opt, sched = make(list(ours.parameters()))
    topt = (torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
            if isinstance(opt, SGD) else torch.optim.Adam(theirs.parameters(), lr=0.01, amsgrad=True))
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=6) if sched else None
    loss_fn, tloss_fn = gnn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for step in range(6):
        opt.zero_grad()
        loss = loss_fn(ours(x), y)
        ours.backward(loss_fn.backward())
        opt.step()
        topt.zero_grad()
        tloss = tloss_fn(theirs(torch.tensor(x)), torch.tensor(y))
        tloss.backward()
        topt.step()
        if sched:
            sched.step()
            tsched.step()
        np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-10, err_msg=f"loss at step {step}")
        tstate = theirs.state_dict()
        for key, value in ours.state_dict().items():
            np.testing.assert_allclose(value, tstate[key].numpy(), rtol=0, atol=1e-10, err_msg=f"{key} after step {step}")

    from safetensors.torch import load_file

    save_weights(tmp_path / "trained.safetensors", ours.state_dict())
    fresh = models()[1]
    fresh.load_state_dict(load_file(str(tmp_path / "trained.safetensors")))
    ours.eval()
    fresh.eval()
    np.testing.assert_allclose(ours(x), fresh(torch.tensor(x)).detach().numpy(), rtol=0, atol=1e-12)


def test_pytorch_weights_load_into_glassnet_model(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    theirs = models()[1]
    theirs(torch.randn(5, 1, 6, 6, dtype=torch.float64))  # running statistics, num_batches_tracked = 1
    save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours = models()[0]
    load_model_weights(ours, tmp_path / "torch.safetensors")
    assert int(ours.state_dict()["1.num_batches_tracked"]) == 1
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6))
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), rtol=0, atol=1e-12)
