"""The files of a run directory: where each lives, how it is written and read (one reader, one writer).

See :mod:`glassnet.runs` for the layout and the promises.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path

from ..io import GlassnetIOError, load_json, load_weights, nonfinite_tensors, save_json, save_weights
from .checkpoint import STATE
from .lock import LOCK, RunLock, RunLockedError, pid_alive

CONFIG = "config.json"
HISTORY = "history.json"
TIMING = "timing.json"
METRICS = "metrics.json"
WEIGHTS = "model.safetensors"
CURVES = "curves.png"
CHECKPOINT_DIR = "checkpoint"
EVAL_BATCH = 500
"""Images per batch whenever a run is evaluated (``glassnet evaluate``, validation, the pictures)."""

_TEMP = re.compile(r"^\..+\.(\d+)\.[0-9a-f]+\.tmp$")  # glassnet._files.atomic_write's temporary names


class RunError(ValueError):
    """A run directory or a run's inputs that cannot be used: the message says what to do."""


# ---------------------------------------------------------------------------- JSON
def read_json(path, missing_ok: bool = True):
    """The one JSON reader of run files: the data, or None for a missing file when ``missing_ok``.

    A corrupt file raises :class:`~glassnet.io.GlassnetIOError` naming it.
    """
    path = Path(path)
    if missing_ok and not path.exists():
        return None
    return load_json(path)


def read_config(run_dir) -> dict:
    """The JSON object of ``RUN_DIR/config.json``; :class:`RunError` naming what is missing otherwise."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory")
    path = run_dir / CONFIG
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run directory (no {CONFIG}); train one with: glassnet train --out DIR")
    try:
        data = load_json(path)
    except GlassnetIOError as e:
        raise RunError(str(e)) from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object of hyper-parameters, got {type(data).__name__}")
    return data


def write_config(run_dir, data: dict) -> Path:
    path = Path(run_dir) / CONFIG
    save_json(path, data)
    return path


def write_history(run_dir, data: dict) -> None:
    """``history.json`` from ``{"epochs": [records], ...}``: the records' wall-clock ``seconds`` go to
    ``timing.json``, so that ``history.json`` is the same bytes for the same seed and data."""
    records = data.get("epochs") or []
    save_json(Path(run_dir) / TIMING, {"seconds": [r.get("seconds") for r in records]})
    save_json(Path(run_dir) / HISTORY, {**data, "epochs": [{k: v for k, v in r.items() if k != "seconds"}
                                                           for r in records]})


def read_history(run_dir) -> dict | None:
    """``history.json`` with each record's ``seconds`` put back from ``timing.json``; None without a history."""
    data = read_json(Path(run_dir) / HISTORY)
    if not isinstance(data, dict) or not isinstance(data.get("epochs"), list):
        return data
    try:
        timing = read_json(Path(run_dir) / TIMING)
    except GlassnetIOError:
        timing = None
    seconds = timing.get("seconds") if isinstance(timing, dict) else None
    if isinstance(seconds, list) and len(seconds) == len(data["epochs"]):
        data["epochs"] = [{**r, "seconds": s} if isinstance(r, dict) and s is not None else r
                          for r, s in zip(data["epochs"], seconds, strict=True)]
    return data


def metrics_path(run_dir, split: str = "test") -> Path:
    return Path(run_dir) / (METRICS if split == "test" else f"metrics-{split}.json")


def write_metrics(run_dir, metrics: dict, split: str = "test") -> Path:
    path = metrics_path(run_dir, split)
    save_json(path, metrics)
    return path


def read_metrics(run_dir, split: str = "test") -> dict | None:
    return read_json(metrics_path(run_dir, split))


# ---------------------------------------------------------------------------- weights
def write_weights(run_dir, state_dict, metadata: dict[str, str] | None = None) -> Path:
    path = Path(run_dir) / WEIGHTS
    save_weights(path, state_dict, metadata=metadata)
    return path


