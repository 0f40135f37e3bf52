"""Pooling windows with ceil_mode, padding and strides on each axis: ONNX's shape formula lacks PyTorch's rule
that a last window must start inside the input or its left padding, so the exporter moves that difference into
the end pads (see glassnet.onnx.pooling). A seeded sweep of random geometries, each exported, run in onnxruntime
and loaded back."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_helpers import TOL, inputs, ort_run, rel_err  # noqa: E402

import glassnet.nn as nn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.onnx import OnnxError  # noqa: E402
from glassnet.onnx.pooling import onnx_size, torch_size  # noqa: E402


def geometries(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        s = tuple(int(v) for v in rng.integers(1, 5, 2))
        p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        hw = tuple(int(rng.integers(max(1, kk - 2 * pp), 10)) for kk, pp in zip(k, p, strict=True))
        yield k, s, p, hw, int(rng.integers(0, 3))


@pytest.mark.parametrize("seed", [0, 1])
def test_ceil_mode_pools_sweep(seed, tmp_path):
    exported = 0
    for i, (k, s, p, hw, kind) in enumerate(geometries(80, seed)):
        m = (nn.MaxPool2d(k, s, p, ceil_mode=True) if kind == 0 else
             nn.AvgPool2d(k, s, p, ceil_mode=True, count_include_pad=kind == 1))
        path = tmp_path / f"{i}.onnx"
        try:
            gx.export(m, path, (2, *hw))
        except OnnxError as e:  # only averages that count the padding can lack an exact form
            assert kind == 1 and "count_include_pad" in str(e)
            continue
        exported += 1
        x = inputs((2, *hw), 3, i)
        y = m(x)
        assert rel_err(ort_run(path, x), y) < TOL, (m, hw)
        assert rel_err(gx.load(path)(x), y) < TOL, (m, hw)
    assert exported >= 70


def test_the_rule_that_differs():
    # 5 wide, kernel 2, stride 2, padding 1, ceil: PyTorch drops the third window (it would start in the right pad)
    assert torch_size(5, 2, 2, 1, True) == 3 and onnx_size(5, 2, 2, 1, 1, True) == 4
