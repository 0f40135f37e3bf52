"""A training run from a :class:`TrainConfig`: data, model, optimizer, the fit loop, into a run directory.

``fit(config)`` is what ``glassnet train`` does. The run directory's files,
its lock and its promises belong to :mod:`glassnet.runs`; this module decides
*when* each is written:

1. nothing is created before the data set and model have loaded and been
   checked against each other;
2. the directory is locked (one writer), ``config.json`` is written;
3. ``history.json`` after every epoch, a checkpoint after every epoch (and
   every ``checkpoint_every`` steps, and on Ctrl-C);
4. ``model.safetensors`` and ``metrics.json`` when training ends.

``curves.png`` is drawn by the command line (:func:`glassnet.viz.write_curves`),
which sits above both ``train`` and ``viz``.

Killed at any moment, a run can be continued: :func:`resume` continues from
the last checkpoint, or, when it died before its first one, starts it again
from its ``config.json``; :func:`fit` into the same directory starts over.
Each says which in its log.

Under ``mpirun -n N`` (see :mod:`glassnet.distributed`) every rank runs
:func:`fit` / :func:`resume`: each trains on its shard of every global batch,
rank 0 alone locks and writes the run directory and prints, ``config.json``
records ``world_size``. Errors that every rank meets alike (a bad option, a
missing file) are reported once; an error on some ranks only aborts the job,
naming the rank and the cause.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from .. import backend, optim, runs
from ..backend import host as np  # host arrays: files, data sets, metrics (the array library is the backend's)
from ..data import ArrayDataset, Compose, DataLoader, Normalize, RandomCrop, RandomHorizontalFlip, get_dataset
from ..distributed import DataParallel, ShardedLoader, comm, convert_sync_batchnorm
from ..models import get_model
from ..nn.loss import CrossEntropyLoss
from ..nn.module import no_grad
from ..optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR
from ..runs import CHECKPOINT_DIR, EVAL_BATCH, CheckpointError, RunError
from .callbacks import EarlyStopping
from .config import TrainConfig
from .metrics import confusion_matrix, evaluate, per_class_accuracy
from .trainer import Trainer, TrainingInterrupted


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
    norm = Normalize(config.mean, config.std)
    size = tuple(config.input_shape[1:])
    if not train or config.augment == "none":
        return norm
    if config.augment == "crop":
        return Compose([RandomCrop(size, padding=2), norm])
    return Compose([RandomCrop(size, padding=4), RandomHorizontalFlip(), norm])


def build_model(config: TrainConfig):
    """The (untrained) model of a resolved config; checked to map its input shape to ``num_classes`` logits."""
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
    return comm.init() if comm.launched() else None


def _guarded(trainer):
    """Under MPI, an exception on one rank prints ``rank R: cause`` and aborts every rank (no rank left waiting)."""
    if trainer.parallel is None:
        return contextlib.nullcontext()
    return comm.guard("glassnet train", allow=(TrainingInterrupted,))  # Ctrl-C stops every rank together


def _setup(config: TrainConfig, run_dir: Path, progress, log, callbacks=(), world=None, device="cpu"):
    """Everything but the run directory's files: data, model (on ``device``), optimizer, loaders, trainer
    (a rank's, under MPI)."""
    if world is not None and device != "cpu":
        raise RunError(f"--device {device}: distributed training (mpirun) runs on the CPU only (its all-reduce "
                       "and synchronised batch norm work on host arrays); drop --device")
    backend.manual_seed(config.seed)
    train, val, test = load_data(config)
    norm = transform(config)
    train_loader = DataLoader(train, batch_size=config.batch_size, shuffle=True, seed=config.seed,
                              transform=transform(config, train=True), device=device)
    val_loader = DataLoader(val, batch_size=EVAL_BATCH, transform=norm, device=device) if val is not None else None
    model = build_model(config)
    if device != "cpu":  # batches follow the model there; weights and checkpoints stay host files
        model.to(device)
    parallel, root = None, world is None or world.rank == 0
    if world is not None:
        if config.sync_bn:
            model = convert_sync_batchnorm(model)
        parallel = DataParallel(model, world)
        train_loader = ShardedLoader(train_loader, world.size, world.rank)
    opt, sched, interval = build_optimizer(config, model, len(train_loader))
    stopper = EarlyStopping(config.early_stopping, config.monitor) if config.early_stopping else None
    trainer = Trainer(model, opt, train_loader, val_loader=val_loader, epochs=config.epochs, scheduler=sched,
                      scheduler_interval=interval, early_stopping=stopper,
                      checkpoint_dir=run_dir / CHECKPOINT_DIR, checkpoint_every=config.checkpoint_every,
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
    es = trainer.early_stopping
    runs.write_history(run_dir, {
        "epochs": trainer.history, "completed": trainer.epoch >= trainer.epochs or trainer.stopped_early,
        "stopped_early": trainer.stopped_early, "best_epoch": es.best_epoch if es is not None else None,
    })


def _check_new_run_dir(run_dir: Path) -> str | None:
    """None for a new (or bare) directory, ``"restart"`` for a run killed before its first checkpoint;
    :class:`RunError` for anything else."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: exists and is not a directory; choose another --out")
    if runs.is_bare(run_dir):
        return None
    if runs.never_checkpointed(run_dir):
        return "restart"
    what = "a run" if (run_dir / runs.CONFIG).exists() else "files"
    raise RunError(f"{run_dir}: already holds {what}; choose another --out, or resume it "
                   f"(glassnet train --resume {run_dir})")


def _start_over(run_dir: Path) -> None:
    """Remove what a run killed before its first checkpoint left (config, history, metrics, curves)."""
    for name in (runs.CONFIG, runs.HISTORY, runs.TIMING, runs.METRICS, runs.CURVES):
        (run_dir / name).unlink(missing_ok=True)


def fit(config: TrainConfig | None = None, run_dir=None, *, progress: bool | None = None, log=None,
        callbacks=(), device: str = "cpu") -> RunResult:
    """Train as ``config`` says (default: :class:`TrainConfig()`) into ``run_dir``; evaluate on the test split.

    ``run_dir`` defaults to :func:`default_run_dir`; it must not exist, be
    empty, or hold a run killed before its first checkpoint (started over,
    as the log says). ``log`` (e.g. ``print``) receives one line per epoch;
    ``callbacks`` are handed to the :class:`~glassnet.train.trainer.Trainer`;
    ``device`` ("cpu", "cuda") is where the model computes (the run's files
    are the same either way, so a run resumes on another device).
    Raises :class:`~glassnet.train.trainer.TrainingInterrupted` on Ctrl-C,
    after saving a checkpoint that :func:`resume` continues from, and
    :class:`RunError` when another process writes ``run_dir``.
    """
    config = TrainConfig() if config is None else config
    world = _world()
    with comm.together(world):  # under MPI: every rank alike, or one error reported once
        if world is not None:
            config.world_size = world.size
        run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
        if world is not None:
            run_dir = Path(world.bcast(str(run_dir)))  # rank 0's timestamp
        _check_new_run_dir(run_dir)
        trainer, test = _setup(config, run_dir, progress, log, callbacks, world, device)  # nothing written yet
    with _guarded(trainer):
        if world is not None and world.rank != 0:  # rank 0 alone locks and writes the run directory
            return _train_and_finish(config, run_dir, trainer, test)
        created = not run_dir.exists()
        lock = runs.open_for_writing(run_dir, "glassnet train")
        _log_takeover(lock, log)
        try:
            if _check_new_run_dir(run_dir) == "restart":  # checked again under the lock
                _start_over(run_dir)
                if log is not None:
                    log(f"{run_dir} held a run stopped before its first checkpoint: starting over in it")
            runs.write_config(run_dir, config.to_dict())
            try:
                return _train_and_finish(config, run_dir, trainer, test)
            except Exception:
                if not runs.has_checkpoint(run_dir):  # failed in epoch 1: leave no trace
                    _start_over(run_dir)
                    lock.release()
                    if created and runs.is_bare(run_dir):
                        for p in run_dir.iterdir():
                            p.unlink()
                        run_dir.rmdir()
                raise
        finally:
            lock.release()


def _log_takeover(lock, log) -> None:
    if lock.took_over is not None and log is not None:
        log(f"{lock.run_dir}: took over the lock of pid {lock.took_over.get('pid')} (no longer running)")


def resume(run_dir, *, progress: bool | None = None, log=None, callbacks=(), device: str = "cpu") -> RunResult:
    """Continue the run in ``run_dir`` with its own ``config.json``; finish as :func:`fit`.

    From its last checkpoint; a run that stopped before its first checkpoint
    starts again from epoch 1 (the log says which).
    """
    run_dir = Path(run_dir)
    world = _world()
    if world is not None:
        return _resume_ranks(run_dir, world, progress, log, callbacks, device)
    config = load_config(run_dir)
    trainer, test = _setup(config, run_dir, progress, log, callbacks, device=device)
    with runs.open_for_writing(run_dir, "glassnet train --resume") as lock:
        _log_takeover(lock, log)
        if runs.has_checkpoint(run_dir):
            trainer.load_checkpoint()
            where = f"at epoch {trainer.epoch + 1}, batch {trainer.step} of {len(trainer.train_loader)}"
        elif not runs.never_checkpointed(run_dir):
            raise RunError(f"{run_dir}: no checkpoint to resume from ({runs.checkpoint_dir(run_dir) / 'state.json'} "
                           f"is missing, and the run has its {runs.WEIGHTS})")
        else:
            _start_over(run_dir)
            runs.write_config(run_dir, config.to_dict())
            where = "from its config.json, epoch 1 (it stopped before its first checkpoint)"
        if log is not None:
            log(f"resuming {run_dir} {where}")
        return _train_and_finish(config, run_dir, trainer, test)


def _resume_ranks(run_dir: Path, world, progress, log, callbacks, device) -> RunResult:
    """:func:`resume` as one rank of N: rank 0 locks and decides, every rank reads the checkpoint."""
    root = world.rank == 0
    with comm.together(world):
        config = load_config(run_dir)
        trained_by, config.world_size = config.world_size, world.size
        if not runs.has_checkpoint(run_dir) and not runs.never_checkpointed(run_dir):
            raise RunError(f"{run_dir}: no checkpoint to resume from ({runs.checkpoint_dir(run_dir) / 'state.json'} "
                           f"is missing, and the run has its {runs.WEIGHTS})")
        trainer, test = _setup(config, run_dir, progress, log, callbacks, world, device)
    with _guarded(trainer):
        lock = runs.open_for_writing(run_dir, "glassnet train --resume") if root else contextlib.nullcontext()
        with lock:
            if world.bcast(runs.has_checkpoint(run_dir) if root else None):  # rank 0 decides, under its lock
                state = trainer.load_checkpoint()
                where = f"at epoch {trainer.epoch + 1}, batch {trainer.step} of {len(trainer.train_loader)}"
                ranks = state.get("world_size", trained_by)
                if ranks != world.size:
                    where += f" with {world.size} ranks (checkpoint written by {ranks})"
                if root and trained_by != world.size:  # config.json records the world size of the latest start
                    runs.write_config(run_dir, config.to_dict())
            else:
                if root:
                    _start_over(run_dir)
                    runs.write_config(run_dir, config.to_dict())
                where = "from its config.json, epoch 1 (it stopped before its first checkpoint)"
            if root:
                _log_takeover(lock, log)
                if log is not None:
                    log(f"resuming {run_dir} {where}")
            return _train_and_finish(config, run_dir, trainer, test)


def _train_and_finish(config, run_dir: Path, trainer, test) -> RunResult:
    root = trainer.parallel is None or trainer.parallel.is_root  # under MPI, rank 0 alone writes
    start = time.perf_counter()
    try:
        trainer.fit()
    except KeyboardInterrupt:
        if root:
            write_history(run_dir, trainer)
        raise
    if root:
        write_history(run_dir, trainer)
        runs.write_weights(run_dir, trainer.model.state_dict(),
                           metadata={"model": config.model, "epochs": str(trainer.epoch)})
    metrics = evaluate_split(trainer.model, config, test, "test", parallel=trainer.parallel)
    if root:
        runs.write_metrics(run_dir, metrics)
    if trainer.log is not None:
        trainer.log(f"test accuracy: {metrics['accuracy']:.2%} ({metrics['n']} {config.dataset} test images)")
        trainer.log(f"run saved to {run_dir}")
    return RunResult(run_dir, config, trainer.history, metrics, trainer.stopped_early,
                     time.perf_counter() - start)


def evaluate_split(model, config: TrainConfig, dataset, split: str, parallel=None) -> dict:
    """Accuracy, loss, per-class accuracy and confusion matrix of ``model`` on ``dataset`` (JSON-able).

    With ``parallel`` (a :class:`glassnet.distributed.DataParallel`) the batches are split over the ranks
    and gathered; every rank gets the one-process result.
    """
    loader = DataLoader(dataset, batch_size=EVAL_BATCH, transform=transform(config))
    r = (parallel.evaluate if parallel is not None else evaluate)(model, loader, CrossEntropyLoss())
    cm = confusion_matrix(r["targets"], r["pred"], config.num_classes)
    per_class = [None if np.isnan(a) else float(a) for a in per_class_accuracy(cm)]
    return {"dataset": config.dataset, "split": split, "n": r["n"], "accuracy": r["acc"], "loss": r["loss"],
            "class_names": config.class_names, "per_class_accuracy": per_class, "confusion_matrix": cm.tolist()}


# ---------------------------------------------------------------------------- reading a run
def load_config(run_dir) -> TrainConfig:
    """The resolved :class:`TrainConfig` of ``RUN_DIR/config.json``; :class:`RunError` naming the problem."""
    run_dir = Path(run_dir)
    data = runs.read_config(run_dir)
    try:
        config = TrainConfig.from_dict(data, source=str(run_dir / runs.CONFIG))
    except ValueError as e:
        raise RunError(str(e)) from None
    if not config.resolved:
        raise RunError(f"{run_dir / runs.CONFIG}: lacks the data-set entries (num_classes, input_shape, "
                       "class_names, mean, std)")
    return config


_load_config = load_config  # the former private name


def load_run(run_dir, allow_nonfinite: bool = False) -> tuple:
    """``(model, config)`` of a finished run: the model in evaluation mode with its trained weights.

    ``config`` is the run's :class:`TrainConfig` (also readable as a mapping:
    ``config["mean"]``, ``dict(config)``). A directory without weights, or
    with weights that are corrupt, damaged (digest), non-finite (unless
    ``allow_nonfinite``) or do not fit the model, raises :class:`RunError`
    naming the file and what to do.
    """
    run_dir = Path(run_dir)
    config = load_config(run_dir)
    state = runs.read_weights(run_dir, allow_nonfinite=allow_nonfinite)
    model = build_model(config)
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as e:
        raise RunError(f"{run_dir / runs.WEIGHTS}: weights do not fit {type(model).__name__}: {e}") from None
    model.eval()
    return model, config


__all__ = ["fit", "resume", "load_run", "load_config", "RunResult", "RunError", "CheckpointError", "load_data",
           "build_model", "build_optimizer", "evaluate_split", "default_run_dir"]
