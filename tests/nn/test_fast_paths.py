"""The fast paths (chunked, threaded convolution; offset-loop pooling; ReLU on its output; chunked batch norm;
Linear's row split) against the readable reference paths they replace. Float64 results must agree to rounding.
The tests switch the fast paths on themselves (``knobs``), whatever ``GLASSNET_FAST`` says, and every comparison
checks with ``paths_taken`` that the fast path really ran: a dispatcher that stops taking it fails them instead
of comparing the reference with itself. Nothing here times anything."""

import numpy as np
import pytest

import glassnet.backend as B
from glassnet import _threads
from glassnet.models import lenet5
from glassnet.nn import Conv2d, Residual, Sequential
from glassnet.nn.conv import skip_input_gradient
from glassnet.nn.functional import activation, linear, norm, pooling
from glassnet.nn.functional.conv import (
    conv2d_backward,
    conv2d_backward_reference,
    conv2d_forward,
    conv2d_forward_reference,
)
from glassnet.nn.functional.dispatch import paths_taken
from glassnet.nn.functional.fast import compiled
from glassnet.nn.functional.fast import conv as _conv_fast
from glassnet.nn.functional.fast import linear as fast_linear
from glassnet.nn.functional.fast import norm as fast_norm
from glassnet.nn.functional.naive import conv2d_backward_naive, conv2d_naive


@pytest.fixture
def knobs():
    """Restore the tuning knobs a test turns."""
    names = ("CHUNK_BYTES", "THIN_CHUNK_BYTES", "DX_METHOD", "SHARED_PADDING", "SHORT_K_BLOCK", "BLOCK_MAX_ROWS",
             "COL2IM_MIN_CHANNELS")
    saved = {name: getattr(_conv_fast, name) for name in names}
    threads, fast, c_kernels = _threads.get_num_threads(), B.fast_paths_enabled(), compiled.ENABLED
    B.set_fast_paths(True)  # these tests compare the fast paths: they run whatever GLASSNET_FAST says
    compiled.ENABLED = False  # the NumPy paths, every one of them (tests that take the C kernels switch them on)
    yield
    compiled.ENABLED = c_kernels
    for name, value in saved.items():
        setattr(_conv_fast, name, value)
    _threads.set_num_threads(threads)
    B.set_fast_paths(fast)


def random_conv(rng, dtype=np.float64):
    kh, kw = (int(v) for v in rng.integers(1, 6, 2))
    sh, sw = (int(v) for v in rng.integers(1, 4, 2))
    dh, dw = (int(v) for v in rng.integers(1, 3, 2))
    pads = tuple(int(v) for v in rng.integers(0, 4, 4))  # (top, bottom, left, right), asymmetric
    H = dh * (kh - 1) + 1 + int(rng.integers(0, 9)) - pads[0] - pads[1]
    W = dw * (kw - 1) + 1 + int(rng.integers(0, 9)) - pads[2] - pads[3]
    H, W = max(H, 1), max(W, 1)
    if H + pads[0] + pads[1] < dh * (kh - 1) + 1:
        pads = (pads[0], pads[1] + dh * (kh - 1) + 1 - H - pads[0] - pads[1], pads[2], pads[3])
    if W + pads[2] + pads[3] < dw * (kw - 1) + 1:
        pads = (pads[0], pads[1], pads[2], pads[3] + dw * (kw - 1) + 1 - W - pads[2] - pads[3])
    N, C, F_out = (int(v) for v in rng.integers(1, 6, 3))
    X = rng.standard_normal((N, C, H, W)).astype(dtype)
    F = rng.standard_normal((F_out, C, kh, kw)).astype(dtype)
    b = rng.standard_normal(F_out).astype(dtype) if rng.random() < 0.7 else None
    return X, F, b, (sh, sw), pads, (dh, dw)


