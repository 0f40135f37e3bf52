"""Feature maps: what every convolution and pooling layer outputs for one input image.

The model is run once under a :class:`~glassnet.viz.hooks.Tap`; each
conv/pool unit (a Concat or Residual block counts as one unit, see
:func:`~glassnet.viz.hooks.units`) gives one panel: its C output channels
tiled side by side (the first ``max_channels`` of them), one colour scale
per panel with its colour bar, titled with the layer's name, type and
output shape C x H x W. Signed maps (a convolution before its ReLU) use
the diverging map centred on 0, non-negative ones (after ReLU and
pooling) a sequential map from 0.
"""

from __future__ import annotations

import numpy as np

from .figure import bare, new_figure, scale_for
from .hooks import POOLS, Tap, contains_conv, inspecting, is_conv, logits_of, units
from .image import mosaic, prepare


def is_feature_layer(m) -> bool:
    """Conv, pooling, or a Concat/Residual block containing a conv."""
    return is_conv(m) or isinstance(m, POOLS) or (bool(m._modules) and contains_conv(m))


def activations(model, image, normalize=None, layers=None):
    """Run ``model`` on one image: ([(name, module, output (C, H, W)), ...] in execution order, input, display).

    The input is the (1, C, H, W) array the model saw; the display image is (H, W) or (H, W, 3) in [0, 1].

    ``layers``: names of units to keep (default: every conv/pool unit with feature maps larger than
    1 x 1; a global pooling's 1 x 1 outputs are left out).
    """
    x, shown = prepare(image, normalize, model.dtype)
    with inspecting(model), Tap(model) as tap:
        logits_of(model, x)
    out = []
    for r in tap.records:
        keep = r.name in layers if layers is not None else (
            is_feature_layer(r.module) and r.output.ndim == 4 and r.output.shape[2] * r.output.shape[3] > 1
        )
        if keep and r.output.ndim == 4:
            out.append((r.name, r.module, r.output[0]))
    if layers is not None:
        missing = [n for n in layers if n not in {name for name, _, _ in out}]
        if missing:
            valid = ", ".join(n for n, _ in units(model))
            raise ValueError(f"no 4-D output recorded for {', '.join(missing)}; units of the model: {valid}")
    return out, x, shown


def feature_maps(model, image, normalize=None, layers=None, max_channels: int = 16, columns: int = 5):
    """Figure: the input, then one panel per conv/pool layer with its channels tiled."""
    for name, v in (("max_channels", max_channels), ("columns", columns)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"feature_maps: {name} must be a positive int, got {v!r}")
    acts, x, shown = activations(model, image, normalize, layers)
    if not acts:
        raise ValueError(f"{type(model).__name__}: no convolution or pooling layer produced a feature map")
    n = len(acts) + 1
    rows = int(np.ceil(n / columns))
    cols = int(np.ceil(n / rows))  # balanced rows
    fig = new_figure(3.2 * cols, 3.3 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    ax = axes.flat[0]
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(f"input\n{x.shape[1]}\u00d7{x.shape[2]}\u00d7{x.shape[3]}", fontsize=9)
    ax.set_label("input")
    bare(ax)
    for ax, (name, module, a) in zip(axes.flat[1:], acts, strict=False):
        k = min(len(a), max_channels)
        tiled = mosaic(a[:k].astype(np.float64))
        image = ax.imshow(tiled, interpolation="nearest", **scale_for(tiled))
        bare(ax)
        extra = f", first {k}" if k < len(a) else ""
        ax.set_title(f"{name} \u00b7 {type(module).__name__}\n{a.shape[0]}\u00d7{a.shape[1]}\u00d7{a.shape[2]}{extra}",
                     fontsize=9)
        ax.set_label(f"layer {name}")
        fig.colorbar(image, ax=ax, shrink=0.75, pad=0.02).ax.tick_params(labelsize=8)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.suptitle("Feature maps (channels tiled; one colour scale per layer)", fontsize=11)
    return fig

