"""explain pool: the symbolic forward and backward, evaluated at random numbers, equal the pooling layers."""

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

from explain_helpers import assert_close, check_equations, evaluate, numeric, random_values  # noqa: E402

from glassnet.explain import pool  # noqa: E402
from glassnet.nn.functional.pooling import (  # noqa: E402
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

CASES = [
    # input, size, stride, padding
    ((4, 4), 2, None, 0),  # the lecture's picture: non-overlapping 2x2 windows
    ((5, 5), 3, 2, 1),  # overlapping windows with padding
    ((3, 3), 2, 1, 1),  # every input in several windows; padded border
    ((5, 6), (2, 3), (2, 3), 0),  # rectangular window; an unreached last row
    ((4, 4), 3, 1, 0),  # stride 1
]


def numeric_pool(kind, ex, X, size, stride, padding, values):
    k = size if isinstance(size, tuple) else (size, size)
    s = k if stride is None else stride if isinstance(stride, tuple) else (stride, stride)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    fwd, bwd = (max_pool2d_forward, max_pool2d_backward) if kind == "max" else (avg_pool2d_forward, avg_pool2d_backward)
    Y, ctx = fwd(X[None, None], k, s, p)
    dY = numeric(ex.symbols["dY"], values)
    return {"Y": Y[0, 0], "dX": bwd(dY[None, None], ctx)[0, 0]}


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "in{}-k{}-s{}-p{}".format(*c))
def test_every_equation_matches_the_numeric_layer(kind, case):
    size, window, stride, padding = case
    ex = pool(kind, size, window, stride, padding)
    assert ex.checks and all(ex.checks.values()), ex.checks
    rng = np.random.default_rng(99)
    # distinct values: max pooling's derivative is defined (no ties) and the general step rule applies
    values = random_values([ex.symbols["X"], ex.symbols["dY"]], rng, distinct=True)
    X = numeric(ex.symbols["X"], values)
    ref = numeric_pool(kind, ex, X, window, stride, padding, values)
    counts = check_equations(ex, ref, values)
    assert counts == {"Y": ref["Y"].size, "dX": ref["dX"].size}
    assert_close(evaluate(ex.results["dX"].ravel(), values), ref["dX"].ravel(), "dX")
    if kind == "avg":
        assert_close(evaluate(ex.results["dX_rule"].ravel(), values), ref["dX"].ravel(), "dX_rule")


@pytest.mark.parametrize("case", CASES, ids=lambda c: "in{}-k{}-s{}-p{}".format(*c))
def test_max_example_routes_like_the_layer(case):
    size, window, stride, padding = case
    ex = pool("max", size, window, stride, padding, seed=7)
    X = ex.results["X_example"]
    assert sorted(X.ravel()) == list(range(1, X.size + 1))  # distinct: the routing is unambiguous
    rng = np.random.default_rng(5)
    values = random_values([ex.symbols["dY"]], rng)
    ref = numeric_pool("max", ex, X, window, stride, padding, values)
    assert_close(evaluate(ex.results["dX_example"].ravel(), values), ref["dX"].ravel(), "dX_example")


def test_max_pool_text():
    text = str(pool("max", (4, 4), 2, seed=0))
    assert "y₁₁ = max(X₁₁, X₁₂, X₂₁, X₂₂)" in text
    assert "∂J/∂X₁₁ = dy₁₁·[X₁₁ > max(X₁₂, X₂₁, X₂₂)]" in text
    assert "first maximum in row-major order" in text


def test_avg_pool_text():
    text = str(pool("avg", (4, 4), 2))
    assert "y₁₁ = (X₁₁ + X₁₂ + X₂₁ + X₂₂)/4" in text
    assert "∂J/∂X₁₁ = dy₁₁/4" in text


def test_seed_changes_the_example_only():
    a, b = pool("max", (4, 4), 2, seed=0), pool("max", (4, 4), 2, seed=1)
    assert not np.array_equal(a.results["X_example"], b.results["X_example"])
    assert all(x == y for x, y in zip(a.results["Y"].ravel(), b.results["Y"].ravel(), strict=True))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="min"), "pooling kind must be one of max, avg"),
        (dict(input=(2, 2), size=3), "window 3x3 does not fit the 2x2 input"),
        (dict(size=2, padding=2), "padding must be at most half the window size"),
        (dict(size=0), "size must be a positive int or a pair of positive ints"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool(**kwargs)
