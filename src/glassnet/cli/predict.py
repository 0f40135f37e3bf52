"""``glassnet predict RUN_DIR IMAGE...``: the most probable classes of image files, with probabilities.

    glassnet predict runs/lenet5-mnist-subset-20260101-120000 digit.png photo.jpg --top 3
    glassnet predict model.onnx digit.png          # an ONNX file (glassnet[onnx]); see cli/_onnx_model.py
"""

from __future__ import annotations

import json

from . import _onnx_model


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="classify image files with a trained run",
        description="Read each IMAGE (PNG, JPEG, ... through Pillow), convert it to the run's channels, resize it "
                    "to the run's input size, normalise it as in training and print the most probable classes.",
        epilog="MNIST-style runs expect light strokes on a dark background; with --invert auto (default) an image "
               "with a light border is inverted first.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by glassnet train, or an .onnx file "
                                                      "(normalisation from its metadata or --mean/--std)")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--top", type=int, default=3, metavar="K", help="how many classes to show (3)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert grey levels: auto (light background -> invert), yes, no")
    p.add_argument("--json", action="store_true", help="print JSON")
    _onnx_model.add_arguments(p, dataset=False)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..train.predict import predict_images
    from ..train.run import load_run
    from . import CLIError

    if args.top < 1:
        raise CLIError(f"--top must be a positive int, got {args.top}")
    if _onnx_model.is_onnx(args.run_dir):
        model, config = _onnx_model.load(args.run_dir, args)
    else:
        _onnx_model.refuse_flags_for_run(args)
        model, config = load_run(args.run_dir)
    results = predict_images(model, config, args.images, top=args.top, invert=args.invert)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        tops = ", ".join(f"{name} ({p:.2%})" for name, p in r["top"])
        note = "  [inverted]" if r["inverted"] else ""
        print(f"{r['path']}: {tops}{note}")
    return 0