def assert_same_gradients(got, want, rtol, atol):
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("method", ["auto", "full", "col2im"])
@pytest.mark.parametrize("chunk_bytes", [1, 2000, 1 << 21])
def test_conv_fast_path_matches_reference(method, chunk_bytes, shared, knobs):
    """Random strides, dilations, asymmetric padding; one image per chunk up to the whole batch in one;
    rows with their own padding or sharing it; products with a short inner dimension in blocks of 8 columns."""
    _conv_fast.CHUNK_BYTES = _conv_fast.THIN_CHUNK_BYTES = chunk_bytes
    _conv_fast.DX_METHOD = method
    _conv_fast.SHARED_PADDING = shared
    _conv_fast.SHORT_K_BLOCK = 8
    _conv_fast.BLOCK_MAX_ROWS = 64 if shared else 0  # blocks of 256 columns for the random (small) layers
    _conv_fast.COL2IM_MIN_CHANNELS = 3 if shared else 1 << 30  # col2im by offset (from 3 channels) or in one product
    rng = np.random.default_rng([["auto", "full", "col2im"].index(method), chunk_bytes])
    for _ in range(25):
        X, F, b, stride, pads, dil = random_conv(rng)
        with paths_taken() as taken:
            Z, saved = conv2d_forward(X, F, b, stride, pads, dil)
            Zr, _ = conv2d_forward_reference(X, F, b, stride, pads, dil)
            np.testing.assert_allclose(Z, Zr, rtol=1e-10, atol=1e-12)
            dZ = rng.standard_normal(Z.shape)
            saved = saved._replace(need_dX=bool(rng.random() < 0.8))
            got = conv2d_backward(dZ, saved)
            assert_same_gradients(got, conv2d_backward_reference(dZ, saved), 1e-10, 1e-12)
        assert taken == {"conv2d_forward": {"fast"}, "conv2d_backward": {"fast"}}


@pytest.mark.parametrize("method", ["auto", "full", "col2im"])
def test_rows_sharing_their_padding_read_only_their_own_inputs_and_zeros(method, knobs):
    """Stride 1: the buffer's rows are W + max(left, right) wide, so windows wrap into the next row's padding.

    Large inputs (x 1000): a window that read a neighbouring row's input instead of a zero would show up in
    the outputs and in all three gradients; compared with the naive loops on np.pad(X), float64, to rounding."""
    _conv_fast.DX_METHOD = method
    rng = np.random.default_rng(["auto", "full", "col2im"].index(method) + 40)
    checked_shared = 0
    for _ in range(30):
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        dh, dw = (int(v) for v in rng.integers(1, 3, 2))
        pads = tuple(int(v) for v in rng.integers(0, 4, 4))
        H = max(dh * (kh - 1) + 1 - pads[0] - pads[1], 1) + int(rng.integers(0, 7))
        W = max(dw * (kw - 1) + 1 - pads[2] - pads[3], 1) + int(rng.integers(0, 7))
        N, C, F_out = (int(v) for v in rng.integers(1, 5, 3))
        X = rng.standard_normal((N, C, H, W)) * 1e3
        F = rng.standard_normal((F_out, C, kh, kw))
        b = rng.standard_normal(F_out)
        Ho, Wo, Wq, _, _ = _conv_fast._layout(H, W, pads, (kh, kw), (1, 1), (dh, dw))
        checked_shared += Wq < W + pads[2] + pads[3]
        Xp = np.pad(X, ((0, 0), (0, 0), pads[:2], pads[2:]))
        want_Z = conv2d_naive(Xp, F, b, (1, 1), (0, 0), (dh, dw))
        dZ = rng.standard_normal(want_Z.shape)
        dXp, want_dF, want_db = conv2d_backward_naive(dZ, Xp, F, (1, 1), (0, 0), (dh, dw))
        want_dX = dXp[:, :, pads[0] : pads[0] + H, pads[2] : pads[2] + W]
        with paths_taken() as taken:
            Z, saved = conv2d_forward(X, F, b, (1, 1), pads, (dh, dw))
            np.testing.assert_allclose(Z, want_Z, rtol=1e-10, atol=1e-9)
            assert_same_gradients(conv2d_backward(dZ, saved), (want_dX, want_dF, want_db), 1e-10, 1e-9)
        assert taken == {"conv2d_forward": {"fast"}, "conv2d_backward": {"fast"}}
    assert checked_shared >= 10  # a third of the cases at least really had rows narrower than the padded width


