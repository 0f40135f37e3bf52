"""Classify image files with a trained run: read (Pillow), resize, normalise as in training, softmax, top-k.

For a run whose config says ``input_shape = [C, H, W]``, ``mean`` and ``std``::

    image file -> grey ("L", C = 1) or RGB (C = 3) -> resize to W x H (bilinear)
               -> x = pixels / 255 in [0, 1], shape (C, H, W)
               -> (x - mean[c]) / std[c]  -> model -> softmax -> the k most probable classes

MNIST-style data are light strokes on a dark background. A scan or photo
of a digit is usually the reverse, so with ``invert="auto"`` a grey-level
image (C = 1) is inverted (``x -> 1 - x``) when its border is light (mean >
0.5) while the training images were dark on average (``mean`` < 0.5). Colour
images are never inverted automatically.
"""

from __future__ import annotations

import os

import numpy as np

from ..nn.module import no_grad
from .metrics import softmax


class ImageError(ValueError):
    """An image file that cannot be read: the message names the file."""


def load_image(path, input_shape) -> np.ndarray:
    """Read ``path`` as float32 (C, H, W) in [0, 1], converted to C channels and resized to H x W."""
    from PIL import Image, UnidentifiedImageError

    c, h, w = (int(s) for s in input_shape)
    if c not in (1, 3):
        raise ImageError(f"{path}: cannot feed image files to a model with {c} input channels (1 or 3 supported)")
    path = os.fspath(path)
    try:
        with Image.open(path) as im:
            im = im.convert("L" if c == 1 else "RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image file") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can read (expected PNG, JPEG, ...)") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt data inside a known format
        raise ImageError(f"{path}: corrupt or truncated image ({e})") from None
    return a[None] if c == 1 else a.transpose(2, 0, 1)


def needs_inversion(x: np.ndarray, train_mean) -> bool:
    """True when the grey image ``x`` (1, H, W) in [0, 1] has a light border but the training data were dark."""
    if x.shape[0] != 1 or np.max(train_mean) >= 0.5:
        return False
    border = np.concatenate([x[:, 0, :].ravel(), x[:, -1, :].ravel(), x[:, :, 0].ravel(), x[:, :, -1].ravel()])
    return float(border.mean()) > 0.5


def predict_images(model, config, paths, top: int = 3, invert: str = "auto") -> list[dict]:
    """Top-``top`` classes of each image file: ``[{"path", "inverted", "top": [(class name, probability)]}]``.

    ``invert``: ``"auto"`` (see the module docstring), ``"yes"`` or ``"no"``.
    Every file is read before the model runs, so a bad file fails fast.
    """
    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"invert must be 'auto', 'yes' or 'no', got {invert!r}")
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, got {top!r}")
    images, flipped = [], []
    for p in paths:
        x = load_image(p, config.input_shape)
        flip = invert == "yes" or (invert == "auto" and needs_inversion(x, config.mean))
        images.append(1.0 - x if flip else x)
        flipped.append(flip)
    if not images:
        return []
    mean = np.asarray(config.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(config.std, np.float32).reshape(1, -1, 1, 1)
    x = ((np.stack(images) - mean) / std).astype(model.dtype, copy=False)
    model.eval()
    with no_grad():
        probs = softmax(model(x))
    k = min(top, probs.shape[1])
    out = []
    for p, flip, row in zip(paths, flipped, probs, strict=True):
        best = np.argsort(-row, kind="stable")[:k]
        out.append({"path": os.fspath(p), "inverted": flip,
                    "top": [(config.class_names[i], float(row[i])) for i in best]})
    return out
