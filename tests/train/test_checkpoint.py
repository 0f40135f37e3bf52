"""Checkpoint files: layout, atomic switch-over, and clear errors for missing, damaged or mismatched files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from train_helpers import _keep_rng, small_net  # noqa: F401 (fixture)

from glassnet.nn import Parameter
from glassnet.optim import SGD, Adam
from glassnet.train import CheckpointError, load_checkpoint, save_checkpoint


def trained(seed=0):
    model = small_net()
    opt = Adam(model.parameters(), lr=0.1)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.grad = rng.standard_normal(p.shape).astype(p.dtype)
    opt.step()
    return model, opt


def test_round_trip_restores_weights_optimizer_and_state(tmp_path):
    model, opt = trained()
    path = save_checkpoint(tmp_path, model, opt, {"epoch": 3, "step": 7, "note": [1, 2.5, None]})
    assert path == tmp_path / "state.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model-e003-s0007.safetensors", "optimizer-e003-s0007.safetensors", "state.json"]
    fresh = small_net()
    fresh_opt = Adam(fresh.parameters(), lr=0.5)
    state = load_checkpoint(tmp_path, fresh, fresh_opt)
    assert (state["epoch"], state["step"], state["note"]) == (3, 7, [1, 2.5, None])
    for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert fresh_opt.param_groups[0]["lr"] == 0.1
    for p, q in zip(model.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(opt.state[p]["exp_avg_sq"], fresh_opt.state[q]["exp_avg_sq"])
        assert fresh_opt.state[q]["step"] == 1


def test_a_new_checkpoint_replaces_the_old_files(tmp_path):
    model, opt = trained()
    save_checkpoint(tmp_path, model, opt, {"epoch": 1, "step": 0})
    (tmp_path / "unrelated.txt").write_text("kept")
    save_checkpoint(tmp_path, model, opt, {"epoch": 2, "step": 0})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model-e002-s0000.safetensors", "optimizer-e002-s0000.safetensors", "state.json", "unrelated.txt"]


def test_no_checkpoint(tmp_path):
    model, opt = trained()
    with pytest.raises(CheckpointError, match=r"state\.json: no checkpoint here"):
        load_checkpoint(tmp_path / "nowhere", model, opt)


def test_missing_weights_file_is_named(tmp_path):
    model, opt = trained()
    save_checkpoint(tmp_path, model, opt, {"epoch": 1, "step": 0})
    (tmp_path / "model-e001-s0000.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"model-e001-s0000\.safetensors: missing .* incomplete"):
        load_checkpoint(tmp_path, model, opt)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_file_is_named(tmp_path, damage):
    model, opt = trained()
    save_checkpoint(tmp_path, model, opt, {"epoch": 1, "step": 0})
    f = tmp_path / "optimizer-e001-s0000.safetensors"
    data = bytearray(f.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[-5] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"optimizer-e001-s0000\.safetensors: its SHA-256 does not match"):
        load_checkpoint(tmp_path, model, opt)


def test_corrupt_state_json_is_named(tmp_path):
    model, opt = trained()
    save_checkpoint(tmp_path, model, opt, {"epoch": 1, "step": 0})
    (tmp_path / "state.json").write_text('{"version": 1, "files": ')
    with pytest.raises(CheckpointError, match=r"state\.json: corrupt JSON"):
        load_checkpoint(tmp_path, model, opt)
    (tmp_path / "state.json").write_text(json.dumps({"version": 1, "files": {"model": "../x", "optimizer": "y"}}))
    with pytest.raises(CheckpointError, match=r"bad entry files\.model"):
        load_checkpoint(tmp_path, model, opt)


def test_weights_of_another_architecture_are_refused_with_the_keys(tmp_path):
    model, opt = trained()
    save_checkpoint(tmp_path, model, opt, {"epoch": 1, "step": 0})
    other = small_net()
    other.fc = type(other.fc)(4 * 13 * 13, 5)
    with pytest.raises(CheckpointError, match=r"model-e001-s0000\.safetensors: .*fc\.weight: expected \(5, 676\)"):
        load_checkpoint(tmp_path, other, Adam(other.parameters()))


def test_optimizer_of_another_kind_is_refused(tmp_path):
    model, opt = trained()
    save_checkpoint(tmp_path, model, opt, {"epoch": 1, "step": 0})
    with pytest.raises(CheckpointError, match=r"optimizer-e001-s0000\.safetensors: holds Adam state.*SGD"):
        load_checkpoint(tmp_path, model, SGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointError, match="optimizer-e001-s0000"):
        load_checkpoint(tmp_path, model, Adam([Parameter(np.zeros(3, np.float32))]))
