"""AlexNet in torchvision's single-tower layout (Krizhevsky, "One weird trick", 2014), for 3x224x224 input.

Module names and state-dict keys are torchvision's (``features.0.weight`` ...
``classifier.6.bias``); with ``width=1`` and 1000 classes it has
61,100,840 parameters. Per-sample shapes at 224x224::

    features.0   conv 64@11x11 /4 pad 2   64 x 55 x 55
    features.2   max-pool 3x3 /2          64 x 27 x 27
    features.3   conv 192@5x5 pad 2      192 x 27 x 27
    features.5   max-pool 3x3 /2         192 x 13 x 13
    features.6   conv 384@3x3 pad 1      384 x 13 x 13
    features.8   conv 256@3x3 pad 1      256 x 13 x 13
    features.10  conv 256@3x3 pad 1      256 x 13 x 13
    features.12  max-pool 3x3 /2         256 x 6 x 6
    avgpool      adaptive average -> 6x6, flatten -> 9216
    classifier   dropout, 9216 -> 4096, ReLU, dropout, 4096 -> 4096, ReLU, 4096 -> classes

Inputs as small as 63x63 work (the adaptive pooling always yields 6x6).
``width`` multiplies every hidden channel and unit count (for fast tests).

>>> alexnet().num_parameters()
61100840
"""

from __future__ import annotations

from collections import OrderedDict

from .. import nn
from ._common import check_common, scaled


class AlexNet(nn.Sequential):
    """``features`` -> ``avgpool`` (6x6) -> ``flatten`` -> ``classifier``; PyTorch's default initialisation."""

    input_size = (3, 224, 224)

    def __init__(self, num_classes: int = 1000, width: float = 1.0, dropout: float = 0.5):
        check_common("AlexNet", num_classes, width)
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
        hidden = scaled(4096, width)
        features = nn.Sequential(
            nn.Conv2d(3, c1, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
        classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c5 * 6 * 6, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
        super().__init__(OrderedDict(
            features=features, avgpool=nn.AdaptiveAvgPool2d(6), flatten=nn.Flatten(), classifier=classifier
        ))


def alexnet(num_classes: int = 1000, width: float = 1.0, dropout: float = 0.5) -> AlexNet:
    """AlexNet for 3x224x224 input (torchvision's layout and key names)."""
    return AlexNet(num_classes=num_classes, width=width, dropout=dropout)
