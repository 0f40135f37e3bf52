"""``glassnet visualize RUN_DIR WHAT [IMAGE]``: the pictures of :mod:`glassnet.viz` for a trained run.

    glassnet visualize runs/lenet5 filters                      # first convolution's kernels
    glassnet visualize runs/lenet5 filters --layer features.3
    glassnet visualize runs/lenet5 features test:7              # the 8th test image of the run's dataset
    glassnet visualize runs/lenet5 saliency my_digit.png --target 3
    glassnet visualize runs/lenet5 curves --out curves.svg
    glassnet visualize runs/lenet5 confusion
    glassnet visualize runs/lenet5 maximize --layer features.4 --channels 0-7

IMAGE is an image file (read as ``glassnet predict`` reads it: converted to
the model's channels and size, dark-on-light inverted) or ``test:N``;
default ``test:0``. Without ``--out`` the picture goes to
``RUN_DIR/viz/<what>[-<image>].png``. The path written is printed.
"""

from __future__ import annotations

from pathlib import Path

from .. import viz
from ..train.predict import load_image, needs_inversion
from ..viz.run import open_run
from .options import CLIError, integer

KINDS = ("filters", "features", "saliency", "curves", "confusion", "maximize")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "visualize",
        help="pictures of a trained run: filters, feature maps, saliency, curves, confusion, maximize",
        description="Draw one picture of a trained run directory (PNG or SVG).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by glassnet train")
    p.add_argument("what", metavar="WHAT", choices=KINDS, help="one of: " + ", ".join(KINDS))
    p.add_argument("image", metavar="IMAGE", nargs="?", default=None,
                   help="features/saliency: an image file or test:N (default test:0)")
    p.add_argument("--out", default=None, metavar="PATH", help="output file, .png or .svg")
    p.add_argument("--format", choices=("png", "svg"), default="png", help="format when --out is not given")
    p.add_argument("--layer", default=None, metavar="NAME",
                   help="filters: conv layer (name or index); saliency: Grad-CAM layer; maximize: layer")
    p.add_argument("--target", default=None, metavar="CLASS", help="saliency: class to explain (default: predicted)")
    p.add_argument("--channels", default=None, metavar="LIST",
                   help="maximize: channels, e.g. 0,3,5 or 0-7 (default: the first 8)")
    p.add_argument("--steps", type=integer(1), default=200, metavar="N", help="maximize: gradient-ascent steps (200)")
    p.add_argument("--max-channels", type=integer(1), default=16, metavar="N",
                   help="features: channels shown per layer (16)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert an image file's grey levels: auto (light border and dark training data), yes, no")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="load weights holding NaN or infinity anyway (e.g. to look at a diverged run)")
    p.set_defaults(func=run)


def parse_channels(text: str | None):
    """``"0,3,5"`` or ``"0-7"`` (or a mix) -> list of ints; None stays None."""
    if text is None:
        return None
    out = []
    try:
        for part in text.split(","):
            lo, sep, hi = part.strip().partition("-")
            out.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    except ValueError as e:
        raise CLIError(f"--channels expects a list such as 0,3,5 or 0-7, got {text!r}") from e
    return out


def load_input(run, spec: str | None, invert: str = "auto"):
    """(raw image (C, H, W), short name for file names, true label or None) for ``test:N`` or an image file.

    Image files are read as ``glassnet predict`` reads them (grey or RGB, resized, inverted when asked or,
    with ``"auto"``, when the border is light and the training images were dark).
    """
    spec = spec or "test:0"
    if spec.startswith("test:"):
        try:
            index = int(spec[5:])
        except ValueError as e:
            raise CLIError(f"IMAGE test:N expects an integer N, got {spec!r}") from e
        image, label = run.test_image(index)
        return image, f"test{index}", label
    path = Path(spec)
    x = load_image(path, run.input_size)
    mean = run.normalize[0] if run.normalize is not None else (0.0,)
    if invert == "yes" or (invert == "auto" and needs_inversion(x, mean)):
        x = 1.0 - x
    return x, path.stem, None


def parse_target(run, text):
    if text is None:
        return None
    names = run.class_names
    if text in names:
        return names.index(text)
    try:
        target = int(text)
    except ValueError as e:
        raise CLIError(f"--target: {text!r} is neither a class index nor a class name ({', '.join(names)})") from e
    if not 0 <= target < len(names):
        raise CLIError(f"--target: class index must be in 0..{len(names) - 1}, got {target}")
    return target


def figure_for(run, args):
    """(Figure, file stem) for the picture asked for."""
    what = args.what
    if what == "filters":
        layer = int(args.layer) if args.layer is not None and args.layer.lstrip("-").isdigit() else args.layer
        return viz.filters(run.model, layer), "filters" + (f"-{args.layer}" if args.layer else "")
    if what in ("features", "saliency"):
        image, stem, label = load_input(run, args.image, args.invert)
        if what == "features":
            return viz.feature_maps(run.model, image, run.normalize, max_channels=args.max_channels), f"features-{stem}"
        fig = viz.saliency(run.model, image, parse_target(run, args.target), run.normalize, args.layer,
                           run.class_names)
        if label is not None:
            fig.axes[0].set_xlabel(f"true class {run.class_names[label]}", fontsize=9)
        return fig, f"saliency-{stem}"
    if what == "curves":
        history = run.history()
        if history is None:
                    raise CLIError(f"{run.path}: no history.json (is this a run directory written by glassnet train?)")
        return viz.curves(history, title=f"{run.name} ({run.model_name} on {run.dataset_name})"), "curves"
    if what == "confusion":
        return viz.confusion(run.confusion_matrix(), run.class_names,
                             title=f"{run.name}: {run.model_name} on the {run.dataset_name} test set"), "confusion"
    fig = viz.maximize(run.model, args.layer, parse_channels(args.channels), run.input_size, steps=args.steps)
    return fig, "maximize" + (f"-{args.layer}" if args.layer else "")


def run(args) -> int:
    r = open_run(args.run_dir, args.allow_nonfinite)
    fig, stem = figure_for(r, args)
    out = Path(args.out) if args.out else r.path / "viz" / f"{stem}.{args.format}"
    print(viz.save(fig, out))
    return 0
