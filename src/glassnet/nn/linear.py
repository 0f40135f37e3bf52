"""`Linear`: the fully connected layer."""

from __future__ import annotations

from .. import backend as B
from . import init
from .functional.geometry import positive_int
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
        try:
            self.in_features = positive_int(in_features, "in_features")
            self.out_features = positive_int(out_features, "out_features")
        except ValueError as e:
            raise ValueError(f"Linear: {e}") from None
        dtype = dtype or B.get_default_dtype()
        self.weight = Parameter(B.xp.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(B.xp.empty(out_features, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise self._shape_error(f"(N, {self.in_features})", x)
        y, saved = linear_forward(x, self.weight.data, None if self.bias is None else self.bias.data)
        self._save(saved)
        return y

    def backward(self, dy):
        saved = self._saved()
        if not self.input_grad_wanted:
            saved = saved._replace(need_dA=False)
        dx, dW, db = linear_backward(dy, saved)
        self.weight.accumulate(dW)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
