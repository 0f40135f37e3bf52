"""VGG-11/13/16/19 (Simonyan & Zisserman 2014, configurations A, B, D, E), with or without BatchNorm.

torchvision's layout and keys: ``features`` holds every 3x3/pad-1 convolution
(each followed by ``BatchNorm2d`` in the ``_bn`` variants, then ReLU) and the
2x2/2 max-pools; ``avgpool`` is an adaptive average pool to 7x7 (the
identity at the documented 3x224x224 input); ``classifier`` is
25088 -> 4096 -> 4096 -> classes with ReLU and dropout. Parameters with 1000
classes: VGG-11 132,863,336; VGG-13 133,047,848; VGG-16 138,357,544;
VGG-19 143,667,240 (the ``_bn`` variants add 2 per conv channel).

Initialisation as torchvision: He-normal (fan_out) convolutions with zero
bias, N(0, 0.01) linear weights with zero bias, BatchNorm 1 and 0
(``init_weights=False`` keeps PyTorch's layer defaults instead, e.g. before
loading weights).

``width`` multiplies every conv channel and hidden unit count (for fast
tests); inputs of 32x32 and up work (the adaptive pool yields 7x7).

>>> [sum(isinstance(v, int) for v in CONFIGS[n]) + 3 for n in CONFIGS]  # weight layers: convs + 3 linear
[11, 13, 16, 19]
"""

from __future__ import annotations

from collections import OrderedDict

from .. import backend as B
from .. import nn
from ._common import check_common, kaiming_conv_init, scaled

CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
"""Channels of each 3x3 convolution, "M" for a 2x2/2 max-pool (the paper's table 1)."""


def make_features(config, batch_norm: bool = False, width: float = 1.0, in_channels: int = 3) -> nn.Sequential:
    layers = []
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        out = scaled(v, width)
        layers.append(nn.Conv2d(in_channels, out, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU())
        in_channels = out
    return nn.Sequential(*layers)


class VGG(nn.Sequential):
    """``features`` -> ``avgpool`` (7x7) -> ``flatten`` -> ``classifier``."""

    input_size = (3, 224, 224)

    def __init__(self, config, batch_norm=False, num_classes=1000, width=1.0, dropout=0.5, init_weights=True):
        check_common("VGG", num_classes, width)
        features = make_features(config, batch_norm, width)
        last = scaled(512, width)
        hidden = scaled(4096, width)
        classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        super().__init__(OrderedDict(
            features=features, avgpool=nn.AdaptiveAvgPool2d(7), flatten=nn.Flatten(), classifier=classifier
        ))
        if init_weights:
            self._init_weights()

    def _init_weights(self):
        kaiming_conv_init(self)
        for m in self.classifier:
            if isinstance(m, nn.Linear):  # N(0, 0.01), drawn directly in the parameter's dtype (100 M values)
                w = m.weight
                w.data = B.rng().standard_normal(w.shape, dtype=w.dtype) * w.dtype.type(0.01)
                nn.init.zeros_(m.bias)


def _builder(name, batch_norm):
    def build(num_classes: int = 1000, width: float = 1.0, dropout: float = 0.5, init_weights: bool = True) -> VGG:
        return VGG(CONFIGS[name], batch_norm, num_classes, width, dropout, init_weights)

    bn = " with BatchNorm after every convolution" if batch_norm else ""
    build.__name__ = name + ("_bn" if batch_norm else "")
    build.__doc__ = f"{name.upper()}{bn}, for 3x224x224 input (torchvision's layout and key names)."
    return build


vgg11, vgg11_bn = _builder("vgg11", False), _builder("vgg11", True)
vgg13, vgg13_bn = _builder("vgg13", False), _builder("vgg13", True)
vgg16, vgg16_bn = _builder("vgg16", False), _builder("vgg16", True)
vgg19, vgg19_bn = _builder("vgg19", False), _builder("vgg19", True)
