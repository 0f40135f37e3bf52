"""`Conv2d`: a thin holder of filters and biases around :mod:`functional.conv`."""

from __future__ import annotations

from .. import backend as B
from . import init
from .containers import Sequential
from .functional.conv import conv2d_backward, conv2d_forward
from .functional.geometry import conv_window, positive_int
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """2-D convolution: cross-correlation of the input with ``out_channels`` filters.

    Each filter holds one ``kh x kw`` kernel per input channel; their
    responses are summed into one feature map, plus one bias per filter, so
    the layer has ``out_channels * (in_channels * kh * kw + 1)`` parameters
    whatever the image size (the lecture's 10 x (3x3x3 + 1) = 280). The same
    kernel is used at every position (weight sharing).

    Shapes: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out) with::

        H_out = floor((H + 2*padding - dilation*(kh-1) - 1) / stride) + 1

    ``padding`` is an int, a pair, ``"valid"`` (0) or ``"same"`` (output size
    = input size, stride 1; an odd total pads the extra row/column at the
    bottom/right, as PyTorch). weight: (C_out, C_in, kh, kw); bias: (C_out,).
    Default init as PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in*kh*kw.

    >>> import numpy as np
    >>> conv = Conv2d(3, 10, 3)
    >>> sum(p.size for p in conv.parameters())          # 10 x (3x3x3 + 1)
    280
    >>> conv(np.zeros((1, 3, 100, 100), np.float32)).shape
    (1, 10, 98, 98)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True, dtype=None):
        super().__init__()
        try:
            self.in_channels = positive_int(in_channels, "in_channels")
            self.out_channels = positive_int(out_channels, "out_channels")
            self.window = conv_window(kernel_size, stride, padding, dilation)
        except ValueError as e:
            raise ValueError(f"Conv2d: {e}") from None
        self.kernel_size, self.stride, self.dilation = self.window.kernel, self.window.stride, self.window.dilation
        self.padding = padding if isinstance(padding, str) else (self.window.pads[0], self.window.pads[2])
        dtype = dtype or B.get_default_dtype()
        kh, kw = self.kernel_size
        self.weight = Parameter(B.xp.empty((out_channels, in_channels, kh, kw), dtype=dtype))
        self.bias = Parameter(B.xp.empty(out_channels, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)
        self.needs_input_grad = True

    @property
    def _pads(self):
        """(top, bottom, left, right), from the layer's :class:`~.functional.geometry.Window2d`."""
        return self.window.pads

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self._shape_error(f"(N, {self.in_channels}, H, W)", x)
        if not self.window.fits(*x.shape[2:]):
            need_h, need_w = self.window.span
            raise self._shape_error(
                f"(N, {self.in_channels}, H, W) with H + padding >= {need_h} and W + padding >= {need_w}", x
            )
        bias = None if self.bias is None else self.bias.data
        y, saved = conv2d_forward(x, self.weight.data, bias, window=self.window)
        self._save(saved)
        return y

    def backward(self, dy):
        saved = self._saved()
        if not (self.needs_input_grad and self.input_grad_wanted):
            saved = saved._replace(need_dX=False)
        dx, dW, db = conv2d_backward(dy, saved)
        self.weight.accumulate(dW)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s


def skip_input_gradient(model: Module) -> list[Conv2d]:
    """Mark the convolution that reads the model's input to skip dL/dx for good; returns the layers marked.

    Prefer ``model.backward(dy, input_grad=False)``, which says the same for
    one backward pass and works for any model. This older switch sets
    ``needs_input_grad = False`` on the layer at the head of the model's
    chain of `Sequential` containers (LeNet's ``features.0``, ResNet's
    ``conv1``), so ``model.backward(dy)`` then returns ``None``.

    >>> from glassnet.models import lenet5
    >>> [m.label for m in skip_input_gradient(lenet5())]
    ['Conv2d (features.0)']
    """

    m = model
    while isinstance(m, Sequential) and len(m):
        m = m[0]
    if isinstance(m, Conv2d):
        m.needs_input_grad = False
        return [m]
    return []
