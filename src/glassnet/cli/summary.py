"""``glassnet summary MODEL``: the layer table of a model, and the lecture's two comparisons.

    glassnet summary resnet18                          # text table at the model's input size
    glassnet summary vgg16 --input 3x224x224 --depth 1
    glassnet summary googlenet --arg paper=True --inception
    glassnet summary lenet5 --compare-dense --input 1x28x28
    glassnet summary resnet50 --format json > resnet50.json
"""

from __future__ import annotations

import html
import json

from ..inspect.compare import compare_dense
from ..inspect.inception import inception_report
from ..inspect.summary import summary
from ..models import get_model
from .options import CLIError, integer, model_args


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "summary",
        help="layer table: output shapes, parameters, MACs, receptive fields",
        description="One row per layer (output shape, parameters, MACs, receptive field and jump) and totals.",
    )
    p.add_argument("model", metavar="MODEL", help="a model name (glassnet.models.available_models())")
    p.add_argument("--input", default=None, metavar="CxHxW",
                   help="per-sample input size, e.g. 3x224x224 (default: the model's documented input)")
    p.add_argument("--num-classes", type=integer(1), default=None, metavar="N", help="number of output classes")
    p.add_argument("--batch-size", type=integer(1), default=1, metavar="N", help="batch size for MACs and memory (1)")
    p.add_argument("--depth", type=integer(0), default=None, metavar="D",
                   help="show rows nested at most D levels deep (0: top-level layers only)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="extra model argument, e.g. --arg paper=True --arg width=0.5 (repeatable)")
    p.add_argument("--compare-dense", action="store_true",
                   help="compare the first conv layer with a fully connected layer of the same output size")
    p.add_argument("--inception", action="store_true",
                   help="per Inception module: parameters and MACs with vs without the 1x1 reductions")
    p.add_argument("--format", choices=("text", "html", "json"), default="text", help="output format (text)")
    p.set_defaults(func=run)


def _model_kwargs(args) -> dict:
    kw = model_args(args.arg, example="paper=True")
    if args.num_classes is not None:
        kw["num_classes"] = args.num_classes
    return kw


def run(args) -> int:
    kw = _model_kwargs(args)
    try:
        model = get_model(args.model, **kw)
    except TypeError as e:
        raise CLIError(f"model {args.model!r} does not accept these arguments: {e}") from e
    s = summary(model, args.input, batch_size=args.batch_size)
    extra = []
    if args.compare_dense:
        extra.append(("compare_dense", compare_dense(model, s.input_size)))
    if args.inception:
        extra.append(("inception", inception_report(model, s.input_size, args.batch_size)))
    if args.format == "json":
        out = {"summary": s.to_dict()} | {k: v.to_dict() for k, v in extra}
        print(json.dumps(out, indent=1))
    elif args.format == "html":
        print("\n".join([s.to_html(args.depth)] + [f"<pre>{_escape(str(v))}</pre>" for _, v in extra]))
    else:
        print("\n\n".join([s.to_text(args.depth)] + [str(v) for _, v in extra]))
    return 0


def _escape(text: str) -> str:
    return html.escape(text)
