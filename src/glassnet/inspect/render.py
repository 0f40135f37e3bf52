"""Text and HTML renderings of a :class:`~glassnet.inspect.summary.Summary`."""

from __future__ import annotations

import html

_TAGS = {"branch": "[branch]", "shortcut": "[shortcut]", "aux": "[aux head]", "body": ""}


def human(n: float, unit: str = "") -> str:
    """1234567 -> '1.23 M' (powers of 1000), for MACs and counts.

    >>> human(4089184256), human(999)
    ('4.09 G', '999')
    """
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.2f} {suffix}{unit}"
    return f"{n:g}{(' ' + unit) if unit else ''}"


def mib(nbytes: int) -> str:
    """Bytes in MiB (KiB below 1 MiB).

    >>> mib(3 * 2**20), mib(2560)
    ('3.00 MiB', '2.50 KiB')
    """
    if nbytes < 2**20:
        return f"{nbytes / 2**10:,.2f} KiB"
    return f"{nbytes / 2**20:,.2f} MiB"


def _pair(v) -> str:
    if v is None:
        return "-"
    return str(v[0]) if v[0] == v[1] else f"{v[0]}x{v[1]}"


def _label(r) -> str:
    short = r.name.rsplit(".", 1)[-1] if r.name else r.type
    if r.role == "add":
        return "(+) add: body + shortcut"
    text = "identity" if r.name.endswith("(identity)") else f"{short} ({r.type})"
    tags = [_TAGS.get(r.role, "")] + ([f"[{r.kind}]"] if r.kind else [])
    return " ".join([text] + [t for t in tags if t])


def _cells(r):
    shape = " x ".join(str(s) for s in r.output_shape)
    macs = "?" if r.macs is None else f"{r.macs:,}"
    return [shape, f"{r.params:,}", macs, _pair(r.rf), _pair(r.jump)]


HEAD = ["Output shape", "Params", "MACs", "RF", "Jump"]


def totals_lines(s) -> list[tuple[str, str]]:
    t = s.totals
    macs = f"{t.macs:,} ({human(t.macs)})"
    if t.unknown_macs:
        macs += f", plus {t.unknown_macs} layer(s) of unknown cost"
    return [
        ("Total params", f"{t.params:,} ({human(t.params)})"),
        ("Trainable params", f"{t.trainable:,}"),
        ("Non-trainable params", f"{t.non_trainable:,}"),
        (f"MACs (one forward pass, batch {s.batch_size})", macs),
        ("Input memory", mib(t.input_bytes)),
        ("Activation memory (forward)", mib(t.activation_bytes)),
        ("Parameter memory", mib(t.param_bytes)),
        ("Buffer memory", mib(t.buffer_bytes)),
    ]


def render_text(s, max_depth: int | None = None) -> str:
    """The table as text; ``max_depth`` hides rows nested deeper (0 = top-level layers only)."""
    rows = [r for r in s.rows if max_depth is None or r.depth <= max_depth]
    labels = ["  " * r.depth + _label(r) for r in rows]
    cells = [_cells(r) for r in rows]
    wl = max([len("Layer (type)")] + [len(v) for v in labels])
    widths = [max([len(HEAD[i])] + [len(c[i]) for c in cells]) for i in range(len(HEAD))]

    def line(label, vals):
        return f"{label:<{wl}}  " + "  ".join(
            f"{v:<{w}}" if i == 0 else f"{v:>{w}}" for i, (v, w) in enumerate(zip(vals, widths, strict=True))
        )

    head = line("Layer (type)", HEAD)
    sep = "=" * len(head)
    size = " x ".join(str(d) for d in s.input_size)
    out = [f"{s.model}: input {size}, batch {s.batch_size}, {s.dtype}", sep, head, sep]
    out += [line(lab, c).rstrip() for lab, c in zip(labels, cells, strict=True)]
    out.append(sep)
    tl = totals_lines(s)
    wk = max(len(k) for k, _ in tl)
    out += [f"{k + ':':<{wk + 1}} {v}" for k, v in tl]
    out.append("RF = receptive field, Jump = product of strides (input pixels); MACs = multiply-accumulates")
    return "\n".join(out)


def render_html(s, max_depth: int | None = None) -> str:
    e = html.escape
    size = " x ".join(str(d) for d in s.input_size)
    parts = [
        "<div class='glassnet-summary'>",
        f"<p><b>{e(s.model)}</b>: input {e(size)}, batch {s.batch_size}, {e(s.dtype)}</p>",
        "<table>",
        "<thead><tr><th style='text-align:left'>Layer (type)</th>"
        + "".join(f"<th style='text-align:right'>{e(h)}</th>" for h in HEAD)
        + "</tr></thead><tbody>",
    ]
    for r in s.rows:
        if max_depth is not None and r.depth > max_depth:
            continue
        weight = "font-weight:bold;" if r.container else ""
        label = f"<td style='text-align:left;padding-left:{0.3 + 1.2 * r.depth:.1f}em;{weight}'>{e(_label(r))}</td>"
        vals = "".join(f"<td style='text-align:right'>{e(c)}</td>" for c in _cells(r))
        parts.append(f"<tr title='{e(r.name)}'>{label}{vals}</tr>")
    parts.append("</tbody></table><table>")
    parts += [f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in totals_lines(s)]
    parts.append("</table></div>")
    return "\n".join(parts)
