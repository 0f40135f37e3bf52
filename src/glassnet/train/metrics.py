"""Classification metrics: accuracy, confusion matrix, per-class accuracy, and a whole-loader evaluation.

With targets ``t`` (N,) and predicted classes ``p = argmax(logits, axis=1)`` (N,)::

    accuracy            = (1/N) sum_n [p_n == t_n]
    confusion[i, j]     = #{n : t_n = i and p_n = j}      (row: true class, column: predicted)
    per-class accuracy  = confusion[i, i] / sum_j confusion[i, j]   (the recall of class i)

>>> import numpy as np
>>> t = np.array([0, 0, 1, 2, 2, 2])
>>> p = np.array([0, 1, 1, 2, 2, 0])
>>> accuracy(p, t)
0.6666666666666666
>>> confusion_matrix(t, p, 3).tolist()
[[1, 1, 0], [0, 1, 0], [1, 0, 2]]
>>> per_class_accuracy(confusion_matrix(t, p, 3)).round(3).tolist()
[0.5, 1.0, 0.667]
"""

from __future__ import annotations

from .. import backend as B
from ..backend import host as np  # host arrays: files, data sets, metrics (the array library is the backend's)
from ..nn.module import no_grad


def _classes(pred_or_logits) -> np.ndarray:
    a = B.to_host(pred_or_logits)
    return a.argmax(axis=1) if a.ndim == 2 else a


def accuracy(pred_or_logits, targets) -> float:
    """Fraction of correct predictions; accepts class indices (N,) or logits (N, K)."""
    p, t = _classes(pred_or_logits), np.asarray(targets)
    if p.shape != t.shape:
        raise ValueError(f"accuracy: {p.shape[0] if p.ndim else p.shape} predictions for {t.shape} targets")
    return float(np.mean(p == t)) if t.size else float("nan")


def confusion_matrix(targets, pred, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = true class, column = predicted class."""
    t, p = np.asarray(targets, np.int64), _classes(pred).astype(np.int64)
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: {t.shape} targets but {p.shape} predictions")
    for name, a in (("targets", t), ("predictions", p)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must lie in 0..{num_classes - 1}, got {a.min()}..{a.max()}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(confusion) -> np.ndarray:
    """Diagonal over row sums of a confusion matrix: NaN for a class with no samples."""
    confusion = np.asarray(confusion)
    rows = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, np.diag(confusion) / np.maximum(rows, 1), np.nan)


def evaluate(model, loader, loss_fn=None) -> dict:
    """Run ``model`` over every batch of ``loader`` in evaluation mode, without keeping gradients.

    Returns ``{"loss": mean loss over samples (None without loss_fn), "acc": accuracy,
    "targets": (N,) int64, "pred": (N,) int64, "n": N}``. The model's training flags are
    restored afterwards, and the loader's epoch counter is left as it was.
    """
    flags = [(m, m.training) for m in model.modules()]
    epoch = getattr(loader, "epoch", None)
    model.eval()
    total, targets, preds = 0.0, [], []
    try:
        with no_grad():
            for x, y in loader:
                logits = model(x)
                if loss_fn is not None:
                    total += float(loss_fn(logits, y)) * len(y)
                targets.append(np.asarray(B.to_host(y), np.int64))
                preds.append(B.to_host(logits).argmax(axis=1))
    finally:
        for m, flag in flags:
            object.__setattr__(m, "training", flag)
        if epoch is not None:
            loader.epoch = epoch
    t = np.concatenate(targets) if targets else np.zeros(0, np.int64)
    p = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    n = len(t)
    return {"loss": total / n if loss_fn is not None and n else None, "acc": accuracy(p, t), "targets": t,
            "pred": p, "n": n}


def softmax(logits) -> np.ndarray:
    """Row-wise softmax, max-shifted: ``exp(z - max z) / sum exp(z - max z)``."""
    z = np.asarray(B.to_host(logits), np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
