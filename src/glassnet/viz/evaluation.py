"""The picture of a classifier's confusion matrix, with per-class accuracy.

M[i, j] = number of test samples of true class i predicted as class j, so
the diagonal holds the correct ones, row i sums to the number of samples of
class i, and the per-class accuracy (recall) is M[i, i] / sum_j M[i, j].
Cells are coloured by the row fraction M[i, j] / sum_j M[i, j], so classes
of different sizes compare fairly, and print their counts. The counts come
from :func:`glassnet.train.metrics.confusion_matrix` (re-exported here).

>>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3).tolist()
[[1, 0, 0], [0, 1, 1], [0, 0, 1]]
"""

from __future__ import annotations

import numpy as np

from ..train.metrics import confusion_matrix, per_class_accuracy
from .figure import new_figure

__all__ = ["confusion", "confusion_matrix", "per_class_accuracy"]


def _check(matrix, class_names):
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"confusion: expected a square (K, K) matrix, got shape {m.shape}")
    if np.any(m < 0):
        raise ValueError("confusion: counts must be non-negative")
    names = [str(i) for i in range(len(m))] if class_names is None else [str(c) for c in class_names]
    if len(names) != len(m):
        raise ValueError(f"confusion: {len(m)} classes in the matrix but {len(names)} class names")
    return m, names


def confusion(matrix, class_names=None, title: str | None = None):
    """Figure: the matrix (counts printed, colour = row fraction) and a bar per class of its accuracy."""
    m, names = _check(matrix, class_names)
    k = len(m)
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
    acc = per_class_accuracy(m)
    total = m.sum()
    overall = np.trace(m) / total if total else float("nan")
    side = min(11.0, max(4.5, 0.45 * k + 2.5))
    longest = max(len(n) for n in names)
    fig = new_figure(side + 3.2 + 0.06 * longest, side)
    ax, bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [4, 1.3]})
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), names, rotation=45 if longest > 2 else 0, ha="right" if longest > 2 else "center",
                  fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_label("matrix")
    if k <= 20:
        size = 8 if k <= 12 else 6
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=size,
                            color="white" if frac[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, shrink=0.7, pad=0.02).set_label("fraction of the true class", fontsize=8)
    ax.set_title(f"confusion matrix ({int(total)} samples, accuracy {overall:.2%})", fontsize=10)

    y = np.arange(k)
    bar.barh(y, np.nan_to_num(acc) * 100, color="#4c72b0", height=0.7)
    bar.set_ylim(k - 0.5, -0.5)
    bar.set_yticks(range(k), names, fontsize=8)
    bar.set_xlim(0, 100)
    bar.set_xlabel("accuracy (%)")
    bar.set_title("per-class accuracy", fontsize=10)
    bar.grid(axis="x", alpha=0.3)
    bar.set_label("per-class")
    if k <= 20:
        for i, a in enumerate(acc):
            label = "n/a" if np.isnan(a) else f"{a:.1%}"
            inside = not np.isnan(a) and a > 0.35
            bar.text(a * 100 - 2 if inside else (0 if np.isnan(a) else a * 100) + 2, i, label, va="center",
                     ha="right" if inside else "left", fontsize=7, color="white" if inside else "black")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
