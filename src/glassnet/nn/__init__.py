"""Layers, containers and losses with PyTorch's names (NCHW layout).

Every module follows one contract: ``y = m(x)`` runs forward and keeps what
backward needs; ``dx = m.backward(dy)`` returns the input gradient and adds
the parameter gradients into ``Parameter.grad``.
"""

from . import functional, init
from .activation import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .containers import Concat, Residual, Sequential
from .conv import Conv2d, skip_input_gradient
from .dropout import Dropout
from .linear import Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, RemovableHandle, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .shape import Flatten, Identity

__all__ = [
    "Module", "Parameter", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "RemovableHandle",
    "functional", "init",
    "Sequential", "Concat", "Residual",
    "Linear", "Conv2d", "Flatten", "Identity", "skip_input_gradient",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax",
    "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm", "Dropout",
    "CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss",
]
