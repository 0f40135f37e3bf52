"""``glassnet explore``: a trained CNN, layer by layer, in the browser, with glassnet's own numbers.

- :mod:`.source`: what it is started on (a run directory, or a model by name) and its inputs;
- :mod:`.compute`: :class:`Explorer`, every number of the page from glassnet's forward and backward passes;
- :mod:`.lecture`: the arithmetic of one output value (convolution, pooling, weight gradient), pure functions;
- :mod:`.server`: routes and security checks, served by the standard library's ``http.server``;
- :mod:`.export`: one self-contained HTML file with chosen inputs precomputed;
- :mod:`.epochs`: per-epoch weights for the training replay (``glassnet train --keep-epoch-weights``);
- :func:`explore`: serve (or export) any glassnet model from Python, e.g. one you built yourself;
- ``static/``: the front end, plain ES modules, SVG and canvas, no build step.

See ``docs/explore.md``. Nothing here is imported by ``import glassnet``.
"""

from .compute import Explorer
from .export import export_html
from .server import App, serve
from .source import Source

__all__ = ["Explorer", "Source", "open_explorer", "explore"]


def open_explorer(run_dir=None, model: str | None = None, weights=None, dataset: str | None = None,
                  data_dir=None) -> Explorer:
    """An :class:`Explorer` on a run directory, or on a model by name (with optional weights and test set, read
    from ``data_dir`` or the data set's default directory). An ONNX file: ``explore(glassnet.onnx.load(path))``
    or ``glassnet explore FILE.onnx``, which also reads its metadata."""
    if (run_dir is None) == (model is None):
        raise ValueError("give a run directory or a model name (not both)")
    if run_dir is not None:
        return Explorer(Source.from_run(run_dir))
    return Explorer(Source.from_model(model, weights, dataset, data_dir=data_dir))


def explore(model, input_size=None, *, test_set=None, class_names=None, normalize=None, host: str = "127.0.0.1",
            port: int = 8765, open_browser: bool = True, export=None, inputs=None):
    """Explore any glassnet model (``model(x)`` -> class scores) in the browser, or export it to one HTML file.

    ``test_set``: a dataset (``images`` (N, C, H, W) uint8 or [0, 1] floats, ``labels``, ``classes``) to pick
    inputs from; ``normalize``: (mean, std) per channel as in training. With ``export="page.html"`` the page is
    written (``inputs``: specs such as ``["test:0"]``, default the first three test images or noise) and its path
    returned; otherwise this serves until Ctrl-C.
    """

    app = App(Explorer(Source.from_module(model, input_size, test_set, class_names, normalize)), host, port)
    if export is not None:

        if inputs is None:
            n = 0 if test_set is None else min(3, len(test_set))
            inputs = [f"test:{i}" for i in range(n)] or ["sample:noise"]
        return export_html(app, export, list(inputs))
    return serve(app, host, port, open_browser)
