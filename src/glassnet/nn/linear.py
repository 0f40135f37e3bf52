"""`Linear`, `Flatten` and `Identity`."""

from __future__ import annotations

from .. import backend as B
from . import init
from .functional.linear import linear_backward, linear_forward
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Fully connected layer ``Z = A_prev W^T + b`` (lecture: z[l] = W[l] a[l-1] + b[l]).

    weight: (out_features, in_features) = (n[l], n[l-1]); bias: (out_features,).
    Default init as PyTorch: U(-1/sqrt(in_features), 1/sqrt(in_features)) for both.

    >>> import numpy as np
    >>> Linear(784, 10)(np.zeros((32, 784), np.float32)).shape
    (32, 10)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or B.get_default_dtype()
        self.weight = Parameter(B.xp.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(B.xp.empty(out_features, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, x):
        if B.xp.ndim(x) != 2 or x.shape[1] != self.in_features:
            raise self._shape_error(f"(N, {self.in_features})", x)
        self._save(x)
        return linear_forward(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, dy):
        x = self._saved()
        dx, dW, db = linear_backward(dy, x, self.weight.data, self.bias is not None)
        self.weight.accumulate(dW)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Reshape (N, C, H, W) to (N, C*H*W) (dims ``start_dim``..``end_dim`` merged); backward reshapes back."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        shape = x.shape
        end = self.end_dim % len(shape)
        self._save(shape)
        return x.reshape(shape[: self.start_dim] + (-1,) + shape[end + 1 :])

    def backward(self, dy):
        return dy.reshape(self._saved())

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """y = x."""

    def forward(self, x):
        self._save(True)
        return x

    def backward(self, dy):
        self._saved()
        return dy
