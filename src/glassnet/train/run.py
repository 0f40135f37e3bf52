"""A training run from a :class:`TrainConfig`: data, model, optimizer, the fit loop, and the run directory.

``fit(config)`` is what ``glassnet train`` does; it writes a run directory::

    RUN_DIR/
      config.json         the resolved TrainConfig (written first)
      history.json        {"epochs": [{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}]}
                          rewritten after every epoch
      checkpoint/         for resume: see glassnet.train.checkpoint (after every epoch and on Ctrl-C)
      model.safetensors   the final weights, PyTorch key names (written when training ends)
      curves.png          loss and accuracy per epoch
      metrics.json        test-split evaluation (also what ``glassnet evaluate`` writes)

Every file is written atomically; nothing is created before the data set and
model have loaded and been checked against each other.

Under ``mpirun -n N`` (see :mod:`glassnet.distributed`) every rank runs
:func:`fit` / :func:`resume`: each trains on its shard of every global batch,
rank 0 alone writes the run directory and prints, ``config.json`` records
``world_size``. Errors that every rank meets alike (a bad option, a missing
file) are reported once; an error on some ranks only aborts the job, naming
the rank and the cause.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import backend
from .checkpoint import CheckpointError
from .config import TrainConfig

CHECKPOINT_DIR = "checkpoint"
EVAL_BATCH = 500


class RunError(ValueError):
    """A run directory or a run's inputs that cannot be used: the message says what to do."""


@dataclass
class RunResult:
    """What :func:`fit` returns: where the run is, its config, history and test metrics."""

    run_dir: Path
    config: TrainConfig
    history: list
    metrics: dict | None
    stopped_early: bool
    seconds: float


# ---------------------------------------------------------------------------- building blocks
def load_data(config: TrainConfig):
    """(train, val or None, test) datasets; ``val`` is a seeded ``val_split`` slice of the training split.

    Resolves ``config`` (classes, input shape, normalisation) from the training split
    before it is split, if it is not resolved yet.
    """
    from ..data import ArrayDataset, get_dataset

    root = config.data_root
    train = get_dataset(config.dataset, root=root, train=True)
    test = get_dataset(config.dataset, root=root, train=False)
    if not config.resolved:
        config.resolve(train)
    elif [str(c) for c in train.classes] != config.class_names or list(train.images.shape[1:]) != config.input_shape:
        raise RunError(f"data set {config.dataset} ({len(train.classes)} classes, images "
                       f"{'x'.join(map(str, train.images.shape[1:]))}) does not match the run's config "
                       f"({config.num_classes} classes, {'x'.join(map(str, config.input_shape))})")
    if config.val_split == 0:
        return train, None, test
    n = len(train)
    n_val = int(round(config.val_split * n))
    if not 0 < n_val < n:
        raise RunError(f"val_split {config.val_split} of {n} training images leaves {n_val} for validation")
    order = np.random.default_rng(np.random.SeedSequence([config.seed, 1])).permutation(n)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    classes = train.classes
    return (ArrayDataset(train.images[train_idx], train.labels[train_idx], classes),
            ArrayDataset(train.images[val_idx], train.labels[val_idx], classes), test)


def transform(config: TrainConfig, train: bool = False):
    """The batch transform: per-channel normalisation with the config's mean/std, after
    the config's augmentation when ``train`` (pixels in [0, 1], padding value 0 = black)."""
    from ..data import Compose, Normalize, RandomCrop, RandomHorizontalFlip

    norm = Normalize(config.mean, config.std)
    size = tuple(config.input_shape[1:])
    if not train or config.augment == "none":
        return norm
    if config.augment == "crop":
        return Compose([RandomCrop(size, padding=2), norm])
    return Compose([RandomCrop(size, padding=4), RandomHorizontalFlip(), norm])


