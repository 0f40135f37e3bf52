"""The learned kernels of a convolutional layer, as a grid with one shared colour scale.

A Conv2d weight has shape (C_out, C_in, kh, kw): C_out filters, each one
kh x kw kernel per input channel. Two layouts:

* **colour** (C_in = 3, e.g. the first layer of an RGB network): one panel
  per filter, its three kernels shown as the R, G, B planes of one image,
  ``w / (2 m) + 0.5`` with m = max|w| over the layer, so mid-grey is 0;
* **per channel** (any other C_in): one panel per (input channel, filter)
  kernel, columns = filters, rows = input channels, signed colour map
  (blue < 0 < red) on the symmetric range [-m, m].

The kernels are tiled into one image (one axes labelled ``"kernels"``,
separated by gaps drawn in the background colour), which stays fast for
hundreds of kernels. Large layers show the first ``max_filters`` filters and
``max_channels`` input channels (the title says so).
"""

from __future__ import annotations

import numpy as np

from .figure import new_figure, scale_for
from .hooks import conv_layers, find_module, is_conv


def choose_conv(model, layer=None):
    """(name, module) of a convolution: ``layer`` a name, an index among the convolutions, or None (the first)."""
    convs = conv_layers(model)
    if not convs:
        raise ValueError(f"{type(model).__name__} has no convolutional layer")
    if layer is None:
        return convs[0]
    if isinstance(layer, (int, np.integer)):
        if not -len(convs) <= layer < len(convs):
            raise ValueError(f"conv layer index {layer} out of range: the model has {len(convs)} convolutions")
        return convs[layer]
    m = find_module(model, layer)
    if not is_conv(m):
        names = ", ".join(n for n, _ in convs)
        raise ValueError(f"layer {layer!r} is a {type(m).__name__}, not a convolution; convolutions: {names}")
    return layer, m


def filters(model, layer=None, max_filters: int = 32, max_channels: int = 16, colour: bool | None = None):
    """Figure of the kernels of one convolution (default: the first).

    ``colour``: True/False forces the layout; None picks colour when C_in = 3.
    """
    name, conv = choose_conv(model, layer)
    w = np.asarray(conv.weight.data, np.float64)
    c_out, c_in, kh, kw = w.shape
    colour = (c_in == 3) if colour is None else colour
    if colour and c_in != 3:
        raise ValueError(f"filters: colour layout needs 3 input channels, {name} has {c_in}")
    nf, nc = min(c_out, max_filters), min(c_in, max_channels)
    shown = w[:nf, :nc]
    m = float(np.abs(shown).max()) or 1.0
    what = f"{type(conv).__name__} {c_in}\u2192{c_out}, {kh}\u00d7{kw}"
    more = [f"first {nf} of {c_out} filters" if nf < c_out else "", f"first {nc} of {c_in} inputs" if nc < c_in else ""]
    title = f"Filters of {name} ({what})" + (": " + ", ".join(s for s in more if s) if any(more) else "")
    if colour:
        return _colour_grid(shown, m, title)
    return _channel_grid(shown, m, title)


def _grid(tiles: np.ndarray, gap: int) -> np.ndarray:
    """(rows, cols, kh, kw[, 3]) tiles -> one image with ``gap`` NaN pixels between tiles."""
    rows, cols, kh, kw = tiles.shape[:4]
    out = np.full((rows * (kh + gap) - gap, cols * (kw + gap) - gap, *tiles.shape[4:]), np.nan)
    for r in range(rows):
        for c in range(cols):
            out[r * (kh + gap): r * (kh + gap) + kh, c * (kw + gap): c * (kw + gap) + kw] = tiles[r, c]
    return out


def _gap(k):
    return max(1, round(k / 5))


def _square(w, fill):
    """(n, ...) tiles -> (rows, cols, ...) near-square grid, padded with ``fill``."""
    n = len(w)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    tiles = np.full((rows * cols, *w.shape[1:]), fill)
    tiles[:n] = w
    return tiles.reshape(rows, cols, *w.shape[1:])


def _axes(fig, image, kh, kw, row_labels, col_labels, **imshow):
    ax = fig.subplots()
    im = ax.imshow(image, interpolation="nearest", **imshow)
    gap = _gap(kh)
    ax.set_xticks([c * (kw + gap) + (kw - 1) / 2 for c in range(len(col_labels))], col_labels, fontsize=7)
    ax.set_yticks([r * (kh + gap) + (kh - 1) / 2 for r in range(len(row_labels))], row_labels, fontsize=7)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_label("kernels")
    return ax, im


def _size(rows, cols, kh):
    cell = float(np.clip(5.0 / max(rows, cols), 0.45, 1.1)) * max(1.0, kh / 7)
    return max(4.5, cell * cols + 2.2), max(2.8, cell * rows + 1.2)


def _colour_grid(w, m, title):
    import matplotlib

    nf, _, kh, kw = w.shape
    tiles = _square(np.clip(np.moveaxis(w, 1, -1) / (2 * m) + 0.5, 0, 1), np.nan)
    rows, cols = tiles.shape[:2]
    image = _grid(tiles, _gap(kh))
    image[np.isnan(image)] = 1.0  # white between tiles
    fig = new_figure(*_size(rows, cols, kh))
    ax, _ = _axes(fig, image, kh, kw, [str(r * cols) for r in range(rows)], [f"+{c}" for c in range(cols)])
    ax.set_xlabel(f"filter = row label + column label ({nf} filters, RGB)", fontsize=9)
    sm = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(-m, m), cmap="gray")
    fig.colorbar(sm, ax=ax, shrink=0.8).set_label("weight per colour channel (grey = 0)")
    fig.suptitle(title, fontsize=10)
    return fig


def _channel_grid(w, m, title):
    nf, nc, kh, kw = w.shape
    colours = scale_for(np.concatenate([[-m, m], w.ravel()]))
    if nc == 1:  # one kernel per filter: a near-square grid of filters
        tiles = _square(w[:, 0], np.nan)
        rows, cols = tiles.shape[:2]
        fig = new_figure(*_size(rows, cols, kh))
        ax, im = _axes(fig, _grid(tiles, _gap(kh)), kh, kw, [str(r * cols) for r in range(rows)],
                       [f"+{c}" for c in range(cols)], **colours)
        ax.set_xlabel(f"filter = row label + column label ({nf} filters, 1 input channel)", fontsize=9)
    else:  # rows: input channels, columns: filters
        fig = new_figure(*_size(nc, nf, kh))
        ax, im = _axes(fig, _grid(np.swapaxes(w, 0, 1), _gap(kh)), kh, kw, [str(c) for c in range(nc)],
                       [str(f) for f in range(nf)], **colours)
        ax.tick_params(labeltop=True, labelbottom=False)
        ax.set_xlabel("filter (output channel)", fontsize=9)
        ax.set_ylabel("input channel", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8, pad=0.02).set_label("weight")
    fig.suptitle(title, fontsize=10)
    return fig
