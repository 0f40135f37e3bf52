"""`MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d` around :mod:`functional.pooling`."""

from __future__ import annotations

from .. import backend as B
from .conv import _pair
from .functional import pooling as P
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride if stride is not None else kernel_size, "stride")
        self.padding = _pair(padding, "padding")
        self.ceil_mode = ceil_mode
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(f"{type(self).__name__}: padding should be at most half of the kernel size")

    def _check(self, x):
        if B.xp.ndim(x) != 4:
            raise self._shape_error("(N, C, H, W)", x)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if x.shape[2] + 2 * ph < kh or x.shape[3] + 2 * pw < kw:
            raise self._shape_error(f"(N, C, H, W) with H >= {kh - 2 * ph} and W >= {kw - 2 * pw}", x)

    def extra_repr(self):
        k, s, p = self.kernel_size, self.stride, self.padding
        return f"kernel_size={k}, stride={s}, padding={p}, ceil_mode={self.ceil_mode}"


class MaxPool2d(_Pool2d):
    """Max over each ``kernel_size`` window (padding with -inf; stride defaults to the kernel size).

    H_out = floor((H + 2*padding - kh) / stride) + 1 (ceil with ``ceil_mode``).
    Backward routes each gradient to the argmax recorded in forward (first
    maximum on ties, as PyTorch).

    >>> import numpy as np
    >>> MaxPool2d(2)(np.zeros((8, 6, 28, 28))).shape
    (8, 6, 14, 14)
    """

    def forward(self, x):
        self._check(x)
        y, ctx = P.max_pool2d_forward(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        self._save(ctx)
        return y

    def backward(self, dy):
        return P.max_pool2d_backward(dy, self._saved())


class AvgPool2d(_Pool2d):
    """Mean over each window (zero padding counted in the mean, PyTorch's default).

    Backward spreads each gradient evenly over its window.

    >>> import numpy as np
    >>> AvgPool2d(2)(np.ones((1, 1, 4, 4))).ravel()
    array([1., 1., 1., 1.])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, x):
        self._check(x)
        y, ctx = P.avg_pool2d_forward(
            x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )
        self._save(ctx)
        return y

    def backward(self, dy):
        return P.avg_pool2d_backward(dy, self._saved())


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size; ``AdaptiveAvgPool2d(1)`` is global average pooling.

    >>> import numpy as np
    >>> AdaptiveAvgPool2d(1)(np.ones((2, 512, 7, 7))).shape
    (2, 512, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _pair(output_size, "output_size")

    def forward(self, x):
        if B.xp.ndim(x) != 4:
            raise self._shape_error("(N, C, H, W)", x)
        y, ctx = P.adaptive_avg_pool2d_forward(x, self.output_size)
        self._save(ctx)
        return y

    def backward(self, dy):
        return P.adaptive_avg_pool2d_backward(dy, self._saved())

    def extra_repr(self):
        return f"output_size={self.output_size}"
