"""The fit loop: epochs of mini-batches, validation, history, early stopping, checkpoints, resume, Ctrl-C.

One training step on a batch (x, y) is the lecture's loop::

    z  = model(x)                    forward, logits (B, K)
    J  = loss_fn(z, y)               mean cross-entropy (raises FloatingPointError if not finite)
    dz = loss_fn.backward()          dJ/dz (B, K)
    model.backward(dz)               adds dJ/dtheta into every Parameter.grad
    optimizer.step()                 theta <- update(theta, grad)
    scheduler.step()                 per step (one-cycle) or per epoch

**Resume is exact.** The batch order of epoch ``e`` depends only on the
loader's ``(seed, e)``; the checkpoint stores the weights, the optimizer's
moments, the scheduler, the library's random-generator state (dropout), the
loader's seed and how many batches of the current epoch are done. A run
interrupted and resumed therefore performs the same floating-point
operations in the same order as an uninterrupted one, and ends with the same
weights, bit for bit.

**Ctrl-C** (SIGINT, in the main thread) is deferred to the end of the current
batch, so the weights are never caught half-updated; the trainer then saves a
checkpoint and raises :class:`TrainingInterrupted` (a ``KeyboardInterrupt``)
naming it. A second Ctrl-C stops at once. A ``KeyboardInterrupt`` raised by
other code (a callback, say) is handled the same way when it arrives between
steps or before the update of a step begins.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from pathlib import Path

from .. import backend
from ..backend import host as np  # host arrays: files, data sets, metrics (the array library is the backend's)
from ..nn.loss import CrossEntropyLoss
from ..runs.checkpoint import CheckpointError, load_checkpoint, load_clock, merge_clock, save_checkpoint, split_clock
from .metrics import evaluate


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C. ``checkpoint`` is the directory saved (None if none could be)."""

    def __init__(self, message: str, checkpoint: Path | None, epoch: int, step: int):
        super().__init__(message)
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.step = step


