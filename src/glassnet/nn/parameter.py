"""`Parameter`: a learnable array and the gradient accumulated into it."""

from __future__ import annotations

from .. import backend as B


class Parameter:
    """A learnable array.

    ``data`` holds the values and ``grad`` the gradient of the loss with
    respect to them: ``None`` until a backward pass adds into it (as in
    PyTorch, ``zero_grad`` sets it back to ``None``).

    >>> import numpy as np
    >>> p = Parameter(np.zeros((2, 3)))
    >>> p.shape, p.grad is None
    ((2, 3), True)
    >>> p.accumulate(np.ones((2, 3))); p.accumulate(np.ones((2, 3)))
    >>> float(p.grad.sum())
    12.0
    """

    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data, requires_grad: bool = True):
        self.data = B.asarray(data)
        self.grad = None
        self.requires_grad = requires_grad

    def accumulate(self, g) -> None:
        """Add ``g`` into ``grad`` (the backward contract: gradients add up)."""
        if not self.requires_grad:
            return
        if g.shape != self.data.shape:
            raise ValueError(f"gradient of shape {g.shape} for a parameter of shape {self.data.shape}")
        if self.grad is None:
            self.grad = B.get_array_module(self.data).array(g, dtype=self.data.dtype, copy=True)
        else:
            self.grad += g

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def numel(self) -> int:
        return int(self.data.size)

    def __repr__(self):
        return f"Parameter(shape={tuple(self.data.shape)}, dtype={self.data.dtype})"
