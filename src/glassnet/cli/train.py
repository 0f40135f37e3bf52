"""``glassnet train``: train a model and write a run directory (weights, config, history, curves, test metrics).

    glassnet train                                     # LeNet-5 on the shipped MNIST subset
    glassnet train --dataset mnist --data-dir ../shared/data/mnist --epochs 12 --batch-size 128 --augment none
    glassnet train --optimizer sgd --lr 0.05 --schedule cosine --out runs/sgd
    glassnet train --resume runs/lenet5-mnist-subset-20260101-120000     # after Ctrl-C
    glassnet train --nproc 2                           # data-parallel on 2 MPI ranks (docs/distributed.md)
    mpirun -n 8 --hostfile hosts glassnet train ...    # the same over several machines
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .. import runs, viz
from ..data import DatasetNotFoundError, DownloadError, get_dataset
from ..distributed import DistributedError, comm
from ..distributed.launch import launch, run_rank
from ..explore.epochs import KeepEpochWeights
from ..train.config import AUGMENTATIONS, MONITORS, OPTIMIZERS, SCHEDULES, TrainConfig
from ..train.run import default_run_dir, fit, resume
from ..train.trainer import TrainingInterrupted
from .options import DATA_WORDS, SEED, CLIError, add_device, check_device, integer, model_args, number

_EPILOG = """\
The run directory holds config.json, history.json, model.safetensors, curves.png,
metrics.json (test split) and checkpoint/ (for --resume). Ctrl-C stops after the
current batch, saves a checkpoint and exits with status 130. A run killed at any
moment can be continued with --resume (from its last checkpoint, or from its
config.json when it had none yet); one process writes a run directory at a time.

