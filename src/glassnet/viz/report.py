"""One self-contained HTML page about a trained run, for sharing it.

The page holds: the run's facts (model, dataset, parameters, test accuracy,
epochs, training time, the configuration), the layer table of
:func:`glassnet.summary`, the training curves, the confusion matrix with
per-class accuracy, the kernels of the first convolutions, and for a few
test images their feature maps and saliency / Grad-CAM. Every picture is
embedded as a base64 PNG (``data:`` URL); the page loads nothing from
anywhere else, has no script, and is written atomically.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from .._files import atomic_write
from ..inspect.summary import summary
from ..train.metrics import confusion_matrix
from .attribution import saliency
from .evaluation import confusion
from .features import feature_maps
from .figure import render
from .history import as_columns, curves, percent_scale
from .hooks import conv_layers
from .kernels import filters

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 2em;
border-bottom: 1px solid #ddd; padding-bottom: 0.2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 0.15em 0.7em; border-bottom: 1px solid #eee; }
table.facts td:first-child { color: #555; } figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; } details { margin: 0.5em 0; } pre { background: #f6f6f6; padding: 0.8em;
overflow-x: auto; font-size: 0.85em; } .note { color: #777; font-size: 0.9em; }
"""


def png_data_url(fig) -> str:
    """The figure as a ``data:image/png;base64,...`` URL."""
    data = render(fig, "png")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure(fig, caption: str, alt: str) -> str:
    return (f'<figure><img src="{png_data_url(fig)}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _facts_table(rows) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows if v is not None
    )
    return f'<table class="facts">{cells}</table>'


def _facts(run, accuracy) -> list:
    hist = run.history()
    epochs = seconds = best = None
    if hist is not None:
        h = as_columns(hist)
        epochs = len(h["epoch"])
        if "val_acc" in h and np.isfinite(h["val_acc"]).any():
            acc = h["val_acc"] * percent_scale(h)
            best = f"{np.nanmax(acc):.2f}% (epoch {h['epoch'][int(np.nanargmax(acc))]:g})"
        rows = hist if isinstance(hist, list) else hist.get("epochs", hist.get("history", []))
        if isinstance(rows, list):
            secs = [r.get("seconds") for r in rows if isinstance(r, dict) and r.get("seconds") is not None]
            seconds = f"{sum(secs):.1f} s" if secs else None
    c, h_, w = run.input_size
    return [
        ("model", run.model_name),
        ("parameters", f"{run.model.num_parameters():,}"),
        ("input", f"{c} \u00d7 {h_} \u00d7 {w}"),
        ("dataset", run.dataset_name),
        ("classes", ", ".join(run.class_names)),
        ("test accuracy", accuracy),
        ("epochs", epochs),
        ("best validation accuracy", best),
        ("training time", seconds),
    ]


def _summary_html(run) -> str:
    return summary(run.model, run.input_size).to_html()


def build_report(run, images: int = 3, max_test: int | None = None) -> str:
    """The HTML text of the report for a :class:`~glassnet.viz.run.Run`.

    ``images``: how many test images get feature maps and saliency;
    ``max_test``: evaluate the confusion matrix on at most this many test
    images (all by default; ``metrics.json``'s matrix is used when present).
    """
    k = len(run.class_names)
    metrics = run.metrics() or {}
    m = metrics.get("confusion_matrix")
    if m is not None and np.shape(m) == (k, k) and max_test is None:
        matrix, source = np.asarray(m, np.int64), "metrics.json (glassnet evaluate)"
    else:
        labels, pred = run.predictions(limit=max_test)
        matrix = confusion_matrix(labels, pred, k)
        source = f"the first {len(labels)} test images" if max_test else "the whole test set"
    accuracy = f"{np.trace(matrix) / max(matrix.sum(), 1):.2%} on {int(matrix.sum())} test images"

    title = f"{run.name}: {run.model_name}"
    parts = [f"<h1>{html.escape(title)}</h1>",
             '<p class="note">A glassnet training run: what the network learned and how it decides.</p>',
             _facts_table(_facts(run, accuracy)),
             "<details><summary>configuration (config.json)</summary>"
             f"<pre>{html.escape(json.dumps(run.config, indent=2, default=str))}</pre></details>",
             "<h2>Layers</h2>", _summary_html(run)]
    hist = run.history()
    if hist is not None:
        parts += ["<h2>Training curves</h2>",
                  _figure(curves(hist), "Loss and accuracy per epoch, on the training and validation data.",
                          "training curves")]
    parts += ["<h2>Confusion matrix</h2>",
              _figure(confusion(matrix, run.class_names),
                      f"Rows: true class, columns: predicted class (from {source}); bars: accuracy per class.",
                      "confusion matrix")]
    convs = conv_layers(run.model)
    if convs:
        parts.append("<h2>Learned filters</h2>")
        for name, _ in convs[:2]:
            parts.append(_figure(filters(run.model, name), f"Kernels of {name} on one signed colour scale "
                                 "(blue negative, white zero, red positive).", f"filters of {name}"))
    if images:
        parts.append("<h2>Test images: feature maps and where the network looks</h2>")
        names = run.class_names
        labels, pred = run.predictions(limit=images)
        for i in range(min(images, len(labels))):
            image, label = run.test_image(i)
            verdict = "correct" if pred[i] == label else f"wrong: predicted {names[pred[i]]}"
            parts.append(f"<h3>Test image {i}: class {html.escape(names[label])} ({html.escape(verdict)})</h3>")
            parts.append(_figure(feature_maps(run.model, image, run.normalize),
                                 "Output of every convolution and pooling layer, channels tiled.",
                                 f"feature maps of test image {i}"))
            parts.append(_figure(saliency(run.model, image, None, run.normalize, class_names=names),
                                 "Gradient of the predicted class score with respect to the input, and Grad-CAM.",
                                 f"saliency of test image {i}"))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
            '<p class="note">Written by glassnet report.</p>\n</body>\n</html>\n')


def write_report(run, path=None, images: int = 3, max_test: int | None = None) -> Path:
    """Write :func:`build_report` to ``path`` (default ``RUN_DIR/report.html``) atomically; returns the path."""
    path = Path(path) if path is not None else run.path / "report.html"
    text = build_report(run, images, max_test)
    with atomic_write(path) as f:
        f.write(text.encode("utf-8"))
    return path
