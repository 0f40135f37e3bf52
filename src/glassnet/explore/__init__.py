"""``glassnet explore``: a trained CNN, layer by layer, in the browser, with glassnet's own numbers.

- :mod:`.source`: what it is started on (a run directory, or a model by name) and its inputs;
- :mod:`.compute`: :class:`Explorer`, every number of the page from glassnet's forward and backward passes;
- :mod:`.lecture`: the arithmetic of one output value (convolution, pooling, weight gradient), pure functions;
- :mod:`.server`: routes and security checks, served by the standard library's ``http.server``;
- :mod:`.export`: one self-contained HTML file with chosen inputs precomputed;
- :mod:`.epochs`: per-epoch weights for the training replay (``glassnet train --keep-epoch-weights``);
- ``static/``: the front end, plain ES modules, SVG and canvas, no build step.

See ``docs/explore.md``. Nothing here is imported by ``import glassnet``.
"""

from .compute import Explorer
from .source import Source

__all__ = ["Explorer", "Source", "open_explorer"]


def open_explorer(run_dir=None, model: str | None = None, weights=None, dataset: str | None = None) -> Explorer:
    """An :class:`Explorer` on a run directory, or on a model by name (with optional weights and test set)."""
    if (run_dir is None) == (model is None):
        raise ValueError("give a run directory or a model name (not both)")
    src = Source.from_run(run_dir) if run_dir is not None else Source.from_model(model, weights, dataset)
    return Explorer(src)
