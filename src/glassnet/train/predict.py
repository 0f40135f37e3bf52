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

**Transparency.** An image with an alpha channel (RGBA, LA, a palette or grey
image with a transparent colour) is composited onto a flat background before
anything else: white when the drawn (opaque) pixels are dark on average,
black when they are light. A digit drawn only in the alpha channel (black or
any dark colour on a transparent background, as drawing apps save it) is thus
read as ink, and ``invert="auto"`` then turns it into light strokes on dark.

**Size.** Images of more than :data:`MAX_PIXELS` pixels are refused with
:class:`ImageError` before any pixel is decoded (Pillow's own decompression-bomb
limit is higher); nothing bigger is needed to classify a digit or a photo at
28x28 or 224x224.
"""

from __future__ import annotations

import os
import warnings

from ..backend import host as np  # host arrays: files, data sets, metrics (the array library is the backend's)
from ..nn.module import no_grad
from .metrics import softmax

MAX_PIXELS = 50_000_000
"""The largest image :func:`load_image` decodes (width x height): 50 million pixels."""


class ImageError(ValueError):
    """An image file that cannot be read: the message names the file."""


def _too_large(path, detail: str) -> ImageError:
    return ImageError(f"{path}: image too large ({detail}; glassnet reads at most {MAX_PIXELS:,} pixels: "
                      "downscale it first)")


def has_alpha(im) -> bool:
    """True for a Pillow image with transparency (an alpha channel, or a transparent palette or grey colour)."""
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def flatten_alpha(im):
    """Composite a transparent Pillow image onto white (dark strokes) or black (light strokes); RGB result.

    The strokes' lightness is the alpha-weighted mean luminance, estimated on a copy of at most 256x256.
    """
    from PIL import Image  # Pillow: an optional dependency (the train extra)

    rgba = im.convert("RGBA")
    small = rgba.copy()
    small.thumbnail((256, 256))
    a = np.asarray(small, dtype=np.float64)
    alpha = a[..., 3] / 255.0
    weight = float(alpha.sum())
    ink = float((alpha * (a[..., :3] @ np.array([0.299, 0.587, 0.114]))).sum()) / (255.0 * weight) if weight else 1
    bg = 255 if ink < 0.5 else 0
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (bg, bg, bg, 255)), rgba).convert("RGB")


def load_image(path, input_shape) -> np.ndarray:
    """Read ``path`` as float32 (C, H, W) in [0, 1], converted to C channels and resized to H x W.

    Transparency is composited and the size limited as the module docstring says.
    """
    from PIL import Image, UnidentifiedImageError  # Pillow: an optional dependency (the train extra)

    c, h, w = (int(s) for s in input_shape)
    if c not in (1, 3):
        raise ImageError(f"{path}: cannot feed image files to a model with {c} input channels (1 or 3 supported)")
    path = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise _too_large(path, str(e).split(",")[0]) from None
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{path}: is a directory, not an image file") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image Pillow can read (expected PNG, JPEG, ...)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: corrupt or truncated image ({e})") from None
    try:
        with im:
            if im.width * im.height > MAX_PIXELS:
                raise _too_large(path, f"{im.width}x{im.height} pixels")
            if has_alpha(im):
                im = flatten_alpha(im)
            im = im.convert("L" if c == 1 else "RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:  # e.g. a frame larger than the first
        raise _too_large(path, str(e).split(",")[0]) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # truncated or corrupt data inside a known format
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
