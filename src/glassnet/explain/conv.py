"""``explain conv``: the lecture's convolution derivation, at any (small) size.

How each part is produced (nothing is typed in by hand):

* forward: SymPy symbols ``X``, ``F`` go through the layer's own
  :func:`~glassnet.nn.functional.conv.conv2d_forward` (``pad2d`` + ``im2col``
  + matrix product on object arrays); the printed sums list the terms of each
  ``im2col`` column, in the order the window is read;
* element by element: ``∂J/∂F_ij = Σ dz_yx · ∂z_yx/∂F_ij`` with each
  ``∂z_yx/∂F_ij`` the derivative of the symbolic forward (same for X);
* compact rules: the layer's :func:`~glassnet.nn.functional.conv.conv2d_backward`
  run on symbols ``dz``, and the rules spelled out (correlation of X with the
  stride-dilated dZ; full convolution of the dilated, padded dZ with the
  180-degree-rotated kernel) run through ``conv2d_forward``; each is
  compared, entry by entry, with the element-by-element sums (``checks``).

>>> e = conv((3, 3), (2, 2))
>>> print(e.names.text[e.symbols["X"][0, 0, 0]], "->", e.results["Z"].shape)
X₁₁ -> (2, 2)
>>> all(e.checks.values())
True
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ..nn.functional.conv import conv2d_backward, conv2d_forward, conv_output_shape, dilate
from ..nn.functional.im2col import im2col, pad2d
from .document import Block, Equation, Explanation, Matrices, Raw, Section, Text
from .notation import Names, superscript
from .poly import Poly, same, to_sympy
from .shapes import check_small, output_shape_lines, output_size, pair, positive


def conv(input=(3, 3), kernel=(2, 2), stride=1, padding=0, channels=1, bias=False) -> Explanation:
    """Explain a one-filter convolution of a ``channels x H x W`` input with a ``channels x kh x kw`` filter.

    ``input``, ``kernel``, ``stride``, ``padding`` (zeros on each side): int
    or (height, width). Returns an :class:`Explanation` whose ``symbols`` are
    X (C, H, W), F (C, kh, kw), b, dZ (H_out, W_out) and whose ``results``
    are Z (H_out, W_out), dF (C, kh, kw), dX (C, H, W), db (element-by-element
    sums, by differentiating the forward) and dF_rule, dX_rule (the layer's backward).
    """
    (H, W), (kh, kw) = pair(input, "input"), pair(kernel, "kernel")
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding", 0)
    C = positive(channels, "channels")
    check_small(C * H * W, f"the {C}x{H}x{W} input")
    if kh > H + 2 * ph or kw > W + 2 * pw:
        raise ValueError(f"kernel {kh}x{kw} does not fit the {H}x{W} input padded by {ph},{pw}")
    s, pads = (sh, sw), (ph, ph, pw, pw)
    names = Names()
    sym = _symbols(names, C, (H, W), (kh, kw), bias)
    # the same arrays as exact polynomials, run through the layer's own forward
    P = {k: Poly.grid(sym[k]) for k in ("X", "F")}
    Pb = np.array([Poly.var(sym["b"])], dtype=object) if bias else None
    PZ, ctx = conv2d_forward(P["X"][None], P["F"][None], Pb, s, pads)
    P["Z"] = PZ[0, 0]
    Ho, Wo = P["Z"].shape
    sym["dZ"] = names.grid("dz", (Ho, Wo), "dz@sub", r"\frac{\partial J}{\partial z@sub}")
    P["dZ"] = Poly.grid(sym["dZ"])

    # element by element: the chain rule, each ∂z_yx/∂v read off the symbolic forward by differentiation
    dF, dF_terms = _chain(P["Z"], sym["dZ"], sym["F"])
    dX, dX_terms = _chain(P["Z"], sym["dZ"], sym["X"])
    db = sum(P["dZ"].ravel(), Poly()) if bias else None
    # the layer's own backward, run on the symbols dz
    dX_layer, dF_layer, db_layer = conv2d_backward(P["dZ"][None, None], ctx)
    # the compact rules spelled out step by step (what the text shows), run through the layer's forward
    rules = _spelled_out(sym, P, s, pads)

    same_F, same_X = same(dF, dF_layer[0]), same(dX, dX_layer[0])
    checks = {
        f"the shape formula gives the layer's output shape {Ho}x{Wo}": (
            (output_size(H, kh, sh, ph), output_size(W, kw, sw, pw))
            == conv_output_shape((H, W), (kh, kw), s, pads)
            == (Ho, Wo)
        ),
        f"∂J/∂F from the element-by-element sums = X ⋆ {_dz_name(s)} ({dF.size} entries)": same(dF, rules["dF"]),
        f"∂J/∂F from the element-by-element sums = conv2d_backward's dF ({dF.size} entries)": same_F,
        f"∂J/∂X from the element-by-element sums = full convolution with rot180(F) ({dX.size} entries)": same(
            dX, rules["dX"]
        ),
        f"∂J/∂X from the element-by-element sums = conv2d_backward's dX ({dX.size} entries)": same_X,
    }
    results = {"Z": to_sympy(P["Z"]), "dF": to_sympy(dF), "dX": to_sympy(dX)}
    # the layer's results as SymPy (the very same objects where they were found exactly equal)
    results["dF_rule"] = results["dF"] if same_F else to_sympy(dF_layer[0])
    results["dX_rule"] = results["dX"] if same_X else to_sympy(dX_layer[0])
    if bias:
        checks["∂J/∂b = Σ dz = conv2d_backward's db"] = db == db_layer[0]
        results["db"] = db.to_sympy()
    sections = [
        _shape_section((H, W), (kh, kw), s, (ph, pw)),
        _forward_section(names, sym, results["Z"], (kh, kw), s, pads),
        _backward_section(names, sym, (results["dF"], dF_terms), (results["dX"], dX_terms), results.get("db")),
        _rules_section(sym, s, (ph, pw), rules),
    ]
    title = (
        f"Convolution: {_size(C, H, W)} input X, {_size(C, kh, kw)} kernel F, "
        f"stride {_pair(s)}, padding {_pair((ph, pw))}"
    )
    return Explanation(title, sections, sym, results, checks, names)


def _spelled_out(sym, P, s, pads):
    """The compact rules step by step: dF = X ⋆ dilate(dZ); dX = pad(dilate(dZ)) ⋆ rot180(F).

    Returns the intermediate arrays (SymPy, to show) and the results (Poly, computed with the layer's
    ``conv2d_forward``), for the padded input cut to the rows and columns some window reaches.
    """
    C, H, W = sym["X"].shape
    kh, kw = sym["F"].shape[1:]
    Ho, Wo = sym["dZ"].shape
    reach_h, reach_w = (Ho - 1) * s[0] + kh, (Wo - 1) * s[1] + kw
    Hp, Wp = H + pads[0] + pads[1], W + pads[2] + pads[3]
    # zeros around the dilated gradient: K-1, less the forward padding, plus the rows no window reached
    full = (kh - 1 - pads[0], kh - 1 - pads[1] + Hp - reach_h, kw - 1 - pads[2], kw - 1 - pads[3] + Wp - reach_w)
    PdZd = dilate(P["dZ"][None, None], s)
    PXr = pad2d(P["X"][None], pads)[0, :, :reach_h, :reach_w]
    PdZ_full = pad2d(PdZd, full)
    dF = np.stack([conv2d_forward(PXr[c][None, None], PdZd, None)[0][0, 0] for c in range(C)])
    dX = np.stack([conv2d_forward(PdZ_full, P["F"][c, ::-1, ::-1][None, None], None)[0][0, 0] for c in range(C)])
    dZd = dilate(sym["dZ"][None, None], s)
    return {
        "dF": dF,
        "dX": dX,
        "full": full,
        "Xr": pad2d(sym["X"][None], pads, sp.S.Zero)[0, :, :reach_h, :reach_w],
        "dZd": dZd[0, 0],
        "dZ_full": pad2d(dZd, full, sp.S.Zero)[0, 0],
        "F_rot": sym["F"][:, ::-1, ::-1],
    }


def _size(C, h, w):
    return f"{h}×{w}" if C == 1 else f"{C}×{h}×{w}"


def _pair(p):
    return str(p[0]) if p[0] == p[1] else f"{p[0]},{p[1]}"


def _dz_name(s):
    return "∂J/∂Z" if s == (1, 1) else "dilate(∂J/∂Z)"


def _symbols(names, C, hw, k, bias):
    """X (C, H, W) and F (C, kh, kw) as the lecture names them (channel as a superscript when C > 1)."""
    one = C == 1
    X = np.stack([names.grid("X", hw, "X@sub@sup", "X@sub@sup", None if one else c + 1) for c in range(C)])
    F = np.stack([names.grid("F", k, "F@sub@sup", "F@sub@sup", None if one else c + 1) for c in range(C)])
    b = names.symbol("b", "b", "b") if bias else None
    return {"X": X, "F": F, "b": b}


def _chain(PZ, dZ, V):
    """``∂J/∂v = Σ_yx dz_yx · ∂z_yx/∂v`` for every entry v of V (Poly), and its terms in (y, x) order (SymPy)."""
    where = {v: idx for idx, v in np.ndenumerate(V)}
    by_name = {v.name: v for v in where}
    terms = {v: [] for v in where}
    grad = {v: Poly() for v in where}
    for (y, x), z in np.ndenumerate(PZ):
        for v in (by_name[n] for n in sorted(z.names() & by_name.keys())):
            dz_dv = z.diff(v)
            terms[v].append((dZ[y, x], dz_dv.to_sympy()))
            grad[v] = grad[v] + Poly.var(dZ[y, x]) * dz_dv
    out = np.empty(V.shape, dtype=object)
    for v, idx in where.items():
        out[idx] = grad[v]
    return out, terms


def _sum_shown(terms):
    """An unevaluated sum of unevaluated products, printed in the given order."""
    prods = [sp.Mul(*t, evaluate=False) for t in terms]
    if not prods:
        return sp.S.Zero
    return prods[0] if len(prods) == 1 else sp.Add(*prods, evaluate=False)


def _shape_section(hw, k, s, p):
    lines = output_shape_lines(hw[0], k[0], s[0], p[0], "H") + output_shape_lines(hw[1], k[1], s[1], p[1], "W")
    Ho, Wo = output_size(hw[0], k[0], s[0], p[0]), output_size(hw[1], k[1], s[1], p[1])
    return Section(
        "Output shape",
        [
            Text("H, W: input size; K: kernel size; P: zero padding on each side; S: stride; ⌊ ⌋ rounds down."),
            Block(lines),
            Text(f"So Z is {Ho}×{Wo}: one entry per position of the kernel on the (padded) input."),
        ],
    )


def _forward_section(names, sym, Z, k, s, pads):
    X, F, b = sym["X"], sym["F"], sym["b"]
    C = X.shape[0]
    Ho, Wo = Z.shape
    z_lhs = names.grid("z", (Ho, Wo), "z@sub", "z@sub")
    cols = im2col(pad2d(X[None], pads, sp.S.Zero), k[0], k[1], s, (1, 1))  # the receptive field of each z
    F_flat = F.reshape(-1)
    eqs = []
    for (y, x), z in np.ndenumerate(Z):
        col = cols[:, y * Wo + x]
        terms = [(col[i], F_flat[i]) for i in range(len(col)) if col[i] != 0]  # padding contributes 0
        shown = _sum_shown(terms)
        if b is not None:
            shown = sp.Add(*(shown.args if shown.is_Add else (shown,)), b, evaluate=False)
        eqs.append(Equation(z_lhs[y, x], z, shown, ("Z", (y, x))))
    text = [
        Text(
            "Slide F over X from the top left, left to right then top to bottom"
            + (f", {s[0]} step{'s' if s[0] > 1 else ''} at a time" if s != (1, 1) else "")
            + "; at each position multiply element-wise and sum. The kernel is not flipped (cross-correlation)."
        )
    ]
    if pads != (0, 0, 0, 0):
        text.append(Text("Padding adds zeros around X; their products are 0 and are left out of the sums."))
    if C > 1:
        text.append(
            Text(
                f"A filter holds one kernel per input channel ({C} here, channel as a superscript); "
                "the channels' sums add up into one feature map."
            )
        )
    if b is not None:
        text.append(Text("One bias b per filter is added to every entry."))
    mats = [(_label("X", c, C), X[c]) for c in range(C)] + [(_label("F", c, C), F[c]) for c in range(C)]
    return Section("Forward: Z = X ⋆ F", text + [Matrices(mats), Block(eqs)])


def _label(base, c, C):
    if C == 1:
        return Raw(base, base)
    return Raw(base + superscript(f"({c + 1})"), f"{base}^{{({c + 1})}}")


def _backward_section(names, sym, dF_pack, dX_pack, db):
    X, F = sym["X"], sym["F"]
    items = [
        Text(
            "dz_yx ≡ ∂J/∂z_yx is the gradient arriving from the layer above. By the chain rule each gradient sums "
            "over the outputs: ∂J/∂F_ij = Σ_yx dz_yx · ∂z_yx/∂F_ij, where ∂z_yx/∂F_ij is the X that F_ij multiplied "
            "in z_yx (0 if it did not take part); likewise ∂J/∂X_hw = Σ_yx dz_yx · ∂z_yx/∂X_hw, the F that "
            "multiplied X_hw.",
            r"$dz_{yx} \equiv \partial J / \partial z_{yx}$ is the gradient arriving from the layer above. "
            r"By the chain rule, $\frac{\partial J}{\partial F_{ij}} = \sum_{y,x} \frac{\partial J}{\partial z_{yx}}"
            r" \frac{\partial z_{yx}}{\partial F_{ij}}$ and $\frac{\partial J}{\partial X_{hw}} = \sum_{y,x}"
            r" \frac{\partial J}{\partial z_{yx}} \frac{\partial z_{yx}}{\partial X_{hw}}$, each partial derivative"
            " read off the forward sums.",
        )
    ]
    for name, V, (grad, terms), base in (("dF", F, dF_pack, "F"), ("dX", X, dX_pack, "X")):
        eqs = []
        for idx, v in np.ndenumerate(V):
            lhs = sym_grad(names, v, base)
            eqs.append(Equation(lhs, grad[idx], _sum_shown(terms[v]), (name, idx)))
        items.append(Block(eqs))
    if db is not None:
        lhs = names.symbol("db", "∂J/∂b", r"\frac{\partial J}{\partial b}")
        items.append(Block([Equation(lhs, db, sp.Add(*sym["dZ"].ravel(), evaluate=False), ("db", ()))]))
    return Section("Backward, element by element", items)


def sym_grad(names, v, base):
    """The symbol ``∂J/∂v`` shown as in the lecture."""
    text, tex = names.text[v], names.tex[v]
    return names.symbol("d" + v.name, "∂J/∂" + text, rf"\frac{{\partial J}}{{\partial {tex}}}")


def _rules_section(sym, s, p, rules):
    Xr, dZd, dZ_full, F_rot, full = (rules[k] for k in ("Xr", "dZd", "dZ_full", "F_rot", "full"))
    X, F = sym["X"], sym["F"]
    C, H, W = X.shape
    kh, kw = F.shape[1:]
    strided = s != (1, 1)
    dz_label = Raw("dZ", "dZ")
    items = []
    if strided:
        items.append(
            Text(
                f"With stride {_pair(s)}, ∂J/∂Z is first dilated: {s[0] - 1} zero(s) between rows and {s[1] - 1} "
                "between columns, so each dz sits where its window started."
            )
        )
    items += [
        Block(
            [
                Raw(
                    "∂J/∂F = X ⋆ " + ("dilate(∂J/∂Z)" if strided else "∂J/∂Z") + "   (X correlated with the gradient)",
                    r"\frac{\partial J}{\partial F} = X \star "
                    + (
                        r"\operatorname{dilate}\left(\frac{\partial J}{\partial Z}\right)"
                        if strided
                        else r"\frac{\partial J}{\partial Z}"
                    ),
                )
            ]
        ),
        Text(
            "Slide the "
            + ("dilated " if strided else "")
            + f"{dZd.shape[0]}×{dZd.shape[1]} gradient over the "
            + ("padded " if p != (0, 0) else "")
            + "input as if it were the kernel; the result is "
            + f"{kh}×{kw}, one entry per kernel weight"
            + (
                " (rows or columns no window reached are left out)."
                if Xr.shape[1:] != (H + 2 * p[0], W + 2 * p[1])
                else "."
            )
        ),
        Matrices(
            [(_label("X", c, C), Xr[c]) for c in range(C)]
            + [(Raw("dilate(dZ)", r"\operatorname{dilate}(dZ)") if strided else dz_label, dZd)]
        ),
        Block(
            [
                Raw(
                    "∂J/∂X = full convolution of " + ("dilate(∂J/∂Z)" if strided else "∂J/∂Z") + " with rot180(F)",
                    r"\frac{\partial J}{\partial X} = "
                    + (
                        r"\operatorname{dilate}\left(\frac{\partial J}{\partial Z}\right)"
                        if strided
                        else r"\frac{\partial J}{\partial Z}"
                    )
                    + r" \star_{\mathrm{full}} \operatorname{rot180}(F)",
                )
            ]
        ),
        Text(_full_prose((kh, kw), p, full)),
        Matrices(
            [(Raw("padded dZ", r"dZ_{\mathrm{full}}"), dZ_full)]
            + [
                (Raw("rot180(F" + _sup(c, C) + ")", rf"\operatorname{{rot180}}(F{_sup_tex(c, C)})"), F_rot[c])
                for c in range(C)
            ]
        ),
        Text(
            "Correlating the padded gradient with the rotated kernel gives every ∂J/∂X_hw above"
            + (", channel by channel." if C > 1 else ".")
        ),
    ]
    return Section("The compact rules", items)


def _sup(c, C):
    return "" if C == 1 else superscript(f"({c + 1})")


def _sup_tex(c, C):
    return "" if C == 1 else f"^{{({c + 1})}}"


def _full_prose(k, p, full):
    t, b_, l_, r_ = full
    parts = [f"The full convolution pads the gradient with K−1 = {k[0] - 1} row(s) and {k[1] - 1} column(s) of zeros"]
    if p != (0, 0):
        parts.append(f", less the forward padding P = {_pair(p)} (those inputs were padding, not X)")
    parts.append(f"; net: {t} top, {b_} bottom, {l_} left, {r_} right")
    if (b_, r_) != (t, l_):
        parts.append(" (extra at the bottom/right: inputs the last window did not reach get 0)")
    parts.append(". ")
    if min(full) < 0:
        parts.append("A negative amount removes rows or columns (padding wider than K−1). ")
    parts.append("Rotating F by 180° flips it top-bottom and left-right.")
    return "".join(parts)
