"""The conventions where ONNX and PyTorch (glassnet) could differ, checked numerically."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx_helpers import TOL, export_checked, inputs, ort_run, rel_err  # noqa: E402

import glassnet.nn as nn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_lrn_alpha_is_divided_by_size_in_both(size, tmp_path):
    """b_c = a_c / (k + alpha/n * sum a^2)^beta: a large alpha makes a wrong convention show at once."""
    m = nn.LocalResponseNorm(size, alpha=2.0, beta=0.75, k=1.0)
    path = export_checked(nn.Sequential(m), tmp_path / "lrn.onnx", (9, 3, 3))
    x = 2 * inputs((9, 3, 3), 7)
    y = m(x)
    assert rel_err(ort_run(path, x), y) < TOL
    if size > 1:  # alpha not divided by size would be another function
        wrong = nn.LocalResponseNorm(size, alpha=2.0 * size, beta=0.75, k=1.0)(x)
        assert rel_err(wrong, y) > 1e-2
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.local_response_norm(torch.from_numpy(x), size, 2.0, 0.75, 1.0).numpy()
    assert rel_err(ort_run(path, x), expected) < TOL


def test_count_include_pad_is_written_explicitly(tmp_path):
    """ONNX's default is count_include_pad=0, PyTorch's 1: the attribute is always written."""
    for cip in (True, False):
        m = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=cip)
        path = export_checked(nn.Sequential(m), tmp_path / f"{cip}.onnx", (2, 7, 6))
        node = onnx.load(str(path)).graph.node[0]
        assert {a.name: a.i for a in node.attribute}["count_include_pad"] == int(cip)
        x = inputs((2, 7, 6), 7)
        assert rel_err(ort_run(path, x), m(x)) < TOL
        assert gx.load(path)[0].count_include_pad is cip


def test_same_padding_with_an_even_kernel(tmp_path):
    """'same' pads the extra row and column at the end, as PyTorch: ONNX pads [0, 1, 1, 2] for a 2x4 kernel."""
    m = nn.Conv2d(2, 3, (2, 4), padding="same")
    path = export_checked(nn.Sequential(m), tmp_path / "same.onnx", (2, 5, 6))
    node = onnx.load(str(path)).graph.node[0]
    assert list(next(a for a in node.attribute if a.name == "pads").ints) == [0, 1, 1, 2]
    x = inputs((2, 5, 6), 7)
    assert rel_err(ort_run(path, x), m(x)) < TOL
    assert gx.load(path)[0].padding == "same"


def test_float64_model_exports_float32_weights(tmp_path):
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(18, 2)).double()
    path = export_checked(m, tmp_path / "d.onnx", (1, 5, 5))
    assert {t.data_type for t in onnx.load(str(path)).graph.initializer} == {onnx.TensorProto.FLOAT}
    x = inputs((1, 5, 5), 7)
    assert rel_err(ort_run(path, x), m(x.astype(np.float64))) < TOL
