"""Multi-rank runs on localhost (``mpirun -n N --oversubscribe``): equivalence with one process, exact resume,
one writer, faults. Skipped without Open MPI's mpirun and mpi4py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import mpi_worker
import numpy as np
import pytest
from mpi_helpers import WORKER, env, mpirun, needs_mpi

pytestmark = needs_mpi


def _rel(a, b):
    return max(float(np.max(np.abs(a[k] - b[k])) / max(float(np.max(np.abs(b[k]))), 1e-300)) for k in b)


def _compare(tmp_path, ranks, tol, **kw):
    ref = mpi_worker.train(**kw)  # one process, in this interpreter
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in kw.items() if k != "sync_bn"] + ["--sync-bn"] * \
        kw.get("sync_bn", False)
    mpirun(ranks, WORKER, "equiv", tmp_path / "w.npz", *flags)  # the worker also checks all ranks hold equal weights
    got = dict(np.load(tmp_path / "w.npz"))
    err = _rel(got, ref)
    assert err <= tol, f"{ranks} ranks: relative error {err:.3g} > {tol:g}"
    return err


# 52 images in batches of 10: shards 4/3/3 for N=3, and a last batch of 2 images (rank 2 gets a stand-in)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_float64_weights_equal_one_process_after_20_steps(tmp_path, n):
    err = _compare(tmp_path, n, 1e-10, net="conv", dtype="float64", steps=20, n=52)
    if n == 1:
        assert err == 0.0


@pytest.mark.parametrize("n", [2, 3])
def test_float32_and_adam(tmp_path, n):
    _compare(tmp_path, n, 1e-5, net="conv", dtype="float32", steps=20, n=57)
    _compare(tmp_path, n, 1e-10, net="conv", dtype="float64", steps=20, n=57, optimizer="adam")


@pytest.mark.parametrize("n", [2, 3])
def test_sync_batchnorm_equals_one_process(tmp_path, n):
    _compare(tmp_path, n, 1e-10, net="bn", dtype="float64", steps=20, n=52, sync_bn=True)


@pytest.mark.parametrize("n", [2, 3])
def test_trainer_with_sync_batchnorm_equals_one_process(tmp_path, n):
    """The Trainer's hooks: shards with a stand-in (N=3), SyncBatchNorm, the epoch sums, validation over the ranks."""
    ref_state, ref_history = mpi_worker.trainer_bn(sync_bn=True)
    out = tmp_path / "t.npz"
    mpirun(n, WORKER, "trainer_bn", out, "--sync-bn")
    assert _rel(dict(np.load(out)), ref_state) <= 1e-10
    history = json.loads((tmp_path / "t.npz.json").read_text())
    for got, ref in zip(history, ref_history, strict=True):
        assert got["val_acc"] == ref["val_acc"] and got["train_acc"] == ref["train_acc"]
        assert got["val_loss"] == pytest.approx(ref["val_loss"], rel=1e-10)
        assert got["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-10)


def test_per_rank_batchnorm_differs_from_one_process(tmp_path):
    """The default, as PyTorch DDP: each rank normalises with its own shard's statistics."""
    ref = mpi_worker.train(net="bn", dtype="float64", steps=5, n=50)
    mpirun(2, WORKER, "equiv", tmp_path / "w.npz", "--net=bn", "--steps=5", "--n=50")
    assert _rel(dict(np.load(tmp_path / "w.npz")), ref) > 1e-6


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from train_helpers import write_tiny_mnist

    return write_tiny_mnist(tmp_path_factory.mktemp("mnist"), n_train=330, n_test=110)


def _train(n, data_dir, out, *extra):
    args = ["-m", "glassnet", "train", "--dataset", "mnist", "--data-dir", data_dir, "--epochs", "2",
            "--batch-size", "32", "--no-progress", "--out", out, *extra]
    if n == 0:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env(), timeout=240,
                              check=True)
    return mpirun(n, *args)


def test_cli_ranks_train_like_one_process_and_rank0_alone_writes(tmp_path, data_dir):
    from safetensors.numpy import load_file

    one = _train(0, data_dir, tmp_path / "one")
    many = _train(3, data_dir, tmp_path / "three", "--sync-bn")  # LeNet-5 has no batch norm: no effect
    a, b = load_file(tmp_path / "one" / "model.safetensors"), load_file(tmp_path / "three" / "model.safetensors")
    assert _rel(b, a) < 1e-4  # float32, Adam + one-cycle over 20 steps: rounding differences only
    m1, m3 = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "three"))
    assert m1["n"] == m3["n"] == 110
    assert abs(m1["accuracy"] - m3["accuracy"]) <= 1 / 110 and abs(m1["loss"] - m3["loss"]) < 1e-4
    config = json.loads((tmp_path / "three" / "config.json").read_text())
    assert config["world_size"] == 3 and config["sync_bn"] is True
    assert json.loads((tmp_path / "one" / "config.json").read_text())["world_size"] == 1
    assert many.stdout.count("epoch 1/2") == 1 and many.stdout.count("test accuracy") == 1  # rank 0 prints
    assert one.stdout.count("epoch 1/2") == 1


