"""Inverted dropout, forward and backward.

In training each unit is kept with probability 1-p and scaled by 1/(1-p), so
the expected output equals the input; in evaluation it is the identity::

    Y = X * M,   M = keep / (1 - p)        dX = dY * M

>>> import numpy as np
>>> Y, saved = dropout_forward(np.ones((2, 2)), 0.0, np.random.default_rng(0))
>>> Y, dropout_backward(np.ones((2, 2)), saved)
(array([[1., 1.],
       [1., 1.]]), array([[1., 1.],
       [1., 1.]]))
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ... import backend as B


class DropoutSaved(NamedTuple):
    mask: Any
    """keep / (1-p), or None for the identity (p = 0)."""


def dropout_forward(X, p, rng):
    """Y = X * mask; the mask is drawn from ``rng`` (a NumPy Generator), on the host, and moved to X's namespace."""
    if p == 0:
        return X, DropoutSaved(None)
    xp = B.get_array_module(X)
    if p >= 1:
        mask = xp.zeros(X.shape, X.dtype)
    else:
        keep = rng.random(X.shape) >= p
        mask = xp.asarray(keep.astype(X.dtype) / (1 - p))
    return X * mask, DropoutSaved(mask)


def dropout_backward(dY, saved: DropoutSaved):
    """dX = dY * mask."""
    return dY if saved.mask is None else dY * saved.mask
