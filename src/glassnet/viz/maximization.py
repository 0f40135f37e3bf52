"""What a unit "looks for": an input that maximises a channel's mean activation (gradient ascent on the input).

For layer L with output A and channel c, start from smooth random noise x_0
(white noise blurred three times, scaled to standard deviation 1 in the
normalised input space, so that the ReLUs below L are partly alive and pass
gradient) and repeat for ``steps`` steps::

    J(x)  = mean_ij A_c(x)[i, j]  -  (lambda / 2) ||x||^2        (A_c(x) for a Linear layer)
    g     = dJ/dx = backward of dA (1 / (h w) on channel c, 0 elsewhere)  -  lambda x
    x    <- x + lr * g / rms(g)
    x    <- (1 - beta) x + beta * blur(x)                          blur: 3x3 binomial [1 2 1]/4 each axis

dJ/dx comes from the library's own backward passes: the model runs forward, a
:class:`~glassnet.viz.hooks.Tap` replaces the gradient arriving at L with dA,
and ``model.backward`` carries it down to the input (the layers above L pass
zeros). The step is divided by the gradient's root-mean-square so that one
``lr`` suits any layer. Two small regularisers keep the picture readable: the
L2 penalty ``lambda`` (the image does not grow without bound) and the blur
``beta`` (no high-frequency noise the unit ignores; Yosinski et al. 2015).
Several channels are found at once, one per sample of a batch (in evaluation
mode samples are independent).

A channel that is zero for the start image and for every image on the way
(a "dead" ReLU unit) has no gradient: its result is reported as dead.
Maximising a ReLU's output (rather than the convolution before it) shows the
pattern most clearly: the mean of a pre-activation map also rewards
switching every other position off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .figure import bare, new_figure
from .hooks import Tap, find_module, inspecting, is_conv, logits_of, with_activation
from .image import display, stretch


@dataclass
class Maximized:
    """The result of :func:`maximize_input`."""

    layer: str
    channels: list[int]
    images: np.ndarray     # (K, C, H, W) in the model's input space
    start: np.ndarray      # (K,) mean activation of each channel at x_0
    end: np.ndarray        # (K,) at the returned image
    objective: np.ndarray  # (steps + 1, K) J at each step
    dead: np.ndarray       # (K,) bool: no gradient ever reached the input
    maps: bool             # the layer outputs feature maps (N, C, h, w), not features (N, F)


def blur(x: np.ndarray) -> np.ndarray:
    """3x3 binomial blur of the last two axes (edges repeated).

    >>> blur(np.ones((1, 1, 3, 3))).tolist() == np.ones((1, 1, 3, 3)).tolist()
    True
    """
    k = (0.25, 0.5, 0.25)
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)], mode="edge")
    rows = k[0] * p[..., :-2, :] + k[1] * p[..., 1:-1, :] + k[2] * p[..., 2:, :]
    return k[0] * rows[..., :-2] + k[1] * rows[..., 1:-1] + k[2] * rows[..., 2:]


def input_size_of(model, input_size=None) -> tuple[int, int, int]:
    """``input_size`` or the model's own ``input_size`` attribute, as (C, H, W)."""
    size = input_size if input_size is not None else getattr(model, "input_size", None)
    if size is None:
        raise ValueError(f"{type(model).__name__} has no input_size attribute: pass input_size=(C, H, W)")
    size = tuple(int(s) for s in size)
    if len(size) != 3:
        raise ValueError(f"input_size: expected (C, H, W), got {size}")
    return size


def default_layer(model, input_size=None) -> str:
    """The activation that completes the first convolution run (conv -> [BatchNorm] -> ReLU), else the conv."""
    size = input_size_of(model, input_size)
    with inspecting(model), Tap(model, [(n, m) for n, m in model.named_modules() if n]) as tap:
        logits_of(model, np.zeros((1, *size), model.dtype))
    order = [r for r in tap.records if not r.module._modules]
    first = next((i for i, r in enumerate(order) if is_conv(r.module)), None)
    if first is None:
        raise ValueError(f"{type(model).__name__} runs no convolution; name the layer to maximise")
    return order[with_activation(order, first)].name


def _channel_means(a, channels):
    idx = np.arange(len(channels))
    if a.ndim == 4:
        return a[idx, channels].mean(axis=(1, 2)).astype(np.float64)
    return a[idx, channels].astype(np.float64)


