"""`Conv2d`: a thin holder of filters and biases around :mod:`functional.conv`."""

from __future__ import annotations

from .. import backend as B
from . import init
from .functional.conv import conv2d_backward, conv2d_forward
from .module import Module
from .parameter import Parameter


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(i, int) for i in v):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    return v


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
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.dilation = _pair(dilation, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions (as in PyTorch)")
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding")
        self._pads = self._pad_amounts()
        dtype = dtype or B.get_default_dtype()
        kh, kw = self.kernel_size
        self.weight = Parameter(B.xp.empty((out_channels, in_channels, kh, kw), dtype=dtype))
        self.bias = Parameter(B.xp.empty(out_channels, dtype=dtype)) if bias else None
        init.default_weight_and_bias_(self.weight, self.bias)
        self.needs_input_grad = True

    def _pad_amounts(self):
        """(top, bottom, left, right)."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            th = self.dilation[0] * (self.kernel_size[0] - 1)
            tw = self.dilation[1] * (self.kernel_size[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        ph, pw = self.padding
        return (ph, ph, pw, pw)

    def forward(self, x):
        if B.xp.ndim(x) != 4 or x.shape[1] != self.in_channels:
            raise self._shape_error(f"(N, {self.in_channels}, H, W)", x)
        t, b, left, r = self._pads
        need_h = self.dilation[0] * (self.kernel_size[0] - 1) + 1
        need_w = self.dilation[1] * (self.kernel_size[1] - 1) + 1
        if x.shape[2] + t + b < need_h or x.shape[3] + left + r < need_w:
            raise self._shape_error(
                f"(N, {self.in_channels}, H, W) with H + padding >= {need_h} and W + padding >= {need_w}", x
            )
        bias = None if self.bias is None else self.bias.data
        y, ctx = conv2d_forward(x, self.weight.data, bias, self.stride, self._pads, self.dilation)
        self._save(ctx)
        return y

    def backward(self, dy):
        dx, dW, db = conv2d_backward(dy, self._saved(), self.needs_input_grad)
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
    """Let the convolution that reads the model's input skip dL/dx in backward; returns the layers marked.

    Training needs no gradient with respect to the images, and PyTorch does
    not compute it either (the input has no ``requires_grad``); for a first
    convolution it is a full convolution as costly as the forward pass. The
    layer found is the one at the head of the model's chain of `Sequential`
    containers (LeNet's ``features.0``, ResNet's ``conv1``); it gets
    ``needs_input_grad = False``, so ``model.backward(dy)`` then returns
    ``None``. Set the flag back to ``True`` to get input gradients again
    (saliency maps do: see :func:`glassnet.viz.hooks.inspecting`).

    >>> from glassnet.models import lenet5
    >>> [m.label for m in skip_input_gradient(lenet5())]
    ['Conv2d (features.0)']
    """
    from .containers import Sequential

    m = model
    while isinstance(m, Sequential) and len(m):
        m = m[0]
    if isinstance(m, Conv2d):
        m.needs_input_grad = False
        return [m]
    return []
