"""A second, independent oracle: the symbolic results against PyTorch's autograd (float64), when torch is present."""

import numpy as np
import pytest

sp = pytest.importorskip("sympy")
torch = pytest.importorskip("torch")

from explain_helpers import assert_close, evaluate, numeric, random_values  # noqa: E402

from glassnet.explain import conv, pool  # noqa: E402

pytestmark = pytest.mark.torch


def autograd(fn, inputs, upstream):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in inputs]
    out = fn(*ts)
    out.backward(torch.tensor(upstream, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("size, kernel, stride, padding, channels", [((3, 3), 2, 1, 0, 1), ((5, 4), 3, 2, 1, 2)])
def test_conv_against_torch(size, kernel, stride, padding, channels):
    ex = conv(size, kernel, stride, padding, channels)
    values = random_values([ex.symbols[k] for k in ("X", "F", "dZ")], np.random.default_rng(0))
    X, F, dZ = (numeric(ex.symbols[k], values) for k in ("X", "F", "dZ"))
    Z, (dX, dF) = autograd(
        lambda x, f: torch.nn.functional.conv2d(x, f, stride=stride, padding=padding),
        [X[None], F[None]],
        dZ[None, None],
    )
    assert_close(evaluate(ex.results["Z"].ravel(), values), Z.ravel(), "Z")
    assert_close(evaluate(ex.results["dF"].ravel(), values), dF.ravel(), "dF")
    assert_close(evaluate(ex.results["dX"].ravel(), values), dX.ravel(), "dX")


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_against_torch(kind):
    ex = pool(kind, (5, 5), 3, 2, 1)
    values = random_values([ex.symbols["X"], ex.symbols["dY"]], np.random.default_rng(1), distinct=True)
    X, dY = numeric(ex.symbols["X"], values), numeric(ex.symbols["dY"], values)
    op = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    Y, (dX,) = autograd(lambda x: op(x, 3, 2, 1), [X[None, None]], dY[None, None])
    assert_close(evaluate(ex.results["Y"].ravel(), values), Y.ravel(), "Y")
    assert_close(evaluate(ex.results["dX"].ravel(), values), dX.ravel(), "dX")