def read_weights(run_dir, allow_nonfinite: bool = False):
    """The state dict of ``RUN_DIR/model.safetensors`` (digest checked).

    Weights holding NaN or infinity are refused with a :class:`RunError` naming the tensors, unless
    ``allow_nonfinite`` (``--allow-nonfinite`` on the command line), e.g. to look at a diverged run.
    """
    run_dir = Path(run_dir)
    path = run_dir / WEIGHTS
    if not path.is_file():
        hint = (f"resume it with: glassnet train --resume {run_dir}" if has_checkpoint(run_dir)
                else "train it first with: glassnet train --out DIR")
        raise RunError(f"{run_dir}: no {WEIGHTS} (training did not finish); {hint}")
    try:
        state = load_weights(path)
    except GlassnetIOError as e:
        raise RunError(str(e)) from None
    bad = nonfinite_tensors(state)
    if bad and not allow_nonfinite:
        names = "; ".join(f"{k} ({v})" for k, v in list(bad.items())[:5]) + ("; ..." if len(bad) > 5 else "")
        raise RunError(f"{path}: non-finite weights in {len(bad)} tensor(s): {names}; the run diverged? "
                       "(--allow-nonfinite loads them anyway)")
    return state


# ---------------------------------------------------------------------------- the directory as a whole
def checkpoint_dir(run_dir) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR


def has_checkpoint(run_dir) -> bool:
    return (checkpoint_dir(run_dir) / STATE).is_file()


def is_bare(run_dir) -> bool:
    """True when ``run_dir`` is missing or holds nothing but a lock and temporary files."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return True
    return all(p.name == LOCK or _TEMP.match(p.name) for p in run_dir.iterdir())


def never_checkpointed(run_dir) -> bool:
    """True for a run that stopped (killed) before its first checkpoint: a config, no checkpoint, no weights."""
    run_dir = Path(run_dir)
    return (run_dir / CONFIG).is_file() and not has_checkpoint(run_dir) and not (run_dir / WEIGHTS).exists()


def clean_temp_files(run_dir) -> list[Path]:
    """Remove the temporary files a killed writer left in ``run_dir`` and its ``checkpoint/``.

    A temporary file (``.NAME.PID.HEX.tmp``, see :func:`glassnet._files.atomic_write`) is stale when its
    pid is this process's (a failed write of ours) or no longer runs; others' live writes are left alone.
    Also removes checkpoint weight files that ``state.json`` does not name (a save cut short).
    """
    removed = []
    for folder in (Path(run_dir), checkpoint_dir(run_dir)):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            m = _TEMP.match(p.name)
            if m and p.is_file() and (int(m.group(1)) == os.getpid() or not pid_alive(int(m.group(1)))):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                removed.append(p)
    ckpt = checkpoint_dir(run_dir)
    if (ckpt / STATE).is_file():
        try:
            named = set((load_json(ckpt / STATE).get("files") or {}).values())
        except (GlassnetIOError, AttributeError):
            named = None
        if named:
            for p in ckpt.glob("*.safetensors"):
                if p.name not in named and p.name.startswith(("model-", "optimizer-")):
                    p.unlink(missing_ok=True)
                    removed.append(p)
    return removed


def open_for_writing(run_dir, purpose: str) -> RunLock:
    """Create ``run_dir`` if needed, take its lock (one writer at a time) and clean stale temporary files.

    Returns the held :class:`~glassnet.runs.lock.RunLock` (release it, or use it as a context manager).
    A read-only or unwritable place, and a directory locked by a live process, raise :class:`RunError`
    in one line.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: exists and is not a directory")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(run_dir, purpose).acquire()
    except RunLockedError as e:
        raise RunError(str(e)) from None
    except OSError as e:
        raise RunError(f"{run_dir}: cannot write the run directory ({_why(e)})") from None
    clean_temp_files(run_dir)
    return lock


def _why(e: OSError) -> str:
    if e.errno == errno.EROFS:
        return "read-only file system; choose another place with --out"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; choose another place with --out"
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    return e.strerror or str(e)


def cannot_write(path, e: OSError) -> RunError:
    """The one-line error for a failed write into a run directory."""
    return RunError(f"{path}: cannot write ({_why(e)})")
