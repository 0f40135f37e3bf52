"""Training: the fit loop, its configuration, metrics, checkpoints and run directories.

- :class:`TrainConfig`: every hyper-parameter of a run, saved as ``config.json``.
- :func:`fit` / :func:`resume`: train from a config into a run directory (what ``glassnet train`` does).
- :func:`load_run`: ``(model, config)`` of a finished run, for evaluation, prediction and pictures.
- :class:`Trainer`: the loop itself for any model, optimizer and loaders: progress bar, history,
  early stopping, a checkpoint every epoch, exact resume, Ctrl-C saves and stops.
- :mod:`~glassnet.train.metrics`: accuracy, confusion matrix, per-class accuracy, evaluation.

See ``docs/training.md``. Importing this package loads neither tqdm, matplotlib nor safetensors;
each is imported by the function that needs it.
"""

from .callbacks import Callback, EarlyStopping
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .metrics import accuracy, confusion_matrix, evaluate, per_class_accuracy
from .run import RunError, RunResult, default_run_dir, evaluate_split, fit, load_run, resume
from .trainer import Trainer, TrainingInterrupted

__all__ = [
    "TrainConfig", "Trainer", "TrainingInterrupted", "Callback", "EarlyStopping", "fit", "resume", "load_run",
    "RunResult", "RunError", "CheckpointError", "save_checkpoint", "load_checkpoint", "default_run_dir",
    "evaluate_split", "evaluate", "accuracy", "confusion_matrix", "per_class_accuracy",
]
