"""``glassnet report RUN_DIR``: one self-contained HTML page about a trained run, for sharing it.

    glassnet report runs/lenet5                    # writes runs/lenet5/report.html
    glassnet report runs/lenet5 --out lenet5.html --images 5

The page holds the run's facts, the layer table, the training curves, the
confusion matrix, the first convolutions' kernels and, for a few test
images, feature maps and saliency / Grad-CAM, all pictures embedded (no
external files or URLs). The path written is printed.
"""

from __future__ import annotations

from ..viz.report import write_report
from ..viz.run import open_run
from .options import integer


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="one self-contained HTML page about a trained run",
        description="Write an HTML report of a run: facts, layers, curves, confusion matrix, filters, feature maps.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by glassnet train")
    p.add_argument("--out", default=None, metavar="PATH", help="output file (default RUN_DIR/report.html)")
    p.add_argument("--images", type=integer(0), default=3, metavar="N",
                   help="test images shown with feature maps and saliency (3)")
    p.add_argument("--max-test", type=integer(1), default=None, metavar="N",
                   help="compute the confusion matrix on at most N test images (default: all, "
                        "or metrics.json's matrix when glassnet evaluate wrote one)")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="load weights holding NaN or infinity anyway (e.g. to look at a diverged run)")
    p.set_defaults(func=run)


def run(args) -> int:
    print(write_report(open_run(args.run_dir, args.allow_nonfinite), args.out, args.images, args.max_test))
    return 0
