"""A small exact polynomial type that the numeric layers' code can run on.

The layers are written for NumPy arrays of numbers, but their index logic
(``pad2d``, ``im2col``, the strided views, ``+=`` into slices, matrix
products) only ever adds, multiplies and divides entries. An object array of
:class:`Poly` goes through that code unchanged and comes out as exact
polynomials in the symbols, which :meth:`Poly.to_sympy` turns into SymPy.

Why not SymPy expressions directly? A matrix product on object arrays adds
its terms one at a time, and each SymPy ``Add`` re-sorts the whole sum: a
gradient entry with n terms costs O(n² log n) comparisons. A dict of
monomials adds in O(n), so a 32x32 explanation takes a second, not a minute.

>>> import sympy as sp
>>> x, y = sp.symbols("x y")
>>> p = (Poly.var(x) + 2) * Poly.var(y) / 4
>>> p.to_sympy(), p.diff(y).to_sympy(), p == Poly.var(y) * Poly.var(x) / 4 + Poly.var(y) / 2
(x*y/4 + y/2, x/4 + 1/2, True)
"""

from __future__ import annotations

import functools
import numbers
from fractions import Fraction

import numpy as np
import sympy as sp


@functools.lru_cache(maxsize=65536)
def _symbol(name):
    return sp.Symbol(name)


def _coef(v):
    """An exact coefficient: an int where possible (fast), else a Fraction (a float converts exactly)."""
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Rational):
        return Fraction(int(v.numerator), int(v.denominator))
    if isinstance(v, numbers.Real):
        v = float(v)
        return int(v) if v.is_integer() else Fraction(v)
    raise TypeError(f"Poly coefficients must be real numbers, got {type(v).__name__}")


class Poly:
    """A polynomial: ``{monomial: coefficient}``; a monomial is a sorted tuple of symbol names.

    Names, not SymPy symbols, are the keys: strings hash and compare much
    faster, and ``sympy.Symbol(name)`` gives the symbol back.
    """

    __slots__ = ("terms",)
    __hash__ = None

    def __init__(self, terms=None):
        self.terms = {m: c for m, c in (terms or {}).items() if c != 0}

    @classmethod
    def _raw(cls, terms):
        p = cls.__new__(cls)
        p.terms = terms
        return p

    @classmethod
    def var(cls, symbol) -> Poly:
        return cls._raw({(symbol.name,): 1})

    @classmethod
    def grid(cls, symbols):
        """An object array of variables, one per symbol of ``symbols`` (an object array)."""
        out = np.empty(symbols.shape, dtype=object)
        for idx, s in np.ndenumerate(symbols):
            out[idx] = cls.var(s)
        return out

    def _lift(self, other):
        if isinstance(other, Poly):
            return other
        c = _coef(other)
        return Poly._raw({(): c} if c else {})

    def __add__(self, other):
        other = self._lift(other)
        if not other.terms:
            return self
        if not self.terms:
            return other
        terms = dict(self.terms)
        for m, c in other.terms.items():
            v = terms.get(m, 0) + c
            if v:
                terms[m] = v
            else:
                del terms[m]
        return Poly._raw(terms)

    __radd__ = __add__

    def __neg__(self):
        return Poly._raw({m: -c for m, c in self.terms.items()})

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        other = self._lift(other)
        terms = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                m = tuple(sorted(m1 + m2))
                terms[m] = terms.get(m, 0) + c1 * c2
        return Poly(terms)

    __rmul__ = __mul__

    def __truediv__(self, other):
        d = _coef(other)
        return Poly._raw({m: Fraction(c) / d for m, c in self.terms.items()})

    def __eq__(self, other):
        if not isinstance(other, Poly | numbers.Real):
            return NotImplemented
        return self.terms == self._lift(other).terms

    def __bool__(self):
        return bool(self.terms)

    def diff(self, symbol) -> Poly:
        """The partial derivative with respect to ``symbol``."""
        name, terms = symbol.name, {}
        for m, c in self.terms.items():
            k = m.count(name)
            if k:
                rest = list(m)
                rest.remove(name)
                terms[tuple(rest)] = terms.get(tuple(rest), 0) + c * k
        return Poly(terms)

    def names(self) -> set:
        """The names of the symbols that occur."""
        return {s for m in self.terms for s in m}

    def to_sympy(self):
        """The same polynomial as a SymPy expression (exact rational coefficients)."""
        terms = []
        for m, c in self.terms.items():
            t = sp.Mul(*map(_symbol, m)) if len(m) > 1 else _symbol(m[0]) if m else sp.S.One
            terms.append(t if c == 1 else sp.Rational(c) * t)
        return sp.Add(*terms)

    def __repr__(self):
        return f"Poly({self.to_sympy()})"


def to_sympy(a):
    """An object array of :class:`Poly` (or numbers) -> an object array of SymPy expressions."""
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = (v if isinstance(v, Poly) else Poly()._lift(v)).to_sympy()
    return out


def same(a, b) -> bool:
    """Whether two object arrays of :class:`Poly` (or numbers) are equal entry by entry, exactly."""
    return a.shape == b.shape and all(Poly()._lift(x) == y for x, y in zip(a.ravel(), b.ravel(), strict=True))
