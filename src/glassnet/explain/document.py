"""An explanation: titled sections of prose, aligned equations and matrices, in three formats.

* text: Unicode, equations aligned on ``=``, matrices drawn with ⎡ ⎤ brackets;
* latex: a fragment (``\\section*``, ``align*``, ``bmatrix``) to paste into a document;
* markdown: headings with ``$$ \\begin{aligned} ... $$`` blocks (GitHub, Jupyter).

Every :class:`Equation` keeps its SymPy objects (``lhs``, ``rhs``, and the
unevaluated ``shown`` form that keeps the lecture's term order) and, where it
computes an entry of a layer's result, a ``target`` ``(name, index)`` that the
tests use to compare it with the numeric layer.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .notation import Names
from .printing import to_tex, to_text

FORMATS = ("text", "latex", "markdown")


@dataclass
class Raw:
    """A formula given directly as text and as LaTeX (shape formulas, matrix-form rules)."""

    text: str
    tex: str


@dataclass
class Text:
    """A paragraph; ``tex`` (LaTeX, used by the latex format) defaults to an escaped ``text``."""

    text: str
    tex: str | None = None


@dataclass
class Equation:
    """``lhs = rhs``; ``shown`` is the form printed (unevaluated SymPy or :class:`Raw`), ``rhs`` the value."""

    lhs: object
    rhs: object
    shown: object = None
    target: tuple | None = None

    @property
    def eq(self):
        """The equation as a SymPy ``Eq`` (unevaluated)."""
        return sp.Eq(self.lhs, self.rhs, evaluate=False)


@dataclass
class Block:
    """Equations (or :class:`Raw` lines) printed one per line, aligned on ``=``."""

    lines: list


@dataclass
class Matrices:
    """Matrices side by side: a list of ``(label, 2-D array)``; a label is a str or :class:`Raw`."""

    items: list


@dataclass
class Section:
    title: str
    items: list = field(default_factory=list)


@dataclass
class Explanation:
    """What :mod:`glassnet.explain` returns.

    ``symbols``: the input symbols, by name (object arrays of ``sympy.Symbol``);
    ``results``: the SymPy expressions, by name (object arrays); ``checks``:
    what was verified symbolically, description -> bool; ``names``: how each
    symbol is shown.
    """

    title: str
    sections: list
    symbols: dict
    results: dict
    checks: dict
    names: Names

    def equations(self):
        """Every :class:`Equation` shown, in order."""
        for s in self.sections:
            for item in s.items:
                if isinstance(item, Block):
                    yield from (e for e in item.lines if isinstance(e, Equation))

    def render(self, format: str = "text") -> str:
        """The explanation as ``"text"``, ``"latex"`` or ``"markdown"``."""
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        return {"text": _TextRenderer, "latex": _TexRenderer, "markdown": _MarkdownRenderer}[format](self).run()

    def __str__(self):
        return self.render("text")


# ---------------------------------------------------------------------------------------------- text


def _check_items(ex):
    return [(("✓" if ok else "✗"), what) for what, ok in ex.checks.items()]


class _TextRenderer:
    def __init__(self, ex):
        self.ex, self.names = ex, ex.names.text

    def run(self):
        out = [self.ex.title, "═" * len(self.ex.title)]
        for s in self.ex.sections:
            out += ["", s.title, "─" * len(s.title)]
            for i, item in enumerate(s.items):
                out += ([""] if i else []) + self.item(item)
        if self.ex.checks:
            out += ["", "Checked", "─" * 7] + [f"  {mark} {what}" for mark, what in _check_items(self.ex)]
        return "\n".join(out) + "\n"

    def show(self, x):
        return x.text if isinstance(x, Raw) else x if isinstance(x, str) else to_text(x, self.names)

    def item(self, item):
        if isinstance(item, Text):
            return textwrap.wrap(item.text, 100, initial_indent="  ", subsequent_indent="  ")
        if isinstance(item, Block):
            rows = []
            for line in item.lines:
                if isinstance(line, Raw):
                    left, eq, right = line.text.partition(" = ")
                    rows.append((left, right) if eq else (line.text, None))
                else:
                    rows.append((self.show(line.lhs), self.show(line.shown if line.shown is not None else line.rhs)))
            w = max((len(a) for a, b in rows if b is not None), default=0)
            return [f"  {a:<{w}} = {b}" if b is not None else f"  {a}" for a, b in rows]
        if isinstance(item, Matrices):
            return self.matrices(item)
        raise TypeError(f"unknown item {item!r}")

    def matrices(self, item):
        blocks = []
        for label, arr in item.items:
            arr = np.asarray(arr, dtype=object)
            arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
            numeric = all(not isinstance(v, sp.Basic) or v.is_Number for v in arr.ravel())
            cells = [[self.show(v) if isinstance(v, sp.Basic) else _num(v) for v in row] for row in arr]
            w = max(len(c) for row in cells for c in row)
            body = [" ".join(c.rjust(w) if numeric else c.center(w) for c in row) for row in cells]
            n = len(body)
            if n == 1:
                br = [("[", "]")]
            else:
                br = [("⎡", "⎤")] + [("⎢", "⎥")] * (n - 2) + [("⎣", "⎦")]
            head = f"{self.show(label)} = "
            mid = (n - 1) // 2
            lines = [
                (head if r == mid else " " * len(head)) + lb + row + rb
                for r, (row, (lb, rb)) in enumerate(zip(body, br, strict=True))
            ]
            blocks.append(lines)
        height = max(len(b) for b in blocks)
        widths = [len(b[0]) for b in blocks]
        out = []
        for r in range(height):
            parts = [(b[r] if r < len(b) else "").ljust(wd) for b, wd in zip(blocks, widths, strict=True)]
            out.append(("  " + "   ".join(parts)).rstrip())
        return out


def _num(v):
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------------------------- latex

_TEX_PROSE = {
    "×": r"$\times$",
    "·": r"$\cdot$",
    "−": "-",
    "⋆": r"$\star$",
    "°": r"$^\circ$",
    "∂": r"$\partial$",
    "≡": r"$\equiv$",
    "→": r"$\to$",
    "⌊": r"$\lfloor$",
    "⌋": r"$\rfloor$",
    "Σ": r"$\Sigma$",
    "ᵀ": r"$^T$",
    "⊙": r"$\odot$",
    "′": "'",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "≠": r"$\ne$",
    "✓": r"$\checkmark$",
    "✗": r"$\times$",
    "⁽": "$^($",
    "⁾": "$^)$",
    "…": r"\dots{}",
}
_TEX_ESCAPE = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\~{}",
    "^": r"\^{}",
    "\\": r"\textbackslash{}",
}


def tex_prose(text: str) -> str:
    """Plain Unicode prose -> LaTeX text (special characters escaped, symbols as inline maths)."""
    out = []
    for ch in text:
        if ch in _TEX_ESCAPE:
            out.append(_TEX_ESCAPE[ch])
        elif ch in _TEX_PROSE:
            out.append(_TEX_PROSE[ch])
        elif "₀" <= ch <= "₉":
            out.append(f"$_{ord(ch) - ord('₀')}$")
        elif ch in "⁰¹²³⁴⁵⁶⁷⁸⁹":
            out.append(f"$^{'⁰¹²³⁴⁵⁶⁷⁸⁹'.index(ch)}$")
        else:
            out.append(ch)
    return "".join(out).replace("$$", "")


class _TexRenderer:
    heading = (r"\section*{%s}", r"\subsection*{%s}")
    env = ("\\begin{align*}", "\\end{align*}")
    display = ("\\[", "\\]")

    def __init__(self, ex):
        self.ex, self.names = ex, ex.names.tex

    def prose(self, t: Text) -> str:
        return t.tex if t.tex is not None else tex_prose(t.text)

    def run(self):
        out = [self.heading[0] % self.title(self.ex.title)]
        for s in self.ex.sections:
            out += ["", self.heading[1] % self.title(s.title)]
            for item in s.items:
                out += self.item(item)
        if self.ex.checks:
            out += ["", self.heading[1] % "Checked"] + self.checks()
        return "\n".join(out) + "\n"

    def title(self, t):
        return tex_prose(t)

    def checks(self):
        return (
            ["\\begin{itemize}"]
            + [f"  \\item {tex_prose(m + ' ' + w)}" for m, w in _check_items(self.ex)]
            + ["\\end{itemize}"]
        )

    def show(self, x):
        return x.tex if isinstance(x, Raw) else x if isinstance(x, str) else to_tex(x, self.names)

    def item(self, item):
        if isinstance(item, Text):
            return [self.prose(item), ""]
        if isinstance(item, Block):
            rows = []
            for line in item.lines:
                if isinstance(line, Raw):
                    left, eq, right = line.tex.partition("=")
                    rows.append(f"{left}&={right}" if eq else line.tex)
                else:
                    rows.append(
                        f"{self.show(line.lhs)} &= {self.show(line.shown if line.shown is not None else line.rhs)}"
                    )
            return [self.env[0], " \\\\\n".join(rows), self.env[1], ""]
        if isinstance(item, Matrices):
            parts = []
            for label, arr in item.items:
                arr = np.asarray(arr, dtype=object)
                arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
                rows = [" & ".join(self.show(v) if isinstance(v, sp.Basic) else _num(v) for v in r) for r in arr]
                parts.append(f"{self.show(label)} = \\begin{{bmatrix}} " + r" \\ ".join(rows) + r" \end{bmatrix}")
            return [self.display[0], " \\qquad ".join(parts), self.display[1], ""]
        raise TypeError(f"unknown item {item!r}")


class _MarkdownRenderer(_TexRenderer):
    heading = ("# %s", "## %s")
    env = ("$$\n\\begin{aligned}", "\\end{aligned}\n$$")
    display = ("$$", "$$")

    def prose(self, t: Text) -> str:
        return t.tex if t.tex is not None else t.text  # explicit LaTeX prose is $maths$ and words: Markdown-safe

    def title(self, t):
        return t

    def checks(self):
        return [f"- {m} {w}" for m, w in _check_items(self.ex)]
