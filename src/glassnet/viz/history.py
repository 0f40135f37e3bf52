"""Training curves: loss and accuracy per epoch, training and validation, from a run's history.

A history is what ``glassnet train`` writes to ``history.json``: one record
per epoch with ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``,
``lr`` and ``seconds`` (any may be missing). Accepted forms: a list of such
dicts, a dict of lists (``{"train_loss": [...], ...}``), a dict holding the
list under ``"epochs"`` or ``"history"``, or the path of a JSON file with
one of these. Accuracies are fractions in [0, 1] or percentages; both are
drawn in percent.

>>> h = as_columns([{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}])
>>> h["epoch"].tolist(), h["train_loss"].tolist()
([1.0, 2.0], [0.5, 0.25])
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import runs
from .figure import new_figure, save

KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr")
TRAIN, VAL = "#1f77b4", "#d62728"


def load_history(path) -> object:
    """Read a history JSON file (clear errors for a missing or corrupt file): :func:`glassnet.runs.read_json`."""
    data = runs.read_json(path)
    if data is None:
        raise ValueError(f"{path}: no such history file")
    return data


def write_curves(run_dir) -> Path:
    """Draw a run's ``history.json`` to ``RUN_DIR/curves.png`` with :func:`curves` (the one curves picture)."""
    history = runs.read_history(run_dir)
    if history is None:
        raise ValueError(f"{run_dir}: no {runs.HISTORY} to draw")
    path = Path(run_dir) / runs.CURVES
    save(curves(history), path)
    return path


def as_columns(history) -> dict[str, np.ndarray]:
    """Normalise any accepted history form to ``{"epoch": (E,), key: (E,) ...}`` (NaN where a value is missing)."""
    if isinstance(history, (str, os.PathLike)):
        history = load_history(history)
    if isinstance(history, dict):
        for key in ("epochs", "history"):
            if isinstance(history.get(key), list):
                history = history[key]
                break
    if isinstance(history, dict):
        lengths = {len(v) for k, v in history.items() if k in KEYS and isinstance(v, list)}
        if len(lengths) != 1:
            raise ValueError(f"history: expected lists of one length under {', '.join(KEYS)}; got keys {list(history)}")
        n = lengths.pop()
        rows = [{k: history[k][i] for k in history if isinstance(history[k], list) and len(history[k]) == n}
                for i in range(n)]
    elif isinstance(history, list) and all(isinstance(r, dict) for r in history):
        rows = history
    else:
        got = type(history).__name__
        raise ValueError(f"history: expected a list of per-epoch dicts or a dict of lists, got {got}")
    if not rows:
        raise ValueError("history: no epochs recorded")
    cols = {"epoch": np.array([float(r.get("epoch", i + 1)) for i, r in enumerate(rows)])}
    for k in KEYS:
        vals = [r.get(k) for r in rows]
        if any(v is not None for v in vals):
            cols[k] = np.array([np.nan if v is None else float(v) for v in vals])
    if not any(k in cols for k in KEYS[:4]):
        raise ValueError(f"history: none of {', '.join(KEYS[:4])} recorded")
    return cols


def percent_scale(h) -> float:
    """100 when the accuracies are fractions (every recorded value <= 1), else 1; one decision for both series."""
    values = np.concatenate([h[k][np.isfinite(h[k])] for k in ("train_acc", "val_acc") if k in h] or [np.zeros(0)])
    return 100.0 if values.size == 0 or values.max() <= 1.0 else 1.0


def curves(history, title: str | None = None):
    """Figure: loss (left) and accuracy in % (right) per epoch; a third panel for the learning rate when it varies."""
    h = as_columns(history)
    epochs = h["epoch"]
    lr = h.get("lr")
    show_lr = lr is not None and np.nanmax(lr) > np.nanmin(lr)
    n = 3 if show_lr else 2
    fig = new_figure(4.3 * n, 3.6)
    axes = fig.subplots(1, n)
    marker = "o" if len(epochs) <= 30 else None
    scale = percent_scale(h)
    panels = [("loss", "loss (cross-entropy)", lambda a: a), ("acc", "accuracy (%)", lambda a: a * scale)]
    for ax, (what, label, f) in zip(axes, panels, strict=False):
        for split, colour in (("train", TRAIN), ("val", VAL)):
            key = f"{split}_{what}"
            if key in h:
                name = "training" if split == "train" else "validation"
                ax.plot(epochs, f(h[key]), color=colour, marker=marker, ms=4, lw=1.6, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8, frameon=False)
        ax.set_label(what)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_title("loss", fontsize=10)
    acc_key = "val_acc" if "val_acc" in h and np.isfinite(h["val_acc"]).any() else "train_acc"
    if acc_key in h and np.isfinite(h[acc_key]).any():
        best = int(np.nanargmax(h[acc_key]))
        acc = h[acc_key] * scale
        which = "validation" if acc_key == "val_acc" else "training"
        axes[1].set_title(f"accuracy (best {which}: {acc[best]:.2f}% at epoch {epochs[best]:g})", fontsize=10)
        axes[1].axvline(epochs[best], color="0.6", ls=":", lw=1)
    else:
        axes[1].set_title("accuracy", fontsize=10)
    if show_lr:
        ax = axes[2]
        ax.plot(epochs, lr, color="0.3", marker=marker, ms=4, lw=1.4)
        ax.set_title("learning rate", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("lr")
        ax.grid(alpha=0.3)
        ax.set_label("lr")
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
