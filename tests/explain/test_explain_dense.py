"""explain dense: each equation equals linear_forward/backward and the activations' forward/backward, and the
layer-by-layer rules, applied from the top, give the gradients of a real glassnet network."""

import numpy as np
import pytest

sp = pytest.importorskip("sympy")

from explain_helpers import assert_close, check_equations, evaluate, numeric, random_values  # noqa: E402

from glassnet import nn  # noqa: E402
from glassnet.explain import dense  # noqa: E402
from glassnet.explain.dense import relu, sigmoid  # noqa: E402
from glassnet.nn.functional import activation as A  # noqa: E402
from glassnet.nn.functional.linear import linear_backward, linear_forward  # noqa: E402

FORWARD = {
    "relu": A.relu_forward,
    "sigmoid": A.sigmoid_forward,
    "tanh": A.tanh_forward,
}
BACKWARD = {  # dZ from dA and Z: each layer's backward with what its forward saved
    "relu": lambda dA, Z: A.relu_backward(dA, A.relu_forward(Z)[1]),
    "sigmoid": lambda dA, Z: A.sigmoid_backward(dA, A.sigmoid_forward(Z)[1]),
    "tanh": lambda dA, Z: A.tanh_backward(dA, A.tanh_forward(Z)[1]),
}
CONCRETE = {"relu": relu, "sigmoid": sigmoid, "tanh": sp.tanh}


def reference(ex, sizes, act, values):
    """The numeric layers evaluated at the same random values as the symbols, layer by layer."""
    ref = {}
    for l in range(1, len(sizes)):
        W, b, a_prev, z, da, dz = (
            numeric(ex.symbols[f"{k}[{i}]"], values)
            for k, i in (("W", l), ("b", l), ("a", l - 1), ("z", l), ("da", l), ("dz", l))
        )
        z_layer, saved = linear_forward(a_prev[None], W, b)
        ref[f"z[{l}]"] = z_layer[0]
        ref[f"a[{l}]"] = FORWARD[act](z)[0]
        ref[f"dz[{l}]"] = BACKWARD[act](da, z)
        da_prev, dW, db = linear_backward(dz[None], saved)
        ref[f"dW[{l}]"], ref[f"db[{l}]"], ref[f"da[{l - 1}]"] = dW, db, da_prev[0]
    return ref


@pytest.mark.parametrize("sizes", [(4, 3, 2), (2, 1), (3, 5, 4, 2)])
@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "g"])
def test_every_equation_matches_the_numeric_layers(sizes, act):
    ex = dense(sizes, act)
    assert ex.checks and all(ex.checks.values()), ex.checks
    values = random_values(list(ex.symbols.values()), np.random.default_rng(3))
    concrete = "tanh" if act == "g" else act
    transform = (lambda e: e.replace(sp.Function("g"), sp.tanh).doit()) if act == "g" else (lambda e: e)
    ref = reference(ex, sizes, concrete, values)
    counts = check_equations(ex, ref, values, transform)
    assert counts == {k: v.size for k, v in ref.items()}


def test_rules_compose_into_the_network_gradient():
    """Apply the printed rules from the top layer down, at the numbers of a real nn.Sequential, and get its grads."""
    sizes, rng = (4, 3, 2), np.random.default_rng(11)
    ex = dense(sizes, "tanh")
    layers = [nn.Linear(4, 3, dtype=np.float64), nn.Tanh(), nn.Linear(3, 2, dtype=np.float64), nn.Tanh()]
    model = nn.Sequential(*layers)
    x, dA = rng.standard_normal((1, 4)), rng.standard_normal((1, 2))
    model(x)
    model.zero_grad()
    model.backward(dA)
    acts, zs = [x[0]], []
    for lin in (layers[0], layers[2]):  # forward values, to put into the equations
        zs.append(acts[-1] @ lin.weight.data.T + lin.bias.data)
        acts.append(np.tanh(zs[-1]))
    da = dA[0]
    for l in (2, 1):
        lin = layers[2 * (l - 1)]
        vals = {}
        for name, arr in (
            (f"W[{l}]", lin.weight.data),
            (f"b[{l}]", lin.bias.data),
            (f"a[{l - 1}]", acts[l - 1]),
            (f"z[{l}]", zs[l - 1]),
            (f"da[{l}]", da),
        ):
            vals.update(zip(ex.symbols[name].ravel(), np.ravel(arr), strict=True))
        dz = np.array(evaluate(ex.results[f"dz[{l}]"], vals))
        vals.update(zip(ex.symbols[f"dz[{l}]"], dz, strict=True))
        assert_close(evaluate(ex.results[f"dW[{l}]"].ravel(), vals), lin.weight.grad.ravel(), f"dW[{l}]")
        assert_close(evaluate(ex.results[f"db[{l}]"], vals), lin.bias.grad, f"db[{l}]")
        da = np.array(evaluate(ex.results[f"da[{l - 1}]"], vals))


def test_text_uses_the_lecture_notation():
    text = str(dense((4, 3, 2)))
    for line in (
        "z[l] = W[l] a[l−1] + b[l]",
        "dW[l]   = dz[l] a[l−1]ᵀ",
        "z[1]₁ = W[1]₁₁·a[0]₁ + W[1]₁₂·a[0]₂ + W[1]₁₃·a[0]₃ + W[1]₁₄·a[0]₄ + b[1]₁",
        "dz[2]₁  = da[2]₁·g′(z[2]₁)",
        "dW[2]₁₂ = dz[2]₁·a[1]₂",
        "da[1]₁  = W[2]₁₁·dz[2]₁ + W[2]₂₁·dz[2]₂",
        "total                      = 23",
    ):
        assert line in text, line
    assert r"dz^{[2]}_{1} &= da^{[2]}_{1} g'\left(z^{[2]}_{1}\right)" in dense((4, 3, 2)).render("latex")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layers=(4,)), "at least two sizes"),
        (dict(layers=(4, 0)), r"n\[1\] must be a positive int"),
        (dict(activation="swish"), "activation must be one of g, relu, sigmoid, tanh"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dense(**kwargs)
