"""Shared by the model tests: structure-only builds (no initialisation) and a float64 spot gradcheck."""

import contextlib

import pytest

import glassnet.nn.init as init_module
from glassnet.models import get_model


@contextlib.contextmanager
def no_default_init():
    """Skip PyTorch-style default initialisation inside Linear/Conv2d (parameters stay np.empty).

    Used only where the test looks at structure (names, shapes, counts), never at values: a full-size
    VGG then builds in milliseconds instead of seconds.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(init_module, "default_weight_and_bias_", lambda weight, bias: None)
        yield


def build_structure(name, **kw):
    """``get_model(name, **kw)`` for structure tests ("googlenet_aux" = GoogLeNet with auxiliary heads)."""
    if name == "googlenet_aux":
        name, kw = "googlenet", {**kw, "aux_logits": True}
    if name.startswith("vgg"):
        kw.setdefault("init_weights", False)
    with no_default_init():
        return get_model(name, **kw)
