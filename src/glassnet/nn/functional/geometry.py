"""The geometry of a sliding window, defined once: sizes, paddings, output shapes, validation.

Convolution and pooling slide a ``kh x kw`` window over an (H, W) map. One
:class:`Window2d` holds everything that decides where the window goes:

* ``kernel`` (kh, kw) and ``dilation`` (dh, dw): the window reaches
  ``span = d*(k-1) + 1`` input rows (columns);
* ``stride`` (sh, sw): the step between two windows (also the receptive
  field's *jump* of this layer);
* ``pads`` (top, bottom, left, right): rows and columns added around the
  input (zeros for convolution and average pooling, -inf for max pooling);
* ``ceil_mode``: pooling's rule for a last, partial window.

Output size along one axis (the formula every layer, summary, explain and
the naive oracle use)::

    out = floor((size + pad_lo + pad_hi - d*(k-1) - 1) / s) + 1

with ``ceil_mode`` the ceiling instead, dropping a last window that would
start inside the bottom/right padding (PyTorch's rule).

Everything that normalises layer arguments lives here too (:func:`pair`,
:func:`conv_window`, :func:`pool_window`), so a bad ``stride=0`` or
``padding=-1`` is refused in one place, with the argument and the allowed
range named.

>>> w = conv_window(5, stride=1, padding=2)
>>> w.out_size(28, 28), w.pads
((28, 28), (2, 2, 2, 2))
>>> pool_window(2).out_size(28, 28)
(14, 14)
>>> conv_window(3, stride=0)
Traceback (most recent call last):
    ...
ValueError: stride must be a positive int or a pair of positive ints, got 0
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral


def pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """``v`` -> ``(v, v)``; a pair is checked. Every entry must be an int >= ``minimum``.

    The one normaliser of layer arguments given as an int or a pair.
    """
    allowed = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f">= {minimum}"
    message = f"{name} must be a {allowed} int or a pair of {allowed} ints, got {value!r}"
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, Integral):
        value = (value, value)
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(message) from None
    if len(value) != 2 or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= minimum for v in value):
        raise ValueError(message)
    return (int(value[0]), int(value[1]))


def quad(padding) -> tuple[int, int, int, int]:
    """A padding given as an int, a pair (ph, pw) or a quad (top, bottom, left, right) -> the quad."""
    if isinstance(padding, Integral):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return (padding[0], padding[0], padding[1], padding[1])
    if len(padding) != 4:
        raise ValueError(f"padding must be an int, a pair or (top, bottom, left, right), got {padding!r}")
    return padding


def axis_out(size: int, k: int, s: int, lo: int, hi: int, d: int = 1, ceil_mode: bool = False) -> int:
    """Number of windows along one axis (see the module docstring)."""
    room = size + lo + hi - d * (k - 1) - 1
    if not ceil_mode:
        return room // s + 1
    out = -(-room // s) + 1
    if (out - 1) * s >= size + lo:  # the last window must start inside the input or the leading padding
        out -= 1
    return out


@dataclass(frozen=True)
class Window2d:
    """Where a sliding window goes on an (H, W) map (see the module docstring)."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    @property
    def span(self) -> tuple[int, int]:
        """Input rows and columns one window reaches: d*(k-1) + 1."""
        return tuple(d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel, strict=True))

    def out_size(self, H: int, W: int) -> tuple[int, int]:
        """(H_out, W_out)."""
        (kh, kw), (sh, sw), (t, b, left, r), (dh, dw) = self.kernel, self.stride, self.pads, self.dilation
        return (axis_out(H, kh, sh, t, b, dh, self.ceil_mode), axis_out(W, kw, sw, left, r, dw, self.ceil_mode))

    def padded_pads(self, H: int, W: int) -> tuple[int, int, int, int]:
        """The pads plus the rows/columns a ceil_mode window reaches past the bottom/right padding."""
        Ho, Wo = self.out_size(H, W)
        (sh, sw), (eh, ew), (t, b, left, r) = self.stride, self.span, self.pads
        extra_h = max((Ho - 1) * sh + eh - (H + t + b), 0)
        extra_w = max((Wo - 1) * sw + ew - (W + left + r), 0)
        return (t, b + extra_h, left, r + extra_w)

    def fits(self, H: int, W: int) -> bool:
        """Whether at least one window fits in the padded (H, W) map."""
        (t, b, left, r), (eh, ew) = self.pads, self.span
        return H + t + b >= eh and W + left + r >= ew

    def min_input(self) -> tuple[int, int]:
        """The smallest (H, W) with one window (for error messages)."""
        (t, b, left, r), (eh, ew) = self.pads, self.span
        return (max(eh - t - b, 1), max(ew - left - r, 1))


def conv_window(kernel_size, stride=1, padding=0, dilation=1) -> Window2d:
    """The window of a convolution; ``padding`` is an int, a pair, ``"valid"`` or ``"same"``.

    ``"same"`` (stride 1 only) pads d*(k-1) in total, the odd extra row/column
    at the bottom/right, as PyTorch.
    """
    kernel = pair(kernel_size, "kernel_size")
    stride = pair(stride, "stride")
    dilation = pair(dilation, "dilation")
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be a non-negative int, a pair, 'same' or 'valid', got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions (as in PyTorch)")
        if padding == "valid":
            pads = (0, 0, 0, 0)
        else:
            th, tw = (d * (k - 1) for d, k in zip(dilation, kernel, strict=True))
            pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    else:
        ph, pw = pair(padding, "padding", minimum=0)
        pads = (ph, ph, pw, pw)
    return Window2d(kernel, stride, pads, dilation)


def pool_window(kernel_size, stride=None, padding=0, ceil_mode=False) -> Window2d:
    """The window of max/average pooling: stride defaults to the kernel; padding at most half the kernel."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    ph, pw = pair(padding, "padding", minimum=0)
    if ph > kernel[0] // 2 or pw > kernel[1] // 2:
        raise ValueError(f"padding should be at most half of the kernel size {kernel}, got {(ph, pw)}")
    return Window2d(kernel, stride, (ph, ph, pw, pw), (1, 1), bool(ceil_mode))


def positive_int(value, name: str) -> int:
    """A count that must be >= 1 (channels, features)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)
