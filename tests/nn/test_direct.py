"""The direct convolutions in C (glassnet/nn/functional/fast/_conv_kernels.h) against the reference path.

Every kernel is forced on random geometry (strides, dilations, asymmetric padding, filters that fill the
vector lanes, leave them partly empty or span several blocks of them) and compared with the readable
reference at float64 to rounding, float32 to float32's rounding; the argument checks of the C functions are
probed with wrong sizes, wrong types and non-contiguous arrays. The rules of ``direct_plan`` are pinned on
the layers they were measured on. Where the extension was not built (no C compiler), the kernel tests skip
and the NumPy paths carry the suite; CI builds it and sets GLASSNET_REQUIRE_COMPILED=1 so that a build that
silently failed cannot pass as a skip. Nothing here times anything."""

import os

import numpy as np
import pytest

import glassnet.backend as B
from glassnet import _threads
from glassnet.nn.functional.conv import (
    conv2d_backward,
    conv2d_backward_reference,
    conv2d_forward,
    conv2d_forward_reference,
)
from glassnet.nn.functional.dispatch import paths_taken
from glassnet.nn.functional.fast import compiled, direct
from glassnet.nn.functional.fast import conv as fast_conv

needs_kernels = pytest.mark.skipif(not compiled.AVAILABLE, reason="the C kernels were not built (no C compiler)")


def test_the_kernels_were_built_where_ci_says_they_must_be():
    if os.environ.get("GLASSNET_REQUIRE_COMPILED") != "1":
        pytest.skip("GLASSNET_REQUIRE_COMPILED is not set (CI sets it)")
    assert compiled.AVAILABLE, "setup.py's optional extension glassnet.nn.functional.fast._kernels did not build"


@pytest.fixture
def forced(monkeypatch):
    """Force direct_plan's answer; restore the fast-path and thread settings."""
    threads, fast, enabled = _threads.get_num_threads(), B.fast_paths_enabled(), compiled.ENABLED
    B.set_fast_paths(True)
    compiled.ENABLED = True
    names = {"forward_oc": "fwd_oc", "forward_px": "fwd_px", "weight_grad_oc": "wgrad_oc", "weight_grad_px": "wgrad_px"}
    calls = dict.fromkeys(names.values(), 0)
    for name, key in names.items():
        fn = getattr(direct, name)

        def spy(*args, _fn=fn, _key=key):
            calls[_key] += 1
            return _fn(*args)

        monkeypatch.setattr(direct, name, spy)

    def force(plan):
        monkeypatch.setattr(fast_conv, "direct_plan", plan)

    yield force, calls
    _threads.set_num_threads(threads)
    B.set_fast_paths(fast)
    compiled.ENABLED = enabled


