"""explain params: the lecture's 280, and counts equal to the real glassnet layers' parameters."""

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

from glassnet import nn  # noqa: E402
from glassnet.explain import params  # noqa: E402


def count(module):
    return sum(p.data.size for p in module.parameters())


def test_lecture_example():
    ex = params((100, 100, 3), filters=10, kernel=3)
    assert ex.results["conv"] == 280
    assert ex.results["dense_same_units"] == 10 * (100 * 100 * 3 + 1)
    assert ex.results["dense_same_output"] == (98 * 98 * 10) * (100 * 100 * 3 + 1)
    text = str(ex)
    assert "convolution = 10 × (3×3×3 + 1) = 280" in text
    assert "10 neurons     = 10 × (100×100×3 + 1) = 300,010" in text
    assert "H_out = ⌊(H + 2P − K)/S⌋ + 1 = ⌊(100 + 2·0 − 3)/1⌋ + 1 = 98" in text
    assert all(ex.checks.values()) and len(ex.checks) == 3
    F, C, Kh, Kw = (ex.symbols[k] for k in ("F", "C", "K_h", "K_w"))
    assert ex.results["formula"] == F * (Kh * Kw * C + 1)


@pytest.mark.parametrize(
    "hwc, filters, kernel, stride, padding, bias",
    [
        ((8, 8, 3), 4, 3, 1, 0, True),
        ((9, 7, 2), 5, (3, 2), 2, 1, True),
        ((6, 6, 1), 2, 5, 1, 2, False),
    ],
)
def test_counts_equal_the_layers(hwc, filters, kernel, stride, padding, bias):
    ex = params(hwc, filters, kernel, stride, padding, bias)
    assert all(ex.checks.values()), ex.checks
    H, W, C = hwc
    conv = nn.Conv2d(C, filters, kernel, stride=stride, padding=padding, bias=bias, dtype=np.float64)
    assert ex.results["conv"] == count(conv)
    out = conv(np.zeros((1, C, H, W)))
    assert ex.results["dense_same_units"] == count(nn.Linear(H * W * C, filters, bias=bias, dtype=np.float64))
    assert ex.results["dense_same_output"] == count(nn.Linear(H * W * C, out.size, bias=bias, dtype=np.float64))
    # the printed arithmetic, evaluated, gives the printed result (e.g. "10 × (3×3×3 + 1) = 280")
    for eq in ex.equations():
        *parts, result = eq.shown.text.replace(",", "").replace("×", "*").split(" = ")
        assert sp.sympify(parts[0]) == int(result) == eq.rhs


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input=(10, 10)), r"input must be \(height, width, channels\)"),
        (dict(input=(4, 4, 3), kernel=5), "kernel 5x5 does not fit the 4x4 input"),
        (dict(filters=0), "filters must be a positive int"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        params(**kwargs)