Under mpirun (or --nproc N) every rank trains on its shard of each global
batch (--batch-size is the global batch); rank 0 writes the run directory.
"""

ARG_EXAMPLE = "--model resnet20 --dataset cifar10 --arg width=0.5"
"""The --arg example of the help text (a test runs it); lenet5, the default model, takes no extra argument."""


def register(subparsers) -> None:
    d = TrainConfig()
    p = subparsers.add_parser(
        "train", help="train a model (default: LeNet-5 on the shipped MNIST subset)",
        description="Train a model, print each epoch's loss and accuracy and the final test accuracy, and write "
                    "a run directory. With no options: LeNet-5 on the MNIST subset shipped with glassnet.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a = p.add_argument
    a("--model", metavar="NAME", help=f"model name, see glassnet.models.available_models() ({d.model})")
    a("--arg", action="append", default=[], metavar="KEY=VALUE",
      help=f"extra argument of the model's builder (repeatable), e.g. {ARG_EXAMPLE}")
    a("--dataset", metavar="NAME", help=f"mnist-subset, mnist, fashion-mnist or cifar10 ({d.dataset})")
    a("--data-dir", metavar="DIR", help="directory of the data set's files (default: ~/.cache/glassnet/<dataset>)")
    a("--download", action="store_true", help="download missing data set files first")
    a("--epochs", type=integer(1), metavar="N", help=f"passes over the training split ({d.epochs})")
    a("--batch-size", type=integer(1), metavar="N", help=f"images per step ({d.batch_size})")
    a("--lr", type=number(0, low_open=True), metavar="LR",
      help=f"learning rate; the peak rate for --schedule onecycle ({d.lr})")
    a("--optimizer", choices=OPTIMIZERS, help=f"optimizer ({d.optimizer})")
    a("--schedule", choices=SCHEDULES, help=f"learning-rate schedule ({d.schedule})")
    a("--lr-step", type=integer(1), metavar="N", help=f"--schedule step: epochs between decays ({d.lr_step})")
    a("--lr-gamma", type=number(0), metavar="G", help=f"--schedule step: factor of each decay ({d.lr_gamma})")
    a("--weight-decay", type=number(0), metavar="WD", help=f"weight decay ({d.weight_decay})")
    a("--momentum", type=number(0), metavar="M", help=f"for sgd and rmsprop ({d.momentum})")
    a("--augment", choices=AUGMENTATIONS, help=f"training augmentation ({d.augment})")
    a("--val-split", type=number(0, 1, high_open=True), metavar="F",
      help=f"fraction of the training split held out for validation ({d.val_split}; 0: none)")
    a("--early-stopping", type=integer(0), metavar="PATIENCE", help="stop after this many epochs without improvement "
                                                             "(0: off, the default)")
    a("--monitor", choices=MONITORS, help=f"what early stopping watches ({d.monitor})")
    a("--seed", type=SEED, metavar="N", help=f"seed of initialisation, split, batch order ({d.seed})")
    a("--checkpoint-every", type=integer(0), metavar="N",
      help="also save a checkpoint every N steps inside an epoch, for long epochs (0: at epoch ends only, "
           "the default)")
    a("--out", metavar="DIR", help="run directory (default: runs/<model>-<dataset>-<timestamp>)")
    a("--resume", metavar="RUN_DIR", help="continue an interrupted run from its checkpoint, with its own config.json")
    a("--sync-bn", action="store_const", const=True, help="under MPI: batch norms use the statistics of the "
      "global batch over all ranks (default: each rank's own, as PyTorch DDP)")
    a("--nproc", type=integer(1), metavar="N",
      help="train data-parallel on N MPI ranks on this machine (starts mpirun; needs Open MPI and mpi4py)")
    a("--keep-epoch-weights", action="store_true",
      help="also save the weights after every epoch under RUN_DIR/epochs/ (for glassnet explore's training replay; "
           "4 bytes per parameter per epoch: small models)")
    a("--no-progress", action="store_true", help="no progress bar")
    add_device(p)
    p.set_defaults(func=run)


_FIELDS = {  # option (argparse dest) -> TrainConfig field
    "model": "model", "dataset": "dataset", "data_dir": "data_root", "epochs": "epochs", "batch_size": "batch_size",
    "lr": "lr", "optimizer": "optimizer", "schedule": "schedule", "lr_step": "lr_step", "lr_gamma": "lr_gamma",
    "weight_decay": "weight_decay", "momentum": "momentum", "augment": "augment", "val_split": "val_split",
    "early_stopping": "early_stopping", "monitor": "monitor", "seed": "seed", "checkpoint_every": "checkpoint_every",
    "sync_bn": "sync_bn",
}


def build_config(args):
    """The TrainConfig of the command line: the defaults, overridden by the options given."""
    given = {field: getattr(args, opt) for opt, field in _FIELDS.items() if getattr(args, opt) is not None}
    if "data_root" in given and given.get("dataset", TrainConfig.dataset) == "mnist-subset":
        raise CLIError("--data-dir: mnist-subset (the default --dataset) ships inside glassnet and takes no "
                       "directory; name the data set too, e.g. --dataset mnist --data-dir DIR")
    if "data_root" in given:  # absolute, so that evaluate/predict/visualize find the files from anywhere
        given["data_root"] = str(Path(given["data_root"]).expanduser().resolve())
    if args.arg:
        given["model_args"] = model_args(args.arg)
    return TrainConfig(**given)


def run(args) -> int:
    if args.nproc is not None:
        return _launch(args)
    if comm.launched():  # one rank of `mpirun -n N glassnet train ...`
        return run_rank(lambda: _run_warned(args), check=lambda: _check_args(args))
    return _run_warned(args)


def _launch(args) -> int:

    _check_args(args)
    if getattr(args, "device", "cpu") != "cpu":
        raise CLIError(f"--nproc {args.nproc}: distributed training runs on the CPU only; drop --device {args.device}")
    forward = []
    for opt in _FIELDS:
        value = getattr(args, opt)
        if value is True:
            forward.append(f"--{opt.replace('_', '-')}")
        elif value is not None:
            forward += [f"--{opt.replace('_', '-')}", str(value)]
    for item in args.arg:
        forward += ["--arg", item]
    for opt in ("out", "resume"):
        if getattr(args, opt):
            forward += [f"--{opt}", getattr(args, opt)]
    forward += ["--download"] * args.download + ["--no-progress"] * args.no_progress
    forward += ["--keep-epoch-weights"] * args.keep_epoch_weights
    try:
        return launch(args.nproc, ["train", *forward])
    except DistributedError as e:
        raise CLIError(f"--nproc {args.nproc}: {e}") from None


def _check_args(args) -> None:
    """The command-line checks that need no data: the same outcome on every rank."""
    if args.resume:
        given = [f"--{opt.replace('_', '-')}" for opt in _FIELDS if getattr(args, opt) is not None]
        given += ["--arg"] * bool(args.arg) + ["--out"] * bool(args.out) + ["--download"] * args.download
        if given:
            raise CLIError(f"--resume continues a run with its own config.json; drop {', '.join(given)}")
    else:
        build_config(args)


def _run_warned(args) -> int:
    with warnings.catch_warnings():
        # a diverging run overflows in many places; the trainer reports it once, naming epoch and step
        warnings.filterwarnings("ignore", r"(overflow|invalid value) encountered", RuntimeWarning)
        return _run(args)


def _run(args) -> int:
    progress = False if args.no_progress else None

    def log(line):
        print(line, flush=True)

    root = comm.is_root()  # under MPI, rank 0 alone writes (epoch weights and curves too)
    callbacks = _epoch_callbacks(args) if root else (lambda run_dir: ())
    try:
        if args.resume:
            _check_args(args)
            result = resume(args.resume, progress=progress, log=log, callbacks=callbacks(args.resume),
                            device=_device(args))
        else:
            config = build_config(args)
            if args.download and comm.is_root():  # under MPI: rank 0 downloads, the others wait
                _download(config)
            comm.barrier()
            out = args.out
            if not out and args.keep_epoch_weights:  # rank 0's timestamp names the run for every rank
                out = comm.broadcast_object(str(default_run_dir(config)) if root else None)
            result = fit(config, out, progress=progress, log=log, callbacks=callbacks(out), device=_device(args))
    except TrainingInterrupted as e:
        if not root:
            return 130
        print(f"glassnet train: {e.args[0]}", file=sys.stderr)
        if e.checkpoint is not None:
            run_dir = e.checkpoint.parent
            _draw_curves(run_dir)
            print(f"glassnet train: resume with: glassnet train --resume {run_dir}", file=sys.stderr)
        return 130
    except (DatasetNotFoundError, DownloadError) as e:
        raise CLIError(e.message(DATA_WORDS)) from None
    if root:
        _draw_curves(result.run_dir)
    return 0 if result.metrics is not None else 1


def _draw_curves(run_dir) -> None:
    """curves.png from history.json (drawn here: the command line sits above both train and viz)."""
    if runs.read_history(run_dir) is not None:
        viz.write_curves(run_dir)


def _device(args) -> str:
    """The --device, checked before anything is written (a missing CuPy or GPU is one line)."""
    if check_device(args.device) != "cpu":
        print(f"training on {args.device} (CuPy)", flush=True)
    return args.device


def _epoch_callbacks(args):
    """run_dir -> the training callbacks the options ask for (``--keep-epoch-weights``)."""
    if not args.keep_epoch_weights:
        return lambda run_dir: ()
    return lambda run_dir: (KeepEpochWeights(run_dir),)


def _download(config) -> None:
    if config.dataset != "mnist-subset":
        for train in (True, False):
            get_dataset(config.dataset, root=config.data_root, train=train, download=True)
