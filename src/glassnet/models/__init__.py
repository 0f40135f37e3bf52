"""The classic CNNs, built from :mod:`glassnet.nn` containers.

Every model is a tree of `Sequential`, `Concat` and `Residual` containers
(so that :func:`glassnet.summary` can walk it) and, where torchvision has
the same network, uses torchvision's module names so that state dicts move
between the two libraries.

>>> get_model("lenet5").num_parameters()
61706
"""

from __future__ import annotations

from .lenet import LeNet5, lenet5

_MODELS = {
    "lenet5": lenet5,
}


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`, sorted."""
    return sorted(_MODELS)


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (e.g. ``"resnet18"``) with keyword arguments such as ``num_classes``.

    >>> get_model("lenet6")
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'lenet6'; valid names: lenet5
    """
    key = str(name).lower().replace("-", "")
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(available_models())}")
    return _MODELS[key](**kwargs)


__all__ = ["LeNet5", "lenet5", "get_model", "available_models"]
