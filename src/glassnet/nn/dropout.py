"""`Dropout`: inverted dropout around :mod:`functional.dropout`."""

from __future__ import annotations

from .. import backend as B
from .functional.dropout import DropoutSaved, dropout_backward, dropout_forward
from .module import Module


class Dropout(Module):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest by 1/(1-p).

    In evaluation mode it is the identity. The mask comes from
    ``glassnet.backend.rng()`` (seed it with ``glassnet.manual_seed``).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            self._save(DropoutSaved(None))
            return x
        y, saved = dropout_forward(x, self.p, B.rng())
        self._save(saved)
        return y

    def backward(self, dy):
        return dropout_backward(dy, self._saved())

    def extra_repr(self):
        return f"p={self.p}"
