"""The lecture's derivations, generated from the layers' own code and checked against it.

Each function returns an :class:`Explanation`: sections of equations built
from SymPy symbols that were pushed through the same code the numeric layers
run (``pad2d``, ``im2col``, ``conv2d_forward``/``conv2d_backward``, the
pooling and linear functions), as exact polynomials (:mod:`.poly`). The
element-by-element gradients are derivatives of that symbolic forward; the
compact rules (correlation, full convolution with the rotated kernel, even
spreading, argmax routing) come from the layer code; and every explanation
records whether the two agree exactly (``explanation.checks``).

* :func:`conv`   convolution forward, dJ/dF, dJ/dX and the compact rules;
* :func:`pool`   max / average pooling forward and backward routing;
* :func:`params` a convolution layer's parameter count vs a dense layer's;
* :func:`dense`  a small dense network's forward and backward equations.

``str(e)`` is aligned Unicode text; ``e.render("latex")`` and
``e.render("markdown")`` give the other formats; ``e.results`` holds the SymPy
expressions and ``e.symbols`` the symbols they are written in.

SymPy is an optional extra: ``pip install 'glassnet[explain]'``.
``import glassnet`` never imports it; ``import glassnet.explain`` does.
"""

from __future__ import annotations

try:
    import sympy  # noqa: F401
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("SymPy is needed for glassnet explain: pip install 'glassnet[explain]'") from None

from .conv import conv
from .dense import dense
from .document import Explanation
from .params import params
from .pool import pool

__all__ = ["Explanation", "conv", "pool", "params", "dense"]
