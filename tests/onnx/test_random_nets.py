"""Random networks (hypothesis): kernels, strides, paddings ('same' with odd and even kernels), dilations,
ceil_mode, count_include_pad, branches (Concat), residual blocks, activations, normalisations, adaptive pooling.
Each is exported, checked, run in onnxruntime at batch 1 and 7, and loaded back."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx_helpers import TOL, assert_same_state, export_checked, inputs, ort_run, randomize, rel_err  # noqa: E402

import glassnet.nn as nn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.nn import no_grad  # noqa: E402


def conv(draw, cin, stride_ok=True):
    k = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3)) if stride_ok else 1
    if stride == 1 and draw(st.booleans()):
        padding = "same"  # an even kernel pads one more row/column at the bottom/right
    else:
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    return nn.Conv2d(cin, draw(st.integers(1, 5)), (k, draw(st.integers(1, 4))), stride=stride, padding=padding,
                     dilation=draw(st.integers(1, 2)), bias=draw(st.booleans()))


def pool(draw):
    k = draw(st.integers(1, 3))
    kw = dict(stride=draw(st.integers(1, 3)), padding=draw(st.integers(0, k // 2)), ceil_mode=draw(st.booleans()))
    if draw(st.booleans()):
        return nn.MaxPool2d(k, **kw)
    return nn.AvgPool2d(k, count_include_pad=draw(st.booleans()), **kw)


def activation(draw):
    return draw(st.sampled_from([nn.ReLU, lambda: nn.LeakyReLU(0.1), nn.Sigmoid, nn.Tanh, nn.Identity]))()


def same_size_branch(draw, cin):
    kind = draw(st.sampled_from(["conv", "same", "pool", "identity"]))
    if kind == "conv":
        k = draw(st.sampled_from([1, 3, 5]))
        return nn.Sequential(nn.Conv2d(cin, draw(st.integers(1, 4)), k, padding=k // 2), activation(draw))
    if kind == "same":
        return nn.Conv2d(cin, draw(st.integers(1, 4)), draw(st.integers(1, 4)), padding="same")
    if kind == "pool":
        return nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), nn.Conv2d(cin, 2, 1))
    return nn.Identity()


def residual(draw, cin):
    stride = draw(st.integers(1, 2))
    body = [nn.Conv2d(cin, cin, 3, stride=stride, padding=1), nn.BatchNorm2d(cin), nn.ReLU()]
    if draw(st.booleans()):  # a branching body: Concat inside Residual
        cat = nn.Concat(same_size_branch(draw, cin), same_size_branch(draw, cin))
        c = cat(np.zeros((1, cin, 4, 4), np.float32)).shape[1]
        body += [cat, nn.Conv2d(c, cin, 1)]
    shortcut = nn.Conv2d(cin, cin, 1, stride=stride) if stride > 1 or draw(st.booleans()) else None
    act = draw(st.sampled_from([None, "relu", "tanh"]))
    act = {None: None, "relu": nn.ReLU(), "tanh": nn.Tanh()}[act]
    return nn.Residual(nn.Sequential(*body), shortcut=shortcut, activation=act)


def layer(draw, kind, cin):
    if kind == "conv":
        return conv(draw, cin)
    if kind == "pool":
        return pool(draw)
    if kind == "act":
        return activation(draw)
    if kind == "bn":
        return nn.BatchNorm2d(cin, eps=draw(st.sampled_from([1e-5, 1e-3])))
    if kind == "lrn":
        return nn.LocalResponseNorm(draw(st.sampled_from([1, 3, 5])), alpha=1e-2, beta=0.75, k=2.0)
    if kind == "concat":
        return nn.Concat(*[same_size_branch(draw, cin) for _ in range(draw(st.integers(2, 3)))])
    return residual(draw, cin)


@st.composite
def networks(draw):
    shape = (draw(st.integers(1, 3)), draw(st.integers(5, 12)), draw(st.integers(5, 12)))
    x = np.zeros((1, *shape), np.float32)
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "pool", "act", "bn", "lrn", "concat", "residual"]))
        m = layer(draw, kind, x.shape[1])
        try:
            with no_grad():
                y = m.eval()(x)
        except ValueError:  # too small for this window: leave it out
            continue
        layers.append(m)
        x = y
    h, w = x.shape[2:]
    head = draw(st.sampled_from(["global", "divisor", "flatten"]))
    if head == "global":
        layers.append(nn.AdaptiveAvgPool2d(1))
    elif head == "divisor":
        layers.append(nn.AdaptiveAvgPool2d((draw(st.sampled_from([d for d in range(1, h + 1) if h % d == 0])),
                                            draw(st.sampled_from([d for d in range(1, w + 1) if w % d == 0])))))
    layers.append(nn.Flatten())
    with no_grad():
        features = nn.Sequential(*layers[len(layers) - 2 if head != "flatten" else len(layers) - 1:])(x).shape[1]
    layers.append(nn.Linear(features, 6))
    if draw(st.booleans()):
        layers += [nn.BatchNorm1d(6), nn.Dropout(0.3)]
    layers.append(draw(st.sampled_from([nn.Identity(), nn.Softmax(dim=1), nn.LeakyReLU(0.2)])))
    return nn.Sequential(*layers), shape


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(net=networks(), seed=st.integers(0, 2**16))
def test_random_network_in_onnxruntime_and_back(net, seed, tmp_path_factory):
    model, shape = net
    randomize(model, seed)
    path = export_checked(model, tmp_path_factory.mktemp("net") / "net.onnx", shape)
    loaded = gx.load(path)
    assert_same_state(model, loaded)
    for batch in (1, 7):
        x = inputs(shape, batch, seed)
        with no_grad():
            y = model(x)
            # the same layers, but an adaptive pool may come back as the equal AvgPool2d (another summation order)
            assert rel_err(loaded(x), y) < 1e-6
        assert rel_err(ort_run(path, x), y) < TOL
