"""``explain dense``: forward and backward of a small dense network, in the lecture's notation.

Layer l has n[l] units, weights W[l] (n[l] × n[l−1]) and bias b[l]; a[0] = x::

    z[l] = W[l] a[l−1] + b[l]        a[l] = g(z[l])
    dz[l] = da[l] ⊙ g′(z[l])         dW[l] = dz[l] a[l−1]ᵀ
    db[l] = dz[l]                    da[l−1] = W[l]ᵀ dz[l]

The element-by-element equations are produced by the layers' own code:
symbols go through :func:`~glassnet.nn.functional.linear.linear_forward` (as
exact polynomials) for z; each dW, db, da is the derivative of
``J = Σ_j dz_j z_j`` (the chain rule through z) and is compared with
:func:`~glassnet.nn.functional.linear.linear_backward` run on the same
symbols; dz comes from ``sympy.diff`` of ``Σ_j da_j g(z_j)``.

>>> e = dense((2, 1))
>>> print(e.names.text[e.symbols["W[1]"][0, 1]], e.results["z[1]"][0])
W[1]₁₂ W1_1_1*a0_1 + W1_1_2*a0_2 + b1_1
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..nn.functional.linear import LinearSaved, linear_backward, linear_forward
from .document import Block, Equation, Explanation, Raw, Section, Text
from .notation import Names
from .poly import Poly, same, to_sympy
from .shapes import check_small, positive


class sigmoid(sp.Function):  # noqa: N801 - printed as its name
    """σ(z) = 1 / (1 + e^(−z)), with σ′ = σ (1 − σ)."""

    _imp_ = staticmethod(lambda z: 1 / (1 + np.exp(-z)))

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _sympystr(self, printer):
        return f"σ({printer._print(self.args[0])})"

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class step(sp.Function):  # noqa: N801
    """ReLU′(z): 1 where z > 0, else 0 (0 at the kink, as glassnet and PyTorch)."""

    _imp_ = staticmethod(lambda z: np.where(z > 0, 1.0, 0.0))

    def _sympystr(self, printer):
        return f"[{printer._print(self.args[0])} > 0]"

    def _latex(self, printer):
        return rf"\left[{printer._print(self.args[0])} > 0\right]"


class relu(sp.Function):  # noqa: N801
    """ReLU(z) = max(z, 0)."""

    _imp_ = staticmethod(lambda z: np.maximum(z, 0))

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _latex(self, printer):
        return rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)"


ACTIVATIONS = {"g": None, "relu": relu, "sigmoid": sigmoid, "tanh": sp.tanh}
_DERIVATIVE = {
    "g": ("g′(z) is the derivative of the activation", r"g'(z) \text{ is the derivative of the activation}"),
    "relu": ("g = relu: g′(z) = [z > 0], 1 for z > 0 else 0", r"g = \operatorname{relu}: g'(z) = [z > 0]"),
    "sigmoid": ("g = σ: g′(z) = σ(z)(1 − σ(z))", r"g = \sigma: g'(z) = \sigma(z)(1 - \sigma(z))"),
    "tanh": ("g = tanh: g′(z) = 1 − tanh²(z)", r"g = \tanh: g'(z) = 1 - \tanh^2(z)"),
}


def dense(layers=(4, 3, 2), activation="g") -> Explanation:
    """Explain a dense network with ``layers`` = (n[0], n[1], ..., n[L]) units; ``activation``: g, relu, sigmoid, tanh.

    ``g`` keeps the activation abstract (``g′(z)`` in the backward). For each
    layer l, ``symbols`` holds ``W[l]``, ``b[l]``, ``a[l-1]``, ``z[l]``, ``da[l]``,
    ``dz[l]`` and ``results`` the SymPy expressions ``z[l]``, ``a[l]``, ``dz[l]``,
    ``dW[l]``, ``db[l]``, ``da[l-1]`` (each in terms of that layer's symbols).
    """
    sizes = tuple(layers)
    if len(sizes) < 2:
        raise ValueError(f"layers must list at least two sizes, n[0] (inputs) and n[1], got {layers!r}")
    sizes = tuple(positive(n, f"n[{i}]") for i, n in enumerate(sizes))
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    check_small(
        sum(a * b for a, b in zip(sizes, sizes[1:], strict=False)), f"the {'-'.join(map(str, sizes))} network's weights"
    )
    g = sp.Function("g") if activation == "g" else ACTIVATIONS[activation]
    names = Names()
    L = len(sizes) - 1
    sym, results, checks = {}, {}, {}
    forward, backward = [], []
    for l in range(1, L + 1):
        f, bwd, chk = _layer(names, sym, results, l, sizes[l - 1], sizes[l], g)
        forward.append(Block(f))
        backward.insert(0, Block(bwd))
        checks.update(chk)
    plural = "s" if L > 1 else ""
    arrows = " → ".join(f"n[{i}] = {n}" for i, n in enumerate(sizes))
    shapes = [
        Raw(
            f"layer {l} (W[{l}] {sizes[l]}×{sizes[l - 1]}, b[{l}] {sizes[l]}) = "
            f"{sizes[l]}·{sizes[l - 1]} + {sizes[l]} = {sizes[l] * (sizes[l - 1] + 1)}",
            rf"\text{{layer {l} }} (W^{{[{l}]}}\ {sizes[l]} \times {sizes[l - 1]},\ b^{{[{l}]}}\ {sizes[l]}) = "
            rf"{sizes[l]} \cdot {sizes[l - 1]} + {sizes[l]} = {sizes[l] * (sizes[l - 1] + 1)}",
        )
        for l in range(1, L + 1)
    ]
    total = sum(sizes[l] * (sizes[l - 1] + 1) for l in range(1, L + 1))
    deriv = _DERIVATIVE[activation]
    sections = [
        Section(
            "Notation",
            [
                Text(
                    f"L = {L} layer{plural}: {arrows}. Layer l has n[l] units, weights W[l] (n[l] × n[l−1]), "
                    f"bias b[l], pre-activation z[l] and activation a[l] = g(z[l]); a[0] = x is the input. "
                    "Indices: W[l]_jk connects unit k of layer l−1 to unit j of layer l.",
                ),
                Text("Parameters:"),
                Block(shapes + [Raw(f"total = {total}", rf"\text{{total}} = {total}")]),
            ],
        ),
        Section(
            "Forward",
            [
                Block(
                    [
                        Raw("z[l] = W[l] a[l−1] + b[l]", r"z^{[l]} = W^{[l]} a^{[l-1]} + b^{[l]}"),
                        Raw("a[l] = g(z[l])", r"a^{[l]} = g(z^{[l]})"),
                    ]
                ),
                *forward,
            ],
        ),
        Section(
            "Backward (from the last layer down)",
            [
                Text(
                    "da[L] = ∂J/∂a[L] comes from the loss; for every layer, with the same notation, d· ≡ ∂J/∂·. "
                    + deriv[0]
                    + ".",
                    r"$da^{[L]} = \partial J / \partial a^{[L]}$ comes from the loss; $d\cdot \equiv \partial J /"
                    r" \partial \cdot$ throughout; $" + deriv[1] + "$.",
                ),
                Block(
                    [
                        Raw("dz[l] = da[l] ⊙ g′(z[l])   (element-wise)", r"dz^{[l]} = da^{[l]} \odot g'(z^{[l]})"),
                        Raw("dW[l] = dz[l] a[l−1]ᵀ", r"dW^{[l]} = dz^{[l]} a^{[l-1]T}"),
                        Raw("db[l] = dz[l]", r"db^{[l]} = dz^{[l]}"),
                        Raw("da[l−1] = W[l]ᵀ dz[l]", r"da^{[l-1]} = W^{[l]T} dz^{[l]}"),
                    ]
                ),
                *backward,
                Text(
                    "For a batch of m examples glassnet stores them as rows (PyTorch's layout): Z = A_prev Wᵀ + b, "
                    "dW = dZᵀ A_prev and db = the column sums of dZ, i.e. the per-example rules summed; the 1/m of "
                    "a mean loss is already inside dZ.",
                ),
            ],
        ),
    ]
    title = f"Dense network {'-'.join(map(str, sizes))}" + ("" if activation == "g" else f", activation {activation}")
    return Explanation(title, sections, sym, results, checks, names)


def _vec(names, ident, n, text, tex):
    return names.grid(ident, (n,), text + "@sub", tex + "@sub")


def _layer(names, sym, results, l, n_prev, n, g):
    """Layer l's element-by-element forward and backward equations (and what was checked)."""
    a_prev = _vec(names, f"a{l - 1}", n_prev, f"a[{l - 1}]", f"a^{{[{l - 1}]}}")
    W = names.grid(f"W{l}", (n, n_prev), f"W[{l}]@sub", f"W^{{[{l}]}}@sub")
    b = _vec(names, f"b{l}", n, f"b[{l}]", f"b^{{[{l}]}}")
    z = _vec(names, f"z{l}", n, f"z[{l}]", f"z^{{[{l}]}}")
    a = _vec(names, f"a{l}", n, f"a[{l}]", f"a^{{[{l}]}}")
    da = _vec(names, f"da{l}", n, f"da[{l}]", f"da^{{[{l}]}}")
    dz = _vec(names, f"dz{l}", n, f"dz[{l}]", f"dz^{{[{l}]}}")
    dW = names.grid(f"dW{l}", (n, n_prev), f"dW[{l}]@sub", f"dW^{{[{l}]}}@sub")
    db = _vec(names, f"db{l}", n, f"db[{l}]", f"db^{{[{l}]}}")
    da_prev = _vec(names, f"da{l - 1}", n_prev, f"da[{l - 1}]", f"da^{{[{l - 1}]}}")
    sym.update({f"W[{l}]": W, f"b[{l}]": b, f"a[{l - 1}]": a_prev, f"z[{l}]": z, f"da[{l}]": da, f"dz[{l}]": dz})

    # forward through the layer's own code, on exact polynomials
    PW, Pb, Pa, Pdz = Poly.grid(W), Poly.grid(b), Poly.grid(a_prev), Poly.grid(dz)
    Pz = linear_forward(Pa[None], PW, Pb)[0][0]
    fwd = []
    for j in range(n):
        shown = sp.Add(*[sp.Mul(W[j, k], a_prev[k], evaluate=False) for k in range(n_prev)], b[j], evaluate=False)
        fwd.append(Equation(z[j], Pz[j].to_sympy(), shown, (f"z[{l}]", (j,))))
    fwd += [Equation(a[j], g(z[j]), None, (f"a[{l}]", (j,))) for j in range(n)]

    # backward: dz from sympy.diff through g; dW, db, da[l-1] as derivatives of J = Σ dz_j z_j
    dz_val = [sp.diff(sum(da[i] * g(z[i]) for i in range(n)), z[j]) for j in range(n)]
    J = sum((Pdz[j] * Pz[j] for j in range(n)), Poly())
    gW = np.array([[J.diff(W[j, k]) for k in range(n_prev)] for j in range(n)], dtype=object)
    gb = np.array([J.diff(b[j]) for j in range(n)], dtype=object)
    ga = np.array([J.diff(a_prev[k]) for k in range(n_prev)], dtype=object)
    lda, ldW, ldb = linear_backward(Pdz[None], LinearSaved(Pa[None], PW, True))
    checks = {
        f"layer {l}: dW, db, da[{l - 1}] from differentiating z[{l}] = linear_backward's": (
            same(gW, ldW) and same(gb, ldb) and same(ga, lda[0])
        )
    }
    bwd = [Equation(dz[j], dz_val[j], None, (f"dz[{l}]", (j,))) for j in range(n)]
    bwd += [
        Equation(dW[j, k], gW[j, k].to_sympy(), sp.Mul(dz[j], a_prev[k], evaluate=False), (f"dW[{l}]", (j, k)))
        for j in range(n)
        for k in range(n_prev)
    ]
    bwd += [Equation(db[j], gb[j].to_sympy(), None, (f"db[{l}]", (j,))) for j in range(n)]
    bwd += [
        Equation(
            da_prev[k],
            ga[k].to_sympy(),
            sp.Add(*[sp.Mul(W[j, k], dz[j], evaluate=False) for j in range(n)], evaluate=False)
            if n > 1
            else sp.Mul(W[0, k], dz[0], evaluate=False),
            (f"da[{l - 1}]", (k,)),
        )
        for k in range(n_prev)
    ]
    results.update(
        {
            f"z[{l}]": to_sympy(Pz),
            f"a[{l}]": np.array([g(v) for v in z], dtype=object),
            f"dz[{l}]": np.array(dz_val, dtype=object),
            f"dW[{l}]": to_sympy(gW),
            f"db[{l}]": to_sympy(gb),
            f"da[{l - 1}]": to_sympy(ga),
        }
    )
    return fwd, bwd, checks