class Trainer:
    """Train ``model`` on ``train_loader`` for ``epochs`` epochs.

    Args:
        model: a :class:`glassnet.nn.Module` producing logits (B, K).
        optimizer: a :class:`glassnet.optim.Optimizer` over ``model.parameters()``.
        train_loader: a :class:`glassnet.data.DataLoader` (needs ``set_epoch`` and ``state_dict``).
        loss_fn: default :class:`glassnet.nn.CrossEntropyLoss`.
        val_loader: evaluated after each epoch (``val_loss``, ``val_acc``); optional.
        epochs: total number of epochs (a resumed run continues up to it).
        scheduler: a learning-rate scheduler, stepped every batch (``scheduler_interval="step"``,
            e.g. OneCycleLR) or every epoch (``"epoch"``).
        early_stopping: an :class:`~glassnet.train.callbacks.EarlyStopping`, or None.
        checkpoint_dir: where a checkpoint is saved after every epoch and on Ctrl-C; None: never.
        checkpoint_every: also save one every this many steps inside an epoch (0: only at epoch ends),
            for long epochs; resuming from one is as exact as from any other.
        callbacks: objects with ``on_epoch_begin`` / ``on_batch_end`` / ``on_epoch_end`` hooks.
        progress: show a tqdm bar (None: only when stderr is a terminal).
        log: called with one line of text per epoch (e.g. ``print``); None: silent.
        input_grad: compute dJ/d(images) in backward too. Default False: training does not
            need it, so backward skips it (``model.backward(dy, input_grad=False)``),
            as PyTorch does for inputs without ``requires_grad`` (about a quarter of a LeNet-5 step).

    After :meth:`fit`, ``history`` is the list of per-epoch records
    ``{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}``
    (``val_*`` are None without a validation loader; accuracies are fractions).
    """

    def __init__(self, model, optimizer, train_loader, *, loss_fn=None, val_loader=None, epochs: int = 1,
                 scheduler=None, scheduler_interval: str = "step", early_stopping=None, checkpoint_dir=None,
                 checkpoint_every: int = 0, callbacks=(), progress: bool | None = False, log=None,
                 input_grad: bool = False):
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"Trainer: epochs must be a positive int, got {epochs!r}")
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every < 0:
            raise ValueError(f"Trainer: checkpoint_every must be a non-negative int, got {checkpoint_every!r}")
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
        if len(train_loader) == 0:
            raise ValueError("Trainer: the training loader yields no batches (empty data set, or drop_last with "
                             "fewer samples than batch_size)")
        if early_stopping is not None and early_stopping.monitor.startswith("val") and val_loader is None:
            raise ValueError(f"Trainer: early stopping on {early_stopping.monitor} needs a val_loader")
        self.model = model
        self.input_grad = bool(input_grad)
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.loss_fn = loss_fn if loss_fn is not None else CrossEntropyLoss()
        self.val_loader = val_loader
        self.epochs = epochs
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.early_stopping = early_stopping
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every = checkpoint_every
        self.callbacks = list(callbacks)
        self.progress = progress
        self.log = log
        self.history: list[dict] = []
        self.epoch = 0  # epochs completed
        self.step = 0  # batches completed in the current epoch
        self.stopped_early = False
        self._sums = _zero_sums()
        self._phase = "idle"  # "compute": inside a step, before the update; "update": weights changing
        self._rng_at_step = None
        self._interrupt_requested = False
        self._bar = None

    # ------------------------------------------------------------------ the loop
    def fit(self) -> list[dict]:
        """Train until ``epochs`` are done or early stopping fires; return ``history``.

        Raises :class:`TrainingInterrupted` on Ctrl-C (after saving a
        checkpoint) and ``FloatingPointError`` naming the epoch and step when
        the loss stops being finite (nothing is saved for that epoch).
        """
        with self._deferred_sigint():
            try:
                while self.epoch < self.epochs and not self.stopped_early:
                    self._run_epoch()
            except KeyboardInterrupt:
                self._close_bar()
                self._on_interrupt()
            finally:
                self._close_bar()
        return self.history

    def _run_epoch(self) -> None:
        e, n = self.epoch, len(self.train_loader)
        self._call("on_epoch_begin", e)
        self.model.train()
        self.train_loader.set_epoch(e)
        batches = iter(self.train_loader)
        self._open_bar(e, n)
        start = time.perf_counter() - self._sums["seconds"]
        for i, (x, y) in enumerate(batches):
            if i < self.step:  # resuming mid-epoch: these batches were trained before the interruption
                continue
            logs = self._train_step(x, y, i, n)
            self._sums["seconds"] = time.perf_counter() - start
            self._update_bar(logs)
            self._call("on_batch_end", self.step - 1, logs)
            self._check_interrupt()
            if self.checkpoint_every and self.checkpoint_dir is not None and self.step < n \
                    and self.step % self.checkpoint_every == 0:
                self.save_checkpoint()
        self._close_bar()
        record = self._epoch_record(e, start)
        self._phase = "update"  # from here to the checkpoint the state moves as one
        self.history.append(record)
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        if self.early_stopping is not None and self.early_stopping.update(record):
            self.stopped_early = True
        self.epoch, self.step, self._sums = e + 1, 0, _zero_sums()
        self._phase = "idle"
        if self.checkpoint_dir is not None:
            self.save_checkpoint()
        if self.log is not None:
            self.log(format_record(record, self.epochs))
            if self.stopped_early:
                es = self.early_stopping
                self.log(f"early stopping: {es.monitor} has not improved for {es.patience} epochs "
                         f"(best {es.best:.4f} at epoch {es.best_epoch})")
        self._call("on_epoch_end", e, record)
        self._check_interrupt()

    def _train_step(self, x, y, i: int, n: int) -> dict:
        self._rng_at_step = backend.get_rng_state()
        self._phase = "compute"
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported below, in one line
            logits = self.model(x)
            try:
                loss = float(self.loss_fn(logits, y))
            except FloatingPointError as err:
                raise FloatingPointError(f"epoch {self.epoch + 1}, step {i + 1}/{n}: {err}") from None
            self.model.backward(self.loss_fn.backward(), input_grad=self.input_grad)
        self._phase = "update"
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        correct = int(np.count_nonzero(backend.to_host(logits).argmax(axis=1) == backend.to_host(y)))
        s = self._sums
        s["loss"] += loss * len(y)
        s["correct"] += correct
        s["seen"] += len(y)
        s["lr"] = lr
        self.step = i + 1
        self._phase = "idle"
        return {"loss": loss, "acc": correct / len(y), "lr": lr}

    def _epoch_record(self, e: int, start: float) -> dict:
        s = self._sums
        record = {"epoch": e + 1, "train_loss": s["loss"] / s["seen"], "train_acc": s["correct"] / s["seen"],
                  "val_loss": None, "val_acc": None, "lr": s["lr"]}
        if self.val_loader is not None:
            try:
                with np.errstate(over="ignore", invalid="ignore"):
                    result = evaluate(self.model, self.val_loader, self.loss_fn)
            except FloatingPointError as err:
                raise FloatingPointError(f"validation after epoch {e + 1}: {err}") from None
            record["val_loss"], record["val_acc"] = result["loss"], result["acc"]
        record["seconds"] = time.perf_counter() - start
        return record

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self, *args)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """The JSON-able trainer state (weights and optimizer moments go to their own files)."""
        return {
            "epoch": self.epoch, "step": self.step, "epochs": self.epochs,
            "steps_per_epoch": len(self.train_loader), "sums": dict(self._sums),
            "history": list(self.history), "stopped_early": self.stopped_early,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "early_stopping": self.early_stopping.state_dict() if self.early_stopping is not None else None,
            "loader": self.train_loader.state_dict(), "rng": backend.get_rng_state(),
        }

    def save_checkpoint(self, directory=None) -> Path:
        """Save the model, optimizer and :meth:`state_dict` (default directory: ``checkpoint_dir``)."""
        directory = Path(directory) if directory is not None else self.checkpoint_dir
        if directory is None:
            raise ValueError("Trainer.save_checkpoint: no directory given and no checkpoint_dir set")
        state, clock = split_clock(self.state_dict())  # wall-clock seconds kept out of the compared files
        save_checkpoint(directory, self.model, self.optimizer, state, clock=clock)
        return directory

    def load_checkpoint(self, directory=None) -> dict:
        """Restore everything :meth:`save_checkpoint` saved; the next :meth:`fit` continues from there."""
        directory = Path(directory) if directory is not None else self.checkpoint_dir
        if directory is None:
            raise ValueError("Trainer.load_checkpoint: no directory given and no checkpoint_dir set")
        state = merge_clock(load_checkpoint(directory, self.model, self.optimizer), load_clock(directory))
        where = directory / "state.json"
        try:
            self._restore(state, where)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            if isinstance(e, CheckpointError):
                raise
            raise CheckpointError(f"{where}: does not fit this trainer ({type(e).__name__}: {e})") from None
        return state

    def _restore(self, state: dict, where: Path) -> None:
        if state["steps_per_epoch"] != len(self.train_loader):
            raise CheckpointError(f"{where}: saved with {state.get('steps_per_epoch')} batches per epoch, this "
                                  f"loader has {len(self.train_loader)} (different data or batch size?)")
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise CheckpointError(f"{where}: the checkpoint {'has' if state['scheduler'] else 'has no'} scheduler "
                                  f"state, this trainer {'has a' if self.scheduler else 'has no'} scheduler")
        epoch, step = int(state["epoch"]), int(state["step"])
        if not (0 <= epoch <= self.epochs and 0 <= step <= len(self.train_loader)):
            raise CheckpointError(f"{where}: epoch {epoch}, step {step} out of range for {self.epochs} epochs of "
                                  f"{len(self.train_loader)} batches")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.early_stopping is not None and state["early_stopping"] is not None:
            self.early_stopping.load_state_dict(state["early_stopping"])
        self.train_loader.load_state_dict(state["loader"])
        backend.set_rng_state(state["rng"])
        self.epoch, self.step = epoch, step
        self._sums = {**_zero_sums(), **state["sums"]}
        self.history = list(state["history"])
        self.stopped_early = bool(state["stopped_early"])

    # ------------------------------------------------------------------ Ctrl-C
    @contextlib.contextmanager
    def _deferred_sigint(self):
        """While training, the first SIGINT only sets a flag; the loop stops at the end of the batch."""
        self._interrupt_requested = False
        if threading.current_thread() is not threading.main_thread() or \
                signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield
            return

        def handler(signum, frame):
            if self._interrupt_requested or self._phase == "idle":
                raise KeyboardInterrupt
            self._interrupt_requested = True
            print("\nglassnet: stopping after this batch to save a checkpoint (Ctrl-C again to stop now)",
                  file=sys.stderr)

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _check_interrupt(self) -> None:
        if self._interrupt_requested:
            self._interrupt_requested = False
            raise KeyboardInterrupt

    def _on_interrupt(self):
        where = f"epoch {self.epoch + 1}, after {self.step} of {len(self.train_loader)} batches"
        if self._phase == "compute":  # the step had not touched the weights: forget its random draws
            backend.set_rng_state(self._rng_at_step)
            self._phase = "idle"
        if self._phase != "idle" or self.checkpoint_dir is None:
            saved = self._last_saved()
            why = "no checkpoint directory" if self.checkpoint_dir is None else "interrupted while updating"
            msg = f"training interrupted in {where} ({why}); " + (
                f"the last checkpoint is {saved}" if saved else "nothing was saved")
            raise TrainingInterrupted(msg, saved, self.epoch, self.step) from None
        self.save_checkpoint()
        msg = f"training interrupted in {where}; checkpoint saved to {self.checkpoint_dir}"
        raise TrainingInterrupted(msg, self.checkpoint_dir, self.epoch, self.step) from None

    def _last_saved(self) -> Path | None:
        d = self.checkpoint_dir
        return d if d is not None and (d / "state.json").is_file() else None

    # ------------------------------------------------------------------ progress bar
    def _open_bar(self, e: int, n: int) -> None:
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        if not show:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=n, initial=self.step, desc=f"epoch {e + 1}/{self.epochs}", unit="batch",
                         leave=False, file=sys.stderr, dynamic_ncols=True)

    def _update_bar(self, logs: dict) -> None:
        if self._bar is not None:
            s = self._sums
            self._bar.set_postfix(loss=f"{s['loss'] / s['seen']:.4f}", acc=f"{s['correct'] / s['seen']:.2%}",
                                  refresh=False)
            self._bar.update(1)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _zero_sums() -> dict:
    return {"loss": 0.0, "correct": 0, "seen": 0, "lr": None, "seconds": 0.0}


def format_record(record: dict, epochs: int) -> str:
    """One line per epoch: ``epoch 2/6  train loss 0.1234 acc 96.10%  val loss ... acc ...  lr ...  12.3 s``."""
    line = f"epoch {record['epoch']}/{epochs}  train loss {record['train_loss']:.4f} acc {record['train_acc']:.2%}"
    if record.get("val_loss") is not None:
        line += f"  val loss {record['val_loss']:.4f} acc {record['val_acc']:.2%}"
    lr = record.get("lr")
    if lr is not None and math.isfinite(lr):
        line += f"  lr {lr:.3g}"
    return line + f"  {record['seconds']:.1f} s"
