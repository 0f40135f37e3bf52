"""``explain pool``: max and average pooling, forward and the backward routing.

* average: the symbols go through the layer's own
  :func:`~glassnet.nn.functional.pooling.avg_pool2d_forward` and
  ``avg_pool2d_backward`` (as exact polynomials); the element-by-element
  gradient is the chain rule with each ∂y/∂X read off the forward;
* max: the forward is ``max`` over each window of the layer's strided view
  (``pad2d`` with -∞, ``windows``); the general gradient is the derivative of
  that ``Max`` (SymPy's ``Max.fdiff``), a step function ``[X_ij > max(others)]``; because which input
  wins depends on the numbers, a seeded example input is pushed through the
  numeric ``max_pool2d_forward`` and its recorded argmax routes symbolic
  ``dy`` through ``max_pool2d_backward``, compared with the general formula
  evaluated at the example.

>>> e = pool("avg", (4, 4), 2)
>>> print(e.names.text[e.symbols["X"][0, 0]], "->", e.results["Y"][0, 0])
X₁₁ -> X_1_1/4 + X_1_2/4 + X_2_1/4 + X_2_2/4
>>> all(pool("max", (5, 5), 3, stride=2, padding=1).checks.values())
True
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..nn.functional.im2col import pad2d, windows
from ..nn.functional.pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    pool_output_size,
)
from .document import Block, Equation, Explanation, Matrices, Raw, Section, Text
from .notation import Names
from .poly import Poly, same, to_sympy
from .shapes import check_small, output_shape_lines, output_size, pair

KINDS = ("max", "avg")


def pool(kind="max", input=(4, 4), size=2, stride=None, padding=0, seed=0) -> Explanation:
    """Explain ``kind`` ("max" or "avg") pooling of an H x W input with a ``size`` window.

    ``stride`` defaults to ``size`` (PyTorch's default); ``padding`` (at most
    half the window) pads with -∞ for max and 0 for average (counted in the
    divisor, PyTorch's default). ``seed`` picks the worked example of max
    pooling. ``symbols``: X (H, W), dY (H_out, W_out); ``results``: Y, dX
    (the element-by-element gradient), dX_rule (the layer's backward), and for
    max X_example (numbers) and dX_example (dX routed for that input).
    """
    if kind not in KINDS:
        raise ValueError(f"pooling kind must be one of {', '.join(KINDS)}, got {kind!r}")
    (H, W), k = pair(input, "input"), pair(size, "size")
    s = k if stride is None else pair(stride, "stride")
    p = pair(padding, "padding", 0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding must be at most half the window size {k[0]}x{k[1]}, got {p[0]},{p[1]}")
    if k[0] > H + 2 * p[0] or k[1] > W + 2 * p[1]:
        raise ValueError(f"window {k[0]}x{k[1]} does not fit the {H}x{W} input padded by {p[0]},{p[1]}")
    check_small(H * W, f"the {H}x{W} input")
    names = Names()
    X = names.grid("X", (H, W), "X@sub", "X@sub")
    Ho, Wo = pool_output_size(H, k[0], s[0], p[0]), pool_output_size(W, k[1], s[1], p[1])
    dY = names.grid("dy", (Ho, Wo), "dy@sub", r"\frac{\partial J}{\partial y@sub}")
    y_lhs = names.grid("y", (Ho, Wo), "y@sub", "y@sub")
    dX_lhs = np.vectorize(lambda v: names.symbol("d" + v.name, "∂J/∂" + names.text[v], _tex_grad(names.tex[v])))(X)
    sym = {"X": X, "dY": dY}
    shape = _shape_section((H, W), k, s, p, (Ho, Wo), kind)
    if kind == "avg":
        body, results, checks = _avg(X, dY, y_lhs, dX_lhs, k, s, p)
    else:
        body, results, checks = _max(names, X, dY, y_lhs, dX_lhs, k, s, p, seed)
    checks = {**shape[1], **checks}
    title = (
        f"{'Max' if kind == 'max' else 'Average'} pooling: {H}×{W} input X, {k[0]}×{k[1]} window, "
        f"stride {_pr(s)}, padding {_pr(p)}"
    )
    return Explanation(title, [shape[0], *body], sym, results, checks, names)


def _pr(v):
    return str(v[0]) if v[0] == v[1] else f"{v[0]},{v[1]}"


def _tex_grad(tex):
    return rf"\frac{{\partial J}}{{\partial {tex}}}"


def _shape_section(hw, k, s, p, out, kind):
    lines = output_shape_lines(hw[0], k[0], s[0], p[0], "H") + output_shape_lines(hw[1], k[1], s[1], p[1], "W")
    formula = (output_size(hw[0], k[0], s[0], p[0]), output_size(hw[1], k[1], s[1], p[1]))
    pad = "-∞ (never the max)" if kind == "max" else "0 (counted in the average, as PyTorch by default)"
    sec = Section(
        "Output shape",
        [
            Text(
                f"K: window size; S: stride (default K: windows do not overlap); P: padding on each side, with {pad}."
            ),
            Block(lines),
            Text(f"So Y is {out[0]}×{out[1]}. Pooling works on each channel separately; it has no parameters."),
        ],
    )
    return sec, {f"the shape formula gives the layer's output shape {out[0]}x{out[1]}": formula == out}


def _window_symbols(X, k, s, p, fill):
    """Each output's window of X (padding entries dropped), from the layer's own ``pad2d`` + ``windows``."""
    win = windows(pad2d(X[None, None], (p[0], p[0], p[1], p[1]), fill), k[0], k[1], s, (1, 1))[0, 0]
    Ho, Wo = win.shape[2:]
    return {(y, x): [v for v in win[:, :, y, x].ravel() if v != fill] for y in range(Ho) for x in range(Wo)}


def _over(dy, coeff):
    """``dy·c`` shown as ``dy/n`` when c = 1/n."""
    if coeff == 1:
        return dy
    if coeff.is_Rational and coeff.p == 1:
        return sp.Mul(dy, sp.Pow(coeff.q, -1, evaluate=False), evaluate=False)
    return sp.Mul(dy, coeff, evaluate=False)


def _sum(terms):
    if not terms:
        return sp.S.Zero
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _avg(X, dY, y_lhs, dX_lhs, k, s, p):
    PX, PdY = Poly.grid(X), Poly.grid(dY)
    PY, ctx = avg_pool2d_forward(PX[None, None], k, s, p)
    PY = PY[0, 0]
    div = ctx.div
    win = _window_symbols(X, k, s, p, sp.S.Zero)
    fwd = []
    for (y, x), v in np.ndenumerate(PY):
        n = int(div if np.ndim(div) == 0 else div[y, x])
        shown = sp.Mul(_sum(win[y, x]), sp.Pow(n, -1, evaluate=False), evaluate=False)
        fwd.append(Equation(y_lhs[y, x], v.to_sympy(), shown, ("Y", (y, x))))
    # element by element: dJ/dX_ij = Σ dy_yx ∂y_yx/∂X_ij
    by_name = {v.name: idx for idx, v in np.ndenumerate(X)}
    grad = np.array([[Poly() for _ in range(X.shape[1])] for _ in range(X.shape[0])], dtype=object)
    terms = {idx: [] for idx in by_name.values()}
    for (y, x), v in np.ndenumerate(PY):
        for name in sorted(v.names() & by_name.keys()):
            idx, c = by_name[name], v.diff(sp.Symbol(name))
            grad[idx] = grad[idx] + PdY[y, x] * c
            terms[idx].append(_over(dY[y, x], c.to_sympy()))
    rule = avg_pool2d_backward(PdY[None, None], ctx)[0, 0]
    dX = to_sympy(grad)
    bwd = [Equation(dX_lhs[idx], dX[idx], _sum(terms[idx]), ("dX", idx)) for idx in np.ndindex(X.shape)]
    shown = np.empty(X.shape, dtype=object)
    for idx in np.ndindex(X.shape):
        shown[idx] = _sum(terms[idx])
    n = k[0] * k[1]
    sections = [
        Section(
            "Forward: each output is the mean of its window",
            [Matrices([(Raw("X", "X"), X)]), Block(fwd)],
        ),
        Section(
            "Backward: spread evenly",
            [
                Text(
                    f"dy_yx ≡ ∂J/∂y_yx arrives from the layer above. Each y is (sum of its window)/{n}, so "
                    f"∂y_yx/∂X_ij = 1/{n} inside the window and 0 outside: every input of a window receives an equal "
                    "share of its gradient, and an input in several windows adds up their shares.",
                    r"$dy_{yx} \equiv \partial J / \partial y_{yx}$ arrives from the layer above. Each $y$ is the sum"
                    rf" of its window over {n}, so $\partial y_{{yx}} / \partial X_{{ij}} = 1/{n}$ inside the window"
                    " and 0 outside: every input of a window receives an equal share of its gradient.",
                ),
                Block(bwd),
                # the picture of the spreading, where windows do not overlap (else it repeats the sums above)
                *(
                    [Matrices([(Raw("∂J/∂X", r"\frac{\partial J}{\partial X}"), shown)])]
                    if s[0] >= k[0] and s[1] >= k[1]
                    else []
                ),
            ],
        ),
    ]
    checks = {
        f"∂J/∂X from the element-by-element sums = avg_pool2d_backward's dX ({X.size} entries)": same(grad, rule),
    }
    results = {"Y": to_sympy(PY), "dX": dX, "dX_rule": dX if same(grad, rule) else to_sympy(rule)}
    return sections, results, checks


def max_derivative(args, v):
    """``∂max(args)/∂v = Heaviside(v - max(the others))``: SymPy's own ``Max.fdiff``, built without its slow
    simplification of ``Max(others)`` (the arguments are distinct symbols, so there is nothing to simplify).

    >>> import sympy as sp
    >>> a, b, c = sp.symbols("a b c")
    >>> max_derivative([a, b, c], a) == sp.diff(sp.Max(a, b, c), a)
    True
    """
    others = [u for u in args if u != v]
    if not others:
        return sp.S.One
    return sp.Heaviside(v - sp.Max(*others, evaluate=False), evaluate=False)


def _max(names, X, dY, y_lhs, dX_lhs, k, s, p, seed):
    win = _window_symbols(X, k, s, p, -sp.oo)
    Y = np.empty(dY.shape, dtype=object)
    for y, x in np.ndindex(Y.shape):
        Y[y, x] = sp.Max(*win[y, x], evaluate=False)  # distinct symbols: nothing to simplify
    fwd = [Equation(y_lhs[idx], Y[idx], None, ("Y", idx)) for idx in np.ndindex(Y.shape)]
    # general gradient: the derivative of each max, a step function of the inputs
    terms = {idx: [] for idx in np.ndindex(X.shape)}
    where = {v: idx for idx, v in np.ndenumerate(X)}
    for y, x in np.ndindex(Y.shape):
        for v in win[y, x]:
            terms[where[v]].append((dY[y, x], max_derivative(win[y, x], v)))
    dX = np.empty(X.shape, dtype=object)
    for idx, t in terms.items():
        dX[idx] = sp.Add(*(d * c for d, c in t))
    bwd = [
        Equation(dX_lhs[idx], dX[idx], _sum([sp.Mul(d, c, evaluate=False) for d, c in terms[idx]]), ("dX", idx))
        for idx in np.ndindex(X.shape)
    ]
    # the worked example: the numeric layer records the argmax; its backward routes symbolic dy
    example = (np.random.default_rng(seed).permutation(X.size) + 1).reshape(X.shape).astype(np.float64)
    Y_num, ctx = max_pool2d_forward(example[None, None], k, s, p)
    routed = max_pool2d_backward(Poly.grid(dY)[None, None], ctx)[0, 0]
    values = {v: sp.Integer(int(example[idx])) for idx, v in np.ndenumerate(X)}
    at_example = np.empty(X.shape, dtype=object)
    for idx, t in terms.items():
        at_example[idx] = sum((Poly.var(d) * int(c.xreplace(values)) for d, c in t), Poly())
    example_lines = []
    arg = ctx[0][0, 0]  # where max_pool2d_forward found each maximum: i*kw + j within the window
    for y, x in np.ndindex(Y.shape):
        i, j = divmod(int(arg[y, x]), k[1])
        best = X[y * s[0] + i - p[0], x * s[1] + j - p[1]]
        nums = ", ".join(str(values[v]) for v in win[y, x])
        t = f"{names.text[y_lhs[y, x]]} = max({nums}) = {values[best]}, at {names.text[best]}"
        tex = rf"{names.tex[y_lhs[y, x]]} = \max({nums}) = {values[best]}, \text{{ at }} {names.tex[best]}"
        example_lines.append(Raw(t, tex))
    dX_example = to_sympy(routed)
    sections = [
        Section(
            "Forward: each output is the largest entry of its window",
            [Matrices([(Raw("X", "X"), X)]), Block(fwd)],
        ),
        Section(
            "Backward, the general rule: route to the maximum",
            [
                Text(
                    "dy_yx ≡ ∂J/∂y_yx arrives from the layer above. ∂max(a, b, …)/∂a is 1 when a is the largest and 0 "
                    "otherwise, written [a > max(b, …)]: each dy goes back to the one input that was the maximum of "
                    "its window, the others get 0. (On a tie the derivative is undefined; the layer, like PyTorch, "
                    "gives it to the first maximum in row-major order.)",
                    r"$dy_{yx} \equiv \partial J / \partial y_{yx}$ arrives from the layer above. $\partial \max(a, b,"
                    r" \dots) / \partial a$ is 1 when $a$ is the largest and 0 otherwise, written $[a > \max(b,"
                    r" \dots)]$: each $dy$ goes back to the one input that was the maximum of its window. (On a tie"
                    " the layer, like PyTorch, gives it to the first maximum in row-major order.)",
                ),
                Block(bwd),
            ],
        ),
        Section(
            f"A worked example (seed {seed}): the argmax recorded in forward routes the gradient",
            [
                Matrices([(Raw("X", "X"), example)]),
                Block(example_lines),
                Text("max_pool2d_forward records where each maximum was; backward puts each dy there:"),
                Matrices([(Raw("∂J/∂X", r"\frac{\partial J}{\partial X}"), dX_example)]),
            ],
        ),
    ]
    checks = {
        "the forward picks the same maxima as max_pool2d_forward on the example": bool(
            np.array_equal(np.vectorize(lambda m: float(m.xreplace(values)))(Y), Y_num[0, 0])
        ),
        "the general rule at the example = max_pool2d_backward's routing of dy": same(at_example, routed),
    }
    results = {"Y": Y, "dX": dX, "X_example": example, "dX_example": dX_example}
    return sections, results, checks
