"""Images the user brings to the explorer: uploads and drawings, decoded safely, preprocessed as written.

An upload is decoded by Pillow, and only as an image: the formats are limited to PNG, JPEG, GIF, BMP
and WebP, the bytes to :data:`MAX_BYTES` and the pixels to :data:`MAX_PIXELS` (checked from the header,
before anything is decoded). Anything else raises :class:`ImageError` with a message for the page.

Preprocessing (each step is returned as a line of text that the page shows):

* an upload: to grey (1 channel) or RGB (3), resized bilinearly to the model's H x W, pixels / 255;
  a grey image with a light border is inverted when the training data were dark (as ``glassnet predict``);
* a drawing (light strokes on black, from the page's pad): MNIST's own recipe, the strokes' bounding box
  scaled to fit 20 x 20, then placed in the 28 x 28 frame with its centre of mass at the centre.
"""

from __future__ import annotations

import io

import numpy as np

from ..train.predict import needs_inversion

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 25_000_000
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


class ImageError(ValueError):
    """Bytes that are not an image the explorer takes; the message says why."""


def _open(data: bytes):
    from PIL import Image, UnidentifiedImageError

    if len(data) == 0:
        raise ImageError("the upload is empty")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the upload has {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        im = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageError("not an image (PNG, JPEG, GIF, BMP or WebP expected)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"corrupt image ({e})") from None
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise ImageError(f"the image has {w} x {h} pixels; the limit is {MAX_PIXELS:,} pixels")
    return im


def decode(data: bytes, input_size, kind: str = "image", train_mean=(0.0,)):
    """(raw pixels (C, H, W) float32 in [0, 1], preprocessing steps) for uploaded bytes.

    ``kind`` is ``"image"`` (an uploaded file) or ``"drawing"`` (the page's pad, grey 28 x 28 models only).
    """
    from PIL import Image

    c, h, w = (int(s) for s in input_size)
    if c not in (1, 3):
        raise ImageError(f"the model takes {c} input channels; images can feed 1 (grey) or 3 (RGB)")
    im = _open(data)
    steps = [f"decoded {im.format} {im.size[0]} x {im.size[1]} {im.mode}"]
    try:
        with im:
            im = im.convert("L" if c == 1 else "RGB")
            steps.append("converted to " + ("grey" if c == 1 else "RGB"))
            if kind == "drawing":
                if (c, h, w) != (1, 28, 28):
                    raise ImageError("drawing is for grey 28 x 28 models")
                a, more = _mnist_frame(np.asarray(im, np.float32) / 255.0)
                return a[None], steps + more
            if im.size != (w, h):
                im = im.resize((w, h), Image.Resampling.BILINEAR)
                steps.append(f"resized to {w} x {h} (bilinear)")
            a = np.asarray(im, np.float32) / 255.0
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"corrupt image ({e})") from None
    steps.append("pixels / 255 -> [0, 1]")
    x = a[None] if c == 1 else a.transpose(2, 0, 1)

    if needs_inversion(x, train_mean):
        x = 1.0 - x
        steps.append("inverted (x -> 1 - x): light background, dark training data")
    return np.ascontiguousarray(x, np.float32), steps


def _mnist_frame(a: np.ndarray):
    """Light strokes on dark (H, W) in [0, 1] -> 28 x 28 the way MNIST's digits were made."""
    from PIL import Image

    ys, xs = np.nonzero(a > 0.05)
    if len(ys) == 0:
        return np.zeros((28, 28), np.float32), ["empty drawing: all zeros"]
    box = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    bh, bw = box.shape
    scale = 20.0 / max(bh, bw)
    nh, nw = max(1, round(bh * scale)), max(1, round(bw * scale))
    small = np.asarray(Image.fromarray((box * 255).astype(np.uint8)).resize((nw, nh), Image.Resampling.LANCZOS),
                       np.float32) / 255.0
    total = small.sum()
    cy = (small.sum(axis=1) * np.arange(nh)).sum() / total if total > 0 else nh / 2
    cx = (small.sum(axis=0) * np.arange(nw)).sum() / total if total > 0 else nw / 2
    top, left = int(round(14 - cy)), int(round(14 - cx))
    top, left = min(max(top, 0), 28 - nh), min(max(left, 0), 28 - nw)
    out = np.zeros((28, 28), np.float32)
    out[top:top + nh, left:left + nw] = small
    return out, [f"strokes' box {bw} x {bh} scaled to {nw} x {nh} (fits 20 x 20, Lanczos)",
                 "placed in 28 x 28 with the centre of mass at the centre (as MNIST)", "pixels / 255 -> [0, 1]"]
