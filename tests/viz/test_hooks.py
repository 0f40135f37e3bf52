"""Tap and inspecting: outputs in execution order, gradients at a layer, and the model left exactly as it was."""

from collections import OrderedDict

import numpy as np
import pytest
from viz_reference import build_glassnet, make_input, make_weights

import glassnet
from glassnet import nn
from glassnet.viz.hooks import Tap, conv_layers, find_module, inspecting, units


def branchy():
    """A model with a Residual and a Concat block, and a forward that is not a Sequential."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(4 * 2 * 2, 3)  # registered first, runs last
            self.stem = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU())
            self.res = nn.Residual(nn.Conv2d(2, 2, 3, padding=1), activation=nn.ReLU())
            self.inc = nn.Concat(nn.Conv2d(2, 1, 1), nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(2, 3, 1)))
            self.pool = nn.MaxPool2d(2)
            self.flat = nn.Flatten()

        def forward(self, x):
            self.shapes = None
            return self.head(self.flat(self.pool(self.inc(self.res(self.stem(x))))))

        def backward(self, dy):
            dy = self.pool.backward(self.flat.backward(self.head.backward(dy)))
            return self.stem.backward(self.res.backward(self.inc.backward(dy)))

    glassnet.manual_seed(3)
    return Net()


def test_units_take_blocks_whole_and_records_follow_execution_order():
    net = branchy()
    assert [n for n, _ in units(net)] == ["head", "stem.0", "stem.1", "res", "inc", "pool", "flat"]
    with Tap(net) as tap:
        y = net(np.ones((2, 1, 4, 4), np.float32))
    assert [r.name for r in tap.records] == ["stem.0", "stem.1", "res", "inc", "pool", "flat", "head"]
    assert tap.output("inc").shape == (2, 4, 4, 4)
    np.testing.assert_array_equal(tap.output("head"), y)
    assert [n for n, _ in conv_layers(net)] == ["stem.0", "res.body", "inc.0", "inc.1.1"]


def test_tap_records_the_gradient_arriving_at_a_layer_and_can_stop_there():
    net = branchy()
    x = np.random.default_rng(0).normal(size=(2, 1, 4, 4)).astype(np.float32)
    dy = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    # reference: the same backward run by hand down to the Concat block's output
    net(x)
    expected = net.pool.backward(net.flat.backward(net.head.backward(dy)))
    with Tap(net, [("inc", net.inc)], stop_at="inc") as tap:
        net(x)
        assert tap.backward(dy) is None
    np.testing.assert_array_equal(tap.grads["inc"], expected)


def test_injected_gradient_replaces_the_incoming_one():
    net = branchy()
    x = np.random.default_rng(0).normal(size=(1, 1, 4, 4)).astype(np.float32)
    d_inc = np.random.default_rng(2).normal(size=(1, 4, 4, 4)).astype(np.float32)
    net(x)
    expected = net.stem.backward(net.res.backward(net.inc.backward(d_inc)))
    with Tap(net, [("inc", net.inc)]) as tap:
        net(x)
        tap.inject["inc"] = d_inc
        got = tap.backward(np.zeros((1, 3), np.float32))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_modules_are_unwrapped_even_after_an_error():
    net = branchy()
    with pytest.raises(ValueError, match="Conv2d"), Tap(net):
        net(np.ones((1, 2, 4, 4), np.float32))  # wrong channel count
    for _, m in net.named_modules():
        assert "forward" not in m.__dict__ and "backward" not in m.__dict__
    assert net(np.ones((1, 1, 4, 4), np.float32)).shape == (1, 3)


def test_inspecting_restores_modes_flags_and_gradients():
    net = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), drop=nn.Dropout(0.5), flat=nn.Flatten(),
                                    fc=nn.Linear(8, 2)))
    net.train()
    net.conv.needs_input_grad = False
    net.fc.weight.grad = np.full((2, 8), 7.0, np.float32)
    x = np.ones((1, 1, 4, 4), np.float32)
    with glassnet.no_grad(), inspecting(net):
        assert not net.drop.training and net.conv.needs_input_grad
        dx = net.backward(np.ones_like(net(x)))  # works under no_grad
        assert dx.shape == x.shape
    assert net.training and net.drop.training and not net.conv.needs_input_grad
    np.testing.assert_array_equal(net.fc.weight.grad, 7.0)
    assert net.conv.weight.grad is None


def test_find_module_names_the_valid_layers():
    net = build_glassnet(make_weights())
    assert find_module(net, "3.1") is net[3]._modules["1"]
    with pytest.raises(ValueError, match=r"no layer 'features.0'; valid names: 0, 1, 2, 3, 3.0"):
        find_module(net, "features.0")
    assert net(make_input()).shape == (1, 5)


def test_importing_viz_loads_no_plotting_library():
    import subprocess
    import sys

    code = ("import sys, glassnet.viz, glassnet.cli.visualize, glassnet.cli.report; "
            "print(sorted(m for m in ('matplotlib', 'PIL', 'safetensors') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