def test_asymmetric_padding_equals_convolving_the_padded_input(knobs):
    """An independent check of (top, bottom, left, right) padding: the naive loops on np.pad(X)."""
    rng = np.random.default_rng(21)
    for _ in range(40):
        X, F, b, stride, pads, dil = random_conv(rng)
        Xp = np.pad(X, ((0, 0), (0, 0), pads[:2], pads[2:]))
        want_Z = conv2d_naive(Xp, F, b, stride, (0, 0), dil)
        dZ = rng.standard_normal(want_Z.shape)
        dXp, want_dF, want_db = conv2d_backward_naive(dZ, Xp, F, stride, (0, 0), dil)
        want_dX = dXp[:, :, pads[0] : pads[0] + X.shape[2], pads[2] : pads[2] + X.shape[3]]
        for fast in (True, False):
            B.set_fast_paths(fast)
            with paths_taken() as taken:
                Z, saved = conv2d_forward(X, F, b, stride, pads, dil)
                np.testing.assert_allclose(Z, want_Z, rtol=1e-10, atol=1e-12)
                got = conv2d_backward(dZ, saved)
            want = (want_dX, want_dF, want_db if b is not None else None)
            assert_same_gradients(got, want, 1e-10, 1e-12)
            path = "fast" if fast else "reference"
            assert taken == {"conv2d_forward": {path}, "conv2d_backward": {path}}


def test_conv_fast_path_float32_keeps_dtype_and_accuracy(knobs):
    rng = np.random.default_rng(7)
    for _ in range(10):
        X, F, b, stride, pads, dil = random_conv(rng, np.float32)
        with paths_taken() as taken:
            Z, saved = conv2d_forward(X, F, b, stride, pads, dil)
            Zr, _ = conv2d_forward_reference(X, F, b, stride, pads, dil)
            assert Z.dtype == np.float32
            np.testing.assert_allclose(Z, Zr, rtol=1e-4, atol=1e-5)
            dZ = rng.standard_normal(Z.shape).astype(np.float32)
            assert_same_gradients(conv2d_backward(dZ, saved), conv2d_backward_reference(dZ, saved), 1e-4, 1e-4)
        assert taken == {"conv2d_forward": {"fast"}, "conv2d_backward": {"fast"}}


def test_conv_results_do_not_depend_on_the_thread_count(knobs):
    """Partial sums are kept per task and added in task order: bit-for-bit the same with 1 or 2 threads."""
    _conv_fast.CHUNK_BYTES = _conv_fast.THIN_CHUNK_BYTES = 1  # one image per chunk, many tasks
    rng = np.random.default_rng(3)
    X = rng.standard_normal((13, 3, 9, 8))
    F = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    dZ = rng.standard_normal((13, 4, 9, 8))
    results = []
    for threads in (1, 2):
        _threads.set_num_threads(threads)
        with paths_taken() as taken:
            Z, saved = conv2d_forward(X, F, b, 1, 1)
            results.append((Z,) + conv2d_backward(dZ, saved))
        assert taken == {"conv2d_forward": {"fast"}, "conv2d_backward": {"fast"}}
    for a, c in zip(*results, strict=True):
        np.testing.assert_array_equal(a, c)


def test_empty_batches():
    Z, saved = conv2d_forward(np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.zeros(3), 1, 1)
    assert Z.shape == (0, 3, 5, 5)
    dX, dF, db = conv2d_backward(Z, saved)
    assert dX.shape == (0, 2, 5, 5) and not dF.any() and not db.any()
    Y, saved = pooling.max_pool2d_forward(np.zeros((0, 2, 4, 4)), (2, 2), (2, 2))
    assert Y.shape == (0, 2, 2, 2) and pooling.max_pool2d_backward(Y, saved).shape == (0, 2, 4, 4)
    assert activation.relu_forward(np.zeros((0, 3)))[0].shape == (0, 3)


