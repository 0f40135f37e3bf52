"""The classic CNNs, built from :mod:`glassnet.nn` containers.

Every model is a tree of `Sequential`, `Concat` and `Residual` containers
(so that :func:`glassnet.summary` can walk it) and, where torchvision has
the same network, uses torchvision's module names, parameter shapes and
state-dict keys, so that weights move between the two libraries.

==============  ===========  ============  =====================================
name            input        parameters    notes
==============  ===========  ============  =====================================
lenet5          1x28x28          61,706    ReLU, max-pool
alexnet         3x224x224    61,100,840    torchvision layout
vgg11..vgg19    3x224x224   132.9-143.7 M  ``_bn`` variants with BatchNorm
googlenet       3x224x224     6,624,904    torchvision; ``paper=True``: 6,998,552
resnet18/34/50  3x224x224    11.7/21.8/25.6 M  torchvision layout (v1.5)
resnet20..56    3x32x32      0.27-0.85 M   CIFAR-10, option-A shortcuts
==============  ===========  ============  =====================================

Every builder takes ``num_classes``; all but LeNet-5 take a ``width``
multiplier (1 = published sizes) for fast experiments and tests. Each model
class has an ``input_size`` (C, H, W) attribute: its documented input.

>>> get_model("lenet5").num_parameters()
61706
"""

from __future__ import annotations

from .alexnet import AlexNet, alexnet
from .googlenet import BasicConv2d, GoogLeNet, GoogLeNetOutputs, Inception, InceptionAux, googlenet
from .lenet import LeNet5, lenet5
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from .resnet_cifar import CifarResNet, ZeroPadShortcut, resnet20, resnet32, resnet44, resnet56
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

_MODELS = {
    f.__name__: f
    for f in (
        lenet5, alexnet, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn, googlenet,
        resnet18, resnet34, resnet50, resnet20, resnet32, resnet44, resnet56,
    )
}


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`, sorted."""
    return sorted(_MODELS)


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (e.g. ``"resnet18"``) with keyword arguments such as ``num_classes``.

    Names are case-insensitive and ignore ``-`` (``"ResNet-18"`` works).

    >>> get_model("lenet6")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'lenet6'; valid names: alexnet, googlenet, lenet5, ...
    """
    key = str(name).lower().replace("-", "")
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(available_models())}")
    return _MODELS[key](**kwargs)


__all__ = [
    "get_model", "available_models",
    "LeNet5", "lenet5", "AlexNet", "alexnet",
    "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "BasicConv2d", "googlenet",
    "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
    "CifarResNet", "ZeroPadShortcut", "resnet20", "resnet32", "resnet44", "resnet56",
]