def build_model(config: TrainConfig):
    """The (untrained) model of a resolved config; checked to map its input shape to ``num_classes`` logits."""
    from ..models import get_model
    from ..nn.module import no_grad

    try:
        model = get_model(config.model, num_classes=config.num_classes, **config.model_args)
    except TypeError as e:  # an argument the builder does not take
        raise RunError(f"model {config.model}: {e}") from None
    shape = tuple(config.input_shape)
    want = getattr(model, "input_size", None)
    x = np.zeros((2, *shape), dtype=backend.get_default_dtype())
    model.eval()
    try:
        with no_grad():
            out = model(x)
    except (ValueError, IndexError) as e:
        takes = f" (it takes {'x'.join(map(str, want))})" if want else ""
        raise RunError(f"model {config.model}{takes} cannot take the {config.dataset} images "
                       f"({'x'.join(map(str, shape))}): {e}") from None
    finally:
        model.train()
    out = getattr(out, "logits", out)
    if np.shape(out) != (2, config.num_classes):
        raise RunError(f"model {config.model} gives outputs of shape {np.shape(out)} for {config.dataset} images, "
                       f"expected (2, {config.num_classes})")
    return model


def build_optimizer(config: TrainConfig, model, steps_per_epoch: int):
    """(optimizer, scheduler or None, scheduler interval) as the config says."""
    from .. import optim
    from ..optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR

    params, lr, wd = list(model.parameters()), config.lr, config.weight_decay
    if config.optimizer == "adam":
        opt = optim.Adam(params, lr=lr, weight_decay=wd)
    elif config.optimizer == "adamw":
        opt = optim.AdamW(params, lr=lr, weight_decay=wd)
    elif config.optimizer == "sgd":
        opt = optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    else:
        opt = optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.schedule == "onecycle":
        return opt, OneCycleLR(opt, max_lr=lr, epochs=config.epochs, steps_per_epoch=steps_per_epoch), "step"
    if config.schedule == "cosine":
        return opt, CosineAnnealingLR(opt, T_max=config.epochs), "epoch"
    if config.schedule == "step":
        return opt, StepLR(opt, step_size=config.lr_step, gamma=config.lr_gamma), "epoch"
    return opt, None, "epoch"


def default_run_dir(config: TrainConfig, base="runs") -> Path:
    """``runs/<model>-<dataset>-<YYYYmmdd-HHMMSS>`` (with ``-2``, ``-3`` ... if taken)."""
    stem = f"{config.model}-{config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = Path(base) / stem, 1
    while path.exists():
        k += 1
        path = Path(base) / f"{stem}-{k}"
    return path


# ---------------------------------------------------------------------------- the run
def _world():
    """The MPI world when this process was started by mpirun (mpi4py is imported then), else None."""
    from ..distributed import comm

    return comm.init() if comm.launched() else None


def _setup(config: TrainConfig, run_dir: Path, progress, log, callbacks=(), world=None):
    """Everything but the run directory's files: data, model, optimizer, loaders, trainer (a rank's, under MPI)."""
    from ..data import DataLoader
    from .callbacks import EarlyStopping
    from .trainer import Trainer

    backend.manual_seed(config.seed)
    train, val, test = load_data(config)
    norm = transform(config)
    train_loader = DataLoader(train, batch_size=config.batch_size, shuffle=True, seed=config.seed,
                              transform=transform(config, train=True))
    val_loader = DataLoader(val, batch_size=EVAL_BATCH, transform=norm) if val is not None else None
    model = build_model(config)
    parallel, root = None, world is None or world.rank == 0
    if world is not None:
        from ..distributed import DataParallel, ShardedLoader, convert_sync_batchnorm

        if config.sync_bn:
            model = convert_sync_batchnorm(model)
        parallel = DataParallel(model, world)
        train_loader = ShardedLoader(train_loader, world.size, world.rank)
    opt, sched, interval = build_optimizer(config, model, len(train_loader))
    stopper = EarlyStopping(config.early_stopping, config.monitor) if config.early_stopping else None
    trainer = Trainer(model, opt, train_loader, val_loader=val_loader, epochs=config.epochs, scheduler=sched,
                      scheduler_interval=interval, early_stopping=stopper, checkpoint_dir=run_dir / CHECKPOINT_DIR,
                      callbacks=[_HistoryWriter(run_dir), *callbacks] if root else list(callbacks),
                      progress=progress if root else False, log=log if root else None, parallel=parallel)
    return trainer, test