def test_conv_other_dtypes_take_the_reference_path():
    """Object arrays (glassnet.explain runs the layer on SymPy symbols) and integers go the readable way."""
    X = np.arange(1, 10, dtype=object).reshape(1, 1, 3, 3)
    F = np.ones((1, 1, 2, 2), dtype=object)
    with paths_taken() as taken:
        Z, saved = conv2d_forward(X, F, None)
    assert taken == {"conv2d_forward": {"reference"}} and Z.dtype == object
    assert Z[0, 0].tolist() == [[12, 16], [24, 28]]
    dX, dF, db = conv2d_backward(np.ones_like(Z), saved)
    assert dX[0, 0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]] and db is None


def test_conv_switched_off_fast_paths_use_the_reference(knobs):
    B.set_fast_paths(False)
    X, F = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    with paths_taken() as taken:
        Z, saved = conv2d_forward(X, F, np.zeros(2))
    assert taken == {"conv2d_forward": {"reference"}} and Z.shape == (1, 2, 2, 2)


def test_conv_mixed_dtype_gradient_falls_back_to_the_reference(knobs):
    rng = np.random.default_rng(5)
    X, F = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    Z, saved = conv2d_forward(X, F, None, 2, 1)
    dZ32 = rng.standard_normal(Z.shape).astype(np.float32)
    with paths_taken() as taken:
        got = conv2d_backward(dZ32, saved)
    assert taken == {"conv2d_backward": {"reference"}}
    assert_same_gradients(got, conv2d_backward_reference(dZ32, saved), 1e-12, 1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_fast_path_matches_reference(kind, knobs):
    rng = np.random.default_rng(11 if kind == "max" else 12)
    fwd, bwd = {
        "max": (pooling.max_pool2d_forward, pooling.max_pool2d_backward),
        "avg": (pooling.avg_pool2d_forward, pooling.avg_pool2d_backward),
    }[kind]
    ref_fwd, ref_bwd = {
        "max": (pooling.max_pool2d_forward_reference, pooling.max_pool2d_backward_reference),
        "avg": (pooling.avg_pool2d_forward_reference, pooling.avg_pool2d_backward_reference),
    }[kind]
    for _ in range(60):
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        padding = (int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1)))
        ceil_mode = bool(rng.random() < 0.4)
        X = np.round(rng.standard_normal((2, 3, kh + int(rng.integers(0, 7)), kw + int(rng.integers(0, 7)))) * 2) / 2
        extra = (bool(rng.random() < 0.5),) if kind == "avg" else ()
        with paths_taken() as taken:
            Y, saved = fwd(X, (kh, kw), stride, padding, ceil_mode, *extra)
            dY = rng.standard_normal(Y.shape)
            dX = bwd(dY, saved)
        assert taken == {f"{kind}_pool2d_forward": {"fast"}, f"{kind}_pool2d_backward": {"fast"}}
        Yr, saved_r = ref_fwd(X, (kh, kw), stride, padding, ceil_mode, *extra)
        np.testing.assert_allclose(Y, Yr, rtol=1e-12, atol=1e-14)
        if kind == "max":
            np.testing.assert_array_equal(saved.arg, saved_r.arg)  # the same argmax, ties to the first
        np.testing.assert_allclose(dX, ref_bwd(dY, saved_r), rtol=1e-12, atol=1e-14)


def test_batch_split_pooling_and_relu_equal_the_whole_batch(monkeypatch, knobs):
    """Pooling and ReLU split large batches over the threads: force the split on a small one."""
    _threads.set_num_threads(2)
    rng = np.random.default_rng(4)
    X = np.round(rng.standard_normal((7, 3, 9, 8)) * 2) / 2
    dY = rng.standard_normal((7, 3, 5, 4))  # (9 + 2 - 3) // 2 + 1 = 5 rows, (8 - 2) // 2 + 1 = 4 columns
    whole = []
    for min_bytes in (1 << 60, 0):
        monkeypatch.setattr(_threads, "MIN_PARALLEL_BYTES", min_bytes)
        out = []
        with paths_taken() as taken:
            for fwd, bwd in ((pooling.max_pool2d_forward, pooling.max_pool2d_backward),
                             (pooling.avg_pool2d_forward, pooling.avg_pool2d_backward)):
                Y, saved = fwd(X, (3, 2), (2, 2), (1, 0))
                out += [Y, bwd(dY, saved)]
            A, saved = activation.relu_forward(X)
            out += [A, activation.relu_backward(X, saved)]
        assert set(taken) == {"max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
                              "avg_pool2d_backward", "relu_forward", "relu_backward"}
        assert all(paths == {"fast"} for paths in taken.values())
        whole.append(out)
    for a, b in zip(*whole, strict=True):
        np.testing.assert_array_equal(a, b)
    Yr, saved_r = pooling.max_pool2d_forward_reference(X, (3, 2), (2, 2), (1, 0))
    np.testing.assert_array_equal(whole[1][0], Yr)
    np.testing.assert_array_equal(whole[1][1], pooling.max_pool2d_backward_reference(dY, saved_r))


