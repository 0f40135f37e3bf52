"""Where the model looks: the input gradient (saliency) and Grad-CAM, from glassnet's own backward passes.

For one image x and a class c with score (logit, before softmax) s_c:

* **Saliency** (Simonyan et al. 2014): S = ds_c/dx, shape (C, H, W), from
  ``model.backward(onehot(c))``. One channel: shown signed (where brighter
  pixels would raise the score, red, or lower it, blue); several channels:
  the magnitude max_ch |S|.
* **Grad-CAM** (Selvaraju et al. 2017) on a layer with output A (K, h, w):
  the gradient dA = ds_c/dA arriving at that layer in the same backward
  pass (recorded by a :class:`~glassnet.viz.hooks.Tap`, which then stops
  the pass), channel weights w_k = mean_ij dA_k[i, j],
  CAM = ReLU(sum_k w_k A_k) (h, w), upsampled bilinearly to H x W. The
  default layer is the last convolution (or Concat/Residual block holding
  one) that the forward pass runs with a spatial output larger than 1 x 1,
  taken after its activation (conv -> [BatchNorm] -> ReLU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .figure import POSITIVE, SIGNED, bare, new_figure
from .hooks import Tap, contains_conv, find_module, inspecting, is_conv, logits_of, with_activation
from .image import prepare, resize_bilinear


@dataclass
class Saliency:
    """Everything one saliency figure shows (arrays are float64)."""

    target: int            # the class c explained
    probabilities: np.ndarray  # softmax of the logits (K,)
    gradient: np.ndarray   # ds_c/dx (C, H, W)
    layer: str             # Grad-CAM layer
    cam_small: np.ndarray  # ReLU(sum_k w_k A_k) at the layer's resolution (h, w)
    cam: np.ndarray        # the same upsampled to (H, W)
    weights: np.ndarray    # w_k (K,)


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _check_target(target, k):
    if not isinstance(target, (int, np.integer)) or not 0 <= target < k:
        raise ValueError(f"target class: expected an integer in 0..{k - 1}, got {target!r}")
    return int(target)


def _onehot(logits, target):
    d = np.zeros_like(logits)
    d[0, target] = 1.0
    return d


def input_gradient(model, x: np.ndarray, target: int | None = None) -> tuple[np.ndarray, int, np.ndarray]:
    """(ds_c/dx (C, H, W), c, softmax probabilities) for one input x (1, C, H, W); c defaults to the prediction."""
    with inspecting(model):
        logits = logits_of(model, x)
        target = int(np.argmax(logits[0])) if target is None else _check_target(target, logits.shape[1])
        dx = model.backward(_onehot(logits, target))
    return np.asarray(dx[0], np.float64), target, _softmax(logits[0].astype(np.float64))


def default_cam_layer(model, x: np.ndarray) -> str:
    """The last conv unit run (a conv, or a block with one inside) with its activation, preferring maps > 1 x 1.

    "With its activation": the ReLU after the convolution (past any BatchNorm),
    as Grad-CAM expects; on the raw convolution output, mostly negative in a
    trained network, ReLU(sum_k w_k A_k) is often zero everywhere.
    """
    with inspecting(model), Tap(model) as tap:
        logits_of(model, x)
    rec = tap.records
    convs = [i for i, r in enumerate(rec) if r.output.ndim == 4 and (is_conv(r.module) or contains_conv(r.module))]
    if not convs:
        raise ValueError(f"{type(model).__name__}: Grad-CAM needs a convolutional layer, and the model runs none")
    spatial = [i for i in convs if rec[i].output.shape[2] * rec[i].output.shape[3] > 1]
    return rec[with_activation(rec, (spatial or convs)[-1])].name


def grad_cam(model, x: np.ndarray, target: int | None = None, layer: str | None = None):
    """(CAM (H, W), CAM at the layer's size (h, w), weights (K,), layer name, c) for one input x (1, C, H, W)."""
    layer = default_cam_layer(model, x) if layer is None else layer
    module = find_module(model, layer)
    with inspecting(model), Tap(model, [(layer, module)], stop_at=layer) as tap:
        logits = logits_of(model, x)
        target = int(np.argmax(logits[0])) if target is None else _check_target(target, logits.shape[1])
        A = tap.output(layer)
        if A.ndim != 4:
            raise ValueError(f"Grad-CAM: layer {layer!r} outputs shape {A.shape}; it needs feature maps (N, K, h, w)")
        tap.backward(_onehot(logits, target))
    if layer not in tap.grads:
        raise ValueError(f"Grad-CAM: no gradient reached layer {layer!r} (is it on the path to the output?)")
    A, dA = A[0].astype(np.float64), tap.grads[layer][0].astype(np.float64)
    weights = dA.mean(axis=(1, 2))
    small = np.maximum(np.tensordot(weights, A, axes=1), 0.0)
    return resize_bilinear(small, x.shape[2:]), small, weights, layer, target


def explain(model, image, target=None, normalize=None, layer=None) -> tuple[Saliency, np.ndarray]:
    """Both maps for one image (see :func:`glassnet.viz.image.prepare`); returns (Saliency, display image)."""
    x, shown = prepare(image, normalize, model.dtype)
    grad, target, probs = input_gradient(model, x, target)
    cam, small, weights, layer, _ = grad_cam(model, x, target, layer)
    return Saliency(target, probs, grad, layer, small, cam, weights), shown


def saliency(model, image, target=None, normalize=None, layer=None, class_names=None):
    """Figure: the image with the prediction, the input gradient of the class score, Grad-CAM over the image."""
    s, shown = explain(model, image, target, normalize, layer)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(s.probabilities))]
    pred = int(np.argmax(s.probabilities))
    fig = new_figure(10.5, 3.6)
    axes = fig.subplots(1, 3)
    grey = shown.ndim == 2
    for ax in axes:
        bare(ax)
    ax = axes[0]
    ax.imshow(shown, cmap="gray" if grey else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(f"input\npredicted {names[pred]!s} (p = {s.probabilities[pred]:.2f})", fontsize=10)
    ax.set_label("input")

    ax = axes[1]
    if s.gradient.shape[0] == 1:
        g = s.gradient[0]
        m = float(np.abs(g).max()) or 1.0
        im = ax.imshow(g, cmap=SIGNED, vmin=-m, vmax=m, interpolation="nearest")
        label = "\u2202 score / \u2202 pixel"
    else:
        g = np.abs(s.gradient).max(axis=0)
        im = ax.imshow(g, cmap=POSITIVE, vmin=0, vmax=float(g.max()) or 1.0, interpolation="nearest")
        label = "max over channels |\u2202 score / \u2202 pixel|"
    ax.set_title(f"saliency: gradient of the score\nof class {names[s.target]!s} w.r.t. the input", fontsize=10)
    ax.set_label("saliency")
    fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02).set_label(label, fontsize=8)

    ax = axes[2]
    ax.imshow(shown, cmap="gray" if grey else None, vmin=0, vmax=1, interpolation="nearest")
    peak = float(s.cam.max())
    im = ax.imshow(s.cam / peak if peak > 0 else s.cam, cmap="inferno", vmin=0, vmax=1, alpha=0.55,
                   interpolation="bilinear")
    h, w = s.cam_small.shape
    empty = "" if peak > 0 else ": zero everywhere"
    ax.set_title(f"Grad-CAM on {s.layer} ({h}\u00d7{w})\nclass {names[s.target]!s}{empty}", fontsize=10)
    ax.set_label("grad-cam")
    fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02).set_label("relevance (max = 1)", fontsize=8)
    return fig


__all__ = ["Saliency", "input_gradient", "grad_cam", "default_cam_layer", "explain", "saliency"]
