"""Figures without a display, colour conventions, and saving (PNG or SVG, atomic).

Every picture is a :class:`matplotlib.figure.Figure` attached to the Agg
canvas directly, without pyplot: no window, no global state, no display
needed, and your own pyplot backend is left alone. matplotlib is imported
here only, when a picture is drawn.

Colour conventions: signed data (weights, pre-activation maps, gradients)
use a diverging map centred on zero (``RdBu_r``: blue negative, white zero,
red positive) with a symmetric range; non-negative data (pooled ReLU maps,
saliency magnitude, Grad-CAM) use a sequential map (``magma``/``inferno``),
from zero.
"""

from __future__ import annotations

import io
import os

import numpy as np

from .._files import atomic_write

SIGNED = "RdBu_r"
POSITIVE = "magma"
BACKGROUND = "#d9d9d9"  # gaps between tiles


def new_figure(width: float, height: float):
    """A constrained-layout Figure on an Agg canvas (sizes in inches)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def scale_for(values: np.ndarray) -> dict:
    """imshow colour arguments: symmetric diverging for signed data, sequential from 0 otherwise."""
    import matplotlib

    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if lo < 0:
        m = max(abs(lo), abs(hi)) or 1.0
        cmap, vmin, vmax = SIGNED, -m, m
    else:
        cmap, vmin, vmax = POSITIVE, 0.0, hi if hi > 0 else 1.0
    cmap = matplotlib.colormaps[cmap].with_extremes(bad=BACKGROUND)
    return {"cmap": cmap, "vmin": vmin, "vmax": vmax}


def bare(ax) -> None:
    """No ticks or frame: for image panels."""
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def render(fig, fmt: str = "png", dpi: int | None = None) -> bytes:
    """The figure's file content as bytes (``fmt`` "png" or "svg")."""
    fmt = _check_format(fmt, "format")
    buf = io.BytesIO()
    fig.draw_without_rendering()  # let constrained layout settle, so every save gives the same bytes
    fig.savefig(buf, format=fmt, dpi=dpi or fig.dpi, facecolor="white", metadata=_metadata(fmt))
    return buf.getvalue()


def save(fig, path, dpi: int | None = None) -> str:
    """Write ``fig`` to ``path``: PNG or SVG by the extension, atomically (temp file + ``os.replace``).

    Missing parent directories are created. Returns the path.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    _check_format(ext, f"{path}: file extension")
    data = render(fig, ext, dpi)
    with atomic_write(path) as f:
        f.write(data)
    return path


def _check_format(fmt: str, what: str) -> str:
    fmt = str(fmt).lower()
    if fmt not in ("png", "svg"):
        raise ValueError(f"{what}: expected png or svg, got {fmt!r}")
    return fmt


def _metadata(fmt):
    # Reproducible files: no creation date in the output.
    return {"Software": "glassnet"} if fmt == "png" else {"Date": None}