@pytest.mark.parametrize("shape", [(7, 3, 9, 8), (5, 4, 11), (2, 6, 3, 3)])
def test_batch_norm_fast_path_equals_the_reference(shape, monkeypatch, knobs):
    """Chunked, threaded batch norm (Xc kept, per-channel coefficients) against the readable formulas."""
    rng = np.random.default_rng(5)
    X = rng.normal(3, 2, shape)
    dY = rng.standard_normal(shape)[..., ::-1]  # not contiguous
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    axes = (0, *range(2, len(shape)))
    fast = X[0, 0].size >= 8  # the fast path needs image planes of 8 values or more
    path = "fast" if fast else "reference"
    B.set_fast_paths(False)
    Y_r, saved_r, (mu_r, var_r) = norm.batch_norm_train(X, gamma, beta, axes, 1e-5)
    grads_r = norm.batch_norm_backward(dY, saved_r)
    B.set_fast_paths(True)
    monkeypatch.setattr(fast_norm, "CHUNK_BYTES", 1)  # one image per chunk: many partial sums
    runs = []
    for threads, min_bytes in ((1, 1 << 60), (2, 0)):
        _threads.set_num_threads(threads)
        monkeypatch.setattr(_threads, "MIN_PARALLEL_BYTES", min_bytes)
        with paths_taken() as taken:
            Y, saved, (mu, var) = norm.batch_norm_train(X, gamma, beta, axes, 1e-5)
            runs.append([Y, mu, var, *norm.batch_norm_backward(dY, saved)])
        assert taken == {"batch_norm_train": {path}, "batch_norm_backward": {path}}
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)  # the same bits on one thread and on two
    for got, want in zip(runs[0], [Y_r, mu_r, var_r, *grads_r], strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5  # evaluation mode
    B.set_fast_paths(False)
    Y_r, saved_r = norm.batch_norm_eval(X, gamma, beta, rm, rv, axes, 1e-5)
    want = [Y_r, *norm.batch_norm_backward(dY, saved_r)]
    B.set_fast_paths(True)
    with paths_taken() as taken:
        Y, saved = norm.batch_norm_eval(X, gamma, beta, rm, rv, axes, 1e-5)
        got = [Y, *norm.batch_norm_backward(dY, saved)]
    assert taken == {"batch_norm_eval": {path}, "batch_norm_backward": {path}}
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    ints = np.arange(2 * 3 * 16).reshape(2, 3, 4, 4)  # other dtypes take the reference path
    assert norm.batch_norm_train(ints, np.ones(3), np.zeros(3), (0, 2, 3), 1e-5)[0].dtype == np.float64


def test_linear_split_over_rows_equals_one_product(monkeypatch, knobs):
    """Linear splits large batches in two halves of rows (dW: the two halves' sums): force it on a small one."""
    rng = np.random.default_rng(6)
    A, W, b, dZ = rng.standard_normal((7, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3), rng.standard_normal((7, 3))
    want = [A @ W.T + b, dZ @ W, dZ.T @ A, dZ.sum(axis=0)]
    monkeypatch.setattr(fast_linear, "SPLIT_MACS", 0)
    runs = []
    for threads in (1, 2):
        _threads.set_num_threads(threads)
        assert fast_linear.halves(A, W) == [(0, 3), (3, 7)]
        with paths_taken() as taken:
            Z, saved = linear.linear_forward(A, W, b)
            runs.append([Z, *linear.linear_backward(dZ, saved)])
        assert taken == {"linear_forward": {"fast"}, "linear_backward": {"fast"}}
    for a, b_ in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b_)
    for got, w in zip(runs[0], want, strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)
    with paths_taken() as taken:  # other dtypes: one product
        linear.linear_forward(A.astype(object), W.astype(object), None)
    assert taken == {"linear_forward": {"reference"}}


def test_max_pool_fast_path_stores_a_small_argmax_and_handles_nan(knobs):
    X = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    Y, saved = pooling.max_pool2d_forward(X, (2, 2), (2, 2))
    assert saved.arg.dtype == np.int8 and Y.dtype == np.float32
    X[0, 1, 3, 2] = np.nan  # NaN wins its window, as PyTorch and the reference argmax
    Y, saved = pooling.max_pool2d_forward(X, (2, 2), (2, 2))
    Yr, saved_r = pooling.max_pool2d_forward_reference(X, (2, 2), (2, 2))
    np.testing.assert_array_equal(Y, Yr)
    np.testing.assert_array_equal(saved.arg, saved_r.arg)
    assert np.isnan(Y[0, 1, 1, 1])


def test_relu_backward_from_its_output_equals_from_its_input():
    Z = np.random.default_rng(1).standard_normal((3, 4, 5))
    Z[0, 0, :2] = 0.0  # the kink gets 0
    dA = np.random.default_rng(2).standard_normal(Z.shape)
    A, saved = activation.relu_forward(Z)
    from_input = activation.relu_backward(dA, activation.ActivationSaved(Z))
    np.testing.assert_array_equal(activation.relu_backward(dA, saved), from_input)
    np.testing.assert_array_equal(from_input, np.where(Z > 0, dA, 0))


def test_skip_input_gradient_marks_the_first_convolution_only():
    net = lenet5().double()
    marked = skip_input_gradient(net)
    assert [m.label for m in marked] == ["Conv2d (features.0)"]
    assert net.features[3].needs_input_grad
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28))
    dy = np.random.default_rng(1).standard_normal((3, 10))
    net(x)
    assert net.backward(dy) is None
    grads = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net.features[0].needs_input_grad = True
    net(x)
    assert net.backward(dy).shape == x.shape
    for g, p in zip(grads, net.parameters(), strict=True):
        np.testing.assert_allclose(g, p.grad, rtol=1e-12)


