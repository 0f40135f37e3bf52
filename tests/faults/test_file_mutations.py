"""Files damaged at random (seeded, bounded counts): glassnet raises its own error types, never hangs, never
allocates without bound, and never loads different tensors silently.

Counts: 400 weight files, 200 checkpoints, 200 IDX files (raw and gzipped), 150 CIFAR batches.
"""

from __future__ import annotations

import gzip
import shutil
from collections import Counter

import numpy as np
import pytest
from fault_helpers import bounded, mutate

import glassnet.backend as B
from glassnet import nn, optim
from glassnet.data import (
    ArrayDataset,
    DataFormatError,
    DataLoader,
    read_cifar_batch,
    read_idx,
    write_cifar_batch,
    write_idx,
)
from glassnet.io import GlassnetIOError, load_weights, save_weights
from glassnet.runs import CheckpointError
from glassnet.runs.checkpoint import STATE
from glassnet.train import Trainer


def _weights():
    rng = np.random.default_rng(0)
    return {"conv.weight": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
            "conv.bias": rng.standard_normal(4).astype(np.float32),
            "fc.weight": rng.standard_normal((10, 16)), "bn.num_batches_tracked": np.array(7)}


def test_damaged_weight_files_are_refused_or_unchanged(tmp_path):
    good = tmp_path / "good.safetensors"
    save_weights(good, _weights(), metadata={"model": "test"})
    data, want = good.read_bytes(), load_weights(good)
    rng = np.random.default_rng(2026)
    outcome = Counter()
    for case in range(400):
        bad, what = mutate(data, rng)
        path = tmp_path / f"w{case}.safetensors"
        path.write_bytes(bad)
        with bounded(f"weights {what}"):
            try:
                got = load_weights(path)
            except GlassnetIOError as e:
                assert str(e).startswith(f"{path}: ") and "\n" not in str(e), str(e)
                outcome["refused"] += 1
                continue
        # loaded: only the metadata can have changed (the digest covers names, dtypes, shapes and bytes)
        assert list(got) == list(want), what
        for k in want:
            assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), (what, k)
        outcome["loaded, tensors unchanged"] += 1
        path.unlink()
    print(dict(outcome))
    assert outcome["refused"] >= 300, outcome  # most mutations hit the framing, the table or the tensors


def _trainer(directory):
    B.manual_seed(0)
    rng = np.random.default_rng(1)
    ds = ArrayDataset(rng.integers(0, 256, (40, 1, 8, 8), dtype=np.uint8), rng.integers(0, 3, 40))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1)
    return Trainer(model, opt, DataLoader(ds, batch_size=8, shuffle=True, seed=0), epochs=2, scheduler=sched,
                   scheduler_interval="epoch", checkpoint_dir=directory)


def test_damaged_checkpoints_are_refused_with_checkpoint_error(tmp_path):
    state = B.get_rng_state()
    try:
        source = tmp_path / "source"
        t = _trainer(source)
        t.epochs = 1
        t.fit()
        files = sorted(p.name for p in source.iterdir() if p.name != "clock.json")  # timing only
        want = {k: v.copy() for k, v in t.model.state_dict().items()}
        rng = np.random.default_rng(11)
        outcome = Counter()
        for case in range(200):
            target = tmp_path / f"c{case}"
            shutil.copytree(source, target)
            name = files[int(rng.integers(len(files)))]
            bad, what = mutate((target / name).read_bytes(), rng)
            (target / name).write_bytes(bad)
            fresh = _trainer(target)
            with bounded(f"checkpoint {name} {what}"):
                try:
                    fresh.load_checkpoint()
                except CheckpointError as e:
                    assert "\n" not in str(e) and str(target) in str(e), str(e)
                    outcome["refused"] += 1
                    shutil.rmtree(target)
                    continue
            # the weight and optimizer files are covered by state.json's SHA-256: only a state.json
            # mutation that is still valid JSON of the right shape can load
            assert name in (STATE, "clock.json"), (name, what)
            for k, v in fresh.model.state_dict().items():
                assert np.array_equal(v, want[k]), (name, what, k)
            outcome[f"loaded ({name} edited)"] += 1
            shutil.rmtree(target)
        print(dict(outcome))
        assert outcome["refused"] >= 120, outcome
    finally:
        B.set_rng_state(state)


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
def test_damaged_idx_files_raise_data_format_error(tmp_path, compressed):
    images = np.random.default_rng(3).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    good = tmp_path / ("good.idx.gz" if compressed else "good.idx")
    write_idx(good, images)
    data = good.read_bytes()
    rng = np.random.default_rng(5 + compressed)
    outcome = Counter()
    for case in range(100):
        bad, what = mutate(data, rng)
        path = tmp_path / f"i{case}{good.suffix}"
        path.write_bytes(bad)
        with bounded(f"idx {what}"):
            try:
                got = read_idx(path)
            except DataFormatError as e:
                assert str(e).startswith(str(path)) and "\n" not in str(e), str(e)
                outcome["refused"] += 1
                continue
        assert isinstance(got, np.ndarray)  # an IDX file has no checksum: pixel changes load (as in torchvision)
        outcome["loaded"] += 1
    print(dict(outcome))
    assert outcome["refused"] >= 30, outcome


def test_damaged_cifar_batches_raise_data_format_error(tmp_path):
    rng = np.random.default_rng(9)
    good = tmp_path / "good.bin"
    write_cifar_batch(good, rng.integers(0, 256, (10, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 10))
    data = good.read_bytes()
    outcome = Counter()
    for case in range(150):
        bad, what = mutate(data, rng)
        path = tmp_path / f"b{case}.bin"
        path.write_bytes(bad)
        with bounded(f"cifar {what}"):
            try:
                images, labels = read_cifar_batch(path)
            except DataFormatError as e:
                assert str(e).startswith(str(path)) and "\n" not in str(e), str(e)
                outcome["refused"] += 1
                continue
        assert images.shape[1:] == (3, 32, 32) and labels.max() <= 9
        outcome["loaded"] += 1
    print(dict(outcome))
    assert outcome["refused"] >= 30, outcome


def test_gzip_of_damaged_idx_is_read_within_bounds(tmp_path):
    """A gzip stream whose header claims far more data than it holds stays bounded too."""
    path = tmp_path / "claim.idx.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (10**6).to_bytes(4, "big") * 3))
    with bounded("idx claiming 10^18 pixels"), pytest.raises(DataFormatError, match="truncated"):
        read_idx(path)
