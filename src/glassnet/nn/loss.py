"""Losses: `CrossEntropyLoss`, `MSELoss`, `BCEWithLogitsLoss` (mean reduction).

``loss = criterion(output, target)`` returns a 0-d array;
``doutput = criterion.backward()`` returns dJ/doutput (``dJ`` may be given,
default 1). A NaN or infinite loss raises ``FloatingPointError`` instead of
being trained on.
"""

from __future__ import annotations

from .. import backend as B
from .functional import loss as L
from .module import Module, format_shape


class _Loss(Module):
    def _finite(self, J):
        if not B.get_array_module(J).isfinite(J):
            raise FloatingPointError(
                f"{self.label}: the loss is {float(J)} (diverged: try a lower learning rate, or check the inputs)"
            )
        return J


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood, fused and max-shifted (stable).

    input: logits (N, K); target: (N,) integer classes in [0, K).
    J = -(1/N) sum_n log softmax(z_n)[t_n]; with ``label_smoothing`` eps the
    target distribution is (1-eps) onehot + eps/K. dJ/dz = (softmax(z) - q)/N.

    >>> import numpy as np
    >>> ce = CrossEntropyLoss()
    >>> round(float(ce(np.array([[2.0, 0.0]]), np.array([0]))), 4)
    0.1269
    """

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        if input.ndim != 2:
            raise self._shape_error("logits (N, K)", input)
        target = B.get_array_module(input).asarray(target)
        if target.shape != input.shape[:1] or target.dtype.kind not in "iu":
            raise ValueError(
                f"{self.label}: expected integer targets of shape ({input.shape[0]},), "
                f"got {target.dtype} {format_shape(target.shape)}"
            )
        if target.size and (target.min() < 0 or target.max() >= input.shape[1]):
            raise ValueError(
                f"{self.label}: targets must be in [0, {input.shape[1]}), got {target.min()}..{target.max()}"
            )
        J, saved = L.cross_entropy_forward(input, target, self.label_smoothing)
        self._save(saved)
        return self._finite(J)

    def backward(self, dJ=1.0):
        return L.cross_entropy_backward(dJ, self._saved())

    def extra_repr(self):
        return f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""


class MSELoss(_Loss):
    """J = mean((y - t)^2); dJ/dy = 2 (y - t) / numel."""

    def forward(self, input, target):
        target = B.get_array_module(input).asarray(target, dtype=input.dtype)  # the gradient keeps the model's dtype
        if target.shape != input.shape:
            raise _mismatch(self, input, target)
        J, saved = L.mse_forward(input, target)
        self._save(saved)
        return self._finite(J)

    def backward(self, dJ=1.0):
        return L.mse_backward(dJ, self._saved())


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, fused and stable; targets in [0, 1], same shape as the logits."""

    def forward(self, input, target):
        target = B.get_array_module(input).asarray(target, dtype=input.dtype)
        if target.shape != input.shape:
            raise _mismatch(self, input, target)
        J, saved = L.bce_with_logits_forward(input, target)
        self._save(saved)
        return self._finite(J)

    def backward(self, dJ=1.0):
        return L.bce_with_logits_backward(dJ, self._saved())


def _mismatch(module, input, target):
    return ValueError(
        f"{module.label}: target shape {format_shape(target.shape)} != input shape {format_shape(input.shape)}"
    )
