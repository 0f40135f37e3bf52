"""``glassnet explore RUN_DIR --export explorer.html``: the page and its numbers in one file.

The file holds the same front end as the server (CSS inline, each ES module as a ``data:`` URL in the
page's import map) and a table of precomputed responses, keyed as :func:`~glassnet.explore.server.api_key`
writes them. The page looks a request up in the table instead of fetching it, so it opens from
``file://`` with no server and no network. What is precomputed, per chosen input: the forward pass and
every layer's activations, the backward pass for the predicted class (and the true class when it differs)
with every layer's gradient, the first kernel's weight gradient of each convolution, saliency and Grad-CAM,
and the arithmetic of five pixels per layer (the centre of channel 0 and its four neighbours, so the step
buttons work); the filters of every convolution; the final weights only. Other clicks say that the export
does not hold them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ..io import atomic_write_text
from .server import App, api_key, index_html, load_assets

PIXEL_KINDS = ("conv", "maxpool", "avgpool", "adaptivepool", "activation", "batchnorm", "linear")


def default_pixels(shape) -> list:
    """(c, y, x) the page selects first on a layer (the centre of channel 0), and its four neighbours."""
    if len(shape) != 3:
        return [(0, 0, 0)]
    _, h, w = shape
    y, x = h // 2, w // 2
    near = [(y, x), (y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)]
    return [(0, a, b) for a, b in near if 0 <= a < h and 0 <= b < w]


def precompute(app: App, inputs: list) -> dict:
    table = {}

    def put(name, **params):
        params = {k: v for k, v in params.items() if v is not None}
        table[api_key(name, params)] = app.api(name, {k: [str(v)] for k, v in params.items()})
        return table[api_key(name, params)]

    info = put("info")
    kinds = {layer["name"]: layer["kind"] for layer in info["layers"]}
    if info["test_images"]:
        put("inputs", which="all")
        put("inputs", which="wrong")
    for spec in inputs:
        f = put("forward", input=spec)
        put("attribution", input=spec)
        # the page starts on the true class (else the prediction); the prediction is one click away
        targets = [f["pred"]] + ([f["label"]] if f["label"] is not None and f["label"] != f["pred"] else [])
        for target in targets[1:]:
            put("attribution", input=spec, target=target)
        for layer in f["layers"]:
            name = layer["name"]
            put("activation", input=spec, layer=name)
            if kinds.get(name) in PIXEL_KINDS:
                for c, y, x in default_pixels(layer["shape"]):
                    put("detail", input=spec, layer=name, c=c, y=y, x=x)
        for target in targets:
            put("backward", input=spec, target=target)
            for layer in f["layers"]:
                put("gradient", input=spec, target=target, layer=layer["name"])
                if kinds.get(layer["name"]) == "conv":
                    put("wgrad", input=spec, target=target, layer=layer["name"], co=0, ci=0, p=0, q=0)
    for layer in info["layers"]:
        if layer["kind"] == "conv":
            put("filters", layer=layer["name"])
    return table


def export_html(app: App, out_path, inputs: list) -> Path:
    """Write the self-contained page for ``inputs`` (input specs) to ``out_path`` atomically; return the path."""

    assets = load_assets()
    imports = {f"explore/{n}": "data:text/javascript;base64," + base64.b64encode(assets[n]).decode()
               for n in sorted(assets) if n.endswith(".js")}
    table = precompute(app, inputs)
    data = json.dumps({"inputs": inputs, "responses": table}, separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c")
    head = "<style>\n" + assets["style.css"].decode() + "\n</style>"
    body = (f'<script type="application/json" id="glassnet-export">{data}</script>\n'
            '<script type="module">import "explore/main.js";</script>')
    path = Path(out_path)
    atomic_write_text(path, index_html(imports, head, body))
    return path
