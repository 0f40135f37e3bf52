"""Visualise my model, not the demo: every picture on models with Residual and Concat blocks and custom forwards."""

from collections import OrderedDict

import numpy as np
import pytest

import glassnet
from conftest import read_png
from glassnet import nn, viz
from glassnet.viz.maximization import default_layer


class Branchy(nn.Module):
    """conv-BN-ReLU stem, a Residual block, an Inception-like Concat, global pooling: a custom forward."""

    input_size = (3, 12, 12)

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 4, 3, padding=1), bn=nn.BatchNorm2d(4),
                                              relu=nn.ReLU()))
        self.res = nn.Residual(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)),
                               activation=nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.mixed = nn.Concat(OrderedDict(a=nn.Conv2d(4, 3, 1), b=nn.Sequential(nn.Conv2d(4, 2, 3, padding=1),
                                                                                   nn.ReLU())))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        h = self.mixed(self.pool(self.res(self.stem(x))))
        return self.fc(self.gap(h).reshape(len(x), -1))

    def backward(self, dy):
        dh = self.gap.backward(self.fc.backward(dy).reshape(-1, 5, 1, 1))
        return self.stem.backward(self.res.backward(self.pool.backward(self.mixed.backward(dh))))


@pytest.fixture
def net():
    glassnet.manual_seed(0)
    return Branchy().eval()


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (3, 12, 12)).astype(np.uint8)


def test_blocks_are_units_and_feature_panels(net, image, tmp_path):
    assert [n for n, _ in viz.units(net)] == ["stem.conv", "stem.bn", "stem.relu", "res", "pool", "mixed", "gap", "fc"]
    fig = viz.feature_maps(net, image)
    labels = [ax.get_label() for ax in fig.axes if ax.get_label().startswith("layer ")]
    assert labels == ["layer stem.conv", "layer res", "layer pool", "layer mixed"]  # gap is 1 x 1: left out
    read_png(viz.save(fig, tmp_path / "f.png"), min_size=(800, 250))


def test_grad_cam_on_the_last_block_matches_a_hand_computation(net, image):
    from glassnet.viz.image import prepare

    x, _ = prepare(image)
    cam, small, w, layer, target = viz.grad_cam(net, x, target=2)
    assert layer == "mixed" and small.shape == (6, 6) and cam.shape == (12, 12)
    # by hand: A = mixed output, dA = d fc[2] / dA through global average pooling = W_fc[2, k] / 36
    A = net.mixed(net.pool(net.res(net.stem(x))))[0].astype(np.float64)
    w_hand = net.fc.weight.data[2].astype(np.float64) / 36 * np.ones(5)
    np.testing.assert_allclose(w, w_hand, rtol=1e-5)
    np.testing.assert_allclose(small, np.maximum(np.tensordot(w_hand, A, axes=1), 0), rtol=1e-4, atol=1e-7)
    fig = viz.saliency(net, image, target=2)
    assert "Grad-CAM on mixed (6\u00d76)" in fig.axes[2].get_title()


def test_filters_and_maximize_inside_blocks(net):
    fig = viz.filters(net, "mixed.b.0")
    assert "Conv2d 4\u21922, 3\u00d73" in fig._suptitle.get_text()
    assert default_layer(net) == "stem.relu"  # past the BatchNorm
    r = viz.maximize_input(net, "res", channels=[0, 1], steps=40)
    assert np.all(r.end > r.start)
    r = viz.maximize_input(net, "mixed", channels=[4], steps=40)
    assert r.end[0] > r.start[0]


def test_library_resnet_and_googlenet():
    from glassnet.models import googlenet, resnet20

    glassnet.manual_seed(0)
    res = resnet20(width=0.25).eval()
    x = np.random.default_rng(1).random((3, 32, 32)).astype(np.float32)
    s, _ = viz.explain(res, x)
    assert s.layer == "layer3.2" and s.cam_small.shape == (8, 8)
    g = googlenet(num_classes=5, width=0.0625).eval()
    acts, _, _ = viz.activations(g, np.random.default_rng(2).random((3, 96, 96)).astype(np.float32))
    names = [n for n, _, _ in acts]
    assert "inception3a" in names and "inception5b" in names and "inception3a.branch1.conv" not in names
