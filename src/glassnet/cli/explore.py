"""``glassnet explore``: the browser explorer of a trained run, an ONNX file, or a model by name, layer by layer.

    glassnet explore runs/lenet5                       # serve on 127.0.0.1, open the browser
    glassnet explore runs/lenet5 --port 8765 --no-browser
    glassnet explore lenet5.onnx                       # an ONNX file (glassnet[onnx]); see cli/_onnx_model.py
    glassnet explore --model resnet20                  # untrained, or with --weights FILE
    glassnet explore runs/lenet5 --export explorer.html --inputs test:0,test:7

See docs/explore.md.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..data import get_dataset
from ..explore import Explorer, Source
from ..explore import open_explorer as _open
from ..explore.export import export_html
from ..explore.server import App, serve
from ..onnx import read_metadata
from . import _onnx_model
from .options import CLIError, integer


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explore", help="explore a trained CNN layer by layer in the browser (or export one HTML file)",
        description="Serve a local page that shows a run's (or an ONNX file's) network, activations, the "
                    "convolution arithmetic, gradients, filters, saliency, Grad-CAM and the training replay, every "
                    "number computed by glassnet; or write it to one self-contained HTML file with --export.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None,
                   help="a run directory of glassnet train, or an .onnx file (loaded with glassnet.onnx.load)")
    p.add_argument("--model", metavar="NAME", help="explore a model by name instead of a run (untrained unless "
                                                   "--weights)")
    p.add_argument("--weights", metavar="FILE", help="with --model: a .safetensors file of its weights")
    p.add_argument("--dataset", metavar="NAME", help="with --model or an .onnx file: a data set whose test split to "
                                                     "offer as inputs (an .onnx file: default its metadata's)")
    p.add_argument("--data-dir", metavar="DIR", help="with --dataset (or an .onnx file's data set): its files' "
                                                     "directory (default: the data set's own default)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1; anything else exposes the page)")
    p.add_argument("--port", type=integer(0, 65535), default=8765, help="port (8765; 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--export", metavar="FILE.html", help="write one self-contained HTML file instead of serving")
    p.add_argument("--inputs", metavar="LIST", default=None,
                   help="--export: inputs to precompute, e.g. test:0,test:7 (default: the first 3 test images)")
    _onnx_model.add_arguments(p, dataset=False)
    p.set_defaults(func=run)


def _inputs(text, explorer):

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


def _check(args) -> None:

    if (args.run_dir is None) == (args.model is None):
        raise CLIError("give RUN_DIR (or FILE.onnx) or --model NAME (one of them)")
    if args.model is not None and _onnx_model.is_onnx(args.model):
        raise CLIError(f"--model takes a model name; explore an ONNX file as: glassnet explore {args.model}")
    if args.weights is not None and _onnx_model.is_onnx(args.weights):
        raise CLIError(f"--weights {args.weights}: an ONNX file carries its own architecture and weights; "
                       f"explore it as: glassnet explore {args.weights}")
    onnx = args.run_dir is not None and _onnx_model.is_onnx(args.run_dir)
    if args.weights is not None and args.model is None:
        raise CLIError("--weights goes with --model")
    if args.dataset is not None and args.model is None and not onnx:
        raise CLIError("--dataset goes with --model or an .onnx file (a run directory has its own)")
    if args.data_dir is not None and args.dataset is None and not onnx:
        raise CLIError("--data-dir goes with --dataset")
    if not onnx:
        given = [f"--{name}" for name in ("mean", "std") if getattr(args, name) is not None]
        if given:
            raise CLIError(f"{', '.join(given)}: only for an .onnx file")
    if args.host in ("0.0.0.0", "::", ""):
        raise CLIError(f"--host {args.host!r} binds every address, but the page answers only requests addressed to "
                       "the bound one (DNS-rebinding check): give the address the browser will use, e.g. the "
                       "machine's IP")
    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be in 0..65535, got {args.port}")


def open_explorer(args):
    """The :class:`~glassnet.explore.Explorer` the command line ``args`` name (checked by :func:`_check`)."""

    if args.run_dir is not None and _onnx_model.is_onnx(args.run_dir):
        return _onnx_explorer(args)
    return _open(args.run_dir, args.model, args.weights, args.dataset, args.data_dir)


def _onnx_explorer(args):
    """An explorer on an ``.onnx`` file: the model, input shape, normalisation and class names by the rules of
    ``glassnet evaluate``/``predict`` (:mod:`._onnx_model`), the test split of ``--dataset`` or the metadata's."""

    path = args.run_dir
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such file")
    _onnx_model.require_onnx()
    meta = read_metadata(path)
    dataset = args.dataset or meta.get("dataset")
    test = None
    if dataset:
        try:
            test = get_dataset(dataset, root=args.data_dir, train=False)
        except (OSError, ValueError) as e:
            if args.dataset:
                raise CLIError(f"{e} (on the command line: --data-dir DIR)") from None
            print(f"glassnet: note: no test images: the data set of {path}'s metadata, {dataset!r}, is not at hand "
                  f"({e}); give --dataset NAME [--data-dir DIR]", file=sys.stderr)
    model, config = _onnx_model.load(path, args, [str(c) for c in test.classes] if test is not None else None)
    if test is not None and (tuple(test.images.shape[1:]) != tuple(config.input_shape)
                             or len(test.classes) != config.num_classes):
        why = (f"data set {dataset!r} ({len(test.classes)} classes of {'x'.join(map(str, test.images.shape[1:]))}) "
               f"does not fit {path} ({config.num_classes} classes of {'x'.join(map(str, config.input_shape))})")
        if args.dataset:
            raise CLIError(why)
        print(f"glassnet: note: no test images: {why}", file=sys.stderr)
        test = None
    plain = all(m == 0.0 for m in config.mean) and all(s == 1.0 for s in config.std)
    src = Source.from_module(model, config.input_shape, test, config.class_names,
                             None if plain else (config.mean, config.std), title=Path(path).name,
                             model_name=str(meta.get("model") or Path(path).stem))
    return Explorer(src)


def run(args) -> int:
    _check(args)

    explorer = open_explorer(args)
    app = App(explorer, args.host, args.port)
    if args.export:

        path = export_html(app, args.export, _inputs(args.inputs, explorer))
        print(path)
        return 0

    return serve(app, args.host, args.port, not args.no_browser)
