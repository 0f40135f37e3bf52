"""ResNet-18/34/50 (He et al. 2016) in torchvision's layout, for 3x224x224 input.

Each residual block is a :class:`glassnet.nn.Residual`: ``y = ReLU(body(x) +
shortcut(x))``, with the body's modules and the projection shortcut
(``downsample``: 1x1 conv + BatchNorm, used when the stride or the width
changes, the paper's option B) registered under torchvision's names, so the
keys are ``layer2.0.conv1.weight``, ``layer2.0.downsample.0.weight`` ...

* Basic block (ResNet-18/34): 3x3 conv (stride s) - BN - ReLU - 3x3 conv - BN.
* Bottleneck (ResNet-50): 1x1 conv - BN - ReLU - 3x3 conv (stride s) - BN -
  ReLU - 1x1 conv (4x wider) - BN. The stride sits on the 3x3 convolution
  (torchvision's "ResNet v1.5"), not on the first 1x1 as in the paper.

Stem: 7x7/2 conv (64) - BN - ReLU - 3x3/2 max-pool; stages of 64, 128, 256,
512 planes at strides 1, 2, 2, 2; global average pool; one linear layer.
Parameters with 1000 classes: ResNet-18 11,689,512; ResNet-34 21,797,672;
ResNet-50 25,557,032. Initialisation as torchvision (He-normal fan_out,
BatchNorm 1/0; ``zero_init_residual`` zeroes the last BN gamma of each block).

``width`` multiplies every channel count (for fast tests); inputs of 32x32
and up work.

>>> resnet18().num_parameters()
11689512
"""

from __future__ import annotations

from collections import OrderedDict

from .. import nn
from ._common import check_common, kaiming_conv_init, scaled


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


def projection(cin, cout, stride):
    """The projection shortcut (option B): 1x1 conv with the block's stride, then BatchNorm."""
    return nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))


class BasicBlock(nn.Residual):
    """Two 3x3 convolutions; ``out = planes`` channels."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, shortcut=None):
        body = OrderedDict(
            conv1=conv3x3(inplanes, planes, stride), bn1=nn.BatchNorm2d(planes), relu1=nn.ReLU(),
            conv2=conv3x3(planes, planes), bn2=nn.BatchNorm2d(planes),
        )
        super().__init__(body, shortcut=shortcut, activation=nn.ReLU(), shortcut_name="downsample")


class Bottleneck(nn.Residual):
    """1x1 reduce, 3x3 (strided), 1x1 expand to ``4 * planes`` channels."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, shortcut=None):
        out = planes * self.expansion
        body = OrderedDict(
            conv1=conv1x1(inplanes, planes), bn1=nn.BatchNorm2d(planes), relu1=nn.ReLU(),
            conv2=conv3x3(planes, planes, stride), bn2=nn.BatchNorm2d(planes), relu2=nn.ReLU(),
            conv3=conv1x1(planes, out), bn3=nn.BatchNorm2d(out),
        )
        super().__init__(body, shortcut=shortcut, activation=nn.ReLU(), shortcut_name="downsample")


def make_stage(block, inplanes, planes, blocks, stride, make_shortcut=projection):
    """``blocks`` blocks; the first one strides and, if the shape changes, projects the shortcut."""
    out = planes * block.expansion
    shortcut = make_shortcut(inplanes, out, stride) if stride != 1 or inplanes != out else None
    layers = [block(inplanes, planes, stride, shortcut)]
    layers += [block(out, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers), out


class ResNet(nn.Sequential):
    """conv1 - bn1 - relu - maxpool - layer1..layer4 - avgpool - flatten - fc."""

    input_size = (3, 224, 224)

    def __init__(self, block, layers, num_classes=1000, width=1.0, zero_init_residual=False):
        check_common("ResNet", num_classes, width)
        stem = scaled(64, width)
        mods = OrderedDict(
            conv1=nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False),
            bn1=nn.BatchNorm2d(stem),
            relu=nn.ReLU(),
            maxpool=nn.MaxPool2d(3, stride=2, padding=1),
        )
        cin = stem
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            mods[f"layer{i + 1}"], cin = make_stage(block, cin, scaled(planes, width), n, 1 if i == 0 else 2)
        mods["avgpool"] = nn.AdaptiveAvgPool2d(1)
        mods["flatten"] = nn.Flatten()
        mods["fc"] = nn.Linear(cin, num_classes)
        super().__init__(mods)
        kaiming_conv_init(self)
        if zero_init_residual:
            zero_last_bn(self)


def zero_last_bn(model) -> None:
    """Start every residual block as the identity: gamma = 0 on the body's last BatchNorm (Goyal et al. 2017)."""
    for m in model.modules():
        if isinstance(m, nn.Residual):
            last = [b for b in m.body_modules() if isinstance(b, nn.BatchNorm2d)][-1]
            nn.init.zeros_(last.weight)


def resnet18(num_classes: int = 1000, width: float = 1.0, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18 (basic blocks [2, 2, 2, 2]) for 3x224x224 input."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, width, zero_init_residual)


def resnet34(num_classes: int = 1000, width: float = 1.0, zero_init_residual: bool = False) -> ResNet:
    """ResNet-34 (basic blocks [3, 4, 6, 3]) for 3x224x224 input."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, width, zero_init_residual)


def resnet50(num_classes: int = 1000, width: float = 1.0, zero_init_residual: bool = False) -> ResNet:
    """ResNet-50 (bottlenecks [3, 4, 6, 3], stride on the 3x3) for 3x224x224 input."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, width, zero_init_residual)
