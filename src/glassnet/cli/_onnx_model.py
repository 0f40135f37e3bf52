"""An ``.onnx`` file where ``glassnet evaluate``, ``predict`` and ``explore`` take a run directory.

The model is :func:`glassnet.onnx.load`'s glassnet module. What a run's
``config.json`` says comes from elsewhere for a file:

* input normalisation (per-channel mean and std): ``--mean``/``--std`` if given; else the file's metadata
  (``input_mean``/``input_std``, written by ``glassnet export`` and ``glassnet.onnx.export(metadata=...)``);
  else the known constants of its data set (``--dataset``, or the metadata's ``dataset``); else none
  (mean 0, std 1: the pixels in [0, 1] go in as they are), with a note on stderr;
* input shape: the file's graph input; class names: the metadata's ``class_names``, else the data set's
  (evaluate) or the class indices (predict); data set (evaluate): ``--dataset``, else the metadata's ``dataset``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from ..nn.module import no_grad
from ..onnx import load as load_onnx
from ..onnx import read_metadata
from ..train.config import NORMALIZATION, TrainConfig
from .options import CLIError


def is_onnx(path) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def add_arguments(p, dataset: bool) -> None:
    g = p.add_argument_group("for an .onnx file (instead of RUN_DIR)")
    g.add_argument("--mean", metavar="M[,M...]", help="per-channel input mean (default: the file's metadata)")
    g.add_argument("--std", metavar="S[,S...]", help="per-channel input std (default: the file's metadata)")
    if dataset:
        g.add_argument("--dataset", metavar="NAME", help="the data set to evaluate on (default: the file's metadata)")


def _numbers(text, flag, channels):

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise CLIError(f"{flag} expects comma-separated numbers, got {text!r}") from None
    if len(values) == 1 and channels > 1:
        values *= channels
    if len(values) != channels:
        raise CLIError(f"{flag}: the model takes {channels} input channels, got {len(values)} values")
    return values


def require_onnx() -> None:


    if importlib.util.find_spec("onnx") is None:
        raise CLIError("the onnx package is missing; install the extra: pip install 'glassnet[onnx]'")


def refuse_flags_for_run(args) -> None:

    given = [f"--{name}" for name in ("mean", "std", "dataset") if getattr(args, name, None) is not None]
    if given:
        raise CLIError(f"{', '.join(given)}: only for an .onnx file (a run directory has its own config.json)")


def load(path, args, fallback_names=None):
    """``(model, config)`` for an ``.onnx`` file; ``config`` is a resolved TrainConfig built from the file."""

    if not Path(path).is_file():
        raise CLIError(f"{path}: no such file")
    require_onnx()
    meta = read_metadata(path)
    model = load_onnx(path)
    shape = meta.get("input_shape")
    if not isinstance(shape, list) or len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise CLIError(f"{path}: the model's input is {shape}, not one image (C, H, W) of fixed size")
    channels = shape[0]
    dataset = getattr(args, "dataset", None) or meta.get("dataset")
    mean, std = meta.get("input_mean"), meta.get("input_std")
    if args.mean is not None:
        mean = _numbers(args.mean, "--mean", channels)
    if args.std is not None:
        std = _numbers(args.std, "--std", channels)
    if (mean is None or std is None) and dataset in NORMALIZATION:
        known = NORMALIZATION[dataset]
        mean = list(known[0]) if mean is None else mean
        std = list(known[1]) if std is None else std
    if mean is None or std is None:
        print(f"glassnet: note: {path} states no input normalisation (and no --mean/--std): "
              "using the pixels in [0, 1] as they are", file=sys.stderr)
        mean = [0.0] * channels if mean is None else mean
        std = [1.0] * channels if std is None else std


    with no_grad():
        num_classes = int(model(np.zeros((1, *shape), np.float32)).shape[-1])
    names = meta.get("class_names") or fallback_names or [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise CLIError(f"{path}: {len(names)} class names for {num_classes} outputs")
    try:
        config = TrainConfig(model=f"onnx:{Path(path).name}", dataset=dataset or "unknown",
                             data_root=getattr(args, "data_dir", None), num_classes=num_classes, input_shape=shape,
                             class_names=[str(n) for n in names], mean=[float(v) for v in mean],
                             std=[float(v) for v in std])
    except ValueError as e:
        raise CLIError(f"{path}: {e}") from None
    return model, config
