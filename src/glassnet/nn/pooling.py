"""`MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d` around :mod:`functional.pooling`."""

from __future__ import annotations

from .functional import pooling as P
from .functional.geometry import pair, pool_window
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        try:
            self.window = pool_window(kernel_size, stride, padding, ceil_mode)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__}: {e}") from None
        self.kernel_size, self.stride = self.window.kernel, self.window.stride
        self.padding = (self.window.pads[0], self.window.pads[2])
        self.ceil_mode = bool(ceil_mode)

    def _check(self, x):
        if x.ndim != 4:
            raise self._shape_error("(N, C, H, W)", x)
        if not self.window.fits(*x.shape[2:]):
            h, w = self.window.min_input()
            raise self._shape_error(f"(N, C, H, W) with H >= {h} and W >= {w}", x)

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
        y, saved = P.max_pool2d_forward(x, window=self.window)
        self._save(saved)
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
        y, saved = P.avg_pool2d_forward(x, count_include_pad=self.count_include_pad, window=self.window)
        self._save(saved)
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
        try:
            self.output_size = pair(output_size, "output_size")
        except ValueError as e:
            raise ValueError(f"AdaptiveAvgPool2d: {e}") from None

    def forward(self, x):
        if x.ndim != 4:
            raise self._shape_error("(N, C, H, W)", x)
        y, saved = P.adaptive_avg_pool2d_forward(x, self.output_size)
        self._save(saved)
        return y

    def backward(self, dy):
        return P.adaptive_avg_pool2d_backward(dy, self._saved())

    def extra_repr(self):
        return f"output_size={self.output_size}"