class _HistoryWriter:
    """Rewrites ``history.json`` after every epoch, so the curves can be watched while training runs."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def on_epoch_end(self, trainer, epoch, record):
        write_history(self.run_dir, trainer)


def write_history(run_dir: Path, trainer) -> None:
    from ..io import save_json

    es = trainer.early_stopping
    save_json(run_dir / "history.json", {
        "epochs": trainer.history, "completed": trainer.epoch >= trainer.epochs or trainer.stopped_early,
        "stopped_early": trainer.stopped_early, "best_epoch": es.best_epoch if es is not None else None,
    })


def _check_new_run_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: exists and is not a directory; choose another --out")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        what = "a run" if (run_dir / "config.json").exists() else "files"
        raise RunError(f"{run_dir}: already holds {what}; choose another --out, or resume it "
                       f"(glassnet train --resume {run_dir})")


def fit(config: TrainConfig | None = None, run_dir=None, *, progress: bool | None = None, log=None,
        callbacks=()) -> RunResult:
    """Train as ``config`` says (default: :class:`TrainConfig()`) into a new ``run_dir``; evaluate on the test split.

    ``run_dir`` defaults to :func:`default_run_dir`; it must not exist or be
    empty. ``log`` (e.g. ``print``) receives one line per epoch; ``callbacks`` are
    handed to the :class:`~glassnet.train.trainer.Trainer`. Raises
    :class:`~glassnet.train.trainer.TrainingInterrupted` on Ctrl-C, after
    saving a checkpoint that :func:`resume` continues from.
    """
    from ..distributed.comm import together

    config = TrainConfig() if config is None else config
    world = _world()
    with together(world):
        if world is not None:
            config.world_size = world.size
        run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
        if world is not None:
            run_dir = Path(world.bcast(str(run_dir)))
        _check_new_run_dir(run_dir)
        trainer, test = _setup(config, run_dir, progress, log, callbacks, world)  # may fail: nothing written yet
    with _guarded(trainer):
        if world is not None and world.rank != 0:  # rank 0 alone writes the run directory
            return _train_and_finish(config, run_dir, trainer, test)
        created = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save(run_dir / "config.json")
        try:
            return _train_and_finish(config, run_dir, trainer, test)
        except Exception:
            if not (run_dir / CHECKPOINT_DIR / "state.json").exists():  # failed in epoch 1: leave no trace
                for name in ("config.json", "history.json"):
                    (run_dir / name).unlink(missing_ok=True)
                if created and not any(run_dir.iterdir()):
                    run_dir.rmdir()
            raise


def resume(run_dir, *, progress: bool | None = None, log=None, callbacks=()) -> RunResult:
    """Continue the run in ``run_dir`` from its checkpoint with its own ``config.json``; finish as :func:`fit`."""
    from ..distributed.comm import together

    run_dir = Path(run_dir)
    world = _world()
    with together(world):
        config = _load_config(run_dir)
        ckpt = run_dir / CHECKPOINT_DIR
        if not (ckpt / "state.json").is_file():
            raise RunError(f"{run_dir}: no checkpoint to resume from ({ckpt / 'state.json'} is missing)")
        trained_by = config.world_size
        config.world_size = world.size if world is not None else 1
        trainer, test = _setup(config, run_dir, progress, log, callbacks, world)
        state = trainer.load_checkpoint()
    with _guarded(trainer):
        return _resume_rank(config, run_dir, trainer, test, trained_by, state, log, world)


def _resume_rank(config, run_dir, trainer, test, trained_by, state, log, world):
    if world is None or world.rank == 0:
        if config.world_size != trained_by:  # config.json records the world size of the latest start
            config.save(run_dir / "config.json")
        if log is not None:
            ranks = state.get("world_size", trained_by)
            more = f" with {config.world_size} ranks (checkpoint written by {ranks})" if ranks != config.world_size \
                else ""
            log(f"resuming {run_dir} at epoch {trainer.epoch + 1}, batch {trainer.step} of "
                f"{len(trainer.train_loader)}{more}")
    return _train_and_finish(config, run_dir, trainer, test)


def _guarded(trainer):
    """Under MPI, an exception on one rank prints ``rank R: cause`` and aborts every rank (no rank left waiting)."""
    if trainer.parallel is None:
        return contextlib.nullcontext()
    from ..distributed.comm import guard
    from .trainer import TrainingInterrupted

    return guard("glassnet train", allow=(TrainingInterrupted,))  # Ctrl-C stops every rank together


def _train_and_finish(config, run_dir: Path, trainer, test) -> RunResult:
    from ..io import save_json, save_weights

    root = trainer.parallel is None or trainer.parallel.is_root
    start = time.perf_counter()
    try:
        trainer.fit()
    except KeyboardInterrupt:
        if root:
            write_history(run_dir, trainer)
            if trainer.history:
                write_curves(run_dir)
        raise
    if root:
        write_history(run_dir, trainer)
        save_weights(run_dir / "model.safetensors", trainer.model.state_dict(),
                     metadata={"model": config.model, "epochs": str(trainer.epoch)})
        write_curves(run_dir)
    metrics = evaluate_split(trainer.model, config, test, "test", parallel=trainer.parallel)
    if root:
        save_json(run_dir / "metrics.json", metrics)
    if trainer.log is not None:
        trainer.log(f"test accuracy: {metrics['accuracy']:.2%} ({metrics['n']} {config.dataset} test images)")
        trainer.log(f"run saved to {run_dir}")
    return RunResult(run_dir, config, trainer.history, metrics, trainer.stopped_early,
                     time.perf_counter() - start)


def write_curves(run_dir: Path) -> Path:
    """Draw ``history.json`` to ``curves.png`` with :func:`glassnet.viz.curves` (the one curves picture)."""
    from .. import viz
    from ..io import load_json

    path = Path(run_dir) / "curves.png"
    viz.save(viz.curves(load_json(Path(run_dir) / "history.json")), path)
    return path


def evaluate_split(model, config: TrainConfig, dataset, split: str, parallel=None) -> dict:
    """Accuracy, loss, per-class accuracy and confusion matrix of ``model`` on ``dataset`` (JSON-able).

    With ``parallel`` (a :class:`glassnet.distributed.DataParallel`) the batches are split over the ranks
    and gathered; every rank gets the one-process result.
    """
    from ..data import DataLoader
    from ..nn.loss import CrossEntropyLoss
    from .metrics import confusion_matrix, evaluate, per_class_accuracy

    loader = DataLoader(dataset, batch_size=EVAL_BATCH, transform=transform(config))
    r = (parallel.evaluate if parallel is not None else evaluate)(model, loader, CrossEntropyLoss())
    cm = confusion_matrix(r["targets"], r["pred"], config.num_classes)
    per_class = [None if np.isnan(a) else float(a) for a in per_class_accuracy(cm)]
    return {"dataset": config.dataset, "split": split, "n": r["n"], "accuracy": r["acc"], "loss": r["loss"],
            "class_names": config.class_names, "per_class_accuracy": per_class, "confusion_matrix": cm.tolist()}


# ---------------------------------------------------------------------------- reading a run
def _load_config(run_dir: Path) -> TrainConfig:
    from ..io import GlassnetIOError

    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory")
    path = run_dir / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run directory (no config.json); train one with: glassnet train --out DIR")
    try:
        config = TrainConfig.load(path)
    except GlassnetIOError as e:
        raise RunError(str(e)) from None
    if not config.resolved:
        raise RunError(f"{path}: lacks the data-set entries (num_classes, input_shape, class_names, mean, std)")
    return config


def load_run(run_dir) -> tuple:
    """``(model, config)`` of a finished run: the model in evaluation mode with its trained weights.

    ``config`` is the run's :class:`TrainConfig` (also readable as a mapping:
    ``config["mean"]``, ``dict(config)``). A directory without weights, or
    with weights that are corrupt or do not fit the model, raises
    :class:`RunError` naming the file and what to do.
    """
    from ..io import GlassnetIOError, load_model_weights

    run_dir = Path(run_dir)
    config = _load_config(run_dir)
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        hint = (f"resume it with: glassnet train --resume {run_dir}" if (run_dir / CHECKPOINT_DIR / "state.json")
                .is_file() else "train it first with: glassnet train --out DIR")
        raise RunError(f"{run_dir}: no model.safetensors (training did not finish); {hint}")
    model = build_model(config)
    try:
        load_model_weights(model, weights)
    except GlassnetIOError as e:
        raise RunError(str(e)) from None
    model.eval()
    return model, config


__all__ = ["fit", "resume", "load_run", "RunResult", "RunError", "CheckpointError", "load_data", "build_model",
           "build_optimizer", "evaluate_split", "default_run_dir", "write_curves"]
