"""The fast path of the convolution: the same sums as :mod:`..conv`'s reference, computed chunk by chunk.

What differs from the reference path in :mod:`..conv` is only *where the
numbers live*, never which products are summed:

* **Cache-sized chunks.** A chunk of a few images gets its columns, shape
  (C*kh*kw, c*Ho*Wr), in a reused buffer of about :data:`CHUNK_BYTES`, so
  they are still in cache when the matrix product reads them; one big
  (C*kh*kw, N*H_out*W_out) matrix would be written to and read back from
  main memory (measured 2-4x slower for the thin products of small CNNs).
  The chunk's product is copied into the NCHW output.
* **Wide columns** (:func:`_layout`): with a vertical stride of 1 each row
  of the columns is one long strided run over the padded input.
* **Nothing large is kept.** Forward saves the input X (which the previous
  layer holds anyway), not its columns; backward rebuilds each chunk's
  columns, in cache, when it needs them.
* **Threads.** The batch is split into tasks (ranges of whole chunks) that
  :func:`glassnet._threads.parallel_for` runs on the pool, with BLAS on
  one thread; the weight and bias gradients keep one partial sum per task,
  added in task order, so the result does not depend on the thread count.
  Thin products (fewer than 16 filters) of small batches stay in the
  calling thread.
* **Direct kernels in C.** Where they were built and :func:`direct_plan`
  picks them (measured layer by layer), :mod:`.direct`'s kernels form the
  forward, the weight gradient and dX (as the forward of the full
  convolution) with no columns at all, on the same padded chunks and the
  same threads.

The backward follows the lecture:

* ``dF = X correlated with dZ``: per chunk, ``dF += sum_n dZ_n @ cols_n^T``.
* ``dX = full convolution of the stride-dilated dZ with rot180(F)``. With
  stride 1 it is computed literally: pad dZ by ``d*(k-1) - pad``, take its
  columns, multiply by rot180(F) with in/out channels swapped. With a stride
  ``s > 1`` the dilated dZ is mostly zeros (a fraction 1 - 1/s^2 of it), so
  the same sums are formed without them: ``dcols_n = F_mat^T @ dZ_n`` gives,
  for every output pixel, what it sends back to each position of its
  window, and these are added into dX window by window (col2im, the
  transpose of im2col). Each dX[c, y*s + i*d, x*s + j*d] receives exactly
  the terms F[f, c, i, j] * dZ[f, y, x] of the full convolution, and only
  the zeros of the dilation are skipped. At stride 1 col2im is used too
  when the padded dZ would be mostly border (:func:`_dX_col2im_planes`).
"""

from __future__ import annotations

import numpy as np

from .... import _threads
from ..geometry import axis_out
from . import compiled, direct

CHUNK_BYTES = 1 << 21
"""Target size of one chunk's columns: 2 MB (the L2 of a core of the tuning machine is 1 MB, its L3 32 MB).

On one thread ResNet-20's layers ran as fast with 4 MB and LeNet-5's second layer 6% faster (fewer
chunks, fewer NumPy calls); on two threads of a quiet Xeon a ResNet-20 layer scaled better with 2 MB
(1.8-2.1x against 1.6-1.7x); 8-16 MB were slower everywhere."""

THIN_CHUNK_BYTES = 1 << 19
"""The target for products that use each column value only a few times (fewer than 16 filters): they
run at the speed the columns are read, and chunks that stay in L2 (512 kB) made the forward and the
weight gradient of LeNet-5's first layer 1.3-1.4x faster than 2 MB chunks. With 16 filters and more,
and for the full convolution of dX, the larger chunks were faster. Thin products also run in the calling
thread: on two threads LeNet-5's first layer was no faster (weight gradient: 3.2 -> 4.2-6.5 ms)."""

SHARED_PADDING = True
"""With strides of 1, rows share one gap of zeros (see :func:`_layout`); False: each row keeps its own padding."""

