"""Images in and out of the pictures: model input, display form, resizing, channel mosaics.

An *image* given to a picture is one sample: (H, W), (C, H, W) or
(1, C, H, W); uint8 pixels (0..255) or floats. With ``normalize=(mean,
std)`` the image is raw pixels (uint8, or floats in [0, 1]) and is
standardised per channel before the model sees it, ``x = (p - mean) / std``,
while the picture shows the raw pixels. Without it the image is fed as it is.

>>> import numpy as np
>>> x, shown = prepare(np.full((28, 28), 255, np.uint8), normalize=((0.5,), (0.25,)))
>>> x.shape, float(x.max()), shown.shape, float(shown.max())
((1, 1, 28, 28), 2.0, (28, 28), 1.0)
"""

from __future__ import annotations

import numpy as np


def prepare(image, normalize=None, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(model input (1, C, H, W), display image (H, W) grey or (H, W, 3) in [0, 1])."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"image: expected one image of shape (H, W), (C, H, W) or (1, C, H, W), got {a.shape}")
    if not (a.dtype == np.uint8 or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"image: expected uint8 or floating pixels, got {a.dtype}")
    p = a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
    if normalize is not None:
        mean, std = (np.asarray(v, np.float64).reshape(-1) for v in normalize)
        if len(mean) not in (1, p.shape[0]) or len(std) != len(mean):
            raise ValueError(
                f"normalize: expected mean and std with 1 or {p.shape[0]} values (one per channel), "
                f"got {len(mean)} and {len(std)}"
            )
        x = (p - mean[:, None, None]) / std[:, None, None]
        shown = np.clip(p, 0.0, 1.0)
    else:
        x = p
        shown = stretch(p)
    return x[None].astype(dtype), display(shown)


def stretch(a: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (a constant array becomes 0.5)."""
    lo, hi = float(np.min(a)), float(np.max(a))
    return np.full(a.shape, 0.5) if hi <= lo else (a - lo) / (hi - lo)


def display(chw: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W) for one channel, (H, W, 3) for three, the channel mean otherwise."""
    if chw.shape[0] == 3:
        return np.moveaxis(chw, 0, -1)
    return chw[0] if chw.shape[0] == 1 else chw.mean(axis=0)


def resize_bilinear(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of the last two axes to ``size`` (H', W'), pixel centres aligned.

    Same convention as PyTorch's ``interpolate(mode="bilinear", align_corners=False)``:
    output pixel i samples the input at ``(i + 0.5) * H / H' - 0.5``, clamped to the edges.

    >>> resize_bilinear(np.array([[0.0, 1.0]]), (1, 4)).round(3).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    a = np.asarray(a, np.float64)
    h, w = a.shape[-2:]
    (i0, i1, fi), (j0, j1, fj) = _weights(h, size[0]), _weights(w, size[1])
    rows = a[..., i0, :] * (1 - fi)[:, None] + a[..., i1, :] * fi[:, None]
    return rows[..., j0] * (1 - fj) + rows[..., j1] * fj


def _weights(n_in: int, n_out: int):
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, src - lo


def mosaic(maps: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Tile (K, H, W) maps into one 2-D array, ``gap`` NaN pixels between tiles (drawn as background).

    >>> mosaic(np.ones((3, 2, 2))).shape     # 2 x 2 tiles of 2 x 2, 1-pixel gaps
    (5, 5)
    """
    k, h, w = maps.shape
    cols = columns or int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for i in range(k):
        r, c = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = maps[i]
    return out