def _start(seed, shape):
    x = np.random.default_rng(seed).normal(0.0, 1.0, shape)
    for _ in range(3):
        x = blur(x)
    return x / x.std(axis=(1, 2, 3), keepdims=True)


def maximize_input(model, layer: str, channels=None, input_size=None, steps: int = 200, lr: float = 0.1,
                   weight_decay: float = 1e-3, beta: float = 0.1, seed: int = 0) -> Maximized:
    """Gradient ascent on the input for each of ``channels`` (default: the first 8) of ``layer``."""
    size = input_size_of(model, input_size)
    module = find_module(model, layer)
    if steps < 0 or lr <= 0 or weight_decay < 0 or not 0 <= beta < 1:
        raise ValueError(
            f"maximize: need steps >= 0, lr > 0, weight_decay >= 0, 0 <= beta < 1; "
            f"got {steps}, {lr}, {weight_decay}, {beta}"
        )
    dtype = model.dtype
    with inspecting(model), Tap(model, [(layer, module)]) as tap:
        logits_of(model, np.zeros((1, *size), dtype))
        a = tap.output(layer)
        if a.ndim not in (2, 4):
            raise ValueError(f"maximize: layer {layer!r} outputs shape {a.shape}; expected (N, C, H, W) or (N, F)")
        n_ch = a.shape[1]
        channels = list(range(min(8, n_ch))) if channels is None else [int(c) for c in channels]
        if not channels or any(not 0 <= c < n_ch for c in channels):
            raise ValueError(f"maximize: channels must be in 0..{n_ch - 1} for layer {layer!r}, got {channels}")
        k = len(channels)
        x = _start(seed, (k, *size))
        objective, means, alive = [], [], np.zeros(k, bool)
        for step in range(steps + 1):
            tap.records.clear()
            out = logits_of(model, x.astype(dtype))
            a = tap.output(layer)
            means.append(_channel_means(a, channels))
            objective.append(means[-1] - 0.5 * weight_decay * (x**2).sum(axis=(1, 2, 3)))
            if step == steps:
                break
            da = np.zeros_like(a)
            da[np.arange(k), channels] = 1.0 / (a.shape[2] * a.shape[3]) if a.ndim == 4 else 1.0
            tap.inject[layer] = da
            g = np.asarray(tap.backward(np.zeros_like(out)), np.float64)
            alive |= np.abs(g).max(axis=(1, 2, 3)) > 0
            g -= weight_decay * x
            x = x + lr * g / (np.sqrt((g**2).mean(axis=(1, 2, 3), keepdims=True)) + 1e-12)
            if beta:
                x = (1 - beta) * x + beta * blur(x)
    return Maximized(layer, channels, x, means[0], means[-1], np.array(objective),
                     ~alive if steps else alive, a.ndim == 4)


def maximize(model, layer: str | None = None, channels=None, input_size=None, steps: int = 200, lr: float = 0.1,
             weight_decay: float = 1e-3, beta: float = 0.1, seed: int = 0, columns: int = 8):
    """Figure: for each channel, the input found by :func:`maximize_input`, with its activation before and after.

    ``layer`` defaults to :func:`default_layer` (the activation after the first convolution).
    """
    layer = default_layer(model, input_size) if layer is None else layer
    r = maximize_input(model, layer, channels, input_size, steps, lr, weight_decay, beta, seed)
    k = len(r.channels)
    unit = "channel" if r.maps else "unit"
    cols = min(columns, k)
    rows = int(np.ceil(k / cols))
    fig = new_figure(max(4.5, 1.75 * cols), 2.0 * rows + 0.8)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        bare(ax)
        if i >= k:
            ax.set_visible(False)
            continue
        img = display(stretch(r.images[i]))
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
        note = "dead: no gradient" if r.dead[i] else f"{r.start[i]:.2g} \u2192 {r.end[i]:.2g}"
        ax.set_title(f"{unit} {r.channels[i]}\n{note}", fontsize=8)
        ax.set_label(f"channel {r.channels[i]}")
    fig.suptitle(f"What {layer} ({type(find_module(model, layer)).__name__}) looks for: inputs maximising "
                 f"each channel's mean activation\n(gradient ascent, {steps} steps, L2 {weight_decay:g}, "
                 f"blur {beta:g}; activation start \u2192 end; each image contrast-stretched)", fontsize=9)
    return fig
