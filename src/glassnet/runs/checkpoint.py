"""Checkpoints: everything a run needs to continue exactly where it stopped, with no pickle.

A checkpoint is a directory::

    checkpoint/
      state.json                          written last; names the two files below and their SHA-256
      model-e003-s0000.safetensors        the weights (PyTorch key names)
      optimizer-e003-s0000.safetensors    the optimizer's moments and step counts (glassnet.io.save_optimizer)
      clock.json                          wall-clock seconds (optional; kept out of state.json, see below)

``e003-s0000`` reads "3 epochs done, 0 batches into the next": a checkpoint
taken at Ctrl-C in the middle of an epoch has a non-zero ``s``. ``state.json``
also holds the JSON-able rest of the trainer's state (scheduler, loader
epoch and seed, random-generator state, history, early-stopping counters,
the running sums of a part-done epoch).

Why it is never half-written: each file is written atomically (temporary
file + rename), the weights and optimizer files get a new name for each
point in training, and only the rename of ``state.json`` switches the
checkpoint from the old pair to the new one; the old pair is deleted
afterwards. Killed at any moment, the directory still holds a complete,
consistent checkpoint. :func:`load_checkpoint` checks the digests, so a file
changed or damaged afterwards is reported, not silently trained on.

Why two runs with the same seed and data give byte-identical checkpoints:
the safetensors files are encoded deterministically (:mod:`glassnet.io`)
and every wall-clock figure (``seconds`` of each history record and of a
part-done epoch) is moved out of ``state.json`` into ``clock.json``, which is
not part of the promise (:func:`split_clock`, :func:`merge_clock`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._files import file_digest
from ..io import GlassnetIOError, load_json, load_model_weights, load_optimizer, save_json, save_optimizer, save_weights

STATE = "state.json"
CLOCK = "clock.json"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete, corrupt or does not fit the model: the message names the file."""


def _tag(epoch: int, step: int) -> str:
    return f"e{epoch:03d}-s{step:04d}"


def split_clock(state: dict) -> tuple[dict, dict]:
    """``(state without wall-clock seconds, the seconds)`` of a trainer state (``history`` and ``sums``)."""
    history = state.get("history") or []
    sums = state.get("sums") or {}
    clock = {"history": [r.get("seconds") for r in history if isinstance(r, dict)], "sums": sums.get("seconds")}
    state = dict(state)
    if "history" in state:
        state["history"] = [{k: v for k, v in r.items() if k != "seconds"} for r in history]
    if "sums" in state:
        state["sums"] = {k: v for k, v in sums.items() if k != "seconds"}
    return state, clock


def merge_clock(state: dict, clock: dict | None) -> dict:
    """Put :func:`split_clock`'s seconds back (0.0 where unknown, e.g. without ``clock.json``)."""
    clock = clock if isinstance(clock, dict) else {}
    times = clock.get("history") if isinstance(clock.get("history"), list) else []
    state = dict(state)
    if isinstance(state.get("history"), list):
        state["history"] = [{**r, "seconds": times[i] if i < len(times) and isinstance(times[i], (int, float))
                             else 0.0} for i, r in enumerate(state["history"])]
    if isinstance(state.get("sums"), dict):
        s = clock.get("sums")
        state["sums"] = {**state["sums"], "seconds": float(s) if isinstance(s, (int, float)) else 0.0}
    return state


def save_checkpoint(directory, model, optimizer, state: dict, clock: dict | None = None) -> Path:
    """Save ``model`` and ``optimizer`` with the JSON-able ``state`` (must hold ``epoch`` and ``step``).

    ``clock`` (wall-clock figures, see :func:`split_clock`) goes to ``clock.json``, outside the
    byte-identical files. Returns the path of ``state.json``. See the module docstring for the layout.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tag = _tag(int(state["epoch"]), int(state["step"]))
    files = {"model": f"model-{tag}.safetensors", "optimizer": f"optimizer-{tag}.safetensors"}
    save_weights(directory / files["model"], model.state_dict(), metadata={"epoch": str(state["epoch"])})
    save_optimizer(directory / files["optimizer"], optimizer)
    digests = {name: file_digest(directory / fname) for name, fname in files.items()}
    if clock is not None:
        save_json(directory / CLOCK, clock)
    save_json(directory / STATE, {"version": VERSION, "files": files, "sha256": digests, **state})
    keep = set(files.values()) | {STATE}
    for path in directory.iterdir():
        if path.name not in keep and path.suffix == ".safetensors" and path.name.startswith(("model-", "optimizer-")):
            path.unlink(missing_ok=True)
    return directory / STATE


def load_checkpoint(directory, model, optimizer) -> dict:
    """Load the weights into ``model`` and the optimizer state into ``optimizer``; return the JSON state.

    Raises :class:`CheckpointError` naming the file for a missing directory or
    file, a digest that does not match (damaged or replaced file), a corrupt
    file or weights that do not fit ``model``.
    """
    directory = Path(directory)
    state_path = directory / STATE
    if not state_path.is_file():
        raise CheckpointError(f"{state_path}: no checkpoint here (no {STATE}); nothing to resume from")
    try:
        state = load_json(state_path)
    except GlassnetIOError as e:
        raise CheckpointError(str(e)) from None
    if not isinstance(state, dict) or state.get("version") != VERSION or not isinstance(state.get("files"), dict):
        raise CheckpointError(f"{state_path}: not a glassnet checkpoint (version {VERSION} with 'files' expected)")
    for name in ("model", "optimizer"):
        fname = state["files"].get(name)
        if not isinstance(fname, str) or os.path.basename(fname) != fname:
            raise CheckpointError(f"{state_path}: bad entry files.{name}: {fname!r}")
        path = directory / fname
        if not path.is_file():
            raise CheckpointError(f"{path}: missing (named by {state_path}); the checkpoint is incomplete")
        digests = state.get("sha256")
        if not isinstance(digests, dict) or file_digest(path) != digests.get(name):
            raise CheckpointError(f"{path}: its SHA-256 does not match {state_path} (the file is damaged or was "
                                  "replaced)")
    try:
        load_model_weights(model, directory / state["files"]["model"])
        load_optimizer(directory / state["files"]["optimizer"], optimizer)
    except GlassnetIOError as e:
        raise CheckpointError(str(e)) from None
    return state


def load_clock(directory) -> dict | None:
    """``clock.json`` of a checkpoint, or None when it is absent or unreadable (it is only timing)."""
    try:
        return load_json(Path(directory) / CLOCK)
    except GlassnetIOError:
        return None
