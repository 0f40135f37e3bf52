"""Argument checks and the worked output-shape formula shared by the explanations.

>>> print(output_shape_lines(3, 2, 1, 0, "H")[0].text)
H_out = ⌊(H + 2P − K)/S⌋ + 1 = ⌊(3 + 2·0 − 2)/1⌋ + 1 = 2
"""

from __future__ import annotations

from ..nn.functional import geometry
from ..nn.functional.geometry import axis_out
from .document import Raw

MAX_ENTRIES = 1024  # a symbolic explanation is for reading: beyond this it is unreadable and slow


pair = geometry.pair  # the layers' own normaliser: the same rules and messages
positive = geometry.positive_int


def check_small(entries: int, what: str) -> None:
    if entries > MAX_ENTRIES:
        raise ValueError(
            f"{what} has {entries} entries; symbolic explanations are limited to {MAX_ENTRIES} "
            "(they are meant to be read: try a smaller size)"
        )


def output_shape_lines(size: int, k: int, s: int, p: int, axis: str) -> list[Raw]:
    """The formula ``⌊(H + 2P − K)/S⌋ + 1`` worked for one axis (floor division, as the layers)."""
    out = output_size(size, k, s, p)
    var = "H" if axis == "H" else "W"
    text = f"{var}_out = ⌊({var} + 2P − K)/S⌋ + 1 = ⌊({size} + 2·{p} − {k})/{s}⌋ + 1 = {out}"
    tex = (
        rf"{var}_{{out}} = \left\lfloor \frac{{{var} + 2P - K}}{{S}} \right\rfloor + 1"
        rf" = \left\lfloor \frac{{{size} + 2 \cdot {p} - {k}}}{{{s}}} \right\rfloor + 1 = {out}"
    )
    return [Raw(text, tex)]


def output_size(size: int, k: int, s: int, p: int) -> int:
    """floor((size + 2p - k)/s) + 1: the layers' own rule (:func:`glassnet.nn.functional.geometry.axis_out`)."""
    return axis_out(size, k, s, p, p)
