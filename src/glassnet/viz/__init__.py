"""Pictures of what a network learned and does, for any model built from glassnet modules.

Each picture is a pure function returning a :class:`matplotlib.figure.Figure`
(drawn on the Agg canvas: no display needed), and :func:`save` writes it as
PNG or SVG, atomically:

=====================================  ==============================================================
``filters(model, layer=None)``         a convolution's kernels as a grid, one shared signed scale
``feature_maps(model, image)``         every conv/pool layer's output for one image, channels tiled
``saliency(model, image, target)``     input gradient of the class score, and Grad-CAM over the image
``curves(history)``                    loss and accuracy per epoch, training and validation
``confusion(matrix, class_names)``     confusion matrix with per-class accuracy
``maximize(model, layer, channels)``   inputs that maximise chosen channels (gradient ascent)
=====================================  ==============================================================

The numbers behind the pictures are public too: :func:`activations`,
:func:`input_gradient`, :func:`grad_cam`, :func:`maximize_input`,
:func:`confusion_matrix`. Images are raw pixels; pass ``normalize=(mean,
std)`` to standardise them as in training (see :mod:`glassnet.viz.image`).
Models are looked into with :class:`~glassnet.viz.hooks.Tap`, which wraps
modules for the length of one call and leaves them as they were.

matplotlib is imported when a picture is drawn, not by ``import glassnet.viz``.
See ``docs/visualize.md``.
"""

from .attribution import Saliency, explain, grad_cam, input_gradient, saliency
from .evaluation import confusion, confusion_matrix, per_class_accuracy
from .features import activations, feature_maps
from .figure import render, save
from .history import curves, write_curves
from .hooks import Tap, units
from .kernels import filters
from .maximization import Maximized, maximize, maximize_input

__all__ = [
    "filters", "feature_maps", "saliency", "curves", "confusion", "maximize", "save", "render",
    "activations", "input_gradient", "grad_cam", "explain", "Saliency", "maximize_input", "Maximized",
    "confusion_matrix", "per_class_accuracy", "Tap", "units", "write_curves",
]
