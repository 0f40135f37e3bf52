"""``glassnet export``: write a trained run's model (or a zoo model) as an ONNX file.

    glassnet export runs/lenet5-mnist-subset-20260101-120000 -o lenet5.onnx
    glassnet export --model resnet20 --weights resnet20.safetensors -o resnet20.onnx
    glassnet export --model vgg11 --arg width=0.25 --input 3x32x32 --num-classes 10 -o vgg.onnx
"""

from __future__ import annotations

import ast

from ..io import GlassnetIOError, load_model_weights
from ..models import get_model
from ..onnx import export
from ..train.run import load_run
from ._onnx_model import require_onnx
from .options import CLIError, integer


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write a run's model (or a zoo model) as an ONNX file",
        description="Write the model of RUN_DIR (its weights, input normalisation, class names and data set in the "
                    "file's metadata), or a model of glassnet.models (--model, with --weights from a safetensors "
                    "file), as an ONNX file that onnxruntime, browsers and glassnet.onnx.load read. Needs the onnx "
                    "extra: pip install 'glassnet[onnx]'.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a directory written by glassnet train")
    p.add_argument("-o", "--out", metavar="FILE", required=True, help="the ONNX file to write")
    p.add_argument("--model", metavar="NAME", help="a model of glassnet.models instead of a run")
    p.add_argument("--weights", metavar="FILE", help="--model: its weights, a safetensors file (PyTorch key names)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="--model: a builder argument, e.g. --arg width=0.5 (repeatable)")
    p.add_argument("--num-classes", type=integer(1), metavar="N", help="--model: number of classes")
    p.add_argument("--input", metavar="CxHxW", help="--model: one sample's size (default: the model's documented one)")
    p.add_argument("--mean", metavar="M[,M...]", help="--model: input normalisation to record in the file")
    p.add_argument("--std", metavar="S[,S...]", help="--model: input normalisation to record in the file")
    p.add_argument("--class-names", metavar="A,B,...", help="--model: class names to record in the file")
    p.add_argument("--opset", type=integer(13), default=17, metavar="N",
                   help="ONNX operator set (17; 13 to the installed onnx's newest)")
    p.add_argument("--static-batch", action="store_true", help="fix the batch size to 1 (default: any batch size)")
    p.set_defaults(func=run)


def _from_model(args):

    kw = {}
    for item in args.arg:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise CLIError(f"--arg expects KEY=VALUE (e.g. width=0.5), got {item!r}")
        try:
            kw[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kw[key] = value
    if args.num_classes is not None:
        kw["num_classes"] = args.num_classes
    try:
        model = get_model(args.model, **kw)
    except TypeError as e:
        raise CLIError(f"model {args.model}: {e}") from None
    if args.weights is not None:
        try:
            load_model_weights(model, args.weights)
        except GlassnetIOError as e:
            raise CLIError(str(e)) from None
    shape = getattr(model, "input_size", None)
    if args.input is not None:
        try:
            shape = tuple(int(v) for v in args.input.lower().split("x"))
        except ValueError:
            raise CLIError(f"--input expects sizes like 3x32x32, got {args.input!r}") from None
    if shape is None:
        raise CLIError(f"model {args.model} has no documented input size: add --input CxHxW")
    meta = {"model": args.model}
    for name in ("mean", "std"):
        text = getattr(args, name)
        if text is not None:
            try:
                values = [float(v) for v in text.split(",")]
            except ValueError:
                raise CLIError(f"--{name} expects comma-separated numbers, got {text!r}") from None
            meta[name] = values * shape[0] if len(values) == 1 else values
    if args.class_names is not None:
        meta["class_names"] = args.class_names.split(",")
    return model, tuple(shape), meta


def run(args) -> int:

    require_onnx()

    if (args.run_dir is None) == (args.model is None):
        raise CLIError("give either RUN_DIR or --model NAME (not both)")
    if args.run_dir is not None:
        given = [f"--{n.replace('_', '-')}" for n in ("weights", "num_classes", "input", "mean", "std", "class_names")
                 if getattr(args, n) is not None] + (["--arg"] if args.arg else [])
        if given:
            raise CLIError(f"{', '.join(given)}: only with --model (a run directory has its own config.json)")

        model, config = load_run(args.run_dir)
        shape = tuple(config.input_shape)
        meta = {"mean": config.mean, "std": config.std, "class_names": config.class_names,
                "dataset": config.dataset, "model": config.model}
    else:
        model, shape, meta = _from_model(args)
    if args.weights is None and args.run_dir is None:
        print(f"glassnet: note: no --weights: {args.model} is exported with its initial (untrained) weights")
    path = export(model, args.out, input_shape=shape, opset=args.opset, dynamic_batch=not args.static_batch,
                  metadata=meta)
    n = model.num_parameters()
    print(f"wrote {path}: {type(model).__name__}, input {'x'.join(map(str, shape))}, {n:,} parameters, "
          f"opset {args.opset}, batch {'1' if args.static_batch else 'any'}")
    return 0
