"""explain conv: every symbolic result, evaluated at random numbers, equals conv2d_forward / conv2d_backward."""

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

from explain_helpers import assert_close, check_equations, evaluate, numeric, random_values  # noqa: E402

from glassnet.explain import conv  # noqa: E402
from glassnet.nn.functional.conv import conv2d_backward, conv2d_forward  # noqa: E402

CASES = [
    # input, kernel, stride, padding, channels, bias
    ((3, 3), (2, 2), 1, 0, 1, False),  # the lecture's example
    ((4, 4), (2, 2), 2, 0, 1, False),  # stride: dZ dilated
    ((5, 5), (3, 3), 2, 1, 1, True),  # stride and padding
    ((5, 4), (3, 2), (2, 1), (1, 0), 2, True),  # rectangular, two channels
    ((6, 5), (2, 3), 3, 0, 1, False),  # rows and columns no window reaches
    ((3, 3), (2, 2), 1, 2, 1, False),  # padding wider than K-1: the full convolution crops dZ
    ((4, 4), (3, 3), 1, 1, 3, False),  # "same" padding, three channels
    ((2, 12), (1, 3), 1, 0, 1, False),  # two-digit indices
]


def numeric_conv(ex, stride, padding, bias, values):
    X, F, dZ = (numeric(ex.symbols[k], values) for k in ("X", "F", "dZ"))
    pads = padding if isinstance(padding, int) else (padding[0], padding[0], padding[1], padding[1])
    b = np.array([values[ex.symbols["b"]]]) if bias else None
    Z, ctx = conv2d_forward(X[None], F[None], b, stride, pads)
    dX, dF, db = conv2d_backward(dZ[None, None], ctx)
    ref = {"Z": Z[0, 0], "dX": dX[0], "dF": dF[0]}
    if bias:
        ref["db"] = db[0]
    return ref


@pytest.mark.parametrize("case", CASES, ids=lambda c: "in{}-k{}-s{}-p{}-c{}-b{}".format(*c))
def test_every_equation_matches_the_numeric_layer(case):
    rng = np.random.default_rng(1234)
    size, kernel, stride, padding, channels, bias = case
    ex = conv(size, kernel, stride, padding, channels, bias)
    assert ex.checks and all(ex.checks.values()), ex.checks
    arrays = [ex.symbols[k] for k in ("X", "F", "dZ")] + ([np.array([ex.symbols["b"]])] if bias else [])
    values = random_values(arrays, rng)
    ref = numeric_conv(ex, stride, padding, bias, values)
    counts = check_equations(ex, ref, values)
    # every entry of Z, dF, dX (and db) is printed and was compared
    assert counts == {k: np.asarray(v).size for k, v in ref.items()}
    # the results the API returns, including the layer's own backward run on symbols
    for name, ref_name in (("Z", "Z"), ("dF", "dF"), ("dX", "dX"), ("dF_rule", "dF"), ("dX_rule", "dX")):
        got = evaluate(ex.results[name].ravel(), values)
        assert_close(got, ref[ref_name].ravel(), name)


def test_lecture_example_verbatim():
    """The 3x3 / 2x2 example of the notes: z11 = X11 F11 + X12 F12 + X21 F21 + X22 F22, ..."""
    text = str(conv((3, 3), (2, 2)))
    for line in (
        "z₁₁ = X₁₁·F₁₁ + X₁₂·F₁₂ + X₂₁·F₂₁ + X₂₂·F₂₂",
        "z₁₂ = X₁₂·F₁₁ + X₁₃·F₁₂ + X₂₂·F₂₁ + X₂₃·F₂₂",
        "z₂₁ = X₂₁·F₁₁ + X₂₂·F₁₂ + X₃₁·F₂₁ + X₃₂·F₂₂",
        "z₂₂ = X₂₂·F₁₁ + X₂₃·F₁₂ + X₃₂·F₂₁ + X₃₃·F₂₂",
        "∂J/∂F₁₁ = dz₁₁·X₁₁ + dz₁₂·X₁₂ + dz₂₁·X₂₁ + dz₂₂·X₂₂",
        "∂J/∂X₂₂ = dz₁₁·F₂₂ + dz₁₂·F₂₁ + dz₂₁·F₁₂ + dz₂₂·F₁₁",
        "H_out = ⌊(H + 2P − K)/S⌋ + 1 = ⌊(3 + 2·0 − 2)/1⌋ + 1 = 2",
    ):
        assert line in text, line
    latex = conv((3, 3), (2, 2)).render("latex")
    assert r"z_{11} &= X_{11} F_{11} + X_{12} F_{12} + X_{21} F_{21} + X_{22} F_{22}" in latex


def test_returns_sympy_objects():
    ex = conv((3, 3), (2, 2))
    X, F = ex.symbols["X"][0], ex.symbols["F"][0]
    assert ex.results["Z"][0, 0] == X[0, 0] * F[0, 0] + X[0, 1] * F[0, 1] + X[1, 0] * F[1, 0] + X[1, 1] * F[1, 1]
    dz = ex.symbols["dZ"]
    # dJ/dF11 is X correlated with dZ at offset (0, 0)
    assert sp.expand(ex.results["dF"][0, 0, 0] - sum(X[i, j] * dz[i, j] for i in range(2) for j in range(2))) == 0
    eq = next(ex.equations()).eq
    assert isinstance(eq, sp.Eq) and eq.lhs.name == "z_1_1"


def test_rules_show_the_rotated_kernel_and_dilated_gradient():
    text = str(conv((4, 4), (2, 2), stride=2))
    assert "rot180(F) = ⎡F₂₂ F₂₁⎤" in text
    assert "dilate(∂J/∂Z)" in text
    # the 2x2 dZ dilated by stride 2 has a zero row and column between its entries
    assert "⎡dz₁₁  0   dz₁₂⎤" in text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input=(3, 3), kernel=(4, 4)), "kernel 4x4 does not fit the 3x3 input"),
        (dict(input=(0, 3)), "input must be a positive int or a pair of positive ints, got \\(0, 3\\)"),
        (dict(input="3x3"), "input must be a positive int or a pair of positive ints"),
        (dict(padding=-1), "padding must be a non-negative int or a pair of non-negative ints"),
        (dict(channels=0), "channels must be a positive int"),
        (dict(input=(40, 40)), "limited to 1024"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv(**kwargs)
