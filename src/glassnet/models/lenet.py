"""LeNet-5 (LeCun et al., 1998) in its modern teaching form, for 1x28x28 images (MNIST).

Layout (per-sample shapes)::

    input                      1 x 28 x 28
    features.0  conv 6@5x5, padding 2    6 x 28 x 28     6 * (1*5*5 + 1)   =    156
    features.1  ReLU
    features.2  max-pool 2x2 stride 2    6 x 14 x 14
    features.3  conv 16@5x5             16 x 10 x 10    16 * (6*5*5 + 1)   =  2,416
    features.4  ReLU
    features.5  max-pool 2x2 stride 2   16 x 5 x 5
    flatten                             400
    classifier.0  linear 400 -> 120                     400*120 + 120      = 48,120
    classifier.1  ReLU
    classifier.2  linear 120 -> 84                      120*84 + 84        = 10,164
    classifier.3  ReLU
    classifier.4  linear 84 -> num_classes              84*10 + 10         =    850
                                                                     total = 61,706

Choices, stated once: the 1998 paper used scaled tanh activations, trainable
sub-sampling (average) layers and a partially connected C3; the lecture and
most modern references use **ReLU** and **max pooling** with a fully
connected C3, which is what this is. Padding 2 on the first convolution
makes the 28x28 MNIST digits play the role of the paper's 32x32 input.

>>> import numpy as np
>>> net = lenet5()
>>> net.num_parameters()
61706
>>> net(np.zeros((2, 1, 28, 28), np.float32)).shape
(2, 10)
"""

from __future__ import annotations

from collections import OrderedDict

from .. import nn


class LeNet5(nn.Sequential):
    """LeNet-5: ``features`` (two conv/ReLU/max-pool stages), ``flatten``, ``classifier`` (120, 84, classes)."""

    input_size = (1, 28, 28)

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        if num_classes < 1:
            raise ValueError(f"LeNet5: num_classes must be >= 1, got {num_classes}")
        features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
        )
        classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )
        super().__init__(OrderedDict(features=features, flatten=nn.Flatten(), classifier=classifier))


def lenet5(num_classes: int = 10, in_channels: int = 1) -> LeNet5:
    """LeNet-5 for ``in_channels`` x 28 x 28 input; 61,706 parameters with 1 channel and 10 classes."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels)
