"""Server time of ``glassnet explore`` for a new input: the forward pass with every layer tapped (GET
/api/forward), then one layer's maps (GET /api/activation), the conv arithmetic of one pixel (GET
/api/detail) and the backward pass for one class (GET /api/backward).

Each request goes through the app's handler exactly as the HTTP server runs it (routing, checks, JSON
encoding), without the socket; every input is new to the server (nothing cached). Run:

    python benchmarks/explore_server.py            # LeNet-5 (1x28x28) and ResNet-18 (3x224x224)

Targets (issue #13): LeNet-5 under 200 ms, ResNet-18 at 224x224 under 2 s, for the forward request.
"""

from __future__ import annotations

import json
import platform
import statistics
import time

import numpy as np


def app_for(model: str):
    from glassnet.explore import open_explorer
    from glassnet.explore.server import App

    return App(open_explorer(model=model), "127.0.0.1", 8765)


def new_input(app, rng) -> str:
    """Upload a random image (PNG) so that the server sees an input it has never computed."""
    import io

    from PIL import Image

    c, h, w = app.explorer.source.input_size
    pixels = rng.integers(0, 256, (h, w, 3) if c == 3 else (h, w), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    r = app.handle("POST", "/api/upload?kind=image", {"Host": "127.0.0.1:8765"}, buf.getvalue())
    return json.loads(r.body)["input"]


def timed(app, target) -> float:
    t = time.perf_counter()
    r = app.handle("GET", target, {"Host": "127.0.0.1:8765"})
    dt = time.perf_counter() - t
    assert r.status == 200, r.body[:200]
    return dt


def bench(model: str, layer: str, repeats: int):
    app = app_for(model)
    app.explorer.info()  # startup work (summary, layer table) happens once, before the first page load
    rng = np.random.default_rng(0)
    rows = {"forward": [], "activation": [], "detail": [], "backward": []}
    for _ in range(repeats):
        spec = new_input(app, rng)
        rows["forward"].append(timed(app, f"/api/forward?input={spec}"))
        rows["activation"].append(timed(app, f"/api/activation?input={spec}&layer={layer}"))
        rows["detail"].append(timed(app, f"/api/detail?input={spec}&layer={layer}&c=0&y=3&x=3"))
        rows["backward"].append(timed(app, f"/api/backward?input={spec}&target=0"))
    return {k: statistics.median(v) for k, v in rows.items()}


def main():
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    for model, layer, n in (("lenet5", "features.0", 10), ("resnet18", "conv1", 5)):
        r = bench(model, layer, n)
        print(f"{model:9s} median of {n} new inputs: " + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in r.items()))


if __name__ == "__main__":
    main()
