"""Activation modules: `ReLU`, `LeakyReLU`, `Sigmoid`, `Tanh`, `Softmax`."""

from __future__ import annotations

from .functional import activation as A
from .module import Module


class ReLU(Module):
    """a = max(z, 0); da/dz = 1 where z > 0, else 0.

    Keeps its output a (not z) for backward: a > 0 exactly where z > 0, and
    the next layer usually keeps a anyway, so this costs no memory.

    >>> import numpy as np
    >>> ReLU()(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    def __init__(self, inplace: bool = False):
        super().__init__()  # `inplace` accepted for PyTorch compatibility; glassnet never aliases

    def forward(self, x):
        y, saved = A.relu_forward(x)
        self._save(saved)
        return y

    def backward(self, dy):
        return A.relu_backward(dy, self._saved())


class LeakyReLU(Module):
    """a = z if z > 0 else negative_slope * z."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        y, saved = A.leaky_relu_forward(x, self.negative_slope)
        self._save(saved)
        return y

    def backward(self, dy):
        return A.leaky_relu_backward(dy, self._saved())

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """a = 1 / (1 + exp(-z)); da/dz = a (1 - a)."""

    def forward(self, x):
        y, saved = A.sigmoid_forward(x)
        self._save(saved)
        return y

    def backward(self, dy):
        return A.sigmoid_backward(dy, self._saved())


class Tanh(Module):
    """a = tanh(z); da/dz = 1 - a^2."""

    def forward(self, x):
        y, saved = A.tanh_forward(x)
        self._save(saved)
        return y

    def backward(self, dy):
        return A.tanh_backward(dy, self._saved())


class Softmax(Module):
    """a = exp(z) / sum(exp(z)) along ``dim`` (default 1, the class axis of (N, K)).

    For training, prefer raw logits with `CrossEntropyLoss` (fused, stable).
    """

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        y, saved = A.softmax_forward(x, self.dim)
        self._save(saved)
        return y

    def backward(self, dy):
        return A.softmax_backward(dy, self._saved())

    def extra_repr(self):
        return f"dim={self.dim}"
