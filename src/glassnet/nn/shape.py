"""`Flatten` and `Identity`: layers that only reshape or pass through."""

from __future__ import annotations

from .module import Module


class Flatten(Module):
    """Reshape (N, C, H, W) to (N, C*H*W) (dims ``start_dim``..``end_dim`` merged); backward reshapes back."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        shape = x.shape
        end = self.end_dim % len(shape)
        self._save(shape)
        return x.reshape(shape[: self.start_dim] + (-1,) + shape[end + 1 :])

    def backward(self, dy):
        return dy.reshape(self._saved())

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """y = x."""

    def forward(self, x):
        self._save(True)
        return x

    def backward(self, dy):
        self._saved()
        return dy
