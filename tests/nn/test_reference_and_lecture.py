"""The second oracle (naive loops) and the lecture's worked examples."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glassnet.nn as nn
from glassnet.nn.functional.conv import conv2d_backward, conv2d_forward
from glassnet.nn.functional.naive import conv2d_backward_naive, conv2d_naive, pool2d_naive
from glassnet.nn.functional.pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_conv_matches_naive_loops(seed):
    rng = np.random.default_rng(seed)
    kh, kw = rng.integers(1, 5, 2)
    sh, sw = rng.integers(1, 4, 2)
    dh, dw = rng.integers(1, 3, 2)
    ph, pw = rng.integers(0, 3, 2)
    H, W = dh * (kh - 1) + 1 + rng.integers(0, 5), dw * (kw - 1) + 1 + rng.integers(0, 5)
    X = rng.standard_normal((2, int(rng.integers(1, 4)), H, W))
    F = rng.standard_normal((int(rng.integers(1, 4)), X.shape[1], kh, kw))
    b = rng.standard_normal(F.shape[0])
    args = ((sh, sw), (ph, pw), (dh, dw))
    Z, ctx = conv2d_forward(X, F, b, (sh, sw), (ph, ph, pw, pw), (dh, dw))
    np.testing.assert_allclose(Z, conv2d_naive(X, F, b, *args), rtol=1e-10, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)
    for got, want in zip(conv2d_backward(dZ, ctx), conv2d_backward_naive(dZ, X, F, *args), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1), (2, 1)])
def test_pooling_matches_naive_loops(kind, k, s, rng):
    X = np.round(rng.standard_normal((2, 3, 7, 8)) * 2) / 2  # with ties
    fwd, bwd = (max_pool2d_forward, max_pool2d_backward) if kind == "max" else (avg_pool2d_forward, avg_pool2d_backward)
    Y, ctx = fwd(X, (k, k), (s, s))
    Yn, dXn = pool2d_naive(X, k, s, kind)
    np.testing.assert_allclose(Y, Yn, rtol=1e-12)
    np.testing.assert_allclose(bwd(np.ones_like(Y), ctx), dXn, rtol=1e-12)


def test_lecture_conv_example_3x3_by_2x2(rng):
    """z11 = X11F11 + X12F12 + X21F21 + X22F22, ...; dJ/dF = conv(X, dJ/dZ); dJ/dX = full conv with rot180(F)."""
    X = rng.standard_normal((3, 3))
    F = rng.standard_normal((2, 2))
    Z, ctx = conv2d_forward(X[None, None], F[None, None], None)
    Z = Z[0, 0]
    assert Z[0, 0] == pytest.approx(X[0, 0] * F[0, 0] + X[0, 1] * F[0, 1] + X[1, 0] * F[1, 0] + X[1, 1] * F[1, 1])
    assert Z[0, 1] == pytest.approx(X[0, 1] * F[0, 0] + X[0, 2] * F[0, 1] + X[1, 1] * F[1, 0] + X[1, 2] * F[1, 1])
    assert Z[1, 0] == pytest.approx(X[1, 0] * F[0, 0] + X[1, 1] * F[0, 1] + X[2, 0] * F[1, 0] + X[2, 1] * F[1, 1])
    assert Z[1, 1] == pytest.approx(X[1, 1] * F[0, 0] + X[1, 2] * F[0, 1] + X[2, 1] * F[1, 0] + X[2, 2] * F[1, 1])
    dZ = rng.standard_normal((2, 2))
    dX, dF, _ = conv2d_backward(dZ[None, None], ctx)
    # dJ/dF = X correlated with dJ/dZ (a "valid" correlation, 2x2 result)
    dF_rule = np.array([[(X[i : i + 2, j : j + 2] * dZ).sum() for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(dF[0, 0], dF_rule, rtol=1e-12)
    # dJ/dX = full convolution of dJ/dZ with F rotated 180 degrees
    padded = np.pad(dZ, 1)
    rot = F[::-1, ::-1]
    dX_rule = np.array([[(padded[i : i + 2, j : j + 2] * rot).sum() for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(dX[0, 0], dX_rule, rtol=1e-12)
    # written out: dJ/dX11 = dz11 F11, dJ/dX22 = dz11 F22 + dz12 F21 + dz21 F12 + dz22 F11
    assert dX[0, 0, 0, 0] == pytest.approx(dZ[0, 0] * F[0, 0])
    assert dX[0, 0, 1, 1] == pytest.approx(dZ[0, 0] * F[1, 1] + dZ[0, 1] * F[1, 0] + dZ[1, 0] * F[0, 1] + dZ[1, 1] * F[0, 0])


def test_lecture_parameter_count_280():
    """10 filters of 3x3x3 on a 100x100x3 image: 10 x (3x3x3 + 1) = 280, whatever the image size."""
    conv = nn.Conv2d(3, 10, 3)
    assert conv.num_parameters() == 10 * (3 * 3 * 3 + 1) == 280
    assert conv.weight.shape == (10, 3, 3, 3) and conv.bias.shape == (10,)
    y = conv(np.zeros((1, 3, 100, 100), np.float32))
    assert y.shape == (1, 10, 98, 98)
    assert nn.Conv2d(3, 10, 3, padding=1)(np.zeros((1, 3, 100, 100), np.float32)).shape == (1, 10, 100, 100)


def test_stride_dilates_dz_before_the_full_convolution(rng):
    """With stride 2 the backward equals the stride-1 backward of a dZ with zeros between its entries."""
    X = rng.standard_normal((1, 1, 5, 5))
    F = rng.standard_normal((1, 1, 3, 3))
    _, ctx2 = conv2d_forward(X, F, None, stride=2)
    dZ = rng.standard_normal((1, 1, 2, 2))
    dX2, dF2, _ = conv2d_backward(dZ, ctx2)
    _, ctx1 = conv2d_forward(X, F, None, stride=1)
    dZ_dilated = np.zeros((1, 1, 3, 3))
    dZ_dilated[:, :, ::2, ::2] = dZ
    dX1, dF1, _ = conv2d_backward(dZ_dilated, ctx1)
    np.testing.assert_allclose(dX2, dX1, rtol=1e-12)
    np.testing.assert_allclose(dF2, dF1, rtol=1e-12)


def test_max_pool_routes_to_first_argmax_on_ties():
    X = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    Y, ctx = max_pool2d_forward(X, (2, 2), (2, 2))
    np.testing.assert_array_equal(max_pool2d_backward(np.array([[[[5.0]]]]), ctx)[0, 0], [[5.0, 0.0], [0.0, 0.0]])


def test_max_pool_pads_with_minus_infinity():
    X = -np.ones((1, 1, 2, 2))
    Y, _ = max_pool2d_forward(X, (2, 2), (1, 1), (1, 1))
    assert (Y == -1).all()  # zero padding would have given 0
