"""Hooks into the fit loop, and early stopping.

A callback is any object with some of these methods (the others are not
called); the :class:`~glassnet.train.trainer.Trainer` passes itself first:

* ``on_epoch_begin(trainer, epoch)``: ``epoch`` counts from 0;
* ``on_batch_end(trainer, step, logs)``: after the optimizer step; ``logs``
  holds the batch's ``loss``, ``acc`` and ``lr``;
* ``on_epoch_end(trainer, epoch, record)``: after validation and the
  checkpoint; ``record`` is the epoch's history entry.

Raising ``KeyboardInterrupt`` from a callback stops training the way Ctrl-C does.
"""

from __future__ import annotations

import math


class Callback:
    """A base with every hook doing nothing (subclass and override what you need)."""

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer, step: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, epoch: int, record: dict) -> None:
        pass


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs in a row.

    Improvement means ``value < best - min_delta`` for a loss (``val_loss``,
    ``train_loss``) and ``value > best + min_delta`` for an accuracy. The
    weights kept are those of the last epoch trained; ``best_epoch`` says
    which epoch was best.

    >>> es = EarlyStopping(patience=2, monitor="val_acc")
    >>> [es.update({"epoch": e + 1, "val_acc": a}) for e, a in enumerate([0.90, 0.95, 0.94, 0.95])]
    [False, False, False, True]
    >>> es.best, es.best_epoch
    (0.95, 2)
    """

    def __init__(self, patience: int, monitor: str = "val_loss", min_delta: float = 0.0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive int, got {patience!r}")
        if monitor not in ("val_loss", "val_acc", "train_loss", "train_acc"):
            raise ValueError(f"EarlyStopping: monitor must be val_loss, val_acc, train_loss or train_acc, "
                             f"got {monitor!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        self.patience = patience
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.mode = "min" if monitor.endswith("loss") else "max"
        self.best = None
        self.best_epoch = None
        self.bad_epochs = 0

    def update(self, record: dict) -> bool:
        """Take one epoch's history record; return True when training should stop."""
        value = record.get(self.monitor)
        if value is None or not math.isfinite(value):
            raise ValueError(f"EarlyStopping: the epoch record has no finite '{self.monitor}' (got {value!r})")
        better = self.best is None or (
            value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        )
        if better:
            self.best, self.best_epoch, self.bad_epochs = value, record.get("epoch"), 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def state_dict(self) -> dict:
        return {"monitor": self.monitor, "best": self.best, "best_epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        if state.get("monitor") != self.monitor:
            raise ValueError(f"EarlyStopping: the saved state monitors {state.get('monitor')!r}, not {self.monitor!r}")
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], int(state["bad_epochs"])
