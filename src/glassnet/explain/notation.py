"""Symbols with the lecture's names, in plain Unicode text and in LaTeX.

Every symbol of an explanation is an ordinary :class:`sympy.Symbol` whose
name is a valid Python identifier (``X_1_2``, ``dz_2_1``; indices are
zero-padded so that SymPy's alphabetical order is row-major order). How it
is *shown* is recorded beside it in :class:`Names`: ``X₁₂`` in text,
``X_{12}`` in LaTeX; a channel becomes a superscript, ``X₁₂⁽²⁾``.

>>> names = Names()
>>> X = names.grid("X", (2, 3), "X@sub", "X@sub")
>>> X.shape, names.text[X[1, 2]], names.tex[X[1, 2]]
((2, 3), 'X₂₃', 'X_{23}')
>>> names.grid("x", (1, 12), "x@sub", "x@sub").ravel()[-1].name, subscript(1, 12)
('x_01_12', '₁,₁₂')
"""

from __future__ import annotations

import numpy as np
import sympy as sp

_SUB = str.maketrans("0123456789+-()", "₀₁₂₃₄₅₆₇₈₉₊₋₍₎")
_SUP = str.maketrans("0123456789+-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾")


def subscript(*indices: int) -> str:
    """Unicode subscript of 1-based indices; a comma separates them once one reaches 10."""
    sep = "" if all(i < 10 for i in indices) else ","
    return sep.join(str(i).translate(_SUB) for i in indices)


def superscript(text: str) -> str:
    """Unicode superscript of digits, signs and parentheses."""
    return str(text).translate(_SUP)


def tex_subscript(*indices: int) -> str:
    sep = "" if all(i < 10 for i in indices) else ","
    return "_{" + sep.join(str(i) for i in indices) + "}"


class Names:
    """How each symbol of one explanation is written (``text`` and ``tex`` maps)."""

    def __init__(self):
        self.text: dict[sp.Symbol, str] = {}
        self.tex: dict[sp.Symbol, str] = {}

    def symbol(self, ident: str, text: str, tex: str) -> sp.Symbol:
        """A symbol named ``ident``, shown as ``text`` / ``tex``."""
        s = sp.Symbol(ident)
        self.text[s], self.tex[s] = text, tex
        return s

    def grid(self, ident: str, shape, text: str, tex: str, channel: int | None = None):
        """An object array of symbols ``ident_i_j`` (1-based, row-major) of the given 1-D or 2-D shape.

        ``text`` and ``tex`` are templates: ``@sub`` becomes the subscript
        (``₁₂`` / ``_{12}``) and ``@sup`` the channel as a superscript
        (``⁽²⁾`` / ``^{(2)}``) when ``channel`` is given, else nothing.
        """
        shape = tuple(shape)
        width = len(str(max(shape)))
        out = np.empty(shape, dtype=object)
        sup_text = superscript(f"({channel})") if channel is not None else ""
        sup_tex = f"^{{({channel})}}" if channel is not None else ""
        prefix = f"{ident}_c{channel}" if channel is not None else ident
        for idx in np.ndindex(shape):
            one = tuple(i + 1 for i in idx)
            name = prefix + "".join(f"_{i:0{width}d}" for i in one)
            out[idx] = self.symbol(
                name,
                text.replace("@sub", subscript(*one)).replace("@sup", sup_text),
                tex.replace("@sub", tex_subscript(*one)).replace("@sup", sup_tex),
            )
        return out
