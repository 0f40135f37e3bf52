"""Batch-wise transforms of float images in NCHW layout.

Each transform maps a whole batch ``x`` of shape (N, C, H, W) at once, with
no Python loop over samples. Random transforms draw from the generator passed
as ``t(x, rng=...)`` (the :class:`~glassnet.data.loader.DataLoader` passes one
derived from its seed and epoch), else from :func:`glassnet.backend.rng`.

Standard normalisation constants (per channel, for pixels scaled to [0, 1],
computed over each training set):

- MNIST: mean 0.1307, std 0.3081 (:data:`MNIST_MEAN`, :data:`MNIST_STD`);
- CIFAR-10: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616)
  (:data:`CIFAR10_MEAN`, :data:`CIFAR10_STD`). Many scripts use
  std (0.2023, 0.1994, 0.2010) instead: those are not the pixel standard
  deviations of CIFAR-10, though models train fine with either.

>>> import numpy as np
>>> x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
>>> aug = Compose([RandomCrop(4, padding=1), RandomHorizontalFlip(), Normalize(MNIST_MEAN, MNIST_STD)])
>>> aug(x, rng=np.random.default_rng(0)).shape
(2, 1, 4, 4)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import backend
from ..nn.functional.geometry import pair

MNIST_MEAN = (0.1307,)
MNIST_STD = (0.3081,)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def _check_batch(x, who: str) -> None:
    if not isinstance(x, np.ndarray) or x.ndim != 4 or not np.issubdtype(x.dtype, np.floating):
        got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"{who}: expected a floating batch of shape (N, C, H, W), got {got}")


def _pair(v, name: str) -> tuple[int, int]:
    """The layers' own normaliser (:func:`glassnet.nn.functional.geometry.pair`), with the transform named."""
    try:
        return pair(v, name)
    except ValueError as e:
        raise ValueError(f"RandomCrop: {e}") from None


class Transform:
    """Base of batch transforms: ``y = t(x, rng=None)`` with ``x`` float (N, C, H, W)."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        raise NotImplementedError


class Compose(Transform):
    """Apply transforms in order; the same ``rng`` is handed to each :class:`Transform`.

    Plain callables (``f(x) -> x``) may be mixed in; they get no ``rng``.
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, x, rng=None):
        for t in self.transforms:
            x = t(x, rng=rng) if isinstance(t, Transform) else t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize(Transform):
    """Per-channel standardisation: ``y[:, c] = (x[:, c] - mean[c]) / std[c]``.

    ``mean`` and ``std`` are numbers or sequences of length C (length 1 applies
    to every channel). The output keeps the dtype of ``x``.

    >>> x = np.array([[[[0.1307, 0.4388]]]], dtype=np.float64)
    >>> Normalize(MNIST_MEAN, MNIST_STD)(x).round(6).tolist()
    [[[[0.0, 1.0]]]]
    """

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean and std must be sequences of equal length, got {mean!r} and {std!r}")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std!r}")

    def __call__(self, x, rng=None):
        _check_batch(x, "Normalize")
        if len(self.mean) not in (1, x.shape[1]):
            raise ValueError(f"Normalize: {len(self.mean)} channel constants for a batch with {x.shape[1]} channels")
        mean = self.mean.astype(x.dtype)[:, None, None]
        std = self.std.astype(x.dtype)[:, None, None]
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={tuple(self.mean)}, std={tuple(self.std)})"


class RandomCrop(Transform):
    """Pad each image by ``padding`` pixels of value ``fill`` on every side, then cut a random ``size`` window.

    Shapes: (N, C, H, W) -> pad -> (N, C, H + 2p, W + 2p) -> crop -> (N, C, h, w).
    Each sample gets its own top-left corner (i, j), uniform over
    ``0 <= i <= H + 2p - h`` and ``0 <= j <= W + 2p - w``. The crop is one
    gather over a sliding-window view of the padded batch.

    >>> x = np.ones((3, 1, 2, 2))
    >>> y = RandomCrop(2, padding=2)(x, rng=np.random.default_rng(1))
    >>> y.shape, set(np.unique(y)) <= {0.0, 1.0}
    ((3, 1, 2, 2), True)
    """

    def __init__(self, size, padding: int = 0, fill: float = 0.0):
        self.size = _pair(size, "size")
        if int(padding) != padding or padding < 0:
            raise ValueError(f"RandomCrop: padding must be a non-negative int, got {padding!r}")
        self.padding = int(padding)
        self.fill = float(fill)

    def __call__(self, x, rng=None):
        _check_batch(x, "RandomCrop")
        rng = backend.rng() if rng is None else rng
        p, (h, w) = self.padding, self.size
        n = x.shape[0]
        if p:  # (N, C, H + 2p, W + 2p); cheaper than np.pad
            padded = np.full((*x.shape[:2], x.shape[2] + 2 * p, x.shape[3] + 2 * p), self.fill, x.dtype)
            padded[:, :, p:-p, p:-p] = x
            x = padded
        hp, wp = x.shape[2:]
        if h > hp or w > wp:
            raise ValueError(f"RandomCrop: crop size {(h, w)} is larger than the padded image {(hp, wp)}")
        i = rng.integers(0, hp - h + 1, size=n)
        j = rng.integers(0, wp - w + 1, size=n)
        windows = sliding_window_view(x, (h, w), axis=(2, 3))  # (N, C, hp-h+1, wp-w+1, h, w)
        return windows[np.arange(n), :, i, j]  # (N, C, h, w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding}, fill={self.fill})"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right (``y[n, c, r, k] = x[n, c, r, W-1-k]``) with probability ``p``, independently."""

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x, rng=None):
        _check_batch(x, "RandomHorizontalFlip")
        rng = backend.rng() if rng is None else rng
        flip = rng.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip, :, :, ::-1]
        return out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