BLOCK_MAX_ROWS = 16
"""Products with at most this many rows (filters) and an inner dimension of 64 or more go in 256-column blocks."""

SHORT_K_BLOCK = 4096
"""Columns per call of a product with a short inner dimension (see :func:`_matmul`); 0: one call."""

COL2IM_MIN_CHANNELS = 4
"""col2im forms dcols offset by offset, each offset's C rows just before they are added, for layers of at
least this many input channels; below (AlexNet's first layer: 3 channels, 121 offsets) in one product."""

DX_METHOD = "auto"
"""How backward forms dX: ``"full"`` (the full convolution, stride 1 only), ``"col2im"`` or ``"auto"``."""

PX_MAX_WASTE = 0.125
"""Pixels in the lanes when at most this share of each row's lanes falls past the output (28 of 32: 12.5%)."""

OC_MAX_PLANE_BYTES = 4096
"""Filters in the lanes only for output planes under 4 kB: 16 filters' planes 4 kB apart (32x32 float32) share
one set of the L1 cache, and the lane-by-lane stores of the kernel evicted each other (12.4 vs 10.5 ms im2col)."""

THIN_PARALLEL_BYTES = 16 << 20
"""Columns from this size on (16 MB) make a thin forward product worth two threads and 2 MB chunks."""

MIN_TASKS = 2
"""The number of chunks is a multiple of this (two threads get equal shares)."""

MAX_TASKS = 16
"""The batch is split into at most this many tasks (enough for two threads to balance)."""


