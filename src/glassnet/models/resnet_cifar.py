"""The CIFAR-10 ResNets of He et al. 2016 (section 4.2): ResNet-20/32/44/56, for 3x32x32 input.

Layout (6n + 2 weighted layers): a 3x3 conv with 16 filters, then three
stages of ``n`` basic blocks with 16, 32 and 64 filters on 32x32, 16x16 and
8x8 maps (the first block of stages 2 and 3 has stride 2), global average
pooling and one linear layer. n = 3, 5, 7, 9 gives ResNet-20, 32, 44, 56.

Shortcuts: **option A** of the paper, the one it uses on CIFAR: every
shortcut is parameter-free. Where a block halves the map and doubles the
width, the shortcut takes every second pixel (``x[:, :, ::2, ::2]``) and
appends zero channels (:class:`ZeroPadShortcut`). So ResNet-20 has
269,722 parameters (the paper's table 6: 0.27 M), ResNet-56 853,018 (0.85 M).

Blocks are the same :class:`~glassnet.models.resnet.BasicBlock` as in the
ImageNet ResNets, so key names follow the same scheme (``layer1.0.conv1.weight``).
Initialisation: He-normal convolutions (He et al. 2015), BatchNorm 1 and 0.

>>> resnet20().num_parameters()
269722
"""

from __future__ import annotations

from collections import OrderedDict

from .. import backend as B
from .. import nn
from ._common import check_common, kaiming_conv_init, scaled
from .resnet import BasicBlock, make_stage


class ZeroPadShortcut(nn.Module):
    """Option-A shortcut: y = x subsampled by ``stride``, with ``out - in`` zero channels appended.

    Forward: y[:, :C_in] = x[:, :, ::s, ::s], y[:, C_in:] = 0 (shape (N, C_out, ceil(H/s), ceil(W/s))).
    Backward: dx[:, :, ::s, ::s] = dy[:, :C_in], zero elsewhere. No parameters.

    >>> import numpy as np
    >>> ZeroPadShortcut(16, 32, 2)(np.ones((1, 16, 32, 32))).shape
    (1, 32, 16, 16)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"ZeroPadShortcut: out_channels ({out_channels}) must be >= in_channels ({in_channels})")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise self._shape_error(f"(N, {self.in_channels}, H, W)", x)
        s = self.stride
        sub = x[:, :, ::s, ::s]
        y = B.get_array_module(x).zeros((x.shape[0], self.out_channels) + sub.shape[2:], dtype=x.dtype)
        y[:, : self.in_channels] = sub
        self._save(x.shape)
        return y

    def backward(self, dy):
        shape = self._saved()
        dx = B.get_array_module(dy).zeros(shape, dtype=dy.dtype)
        dx[:, :, :: self.stride, :: self.stride] = dy[:, : self.in_channels]
        return dx

    def summary_info(self, in_shape):
        """Shape and geometry for :func:`glassnet.summary`: a 1x1 window with stride s, no MACs."""
        if len(in_shape) != 3 or in_shape[0] != self.in_channels:
            raise ValueError(f"{self.label}: expected input {self.in_channels} x H x W, got {in_shape}")
        s = self.stride
        out = (self.out_channels, -(-in_shape[1] // s), -(-in_shape[2] // s))
        return {"out_shape": out, "macs": 0, "kernel": (1, 1), "stride": (s, s)}

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class CifarResNet(nn.Sequential):
    """conv1 - bn1 - relu - layer1..layer3 - avgpool - flatten - fc."""

    input_size = (3, 32, 32)

    def __init__(self, n: int, num_classes: int = 10, width: float = 1.0):
        check_common("CifarResNet", num_classes, width)
        c = [scaled(v, width) for v in (16, 32, 64)]
        mods = OrderedDict(
            conv1=nn.Conv2d(3, c[0], 3, padding=1, bias=False), bn1=nn.BatchNorm2d(c[0]), relu=nn.ReLU()
        )
        cin = c[0]
        for i, planes in enumerate(c):
            mods[f"layer{i + 1}"], cin = make_stage(BasicBlock, cin, planes, n, 1 if i == 0 else 2, ZeroPadShortcut)
        mods["avgpool"] = nn.AdaptiveAvgPool2d(1)
        mods["flatten"] = nn.Flatten()
        mods["fc"] = nn.Linear(cin, num_classes)
        super().__init__(mods)
        self.depth = 6 * n + 2
        kaiming_conv_init(self)


def _builder(depth):
    def build(num_classes: int = 10, width: float = 1.0) -> CifarResNet:
        return CifarResNet((depth - 2) // 6, num_classes, width)

    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"ResNet-{depth} for CIFAR-10 (3x32x32 input, option-A shortcuts, n = {(depth - 2) // 6})."
    return build


resnet20, resnet32, resnet44, resnet56 = (_builder(d) for d in (20, 32, 44, 56))
