"""``glassnet predict RUN_DIR IMAGE...``: the most probable classes of image files, with probabilities.

    glassnet predict runs/lenet5-mnist-subset-20260101-120000 digit.png photo.jpg --top 3
    glassnet predict model.onnx digit.png          # an ONNX file (glassnet[onnx]); see cli/_onnx_model.py
"""

from __future__ import annotations

import json

from ..train.predict import MAX_PIXELS, predict_images
from ..train.run import load_run
from . import _onnx_model
from .options import add_device, integer, on_device


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="classify image files with a trained run",
        description="Read each IMAGE (PNG, JPEG, ... through Pillow), convert it to the run's channels, resize it "
                    "to the run's input size, normalise it as in training and print the most probable classes.",
        epilog="MNIST-style runs expect light strokes on a dark background; with --invert auto (default) an image "
               "with a light border is inverted first. Transparent pixels are composited onto the background that "
               "contrasts with the drawn strokes, so a digit drawn in the alpha channel reads as ink. Images of "
               f"more than {MAX_PIXELS // 1_000_000} million pixels are refused.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by glassnet train, or an .onnx file "
                                                      "(normalisation from its metadata or --mean/--std)")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--top", type=integer(1), default=3, metavar="K", help="how many classes to show (3)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert grey levels: auto (light background -> invert), yes, no")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="load weights holding NaN or infinity anyway (e.g. to look at a diverged run)")
    add_device(p)
    _onnx_model.add_arguments(p, dataset=False)
    p.set_defaults(func=run)


def run(args) -> int:
    if _onnx_model.is_onnx(args.run_dir):
        model, config = _onnx_model.load(args.run_dir, args)
    else:
        _onnx_model.refuse_flags_for_run(args)
        model, config = load_run(args.run_dir, allow_nonfinite=args.allow_nonfinite)
    on_device(model, args.device)
    results = predict_images(model, config, args.images, top=args.top, invert=args.invert)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        tops = ", ".join(f"{name} ({p:.2%})" for name, p in r["top"])
        note = "  [inverted]" if r["inverted"] else ""
        print(f"{r['path']}: {tops}{note}")
    return 0
