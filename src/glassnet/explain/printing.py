"""Two SymPy printers that keep the lecture's order and names.

* :class:`TextPrinter`: one line of Unicode (``X₁₁·F₁₁ + X₁₂·F₁₂``);
* :class:`TexPrinter`: LaTeX (``X_{11} F_{11} + X_{12} F_{12}``).

Both print terms and factors in the order they were built (``order='none'``),
so an unevaluated ``X11*F11 + X12*F12`` reads as in the notes, not sorted.
A max-pool derivative ``Heaviside(a - Max(b, c))`` is shown as the Iverson
bracket ``[a > max(b, c)]`` (1 when a is the largest of its window), and
the derivative of an unknown activation ``g`` as ``g′(z)``.

>>> import sympy as sp
>>> a, b, c = sp.symbols("a b c")
>>> to_text(sp.Add(sp.Mul(b, a, evaluate=False), c**2, evaluate=False))
'b·a + c²'
>>> to_text(sp.Heaviside(a - sp.Max(b, c))), to_tex(sp.Heaviside(a - b))
('[a > max(b, c)]', '\\\\left[a > b\\\\right]')
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from .notation import superscript


def _iverson_parts(expr):
    """``Heaviside(a - m)`` -> (a, m) when it reads as ``[a > m]``, else None."""
    pos, neg = [], []
    for t in sp.Add.make_args(expr.args[0]):
        (neg if t.could_extract_minus_sign() else pos).append(t)
    if len(pos) == 1 and len(neg) == 1:
        return pos[0], -neg[0]
    return None


def _applied_derivative(expr):
    """``Derivative(g(z), z)`` of an unknown one-argument function -> (g's name, z), else None."""
    f = expr.expr
    if isinstance(f, sp.core.function.AppliedUndef) and len(f.args) == 1 and expr.variables == f.args:
        return f.func.__name__, f.args[0]
    return None


class TextPrinter(StrPrinter):
    """One-line Unicode printer; ``names`` maps symbols to their shown text."""

    def __init__(self, names=None):
        super().__init__({"order": "none"})
        self.names = names or {}

    def _print_Symbol(self, expr):
        return self.names.get(expr, expr.name)

    def _print_Mul(self, expr):
        return super()._print_Mul(expr).replace("*", "·")

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and 1 < expr.exp < 10:
            return self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE["Pow"], strict=True) + superscript(
                expr.exp
            )
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Max(self, expr):
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Heaviside(self, expr):
        parts = _iverson_parts(expr)
        if parts is None:
            return "H(" + self._print(expr.args[0]) + ")"
        return f"[{self._print(parts[0])} > {self._print(parts[1])}]"

    def _print_Derivative(self, expr):
        d = _applied_derivative(expr)
        if d is None:
            return super()._print_Derivative(expr)
        return f"{d[0]}′({self._print(d[1])})"


class TexPrinter(LatexPrinter):
    """LaTeX printer; ``names`` maps symbols to their LaTeX."""

    def __init__(self, names=None):
        super().__init__({"order": "none", "symbol_names": dict(names or {})})

    def _print_Max(self, expr, exp=None):
        return r"\max\left(" + ", ".join(self._print(a) for a in expr.args) + r"\right)"

    def _print_Heaviside(self, expr, exp=None):
        parts = _iverson_parts(expr)
        if parts is None:
            return r"H\left(" + self._print(expr.args[0]) + r"\right)"
        return rf"\left[{self._print(parts[0])} > {self._print(parts[1])}\right]"

    def _print_Derivative(self, expr):
        d = _applied_derivative(expr)
        if d is None:
            return super()._print_Derivative(expr)
        return rf"{d[0]}'\left({self._print(d[1])}\right)"


def to_text(expr, names=None) -> str:
    """``expr`` as one line of Unicode."""
    return TextPrinter(names).doprint(expr)


def to_tex(expr, names=None) -> str:
    """``expr`` as LaTeX."""
    return TexPrinter(names).doprint(expr)
