"""``explain params``: a convolution layer's parameter count, beside a dense layer's on the same input.

The lecture's example: a 100×100×3 image, 10 filters of 3×3×3::

    10 × (3×3×3 + 1) = 280

whatever the image size (weight sharing), while a fully connected layer needs
one weight per input value for every neuron.

>>> e = params((100, 100, 3), filters=10, kernel=3)
>>> int(e.results["conv"]), int(e.results["dense_same_units"])
(280, 300010)
"""

from __future__ import annotations

import sympy as sp

from ..nn import Conv2d, Linear
from ..nn.functional.conv import conv_output_shape
from .document import Block, Equation, Explanation, Raw, Section, Text
from .notation import Names
from .shapes import output_shape_lines, pair, positive

_CHECK_LIMIT = 10_000_000  # build the real layers to count their parameters only below this size


def params(input=(100, 100, 3), filters=10, kernel=3, stride=1, padding=0, bias=True) -> Explanation:
    """Count a Conv2d layer's parameters on an H x W x C input (the lecture's order) and compare with dense layers.

    ``results``: ``conv``, ``dense_same_units`` (as many neurons as filters),
    ``dense_same_output`` (as many neurons as the convolution has outputs), as
    SymPy integers, and ``formula`` = F·(K_h·K_w·C + 1) in symbols.
    """
    if len(tuple(input)) != 3:
        raise ValueError(f"input must be (height, width, channels), got {input!r}")
    H, W, C = (
        positive(v, n) for v, n in zip(tuple(input), ("input height", "input width", "input channels"), strict=True)
    )
    F = positive(filters, "filters")
    (kh, kw), s, p = pair(kernel, "kernel"), pair(stride, "stride"), pair(padding, "padding", 0)
    if kh > H + 2 * p[0] or kw > W + 2 * p[1]:
        raise ValueError(f"kernel {kh}x{kw} does not fit the {H}x{W} input padded by {p[0]},{p[1]}")
    Ho, Wo = conv_output_shape((H, W), (kh, kw), s, (p[0], p[0], p[1], p[1]))
    n_in, n_out = H * W * C, Ho * Wo * F
    one = int(bias)
    per_filter = kh * kw * C + one
    conv, dense_units, dense_output = F * per_filter, F * (n_in + one), n_out * (n_in + one)

    names = Names()
    sF, sKh, sKw, sC = (names.symbol(n, t, t) for n, t in (("F", "F"), ("K_h", "K_h"), ("K_w", "K_w"), ("C", "C")))
    formula = sF * (sKh * sKw * sC + one)
    lhs = {
        k: names.symbol(k, t, x)
        for k, t, x in (
            ("P_filter", "one filter", r"\text{one filter}"),
            ("P_conv", "convolution", r"\text{convolution}"),
            ("P_neuron", "one neuron", r"\text{one neuron}"),
            ("P_dense_units", f"{F} neurons", rf"\text{{{F} neurons}}"),
            ("P_dense_output", f"{_n(n_out)} neurons", rf"\text{{{_n(n_out)} neurons}}"),
        )
    }
    b_t, b_x = (" + 1", " + 1") if bias else ("", "")
    k_t, k_x = f"{kh}×{kw}×{C}", rf"{kh} \times {kw} \times {C}"
    i_t, i_x = f"{H}×{W}×{C}", rf"{H} \times {W} \times {C}"
    conv_sec = Section(
        f"Convolution: {F} filters of {k_t} on a {i_t} input",
        [
            Text(
                f"A filter holds one {kh}×{kw} kernel per input channel ({C}), "
                + ("plus one bias; " if bias else "and no bias; ")
                + "the same weights are used at every position (weight sharing), so the count does not depend on "
                f"the image size {H}×{W}."
            ),
            Block(
                [
                    Raw(
                        "parameters = F × (K_h×K_w×C" + b_t + ")",
                        r"\text{parameters} = F \times (K_h K_w C" + b_x + ")",
                    ),
                    Equation(
                        lhs["P_filter"],
                        sp.Integer(per_filter),
                        Raw(f"{k_t}{b_t} = {per_filter}", f"{k_x}{b_x} = {per_filter}"),
                    ),
                    Equation(
                        lhs["P_conv"],
                        sp.Integer(conv),
                        Raw(f"{F} × ({k_t}{b_t}) = {_n(conv)}", rf"{F} \times ({k_x}{b_x}) = {_t(conv)}"),
                        ("conv", ()),
                    ),
                ]
            ),
            Text(f"Its output, {Ho}×{Wo}×{F} = {_n(n_out)} values, has the shape:"),
            Block(output_shape_lines(H, kh, s[0], p[0], "H") + output_shape_lines(W, kw, s[1], p[1], "W")),
        ],
    )
    dense_sec = Section(
        f"A fully connected layer on the same input ({i_t} = {_n(n_in)} values, flattened)",
        [
            Text("Every neuron has one weight per input value" + (" plus a bias:" if bias else ":")),
            Block(
                [
                    Equation(
                        lhs["P_neuron"],
                        sp.Integer(n_in + one),
                        Raw(f"{i_t}{b_t} = {_n(n_in + one)}", f"{i_x}{b_x} = {_t(n_in + one)}"),
                    ),
                    Equation(
                        lhs["P_dense_units"],
                        sp.Integer(dense_units),
                        Raw(f"{F} × ({i_t}{b_t}) = {_n(dense_units)}", rf"{F} \times ({i_x}{b_x}) = {_t(dense_units)}"),
                        ("dense_same_units", ()),
                    ),
                    Equation(
                        lhs["P_dense_output"],
                        sp.Integer(dense_output),
                        Raw(
                            f"{_n(n_out)} × ({_n(n_in)}{b_t}) = {_n(dense_output)}",
                            rf"{_t(n_out)} \times ({_t(n_in)}{b_x}) = {_t(dense_output)}",
                        ),
                        ("dense_same_output", ()),
                    ),
                ]
            ),
            Text(
                f"With as many neurons as filters ({F}) it needs {_ratio(dense_units, conv)} the convolution's "
                f"parameters; producing as many values as the convolution ({_n(n_out)}) it needs "
                f"{_ratio(dense_output, conv)}. Flattening also discards which pixels are neighbours."
            ),
        ],
    )
    checks = _module_checks(C, F, (kh, kw), s, p, bias, n_in, conv, dense_units)
    checks[f"F·(K_h·K_w·C + {one}) at F={F}, K={kh}×{kw}, C={C} gives {conv}"] = (
        formula.subs({sF: F, sKh: kh, sKw: kw, sC: C}) == conv
    )
    results = {
        "conv": sp.Integer(conv),
        "dense_same_units": sp.Integer(dense_units),
        "dense_same_output": sp.Integer(dense_output),
        "formula": formula,
    }
    symbols = {"F": sF, "K_h": sKh, "K_w": sKw, "C": sC}
    title = f"Parameters: {F} filters of {k_t} on a {i_t} input"
    return Explanation(title, [conv_sec, dense_sec], symbols, results, checks, names)


def _module_checks(C, F, k, s, p, bias, n_in, conv, dense_units):
    """Count the parameters of the real glassnet layers (when small enough to build)."""

    checks = {}
    if conv <= _CHECK_LIMIT:
        m = Conv2d(C, F, k, stride=s, padding=p, bias=bias)
        checks[f"glassnet.nn.Conv2d({C}, {F}, {k[0]}) has {_n(conv)} parameters"] = (
            sum(q.data.size for q in m.parameters()) == conv
        )
    if dense_units <= _CHECK_LIMIT:
        m = Linear(n_in, F, bias=bias)
        checks[f"glassnet.nn.Linear({n_in}, {F}) has {_n(dense_units)} parameters"] = (
            sum(q.data.size for q in m.parameters()) == dense_units
        )
    return checks


def _n(v):
    return f"{v:,}"


def _t(v):
    return f"{v:,}".replace(",", "{,}")


def _ratio(a, b):
    r = a / b
    return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"
