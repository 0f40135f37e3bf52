"""``glassnet evaluate RUN_DIR``: accuracy, per-class accuracy and confusion matrix of a trained run.

    glassnet evaluate runs/lenet5-mnist-subset-20260101-120000
    glassnet evaluate RUN_DIR --split train --data-dir ../shared/data/mnist
    glassnet evaluate model.onnx --dataset mnist --data-dir ../shared/data/mnist   # an ONNX file (glassnet[onnx])
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import runs
from ..data import DatasetNotFoundError, get_dataset
from ..io import save_json
from ..onnx import read_metadata
from ..train.run import evaluate_split, load_run
from . import _onnx_model
from .options import DATA_WORDS, CLIError, add_device, on_device


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="accuracy, per-class accuracy and confusion matrix of a trained run",
        description="Evaluate a run's model on its data set (test split by default): print the accuracy, the loss, "
                    "the accuracy of each class and the confusion matrix (rows: true class, columns: predicted), "
                    "and write them to RUN_DIR/metrics.json (metrics-train.json for --split train).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by glassnet train, or an .onnx file "
                                                      "(normalisation and data set from its metadata or the flags "
                                                      "below)")
    p.add_argument("--split", choices=("test", "train"), default="test", help="which split (test)")
    p.add_argument("--data-dir", metavar="DIR", help="directory of the data set's files (default: the run's)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead of tables")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="load weights holding NaN or infinity anyway (e.g. to look at a diverged run)")
    p.add_argument("--out", metavar="FILE", help="write the metrics JSON here (default: RUN_DIR/metrics.json; "
                                                 "for an .onnx file: not written)")
    add_device(p)
    _onnx_model.add_arguments(p, dataset=True)
    p.set_defaults(func=run)


def run(args) -> int:
    if _onnx_model.is_onnx(args.run_dir):
        model, config, ds, root = _load_onnx(args)
        metrics = evaluate_split(on_device(model, args.device), config, ds, args.split)
        if args.out is not None:
            save_json(args.out, metrics)
        print(json.dumps(metrics, indent=2) if args.json else format_metrics(metrics))
        if not args.json and args.out is not None:
            print(f"written to {args.out}")
        return 0
    _onnx_model.refuse_flags_for_run(args)
    runs.read_config(args.run_dir)  # a run directory? (checked before anything is locked or written)
    with runs.open_for_writing(args.run_dir, "glassnet evaluate"):
        model, config = load_run(args.run_dir, allow_nonfinite=args.allow_nonfinite)
        on_device(model, args.device)
        if args.data_dir is not None and config.dataset == "mnist-subset":
            raise CLIError("--data-dir: the run's data set, mnist-subset, ships inside glassnet and takes no directory")
        root = args.data_dir if args.data_dir is not None else config.data_root
        try:
            ds = get_dataset(config.dataset, root=root, train=args.split == "train")
        except DatasetNotFoundError as e:
            raise CLIError(e.message({**DATA_WORDS, "download": "Fetch them with glassnet train --download"})) \
                from None
        if [str(c) for c in ds.classes] != config.class_names or list(ds.images.shape[1:]) != config.input_shape:
            raise CLIError(f"the {config.dataset} files in {root} do not match the run (classes or image size "
                           "differ)")
        metrics = evaluate_split(model, config, ds, args.split)
        if args.out is not None:
            save_json(args.out, metrics)
            out = args.out
        else:
            out = runs.write_metrics(args.run_dir, metrics, args.split)
    print(json.dumps(metrics, indent=2) if args.json else format_metrics(metrics))
    if not args.json:
        print(f"written to {out}")
    return 0


def format_metrics(m: dict) -> str:
    """The accuracy line, a per-class table and the confusion matrix as text."""
    names = m["class_names"]
    lines = [f"{m['dataset']} {m['split']} split: {m['n']} images, accuracy {m['accuracy']:.2%}, "
             f"loss {m['loss']:.4f}", "", "per-class accuracy:"]
    width = max(len(n) for n in names)
    cm = m["confusion_matrix"]
    for name, acc, row in zip(names, m["per_class_accuracy"], cm, strict=True):
        shown = "   n/a" if acc is None else f"{acc:7.2%}"
        lines.append(f"  {name:>{width}}  {shown}  ({row[names.index(name)]}/{sum(row)})")
    cell = max(width, max(len(str(v)) for row in cm for v in row), 3)
    lines += ["", "confusion matrix (rows: true class, columns: predicted):",
              " " * (width + 2) + "".join(f" {n[:cell]:>{cell}}" for n in names)]
    for name, row in zip(names, cm, strict=True):
        lines.append(f"  {name:>{width}}" + "".join(f" {v:>{cell}}" for v in row))
    return "\n".join(lines)


def _load_onnx(args):
    """(model, config, data set, root) for ``glassnet evaluate FILE.onnx``."""
    if not Path(args.run_dir).is_file():
        raise CLIError(f"{args.run_dir}: no such file")
    _onnx_model.require_onnx()
    dataset = args.dataset or read_metadata(args.run_dir).get("dataset")
    if not dataset:
        raise CLIError(f"{args.run_dir} does not say which data set it was trained on: add --dataset NAME")
    try:
        ds = get_dataset(dataset, root=args.data_dir, train=args.split == "train")
    except DatasetNotFoundError as e:
        raise CLIError(e.message({**DATA_WORDS, "download": "Fetch them with glassnet train --download"})) from None
    model, config = _onnx_model.load(args.run_dir, args, fallback_names=[str(c) for c in ds.classes])
    return model, config, ds, args.data_dir