def random_layer(rng, dtype, stride_one=False):
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    sh, sw = (1, 1) if stride_one else tuple(int(v) for v in rng.integers(1, 4, 2))
    dh, dw = (int(v) for v in rng.integers(1, 3, 2))
    pads = tuple(int(v) for v in rng.integers(0, 4, 4))
    H = max(dh * (kh - 1) + 1 - pads[0] - pads[1], 1) + int(rng.integers(0, 12))
    W = max(dw * (kw - 1) + 1 - pads[2] - pads[3], 1) + int(rng.integers(0, 20))
    N, C = int(rng.integers(1, 5)), int(rng.integers(1, 7))
    F_out = int(rng.choice([1, 3, 6, 8, 16, 17, 20]))
    X = rng.standard_normal((N, C, H, W)).astype(dtype)
    F = rng.standard_normal((F_out, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(F_out).astype(dtype) if rng.random() < 0.7 else None
    return X, F, b, (sh, sw), pads, (dh, dw)


def check(rng, X, F, b, stride, pads, dil, rtol, atol):
    with paths_taken() as taken:
        Z, saved = conv2d_forward(X, F, b, stride, pads, dil)
        dZ = rng.standard_normal(Z.shape).astype(X.dtype)
        got = conv2d_backward(dZ, saved)
    assert taken == {"conv2d_forward": {"fast"}, "conv2d_backward": {"fast"}}
    X64, F64 = X.astype(np.float64), F.astype(np.float64)
    b64 = None if b is None else b.astype(np.float64)
    Zr, saved_r = conv2d_forward_reference(X64, F64, b64, stride, pads, dil)
    want = conv2d_backward_reference(dZ.astype(np.float64), saved_r)
    assert Z.dtype == X.dtype
    scale = max(1.0, float(np.abs(Zr).max()))
    np.testing.assert_allclose(Z, Zr, rtol=rtol, atol=atol * scale)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            assert g.shape == w.shape and g.dtype == X.dtype
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol * max(1.0, float(np.abs(w).max())))


PLANS = [("oc", "oc", "oc"), ("px", "oc", "px"), ("oc", None, "px"), ("px", "px", "oc"), (None, "oc", None),
         (None, "px", None), ("px", "px", "px")]


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("plan", PLANS, ids=["-".join(str(p) for p in plan) for plan in PLANS])
def test_forced_direct_kernels_match_the_reference(plan, dtype, forced):
    """Each kernel on random layers: pixels in the lanes only where the rule allows it (stride 1 along x for
    the forward and the weight gradient, stride 1 for dX, whose full convolution it computes)."""
    force, calls = forced

    def rule(C, F_out, k, inp, out, stride, dilation, dt):
        fwd, wgrad, dx = plan
        fwd = fwd if fwd != "px" or stride[1] == 1 else "oc"
        wgrad = wgrad if wgrad != "px" or stride[1] == 1 else "oc"
        return fwd, wgrad, (dx if stride == (1, 1) else None)

    force(rule)
    rng = np.random.default_rng([PLANS.index(plan), np.dtype(dtype).itemsize])
    tol = (1e-10, 1e-12) if dtype == np.float64 else (2e-4, 2e-5)
    for i in range(30):
        check(rng, *random_layer(rng, dtype, stride_one=i % 3 == 0), *tol)
    assert calls["fwd_oc"] > 0 or "oc" not in (plan[0], plan[2])  # px falls back to oc at strides > 1
    assert (calls["fwd_px"] > 0) == ("px" in (plan[0], plan[2]))
    assert calls["wgrad_oc"] > 0 or plan[1] != "oc"  # px falls back to oc at strides > 1
    assert (calls["wgrad_px"] > 0) == (plan[1] == "px")


@needs_kernels
def test_the_lanes_of_large_layers_and_every_thread_count(forced):
    """Several blocks of lanes and of rows, chunks over two threads: the same numbers as the reference."""
    force, calls = forced
    force(lambda C, F_out, k, inp, out, stride, dilation, dt: ("px" if out[1] >= 16 else "oc",
                                                               "px" if F_out < 8 else "oc", "px"))
    rng = np.random.default_rng(5)
    for threads in (1, 2):
        _threads.set_num_threads(threads)
        for N, C, H, F_out, k, p in ((9, 6, 14, 16, 5, 0), (5, 3, 33, 20, 3, 1), (4, 17, 9, 40, 3, 1),
                                     (7, 1, 28, 6, 5, 2), (3, 2, 21, 7, 4, 1)):
            X = rng.standard_normal((N, C, H, H))
            F = rng.standard_normal((F_out, C, k, k))
            check(rng, X, F, rng.standard_normal(F_out), (1, 1), (p,) * 4, (1, 1), 1e-10, 1e-12)
    assert calls["fwd_oc"] and calls["fwd_px"] and calls["wgrad_oc"] and calls["wgrad_px"]


def test_the_measured_rules_pick_each_kernel_where_it_won(monkeypatch):
    """docs/performance.md's table: LeNet-5's and ResNet-20's layers, and AlexNet's first on the columns."""
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "AVAILABLE", True)
    plan = fast_conv.direct_plan
    f32 = np.float32
    assert plan(1, 6, (5, 5), (28, 28), (28, 28), (1, 1), (1, 1), f32) == ("px", "px", "px")  # LeNet-5 conv1
    assert plan(6, 16, (5, 5), (14, 14), (10, 10), (1, 1), (1, 1), f32) == ("oc", "oc", "px")  # LeNet-5 conv2
    assert plan(16, 16, (3, 3), (32, 32), (32, 32), (1, 1), (1, 1), f32) == ("px", "oc", "px")  # ResNet-20 stage 1
    assert plan(16, 32, (3, 3), (32, 32), (16, 16), (2, 2), (1, 1), f32) == ("oc", "oc", None)  # stride 2
    assert plan(64, 64, (3, 3), (8, 8), (8, 8), (1, 1), (1, 1), f32) == ("oc", "oc", "oc")  # ResNet-20 stage 3
    assert plan(3, 64, (11, 11), (224, 224), (55, 55), (4, 4), (1, 1), f32) == (None, None, None)  # AlexNet conv1
    monkeypatch.setattr(compiled, "ENABLED", False)
    assert plan(6, 16, (5, 5), (14, 14), (10, 10), (1, 1), (1, 1), f32) == (None, None, None)


