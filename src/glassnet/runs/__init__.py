"""The run directory: the one owner of its files (write and read), its lock and its clean-up.

``glassnet train`` (through :mod:`glassnet.train.run`), ``evaluate``, ``predict``,
``visualize`` and ``report`` all go through this package; it sits below
``train`` and ``viz`` and imports neither. A run directory::

    RUN_DIR/
      .lock               while a writer works here: its pid (see glassnet.runs.lock)
      config.json         the resolved TrainConfig (written first)
      history.json        {"epochs": [{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"}],
                          "completed", "stopped_early", "best_epoch"}; rewritten after every epoch
      timing.json         {"seconds": [...]} wall-clock seconds of each epoch (the one file that differs
                          between two runs with the same seed and data)
      checkpoint/         for resume: see glassnet.runs.checkpoint (every epoch, every N steps, on Ctrl-C)
      model.safetensors   the final weights, PyTorch key names, with a SHA-256 digest inside
      metrics.json        test-split evaluation (also what ``glassnet evaluate`` writes)
      curves.png          loss and accuracy per epoch (drawn by the command line, glassnet.viz.write_curves)

**Promises** (each proved by a test named in docs/training.md):

- Every file is written atomically (temporary file, fsync, rename); the
  temporary files of a killed writer are removed the next time the directory
  is opened for writing (:func:`clean_temp_files`).
- One writer at a time (:func:`open_for_writing`): a second ``train``,
  ``--resume`` or ``evaluate`` fails at once naming the owner's pid; the lock
  of a process that died is taken over.
- The same seed and data give byte-identical ``model.safetensors``,
  checkpoint files, ``config.json``, ``history.json`` and ``metrics.json``.
- Weight and checkpoint files carry a digest of their tensors; a damaged
  file is refused naming it. Weights with NaN or infinity are refused when a
  run is loaded for evaluation, prediction or pictures unless asked for.
"""

from .checkpoint import CheckpointError, load_checkpoint, load_clock, merge_clock, save_checkpoint, split_clock
from .files import (
    CHECKPOINT_DIR,
    CONFIG,
    CURVES,
    EVAL_BATCH,
    HISTORY,
    METRICS,
    TIMING,
    WEIGHTS,
    RunError,
    checkpoint_dir,
    clean_temp_files,
    has_checkpoint,
    is_bare,
    metrics_path,
    never_checkpointed,
    open_for_writing,
    read_config,
    read_history,
    read_json,
    read_metrics,
    read_weights,
    write_config,
    write_history,
    write_metrics,
    write_weights,
)
from .lock import LOCK, RunLock, RunLockedError, pid_alive, read_owner

__all__ = [
    "CHECKPOINT_DIR", "CONFIG", "CURVES", "EVAL_BATCH", "HISTORY", "METRICS", "TIMING", "WEIGHTS", "LOCK",
    "RunError", "RunLock", "RunLockedError", "CheckpointError", "checkpoint_dir", "clean_temp_files",
    "has_checkpoint", "is_bare", "metrics_path", "never_checkpointed", "open_for_writing", "read_config",
    "read_history", "read_json", "read_metrics", "read_weights", "write_config", "write_history", "write_metrics",
    "write_weights", "save_checkpoint", "load_checkpoint", "load_clock", "split_clock", "merge_clock",
    "pid_alive", "read_owner",
]
