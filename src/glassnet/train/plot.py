"""``curves.png``: loss and accuracy per epoch, training and validation (matplotlib, Agg, imported lazily)."""

from __future__ import annotations

import io
import math
from pathlib import Path


def _column(records, key):
    values = [r.get(key) for r in records]
    return [math.nan if v is None else float(v) for v in values]


def save_curves(records: list[dict], path) -> Path:
    """Draw the per-epoch ``records`` (``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``) to a PNG.

    Left panel: loss; right panel: accuracy in percent; validation dashed.
    Missing values (no validation split) are left out. Written atomically.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..io import atomic_write_bytes

    if not records:
        raise ValueError(f"{path}: no epochs to draw")
    epochs = [int(r["epoch"]) for r in records]
    fig = Figure(figsize=(9, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    for ax, what, scale in ((fig.add_subplot(1, 2, 1), "loss", 1.0), (fig.add_subplot(1, 2, 2), "acc", 100.0)):
        for split, style in (("train", "-o"), ("val", "--s")):
            ys = [v * scale for v in _column(records, f"{split}_{what}")]
            if not all(math.isnan(v) for v in ys):
                ax.plot(epochs, ys, style, markersize=3, label="training" if split == "train" else "validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss" if what == "loss" else "accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend()
        if len(epochs) < 15:
            ax.set_xticks(epochs)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