@needs_kernels
def test_python_and_c_agree_on_the_block_sizes():
    k = compiled.kernels
    assert (k.LANES_FLOAT32, k.LANES_FLOAT64) == (direct.lanes(np.float32), direct.lanes(np.float64))
    assert k.PX_ROWS == direct.PX_ROWS
    assert direct.px_block(10, 14, np.float32) == (12, 16) and direct.px_block(8, 9, np.float64) == (8, 16)


@needs_kernels
def test_the_c_functions_refuse_what_would_read_or_write_outside_an_array():
    k = compiled.kernels

    x = np.zeros((1, 2, 6, 6), np.float32)
    wp, bp = direct.pack_filters(np.zeros((4, 2, 3, 3), np.float32), None)
    z = np.zeros((1, 4, 4, 4), np.float32)
    dims = (1, 2, 6, 6, 4, 3, 3, 4, 4, 1, 1, 1, 1)
    k.fwd_oc(x, wp, bp, z, dims)  # the right sizes pass
    with pytest.raises(ValueError, match="the output holds 63 values, the geometry needs 64"):
        k.fwd_oc(x, wp, bp, z.reshape(-1)[:63], dims)
    with pytest.raises(ValueError, match="windows reach past the padded input"):
        k.fwd_oc(x, wp, bp, z, (1, 2, 6, 6, 4, 3, 3, 5, 4, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="float32 or float64 like the others"):
        k.fwd_oc(x, wp.astype(np.float64), bp, z, dims)
    with pytest.raises(ValueError, match="float32 or float64"):
        k.fwd_oc(x.astype(np.int32), wp, bp, z, dims)
    with pytest.raises(ValueError, match=">= 1"):
        k.fwd_oc(x, wp, bp, z, (1, 2, 6, 6, 4, 3, 3, 4, 4, 0, 1, 1, 1))
    with pytest.raises((ValueError, BufferError)):
        k.fwd_oc(x[:, :, :, ::2], wp, bp, z, dims)  # not contiguous
    with pytest.raises(ValueError, match="the packed weight gradient"):
        k.wgrad_oc(x, z, np.zeros(10, np.float32), (1, 2, 6, 6, 4, 4, 4, 3, 3, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="the weight gradient holds 10 values, the geometry needs 72"):
        k.wgrad_px(np.zeros((1, 2, 6, 20), np.float32), np.zeros((1, 4, 4, 16), np.float32),
                   np.zeros(10, np.float32), (1, 2, 6, 20, 4, 4, 16, 3, 3, 1, 1, 1))
    with pytest.raises(ValueError, match="rows of dZ must be a multiple of 16"):
        k.wgrad_px(np.zeros((1, 2, 6, 20), np.float32), np.zeros(64, np.float32), np.zeros(72, np.float32),
                   (1, 2, 6, 20, 4, 4, 4, 3, 3, 1, 1, 1))
    with pytest.raises(ValueError, match="multiple of 4 rows and 16 columns"):
        k.fwd_px(np.zeros((1, 2, 6, 20), np.float32), np.zeros((4, 2, 3, 3), np.float32), np.zeros(4, np.float32),
                 np.zeros(256, np.float32), (1, 2, 6, 20, 4, 3, 3, 4, 8, 1, 1, 1))
    with pytest.raises(TypeError, match="the geometry must be a tuple of 12 integers"):
        k.fwd_px(x, np.zeros((4, 2, 3, 3), np.float32), np.zeros(4, np.float32), np.zeros(256, np.float32), (1, 2))
    with pytest.raises(ValueError, match="windows reach past the padded input"):
        k.fwd_px(x, np.zeros((4, 2, 3, 3), np.float32), np.zeros(4, np.float32), np.zeros(256, np.float32),
                 (1, 2, 6, 6, 4, 3, 3, 4, 16, 1, 1, 1))
    readonly = np.zeros((1, 4, 4, 4), np.float32)
    readonly.setflags(write=False)
    with pytest.raises((ValueError, BufferError, TypeError)):
        k.fwd_oc(x, wp, bp, readonly, dims)
