"""Processes killed with SIGKILL at random moments, then continued; two writers on one run directory.

- ``test_kill_at_random_moments_then_resume``: 8 runs (seeded moments), each killed once, half of them
  killed again while resuming; continued with ``glassnet train --resume`` (or, killed before config.json,
  the same command again). Every file of the promise equals an uninterrupted run's, byte for byte.
- ``test_two_trainings_into_one_directory``: two ``glassnet train --out D`` at once: one writes, the other
  refuses in one line; the directory holds one run's files only.
- ``test_evaluate_refuses_while_training_writes`` and ``test_stale_lock_of_a_dead_process_is_taken_over``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from train_helpers import write_tiny_mnist

import glassnet
from glassnet.cli import main
from glassnet.runs import LOCK, read_owner

SRC = str(Path(glassnet.__file__).resolve().parents[1])
COMPARED = ["config.json", "history.json", "metrics.json", "model.safetensors", "checkpoint/state.json"]
ARGS = ["--dataset", "mnist", "--epochs", "3", "--batch-size", "8", "--val-split", "0", "--checkpoint-every", "2",
        "--no-progress"]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def _env():
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _train(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "glassnet", "train", *args], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(p: subprocess.Popen, timeout=120):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


@pytest.fixture(scope="module", name="data")
def data_fixture(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("data"), n_train=64, n_test=20)


@pytest.fixture(scope="module", name="whole")
def whole_fixture(data, tmp_path_factory):
    """An uninterrupted run per seed (lazily), the reference of every comparison."""
    base, done = tmp_path_factory.mktemp("whole"), {}

    def get(seed=0):
        if seed not in done:
            out = base / f"seed{seed}"
            code, stdout, err = _finish(_train(*ARGS, "--data-dir", str(data), "--seed", str(seed), "--out", str(out)))
            assert code == 0, err
            done[seed] = out
        return done[seed]

    return get


def _same_files(a: Path, b: Path, names=COMPARED):
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


STEPS = 8  # 64 images, batches of 8, val-split 0: steps per epoch; 3 epochs, a checkpoint every 2 steps


def _position(out: Path) -> int:
    """How far the run's last checkpoint is, in steps (-1: none yet or being replaced)."""
    try:
        state = json.loads((out / "checkpoint" / "state.json").read_text())
        return int(state["epoch"]) * STEPS + int(state["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def _kill_at_random(p: subprocess.Popen, out: Path, rng) -> bool:
    """SIGKILL ``p`` at a seeded random moment: a random delay after the start (often in start-up or before
    the first checkpoint), or a random few milliseconds after the checkpoint of a random step."""
    if rng.random() < 0.4:
        return _kill_after(p, float(rng.uniform(0.05, 2.0)))
    target, extra = int(rng.integers(1, 3 * STEPS)), float(rng.uniform(0, 0.03))
    deadline = time.monotonic() + 120
    while p.poll() is None and _position(out) < target and time.monotonic() < deadline:
        time.sleep(0.002)
    return _kill_after(p, extra)


def _kill_after(p: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL ``p`` after ``seconds`` unless it ended first; True when it was killed."""
    try:
        p.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return True
    finally:
        p.stdout.close()
        p.stderr.close()


def _stage(out: Path) -> str:
    """Where a killed run was: what its directory holds."""
    if (out / "metrics.json").exists():
        return "killed after metrics"
    if (out / "model.safetensors").exists():
        return "killed after weights"
    if (out / "checkpoint" / "state.json").exists():
        return "killed after a checkpoint"
    return "killed after config" if (out / "config.json").exists() else "killed before config"


def _continue(out: Path, data: Path):
    """Resume when the run got as far as its config.json, else start the same command again."""
    if (out / "config.json").exists():
        return _train("--resume", str(out), "--no-progress")
    return _train(*ARGS, "--data-dir", str(data), "--out", str(out))


def test_kill_at_random_moments_then_resume(data, whole, tmp_path):
    reference = whole(0)
    rng = np.random.default_rng(20261127)
    kinds = []
    for trial in range(8):
        out = tmp_path / f"run{trial}"
        p = _train(*ARGS, "--data-dir", str(data), "--out", str(out))
        killed = _kill_at_random(p, out, rng)
        kinds.append(_stage(out) if killed else "ended")
        if trial % 2 and killed:  # killed again while continuing
            _kill_at_random(_continue(out, data), out, rng)
        for _ in range(3):
            code, stdout, err = _finish(_continue(out, data))
            if code == 0:
                break
        assert code == 0, err
        assert "Traceback" not in err
        _same_files(reference, out)
        leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp") or p.name == LOCK]
        assert not leftovers, leftovers
    print(kinds)
    assert len(kinds) - kinds.count("ended") >= 5, kinds


def test_killed_before_the_first_checkpoint_restarts_from_its_config(data, whole, tmp_path):
    """A run directory with config.json and no checkpoint (what a kill in epoch 1 leaves), and a stale lock."""
    out = tmp_path / "early"
    p = _train(*ARGS, "--data-dir", str(data), "--out", str(out))
    deadline = time.monotonic() + 60
    while not (out / "config.json").exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.005)
    p.kill()
    _finish(p)
    if (out / "checkpoint" / "state.json").exists():  # too slow to catch it: rebuild what a kill leaves
        for q in sorted(out.rglob("*"), reverse=True):
            if q.name != "config.json":
                q.unlink() if q.is_file() else q.rmdir()
    code, stdout, err = _finish(_train("--resume", str(out), "--no-progress"))
    assert code == 0, err
    assert "from its config.json, epoch 1 (it stopped before its first checkpoint)" in stdout
    _same_files(whole(0), out)
    # and --out reuse of such a directory starts over, saying so
    for name in ("model.safetensors", "metrics.json", "history.json", "timing.json", "curves.png"):
        (out / name).unlink()
    import shutil

    shutil.rmtree(out / "checkpoint")
    code, stdout, err = _finish(_train(*ARGS, "--data-dir", str(data), "--out", str(out)))
    assert code == 0, err
    assert "held a run stopped before its first checkpoint: starting over in it" in stdout
    _same_files(whole(0), out)


def test_two_trainings_into_one_directory(data, whole, tmp_path):
    out = tmp_path / "shared"
    procs = {seed: _train(*ARGS, "--data-dir", str(data), "--seed", str(seed), "--out", str(out)) for seed in (0, 1)}
    results = {seed: _finish(p) for seed, p in procs.items()}
    winners = [seed for seed, (code, _, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    (loser,) = set(results) - set(winners)
    code, stdout, err = results[loser]
    assert code == 2 and err.count("\n") == 1, err
    assert "in use by pid" in err or "already holds a run" in err, err
    assert "run saved" not in stdout
    _same_files(whole(winners[0]), out)


def test_evaluate_refuses_while_training_writes(data, tmp_path, capsys):
    out = tmp_path / "busy"
    p = _train(*ARGS, "--data-dir", str(data), "--epochs", "40", "--out", str(out))
    try:
        deadline = time.monotonic() + 60
        while not (out / "config.json").exists() and time.monotonic() < deadline:
            assert p.poll() is None, p.communicate()
            time.sleep(0.01)
        assert main(["evaluate", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"in use by pid {p.pid} (glassnet train)" in err, err
        assert main(["train", "--resume", str(out), "--no-progress"]) == 2
        assert f"in use by pid {p.pid}" in capsys.readouterr().err
    finally:
        p.kill()
        _finish(p)


def test_stale_lock_of_a_dead_process_is_taken_over(data, whole, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    out = tmp_path / "stale"
    out.mkdir()
    (out / LOCK).write_text(f'{{"pid": {pid}, "host": "x", "purpose": "glassnet train"}}\n')
    (out / f".model.safetensors.{pid}.0badc0de.tmp").write_bytes(b"half a file")  # what a kill -9 leaves
    code, stdout, err = _finish(_train(*ARGS, "--data-dir", str(data), "--out", str(out)))
    assert code == 0, err
    assert f"took over the lock of pid {pid} (no longer running)" in stdout
    assert read_owner(out) is None and not list(out.glob("*.tmp"))
    _same_files(whole(0), out)


def test_temp_files_of_live_writers_are_kept(tmp_path):
    from glassnet.runs import clean_temp_files

    mine = tmp_path / f".a.json.{os.getpid()}.00ff.tmp"
    live = tmp_path / f".b.json.{os.getppid()}.00ff.tmp"
    for p in (mine, live):
        p.write_bytes(b"x")
    assert clean_temp_files(tmp_path) == [mine]
    assert live.exists()