def test_distributed_evaluation_equals_one_process_bit_for_bit(tmp_path, data_dir):
    _train(2, data_dir, tmp_path / "run")
    from glassnet.train import evaluate_split, load_run
    from glassnet.train.run import load_data

    model, config = load_run(tmp_path / "run")
    _, _, test = load_data(config)
    one = evaluate_split(model, config, test, "test")
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())  # evaluated by 2 ranks
    assert written == json.loads(json.dumps(one))


def test_resume_with_the_same_ranks_is_bit_identical(tmp_path, data_dir):
    mpirun(2, WORKER, "resume", tmp_path, "--data", data_dir)
    assert json.loads((tmp_path / "verdict.json").read_text()) == {
        "weights_equal": True, "history_equal": True, "metrics_equal": True}


def test_resume_with_another_number_of_ranks(tmp_path, data_dir):
    from safetensors.numpy import load_file

    mpirun(2, WORKER, "interrupted", tmp_path / "b", "--data", data_dir)
    state = json.loads((tmp_path / "b" / "checkpoint" / "state.json").read_text())
    assert state["world_size"] == 2 and len(state["ranks"]) == 2 and (state["epoch"], state["step"]) == (1, 3)
    r = mpirun(3, "-m", "glassnet", "train", "--resume", tmp_path / "b", "--no-progress")
    assert "with 3 ranks (checkpoint written by 2)" in r.stdout
    assert json.loads((tmp_path / "b" / "config.json").read_text())["world_size"] == 3
    from glassnet.train import TrainConfig, fit

    fit(TrainConfig(dataset="mnist", data_root=str(data_dir), epochs=3, batch_size=32), tmp_path / "a")
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    # The same global batches in the same order; only the summation order of the all-reduce differs, in float32.
    # Training amplifies those roundings step after step (1e-5 to 1.4e-4 of the largest weight after these 3
    # epochs, depending on the NumPy version), so the weights are compared at float32's 1e-3 and the per-epoch
    # mean losses, which average the roundings out, at 1e-5.
    assert _rel(b, a) < 1e-3
    hist_a = json.loads((tmp_path / "a" / "history.json").read_text())["epochs"]
    hist_b = json.loads((tmp_path / "b" / "history.json").read_text())["epochs"]
    assert len(hist_a) == len(hist_b) == 3
    for ea, eb in zip(hist_a, hist_b, strict=True):
        assert eb["train_loss"] == pytest.approx(ea["train_loss"], rel=1e-5)


def test_a_rank_that_raises_ends_every_rank_and_is_named(tmp_path):
    t = time.monotonic()
    r = mpirun(3, WORKER, "fail", "1", check=False, timeout=120)
    assert r.returncode != 0 and time.monotonic() - t < 120
    assert "mpi_worker: rank 1: ValueError: injected failure" in r.stderr


def test_a_rank_failing_inside_fit_aborts_the_run(tmp_path, data_dir):
    r = mpirun(2, WORKER, "fit_fails", tmp_path / "run", "--data", data_dir, check=False, timeout=120)
    assert r.returncode != 0
    assert "glassnet train: rank 1: ValueError: injected failure in a callback" in r.stderr
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_a_killed_rank_ends_every_rank(tmp_path):
    cmd = ["mpirun", "-n", "3", "--oversubscribe", sys.executable, str(WORKER), "fail", "-1"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        line = p.stdout.readline()  # rank 1 prints its pid, then sleeps while the others wait in an all-reduce
        pid = int(re.search(r"pid (\d+)", line).group(1))
        t = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        code = p.wait(timeout=60)
        assert code != 0 and time.monotonic() - t < 60
        err = p.stderr.read()
        assert "process rank 1" in err and "signal 9" in err, err  # mpirun names the rank and the cause
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_bad_options_are_reported_once_by_rank_0(tmp_path, data_dir):
    r = mpirun(2, "-m", "glassnet", "train", "--val-split", "0", "--early-stopping", "2", check=False)  # config
    assert r.returncode != 0 and r.stderr.count("early_stopping needs a validation split") == 1
    r = mpirun(2, "-m", "glassnet", "train", "--model", "nosuch", check=False)  # found while setting up the run
    assert r.returncode != 0 and r.stderr.count("unknown model 'nosuch'") == 1
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    r = mpirun(2, "-m", "glassnet", "train", "--dataset", "mnist", "--data-dir", data_dir, "--out",
               tmp_path / "taken", check=False)
    assert r.returncode != 0 and r.stderr.count("already holds files") == 1
    assert "rank" not in r.stderr.split("already holds")[0].splitlines()[-1]


def test_nproc_launches_mpirun_and_ctrl_c_saves_one_checkpoint(tmp_path):
    """--nproc 2 on the shipped subset; Ctrl-C (SIGINT to the launcher) after the first epoch."""
    cmd = [sys.executable, "-m", "glassnet", "train", "--nproc", "2", "--epochs", "30", "--no-progress", "--out",
           str(tmp_path / "run")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        line = p.stdout.readline()
        assert line.startswith("epoch 1/30"), line
        p.send_signal(signal.SIGINT)
        code = p.wait(timeout=120)
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert code == 130, err
    assert "checkpoint saved to" in err and "resume with: glassnet train --resume" in err
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["world_size"] == 2 and state["epoch"] >= 1
    assert not (tmp_path / "run" / "model.safetensors").exists()
    assert sorted(f.name for f in (tmp_path / "run" / "checkpoint").iterdir() if f.suffix == ".safetensors") == \
        sorted(state["files"].values())