def test_skip_input_gradient_leaves_branching_inputs_alone():
    block = Sequential(Residual(Conv2d(2, 2, 3, padding=1)), Conv2d(2, 2, 1))
    assert skip_input_gradient(block) == []
    assert all(m.needs_input_grad for m in block.modules() if isinstance(m, Conv2d))


def test_parallel_for_runs_every_task_once_and_reraises(knobs):
    _threads.set_num_threads(2)
    seen = []
    _threads.parallel_for(50, seen.append)
    assert sorted(seen) == list(range(50))

    def boom(t):
        if t == 7:
            raise ValueError("task 7 failed")

    with pytest.raises(ValueError, match="task 7 failed"):
        _threads.parallel_for(20, boom)
    nested = []
    _threads.parallel_for(3, lambda t: _threads.parallel_for(4, lambda u: nested.append((t, u))))
    assert sorted(nested) == [(t, u) for t in range(3) for u in range(4)]


def test_thread_count_settings_are_checked(monkeypatch, knobs):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive int"):
            _threads.set_num_threads(bad)
    monkeypatch.setenv("GLASSNET_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="GLASSNET_NUM_THREADS must be a positive integer, got 'two'"):
        _threads._default_threads()
    monkeypatch.setenv("GLASSNET_NUM_THREADS", "3")
    assert _threads._default_threads() == 3


def test_scratch_buffers_are_reused_and_grown():
    a = _threads.scratch("test", (4, 8), np.float32)
    a[...] = 1
    b = _threads.scratch("test", (2, 8), np.float64)
    assert b.ctypes.data == a.ctypes.data and b.shape == (2, 8) and b.dtype == np.float64
    c = _threads.scratch("test", (100, 100), np.float64)
    assert c.shape == (100, 100)
    _threads.release_scratch()
