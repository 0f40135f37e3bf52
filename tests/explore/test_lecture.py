"""The lecture's arithmetic (glassnet.explore.lecture) equals glassnet's own layers, value by value."""

import numpy as np
import pytest

from glassnet import nn
from glassnet.explore import lecture
from glassnet.explore.compute import conv_pads


def _conv_cases():
    # (c_in, c_out, size, kernel, stride, padding, dilation, bias)
    return [
        (1, 2, (7, 7), 3, 1, 0, 1, True),
        (3, 4, (9, 8), (3, 2), (2, 1), (1, 2), 1, True),
        (2, 3, (10, 10), 3, 1, 2, 2, False),
        (2, 2, (6, 7), 4, 1, "same", 1, True),
        (2, 3, (11, 9), 5, 3, 2, (1, 2), True),
    ]


@pytest.mark.parametrize("case", _conv_cases())
def test_conv_pixel_equals_conv2d_forward_everywhere(case, rng):
    c_in, c_out, (h, w), k, s, p, d, bias = case
    conv = nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, bias=bias).to(np.float64)
    x = rng.standard_normal((1, c_in, h, w))
    y = conv(x)[0]
    for co in range(c_out):
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                r = lecture.conv_pixel(x[0], conv.weight.data, None if conv.bias is None else conv.bias.data,
                                       conv.stride, conv_pads(conv), conv.dilation, co, i, j)
                assert r["out_size"] == list(y.shape[1:])
                assert r["total"] == pytest.approx(y[co, i, j], rel=1e-12, abs=1e-12)
                products = np.asarray(r["products"])
                assert products.sum() + r["bias"] == pytest.approx(r["total"], rel=1e-12, abs=1e-12)
                assert np.allclose(products, np.asarray(r["window"]) * conv.weight.data[co])


def test_conv_pixel_marks_padding_and_refuses_outside(rng):
    x = rng.standard_normal((1, 4, 4))
    r = lecture.conv_pixel(x, np.ones((1, 1, 3, 3)), None, (1, 1), (1, 1, 1, 1), (1, 1), 0, 0, 0)
    assert r["rows"] == [-1, 0, 1] and r["cols"] == [-1, 0, 1]
    assert r["inside"][0] == [False, False, False] and r["inside"][1] == [False, True, True]
    assert r["window"][0][0] == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="row must be in 0..3"):
        lecture.conv_pixel(x, np.ones((1, 1, 3, 3)), None, (1, 1), (1, 1, 1, 1), (1, 1), 0, 4, 0)


@pytest.mark.parametrize("kernel,stride,padding,ceil", [(2, 2, 0, False), (3, 2, 1, False), (3, 2, 1, True),
                                                         ((3, 2), (1, 2), (1, 0), False), (2, 2, 0, True)])
def test_max_pool_pixel_equals_maxpool2d(kernel, stride, padding, ceil, rng):
    pool = nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil)
    x = rng.standard_normal((1, 2, 7, 9))
    y = pool(x)[0]
    for c in range(2):
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                r = lecture.pool_pixel(x[0], "max", pool.kernel_size, pool.stride, pool.padding, c, i, j,
                                       ceil_mode=ceil)
                assert r["total"] == y[c, i, j]
                a, b = r["argmax"]
                assert r["window"][a][b] == y[c, i, j]


def test_max_pool_routing_is_where_backward_sends_the_gradient(rng):
    pool = nn.MaxPool2d(2)
    x = rng.standard_normal((1, 1, 6, 6))
    pool(x)
    dy = np.zeros((1, 1, 3, 3))
    dy[0, 0, 1, 2] = 1.0
    dx = pool.backward(dy)[0, 0]
    r = lecture.pool_pixel(x[0], "max", (2, 2), (2, 2), (0, 0), 0, 1, 2)
    a, b = r["argmax"]
    assert dx[r["rows"][a], r["cols"][b]] == 1.0 and dx.sum() == 1.0


@pytest.mark.parametrize("padding,include,ceil", [(0, True, False), (1, True, False), (1, False, False),
                                                  (1, True, True), (1, False, True)])
def test_avg_pool_pixel_equals_avgpool2d(padding, include, ceil, rng):
    pool = nn.AvgPool2d(3, 2, padding, ceil_mode=ceil, count_include_pad=include)
    x = rng.standard_normal((1, 2, 8, 7))
    y = pool(x)[0]
    for c in range(2):
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                r = lecture.pool_pixel(x[0], "avg", pool.kernel_size, pool.stride, pool.padding, c, i, j,
                                       ceil_mode=ceil, count_include_pad=include)
                assert r["total"] == pytest.approx(y[c, i, j], rel=1e-12, abs=1e-12)


def test_adaptive_pool_pixel_equals_adaptiveavgpool2d(rng):
    pool = nn.AdaptiveAvgPool2d((3, 2))
    x = rng.standard_normal((1, 2, 7, 5))
    y = pool(x)[0]
    for i in range(3):
        for j in range(2):
            r = lecture.adaptive_pool_pixel(x[0], (3, 2), 1, i, j)
            assert r["total"] == pytest.approx(y[1, i, j], rel=1e-12)


def test_linear_unit_equals_linear(rng):
    lin = nn.Linear(30, 5).to(np.float64)
    x = rng.standard_normal((1, 30))
    y = lin(x)[0]
    for j in range(5):
        r = lecture.linear_unit(x[0], lin.weight.data, lin.bias.data, j)
        assert r["total"] == pytest.approx(y[j], rel=1e-12)
        assert len(r["largest"]) == 16


@pytest.mark.parametrize("k,s,p,d", [(3, 1, 0, 1), (3, 2, 1, 1), (2, 1, 1, 2), ((3, 2), (2, 1), (1, 0), 1)])
def test_weight_gradient_rule_equals_conv2d_backward(k, s, p, d, rng):
    conv = nn.Conv2d(2, 3, k, stride=s, padding=p, dilation=d).to(np.float64)
    x = rng.standard_normal((1, 2, 9, 8))
    y = conv(x)
    dz = rng.standard_normal(y.shape)
    conv.zero_grad()
    conv.backward(dz)
    for co in range(3):
        for ci in range(2):
            r = lecture.weight_gradient(x[0], dz[0], conv.stride, conv_pads(conv), conv.dilation, conv.kernel_size,
                                        ci, co, 0, 0)
            assert np.allclose(r["dF"], conv.weight.grad[co, ci], rtol=1e-12, atol=1e-12)
            assert r["entry_value"] == pytest.approx(np.sum(r["products"]), rel=1e-12)
