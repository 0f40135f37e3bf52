"""``glassnet explore``: the browser explorer of a trained run (or of a model by name), layer by layer.

    glassnet explore runs/lenet5                       # serve on 127.0.0.1, open the browser
    glassnet explore runs/lenet5 --port 8765 --no-browser
    glassnet explore --model resnet20                  # untrained, or with --weights FILE
    glassnet explore runs/lenet5 --export explorer.html --inputs test:0,test:7

See docs/explore.md.
"""

from __future__ import annotations

import re

from .options import integer


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explore", help="explore a trained CNN layer by layer in the browser (or export one HTML file)",
        description="Serve a local page that shows a run's network, activations, the convolution arithmetic, "
                    "gradients, filters, saliency, Grad-CAM and the training replay, every number computed by "
                    "glassnet; or write it to one self-contained HTML file with --export.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None, help="a run directory of glassnet train")
    p.add_argument("--model", metavar="NAME", help="explore a model by name instead of a run (untrained unless "
                                                   "--weights)")
    p.add_argument("--weights", metavar="FILE", help="with --model: a .safetensors file of its weights")
    p.add_argument("--dataset", metavar="NAME", help="with --model: a data set whose test split to offer as inputs")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1; anything else exposes the page)")
    p.add_argument("--port", type=integer(0, 65535), default=8765, help="port (8765; 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--export", metavar="FILE.html", help="write one self-contained HTML file instead of serving")
    p.add_argument("--inputs", metavar="LIST", default=None,
                   help="--export: inputs to precompute, e.g. test:0,test:7 (default: the first 3 test images)")
    p.set_defaults(func=run)


def _inputs(text, explorer):
    from . import CLIError

    if text is None:
        n = explorer.source.test_set
        return [f"test:{i}" for i in range(min(3, len(n)))] if n is not None else ["sample:noise"]
    specs = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in specs if not re.match(r"^(test:\d+|sample:(noise|zeros))$", s)]
    if bad or not specs:
        raise CLIError(f"--inputs expects a list like test:0,test:7 or sample:noise, got {text!r}")
    for s in specs:
        explorer.source.image(s)  # a clear error for an index out of range
    return specs


def run(args) -> int:
    from . import CLIError

    if (args.run_dir is None) == (args.model is None):
        raise CLIError("give RUN_DIR or --model NAME (one of them)")
    if args.model is None and (args.weights or args.dataset):
        raise CLIError("--weights and --dataset go with --model")
    if args.host in ("0.0.0.0", "::", ""):
        raise CLIError(f"--host {args.host!r} binds every address, but the page answers only requests addressed to "
                       "the bound one (DNS-rebinding check): give the address the browser will use, e.g. the "
                       "machine's IP")
    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be in 0..65535, got {args.port}")
    if args.model and str(args.model).lower().endswith(".onnx"):
        raise CLIError("ONNX models are not supported yet (no ONNX import in glassnet); give a model name")
    from ..explore import open_explorer
    from ..explore.server import App

    explorer = open_explorer(args.run_dir, args.model, args.weights, args.dataset)
    app = App(explorer, args.host, args.port)
    if args.export:
        from ..explore.export import export_html

        path = export_html(app, args.export, _inputs(args.inputs, explorer))
        print(path)
        return 0
    from ..explore.server import serve

    return serve(app, args.host, args.port, not args.no_browser)
