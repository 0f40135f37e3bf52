"""Helpers shared by the model builders."""

from __future__ import annotations

from .. import nn


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width multiplier, rounded, at least 1 (``width=1`` keeps the published sizes)."""
    return max(1, int(round(channels * width)))


def check_common(name: str, num_classes: int, width: float) -> None:
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{name}: num_classes must be a positive int, got {num_classes!r}")
    if not width > 0:
        raise ValueError(f"{name}: width multiplier must be > 0, got {width!r}")


def kaiming_conv_init(model) -> None:
    """torchvision's scheme for VGG and ResNet: He-normal (fan_out, ReLU) convolutions with zero bias,
    BatchNorm gamma 1 and beta 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
