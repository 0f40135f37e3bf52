"""The one error type of :mod:`glassnet.onnx` (NumPy-only, so that callers can catch it without onnx)."""

from __future__ import annotations


class OnnxError(ValueError):
    """A model glassnet cannot export, or an ONNX file it cannot load: one line naming the layer or node."""