def _tasks(n_items: int, per_item_bytes: int, thin: bool):
    """(chunk, ranges): images per chunk and each task's (start, stop), from the problem size only.

    Chunks of about CHUNK_BYTES of columns (THIN_CHUNK_BYTES for ``thin``
    products), their number rounded down to a multiple of MIN_TASKS (when
    there are that many images: up to twice the target, but fewer NumPy
    calls) so that two threads share the work evenly; at most MAX_TASKS
    tasks of whole chunks.
    """
    target = THIN_CHUNK_BYTES if thin else CHUNK_BYTES
    chunk = max(1, min(n_items, target // max(per_item_bytes, 1)))
    n_chunks = -(-n_items // chunk)
    if n_items >= MIN_TASKS:
        n_chunks = max(MIN_TASKS, n_chunks // MIN_TASKS * MIN_TASKS)
    chunk = -(-n_items // n_chunks)
    n_chunks = -(-n_items // chunk)
    n_tasks = min(n_chunks, MAX_TASKS)
    bounds = [chunk * (n_chunks * t // n_tasks) for t in range(n_tasks)] + [n_items]
    return chunk, list(zip(bounds[:-1], bounds[1:], strict=True))


def _chunks(start, stop, chunk):
    for a in range(start, stop, chunk):
        yield a, min(a + chunk, stop)


def _layout(H, W, pads, k, stride, dilation):
    """Geometry of the columns of an (H, W) map: (Ho, Wo, Wq, Wr, Hb).

    The padded map is stored in a buffer of ``Hb`` rows of ``Wq`` values;
    the window of output pixel (y, x) at kernel offset (i, j) starts at flat
    position ``(y*sh + i*dh)*Wq + x*sw + j*dw``. Each row of the columns
    holds ``Wr`` outputs per output row.

    With strides of 1 the rows share their padding: a window that reaches
    past the right end of a row reads on into the next row's left padding,
    so one gap of max(left, right) zeros between rows serves both sides and
    ``Wq = W + max(left, right)`` instead of ``W + left + right`` (3x3,
    padding 1: 17 values per row of a 16x16 map instead of 18, 9 instead of
    10 on 8x8). Every read of a kept output still lands on its own input or
    on a zero.

    With a vertical stride of 1 the columns are *wide*: ``Wr = Wq/sw`` >= Wo,
    so that for a fixed (i, j) a row of the columns is one arithmetic
    sequence over l = y*Wr + x, copied in one long run instead of Ho runs
    of Wo values (measured 2.5-4x faster on small maps). The outputs with
    x >= Wo are computed and thrown away (a waste of (Wr - Wo)/Wr of the
    product: 3% on a 32x32 map with padding 1, 11% on 8x8, 29% for LeNet's second
    convolution, which is still 20% faster wide than with Ho runs of 10
    values). With a vertical stride > 1 a wide row would span sh input rows,
    so then ``Wr = Wo``.
    """
    (kh, kw), (sh, sw), (dh, dw) = k, stride, dilation
    Wp = W + pads[2] + pads[3]
    Ho = axis_out(H, kh, sh, pads[0], pads[1], dh)
    Wo = axis_out(W, kw, sw, pads[2], pads[3], dw)
    if sh == 1:
        Wq = -(-Wp // sw) * sw
        left, right = max(pads[2], 0), max(pads[3], 0)
        shared = Wp - min(left, right)  # one zero gap between rows serves as right and left padding
        if SHARED_PADDING and sw == 1 and shared >= Wo:
            Wq = shared
        Wr = Wq // sw
        # the thrown-away end of the last wide row stays inside
        Hb = (kh - 1) * dh + Ho + max(1, -(-(kw - 1) * dw // Wq))
    else:
        Wq, Wr = Wp, Wo
        Hb = (Ho - 1) * sh + (kh - 1) * dh + 1  # the rows some window reaches
    return Ho, Wo, Wq, Wr, Hb


def _wide_input(x, pads, Wq, Hb, name):
    """x (c, C, H, W) in a zeroed (c, C, Hb, Wq) scratch buffer at (top, left); negative pads crop."""
    top, bottom, left, right = pads
    H, W = x.shape[2:]
    x = x[:, :, max(-top, 0) : H - max(-bottom, 0), max(-left, 0) : W - max(-right, 0)]
    top, left = max(top, 0), max(left, 0)
    c, C, H, W = x.shape
    rows = max(min(H, Hb - top), 0)  # rows past Hb are never reached by a window
    buf = _threads.scratch(name, (c, C, Hb, Wq), x.dtype)
    buf[:, :, :top] = 0
    buf[:, :, top + rows :] = 0
    buf[:, :, top : top + rows, :left] = 0
    buf[:, :, top : top + rows, left + W :] = 0
    buf[:, :, top : top + rows, left : left + W] = x[:, :, :rows]
    return buf


def _view(buf, shape, strides):
    """A strided view of ``buf`` (like ``as_strided``, 4x cheaper, and NumPy checks it stays inside ``buf``)."""
    return np.ndarray(shape, buf.dtype, buffer=buf, strides=strides)


def _wide_columns(buf, k, stride, dilation, out_rows, name):
    """im2col of a buffer (c, C, Hb, Wq): (C*kh*kw, c*Ho*Wr), images side by side.

    Row (ch, i, j) matches ``F.reshape(F_out, C*kh*kw)``; column (n, y, x)
    is the receptive field of output pixel (y, x) of image n.
    """
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wr) = k, stride, dilation, out_rows
    c, C, Hb, Wq = buf.shape
    s0, s1, _, s3 = buf.strides
    strides = (s0, s1, dh * Wq * s3, dw * s3, sh * Wq * s3, sw * s3)
    view = _view(buf, (c, C, kh, kw, Ho, Wr), strides)
    cols = _threads.scratch(name, (C * kh * kw, c * Ho * Wr), buf.dtype)
    np.copyto(cols.reshape(C, kh, kw, c, Ho, Wr).transpose(3, 0, 1, 2, 4, 5), view)
    return cols


def _matmul(A, B, out):
    """out = A @ B, the columns of B in blocks when A is small.

    Measured with OpenBLAS on the tuning machine: a (16 x 144) @ (144 x 1024)
    product runs at 44 GFLOP/s in one call and 97 GFLOP/s in four blocks of
    256 columns; products with more rows, or few columns, do not gain (on
    the AMD EPYC of issue #16: (16 x 144) @ (144 x 4224) 74 -> 92 GFLOP/s in
    blocks, but (32 x 288) @ (288 x 1632) 90 in one call and 84 in blocks,
    so 32-filter layers, ResNet-20's second stage, take one call). With a
    short inner dimension (LeNet-5's first layer: (6 x 25) @ (25 x 19712), a
    2 MB chunk) one call ran at 45 GFLOP/s and blocks of 4096 columns at 80
    (the AMD EPYC of issue #16), as fast as one call on 4480 columns (99).
    """
    n = B.shape[1]
    if A.shape[0] <= BLOCK_MAX_ROWS and A.shape[1] >= 64 and n > 512:
        block = 256
    else:
        block = SHORT_K_BLOCK if A.shape[1] < 64 and n > 2 * SHORT_K_BLOCK else 0
    if not block:
        return np.matmul(A, B, out=out)
    for j in range(0, n, block):
        np.matmul(A, B[:, j : j + block], out=out[:, j : j + block])
    return out


def direct_plan(C, F_out, k, inp, out, stride, dilation, dtype):
    """Where the C kernels of :mod:`.direct` run: (forward, weight gradient, dX), each ``"oc"``, ``"px"`` or None.

    None keeps the columns (im2col and one OpenBLAS product). The rules are
    what one thread measured on the AMD EPYC of issue #16 for LeNet-5's and
    ResNet-20's layers (docs/performance.md, "Direct convolutions in C"):

    * forward: pixels in the lanes where rows fill them (ResNet-20's 32x32
      and 16x16 maps, LeNet-5's 28x28) or with few filters; else filters in
      the lanes (LeNet-5's 10x10 maps, ResNet-20's 8x8 and stride-2 layers);
    * weight gradient: filters in the lanes for 3x3 and 5x5 kernels of 8
      filters or more (faster than the columns on every such layer measured),
      pixels in the lanes for fewer filters (LeNet-5's first layer);
    * dX (stride 1): the forward's rule, applied to the full convolution.
    """
    if not compiled.active():
        return None, None, None
    (kh, kw), (Ho, Wo) = k, out
    fwd = _forward_how(F_out, Ho, Wo, stride[1], dtype)
    wgrad = None
    if F_out >= 8 and (kh, kw) in ((3, 3), (5, 5)) and dilation[1] == 1:
        wgrad = "oc"
    elif F_out < 8 and stride[1] == 1:
        wgrad = "px"
    dx = _forward_how(C, *inp, 1, dtype) if stride == (1, 1) else None  # its outputs: the (H, W) input
    return fwd, wgrad, dx


def _forward_how(F_out, Ho, Wo, sw, dtype):
    """The forward's kernel for F_out filters on (Ho, Wo) outputs: ``"px"``, ``"oc"`` or None (columns)."""
    Wv = direct.px_block(Ho, Wo, dtype)[1]
    if sw == 1 and (F_out < 8 or (Wv - Wo) / Wv <= PX_MAX_WASTE):
        return "px"
    if F_out >= 8 and Ho * Wo * np.dtype(dtype).itemsize < OC_MAX_PLANE_BYTES:
        return "oc"
    return None


def _direct_input(Ho, Wo, H, W, pads, k, stride, dilation):
    """(Hb, Wq): rows and columns of the padded buffer that the direct kernels read for (Ho, Wo) outputs."""
    (kh, kw), (sh, sw), (dh, dw) = k, stride, dilation
    Hb = (Ho - 1) * sh + (kh - 1) * dh + 1
    Wq = max((Wo - 1) * sw + (kw - 1) * dw + 1, W + max(pads[2], 0) + max(pads[3], 0))
    return Hb, Wq


def _forward_direct(X, F, b, stride, pads, dilation, out, how):
    """The forward by :func:`.direct.forward_oc` or :func:`.direct.forward_px`, chunks of images over the threads."""
    N, C, H, W = X.shape
    F_out, _, kh, kw = F.shape
    Ho, Wo = out
    Z = np.empty((N, F_out, Ho, Wo), dtype=X.dtype)
    if how == "oc":
        packed = direct.pack_filters(F, b)
        Hb, Wq = _direct_input(Ho, Wo, H, W, pads, (kh, kw), stride, dilation)
    else:
        Hv, Wv = direct.px_block(Ho, Wo, X.dtype)
        Hb, Wq = _direct_input(Hv, Wv, H, W, pads, (kh, kw), stride, dilation)
    chunk, tasks = _tasks(N, C * Hb * Wq * X.itemsize, False)

    def task(t):
        for a, e in _chunks(*tasks[t], chunk):
            buf = _wide_input(X[a:e], pads, Wq, Hb, "x")
            if how == "oc":
                direct.forward_oc(buf, packed, Z[a:e], (kh, kw), stride, dilation)
            else:
                wide = _threads.scratch("Zv", (e - a, F_out, Hv, Wv), X.dtype)
                direct.forward_px(buf, F, b, wide, (kh, kw), stride[0], dilation)
                np.copyto(Z[a:e], wide[:, :, :Ho, :Wo])

    _threads.parallel_for(len(tasks), task)
    return Z


def forward(X, F, b, stride, pads, dilation):
    """Z = X (*) F + b for float arrays; shapes as :func:`..conv.conv2d_forward`."""
    N, C, H, W = X.shape
    F_out, _, kh, kw = F.shape
    Ho, Wo, Wq, Wr, Hb = _layout(H, W, pads, (kh, kw), stride, dilation)
    plan = direct_plan(C, F_out, (kh, kw), (H, W), (Ho, Wo), stride, dilation, X.dtype)
    if plan[0]:
        return _forward_direct(X, F, b, stride, pads, dilation, (Ho, Wo), plan[0])
    K, L = C * kh * kw, Ho * Wr
    F_mat = F.reshape(F_out, K)
    bias = None if b is None else b.reshape(F_out, 1)
    Z = np.empty((N, F_out, Ho, Wo), dtype=X.dtype)
    # thin products: L2-sized chunks in the calling thread, unless the batch is large enough for two
    # threads to pay (LeNet-5's first layer at batch 256: 2.8 ms on one thread, 1.6 ms on two)
    thin = F_out < 16 and N * K * L * X.itemsize < THIN_PARALLEL_BYTES
    chunk, tasks = _tasks(N, K * L * X.itemsize, thin)

    def task(t):
        for a, e in _chunks(*tasks[t], chunk):
            buf = _wide_input(X[a:e], pads, Wq, Hb, "x")
            cols = _wide_columns(buf, (kh, kw), stride, dilation, (Ho, Wr), "cols")
            Zw = _matmul(F_mat, cols, _threads.scratch("Zw", (F_out, (e - a) * L), X.dtype))
            if bias is not None:
                Zw += bias
            np.copyto(Z[a:e].transpose(1, 0, 2, 3), Zw.reshape(F_out, e - a, Ho, Wr)[:, :, :, :Wo])

    _threads.parallel_for(len(tasks), task, 1 if thin else None)
    return Z


def backward(dZ, X, F, has_bias, stride, pads, dilation, need_dX=True):
    """dX (or None), dF, db (or None) for float arrays; see the module docstring."""
    N, C, H, W = X.shape
    F_out, _, kh, kw = F.shape
    Ho, Wo, Wq, Wr, Hb = _layout(H, W, pads, (kh, kw), stride, dilation)
    K, L = C * kh * kw, Ho * Wr
    F_mat = F.reshape(F_out, K)
    dX = np.empty(X.shape, dtype=dZ.dtype) if need_dX else None
    _, w_how, dx_how = direct_plan(C, F_out, (kh, kw), (H, W), (Ho, Wo), stride, dilation, X.dtype)
    dx_how = dx_how if need_dX else None
    (dh, dw) = dilation
    full = (dh * (kh - 1) - pads[0], dh * (kh - 1) - pads[1], dw * (kw - 1) - pads[2], dw * (kw - 1) - pads[3])
    full_conv = need_dX and not dx_how and stride == (1, 1) and DX_METHOD != "col2im"
    per_image = K * L
    if full_conv:
        geo = _layout(Ho, Wo, full, (kh, kw), (1, 1), dilation)
        # on small maps the padded dZ is mostly border: then col2im forms fewer products
        full_conv = DX_METHOD == "full" or geo[0] * geo[3] <= 1.25 * L
        F_rot = np.ascontiguousarray(F[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C, F_out * kh * kw)
        if full_conv:
            per_image = max(per_image, F_out * kh * kw * geo[0] * geo[3])
    thin = F_out < 16 and not full_conv and not w_how  # a thin product of columns (the C kernels have none)
    if w_how:  # no columns: a chunk holds the padded input and dZ
        per_image = C * (H + kh) * (W + kw) + F_out * Ho * (Wo + 16)
    chunk, tasks = _tasks(N, per_image * X.itemsize, thin)
    if w_how == "oc":  # dF by the C kernel, in the lanes layout of direct.pack_filters
        ln = direct.lanes(dZ.dtype)
        dF_parts = np.zeros((len(tasks), -(-F_out // ln), C, kh, kw, ln), dZ.dtype)
        w_geo = _direct_input(Ho, Wo, H, W, pads, (kh, kw), stride, dilation)
    elif w_how == "px":  # pixels in the lanes: dZ in rows of Wv, zero past Wo
        Wg = direct.px_block(Ho, Wo, dZ.dtype)[1]
        dF_parts = np.zeros((len(tasks), *F.shape), dZ.dtype)
        w_geo = _direct_input(Ho, Wg, H, W, pads, (kh, kw), stride, dilation)
    else:
        dF_parts = np.zeros((len(tasks), K, F_out), dtype=dZ.dtype)
    if dx_how:  # dX = the forward of the full convolution: dZ padded, rot180(F) with its channels swapped
        F_rot4 = np.ascontiguousarray(F[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        if dx_how == "px":
            Hv, Wv = direct.px_block(H, W, dZ.dtype)
            x_geo = _direct_input(Hv, Wv, Ho, Wo, full, (kh, kw), (1, 1), dilation)
        else:
            packed = direct.pack_filters(F_rot4, None)
            x_geo = _direct_input(H, W, Ho, Wo, full, (kh, kw), (1, 1), dilation)
    db_parts = np.zeros((len(tasks), F_out), dtype=dZ.dtype) if has_bias else None
    strided_col2im = need_dX and not dx_how and stride != (1, 1)

    def task(t):
        for a, e in _chunks(*tasks[t], chunk):
            c = e - a
            if not w_how or strided_col2im:
                dZw = _threads.scratch("dZw", (F_out, c, Ho, Wr), dZ.dtype)  # dZ in the wide layout, 0 at x >= Wo
                np.copyto(dZw[:, :, :, :Wo], dZ[a:e].transpose(1, 0, 2, 3))
                if Wr > Wo:
                    dZw[:, :, :, Wo:] = 0
                dZw = dZw.reshape(F_out, c * L)
            if w_how:
                dZc = np.ascontiguousarray(dZ[a:e])
                if has_bias:  # rows of contiguous pixels summed first (a reduction over axes 0, 2, 3 was 3x slower)
                    db_parts[t] += dZc.reshape(c, F_out, Ho * Wo).sum(axis=2).sum(axis=0)
                buf = _wide_input(X[a:e], pads, w_geo[1], w_geo[0], "x")
                if w_how == "oc":
                    direct.weight_grad_oc(buf, dZc, dF_parts[t], (kh, kw), stride, dilation)
                else:
                    dZp = _threads.scratch("dZg", (c, F_out, Ho, Wg), dZ.dtype)
                    dZp[..., Wo:] = 0
                    np.copyto(dZp[..., :Wo], dZc)
                    direct.weight_grad_px(buf, dZp, dF_parts[t], (kh, kw), stride[0], dilation)
            else:
                if has_bias:
                    db_parts[t] += dZw.sum(axis=1)
                # dF = X correlated with dZ: dF^T += cols @ dZ^T over the chunk's pixels
                buf = _wide_input(X[a:e], pads, Wq, Hb, "x")
                dF_parts[t] += _wide_columns(buf, (kh, kw), stride, dilation, (Ho, Wr), "cols") @ dZw.T
            if dx_how:
                buf = _wide_input(dZ[a:e], full, x_geo[1], x_geo[0], "dz")
                if dx_how == "px":
                    wide = _threads.scratch("dXv", (c, C, Hv, Wv), dZ.dtype)
                    direct.forward_px(buf, F_rot4, None, wide, (kh, kw), 1, dilation)
                    np.copyto(dX[a:e], wide[:, :, :H, :W])
                else:
                    direct.forward_oc(buf, packed, dX[a:e], (kh, kw), (1, 1), dilation)
            elif full_conv:
                _dX_full_convolution(dZ[a:e], F_rot, (kh, kw), full, geo, dilation, dX[a:e])
            elif need_dX and stride == (1, 1):
                _dX_col2im_planes(dZ[a:e], F_mat, (kh, kw), (Hb, Wq), pads, dilation, dX[a:e])
            elif need_dX:
                _dX_col2im(dZw, F_mat, (kh, kw), (Ho, Wr, Hb, Wq), pads, stride, dilation, dX[a:e])

    _threads.parallel_for(len(tasks), task, 1 if thin else None)
    if w_how == "oc":
        dF = direct.unpack_filters(dF_parts.sum(axis=0), F_out)
    elif w_how == "px":
        dF = dF_parts.sum(axis=0)
    else:
        dF = np.ascontiguousarray(dF_parts.sum(axis=0).T).reshape(F.shape)
    db = db_parts.sum(axis=0) if has_bias else None
    return dX, dF, db


def _dX_full_convolution(dZc, F_rot, k, full, geo, dilation, out):
    """Stride 1: dX = dZ padded by d*(k-1) - pad, correlated with rot180(F) (channels swapped)."""
    c, C, H, W = out.shape
    Ho, Wo, Wq, Wr, Hb = geo  # the full convolution's output is (H, W)
    cols = _wide_columns(_wide_input(dZc, full, Wq, Hb, "dz"), k, (1, 1), dilation, (Ho, Wr), "cols_dz")
    dXw = _matmul(F_rot, cols, _threads.scratch("dXw", (C, c * Ho * Wr), out.dtype))
    np.copyto(out.transpose(1, 0, 2, 3), dXw.reshape(C, c, Ho, Wr)[:, :, :, :Wo])


def _dX_col2im_planes(dZc, F_mat, k, wide, pads, dilation, out):
    """Stride 1: col2im with each kernel offset's additions as one contiguous run per input channel.

    dZ is laid out in whole buffer planes (c, Hb, Wq), zero outside its
    (Ho, Wo) corner, so that column q = (n*Hb + y)*Wq + x of ``dcols = F^T dZ``
    adds into position q + i*dh*Wq + j*dw of the channel's planes for every
    (n, y, x) at once: kh*kw additions of C rows each, instead of C*c rows of
    Ho*Wq (NumPy's per-row overhead dominated LeNet's second layer). The
    padding rows and columns of dZ give exact zeros, which land harmlessly
    in a neighbouring plane's border.

    Each offset's rows of ``dcols`` (C of them, ``F[:, :, i, j]^T dZ``) are
    formed just before they are added, so that they are still in cache: one
    product for all offsets wrote kh*kw*C rows (3.3 MB for a 26-image chunk
    of LeNet's second layer) and read them back from memory (0.50 -> 0.46 ms
    per chunk, one thread, issue #16).
    """
    (kh, kw), (Hb, Wq), (dh, dw) = k, wide, dilation
    c, C, H, W = out.shape
    F_out, Ho, Wo = dZc.shape[1:]
    plane = c * Hb * Wq
    dZp = _threads.scratch("dZp", (F_out, c, Hb, Wq), dZc.dtype)
    dZp[...] = 0
    np.copyto(dZp[:, :, :Ho, :Wo], dZc.transpose(1, 0, 2, 3))
    dZp = dZp.reshape(F_out, plane)
    buf = _threads.scratch("dxw", (C, plane + (kh - 1) * dh * Wq + (kw - 1) * dw), out.dtype)
    buf[...] = 0
    by_offset = C >= COL2IM_MIN_CHANNELS
    if by_offset:
        F_T = np.ascontiguousarray(F_mat.reshape(F_out, C, kh, kw).transpose(2, 3, 1, 0))  # (kh, kw, C, F_out)
        dcols = _threads.scratch("dcols", (C, plane), out.dtype)
    else:
        dcols = _threads.scratch("dcols", (C * kh * kw, plane), out.dtype)
        np.matmul(F_mat.T, dZp, out=dcols)
        dcols = dcols.reshape(C, kh, kw, plane)
    for i in range(kh):  # a loop over the kernel offsets, never over pixels
        for j in range(kw):
            start = i * dh * Wq + j * dw
            rows = np.matmul(F_T[i, j], dZp, out=dcols) if by_offset else dcols[:, i, j]
            buf[:, start : start + plane] += rows
    top, left = pads[0], pads[2]
    np.copyto(out.transpose(1, 0, 2, 3), buf[:, :plane].reshape(C, c, Hb, Wq)[:, :, top : top + H, left : left + W])


def _dX_col2im(dZw, F_mat, k, wide, pads, stride, dilation, out):
    """Stride > 1: dcols = F^T dZ, each column added back over its window (the dilation's zeros skipped).

    As in :func:`_dX_col2im_planes`, each offset's rows are formed just before they are added (ResNet-20's
    strided 16 -> 32 layer: backward 23.8 -> 20.3 ms at batch 128, one thread), except for layers of fewer
    than :data:`COL2IM_MIN_CHANNELS` channels (AlexNet's first layer: 48.8 ms in one product, 55.0 by offset).
    """
    (kh, kw), (Ho, Wr, Hb, Wq), (sh, sw), (dh, dw) = k, wide, stride, dilation
    c, C, H, W = out.shape
    buf = _threads.scratch("dxw", (c, C, Hb, Wq), out.dtype)
    buf[...] = 0
    s = buf.itemsize  # every window of every offset: (kh, kw, C, c, Ho, Wr), overlapping across (i, j)
    strides = (dh * Wq * s, dw * s, Hb * Wq * s, C * Hb * Wq * s, sh * Wq * s, sw * s)
    targets = _view(buf, (kh, kw, C, c, Ho, Wr), strides)
    if C >= COL2IM_MIN_CHANNELS:  # each offset's C rows of dcols formed just before they are added
        F_T = np.ascontiguousarray(F_mat.reshape(-1, C, kh, kw).transpose(2, 3, 1, 0))  # (kh, kw, C, F_out)
        dcols = _threads.scratch("dcols", (C, c, Ho, Wr), out.dtype)
        for i in range(kh):  # a loop over the kernel offsets, never over pixels
            for j in range(kw):
                targets[i, j] += np.matmul(F_T[i, j], dZw, out=dcols.reshape(C, -1)).reshape(C, c, Ho, Wr)
    else:
        dcols = _threads.scratch("dcols", (F_mat.shape[1], c * Ho * Wr), out.dtype)
        np.matmul(F_mat.T, dZw, out=dcols)
        dcols = dcols.reshape(C, kh, kw, c, Ho, Wr)
        for i in range(kh):
            for j in range(kw):
                targets[i, j] += dcols[:, i, j]
    top, left = pads[0], pads[2]
    rows = max(min(H, Hb - top), 0)
    out[:, :, :rows] = buf[:, :, top : top + rows, left : left + W]
    out[:, :, rows:] = 0  # rows no window reaches
