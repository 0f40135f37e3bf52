"""Layers, containers and losses with PyTorch's names (NCHW layout)."""

from . import functional, init
from .module import Module, no_grad
from .parameter import Parameter

__all__ = ["Module", "Parameter", "no_grad", "functional", "init"]
