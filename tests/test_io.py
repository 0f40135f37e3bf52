"""glassnet.io: safetensors weights, JSON, optimizer files, atomic writes and clear errors."""

import io
import json
import os
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import glassnet.io as gio
from glassnet.io import (
    GlassnetIOError,
    atomic_write_bytes,
    atomic_write_text,
    load_json,
    load_metadata,
    load_model_weights,
    load_optimizer,
    load_weights,
    save_json,
    save_optimizer,
    save_weights,
)
from glassnet.nn import Module, Parameter
from glassnet.optim import SGD, Adam


def sample_state(rng):
    return OrderedDict([
        ("features.0.weight", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
        ("features.0.bias", rng.standard_normal(4).astype(np.float32)),
        ("features.1.running_mean", rng.standard_normal(4)),  # float64
        ("features.1.num_batches_tracked", np.array(17, dtype=np.int64)),  # shape ()
        ("head.weight", rng.standard_normal((5, 4))[:, ::2]),  # not contiguous
        ("head.bias", rng.standard_normal((3, 2)).T),  # Fortran order
        ("labels", np.arange(6, dtype=np.int64).reshape(2, 3)),
        ("mask", np.array([True, False, True])),
        ("big_endian", np.arange(4, dtype=">f8")),
        ("half", np.linspace(0, 1, 5, dtype=np.float16)),
    ])


def test_weights_round_trip_every_dtype_and_shape(tmp_path, rng):
    state = sample_state(rng)
    path = tmp_path / "model.safetensors"
    save_weights(path, state)
    loaded = load_weights(path)
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(state)
    for key, a in state.items():
        b = loaded[key]
        assert b.shape == a.shape, key
        assert b.dtype == a.dtype.newbyteorder("="), key
        np.testing.assert_array_equal(b, a, err_msg=key)
    assert loaded["features.1.num_batches_tracked"].shape == () and loaded["features.1.num_batches_tracked"] == 17


def test_file_is_plain_safetensors(tmp_path, rng):
    """An 8-byte length, a JSON header, raw bytes: readable by safetensors itself, no pickle anywhere."""
    import safetensors.numpy

    state = sample_state(rng)
    path = tmp_path / "model.safetensors"
    save_weights(path, state, metadata={"arch": "vgg11", "epoch": "3"})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["features.1.num_batches_tracked"] == {"dtype": "I64", "shape": [], "data_offsets": header[
        "features.1.num_batches_tracked"]["data_offsets"]}
    assert header["head.weight"]["shape"] == [5, 2] and header["features.0.weight"]["dtype"] == "F32"
    theirs = safetensors.numpy.load_file(str(path))
    assert sorted(theirs) == sorted(state)
    for key in state:
        np.testing.assert_array_equal(theirs[key], state[key])
    assert load_metadata(path) == {"format": "pt", "arch": "vgg11", "epoch": "3"}


def test_save_weights_refuses_what_it_cannot_store(tmp_path):
    path = tmp_path / "w.safetensors"
    with pytest.raises(TypeError, match="key 3 is a int, expected str"):
        save_weights(path, {3: np.zeros(1)})
    with pytest.raises(TypeError, match="'w' is a list, expected a numpy array"):
        save_weights(path, {"w": [1.0, 2.0]})
    with pytest.raises(TypeError, match="'w' has dtype object, which safetensors cannot store"):
        save_weights(path, {"w": np.array([None])})
    with pytest.raises(TypeError, match="'w' has dtype complex128"):
        save_weights(path, {"w": np.zeros(2, dtype=complex)})
    with pytest.raises(TypeError, match="metadata must map str to str"):
        save_weights(path, {"w": np.zeros(1)}, metadata={"epoch": 3})
    with pytest.raises(TypeError, match="got a model; pass model.state_dict()"):
        save_weights(path, _Holder({"w": np.zeros(1)}))
    assert not path.exists() and os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- PyTorch interop
def torch_model(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 5),
                         nn.BatchNorm1d(5))


@pytest.mark.torch
def test_glassnet_file_loads_into_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    torch.manual_seed(0)
    src = torch_model(torch).double()
    for _ in range(3):  # non-trivial running statistics and num_batches_tracked = 3
        src(torch.randn(6, 3, 8, 8, dtype=torch.float64))
    state = OrderedDict((k, v.detach().numpy().copy()) for k, v in src.state_dict().items())
    path = tmp_path / "from_glassnet.safetensors"
    save_weights(path, state)

    dst = torch_model(torch).double()
    result = dst.load_state_dict(load_file(str(path)), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in src.state_dict().items():
        assert dst.state_dict()[key].dtype == value.dtype, key
        assert torch.equal(dst.state_dict()[key], value), key
    assert dst.state_dict()["1.num_batches_tracked"].item() == 3
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    assert torch.equal(src.eval()(x), dst.eval()(x))


class _Holder(Module):
    """A glassnet module with exactly the parameters and buffers of a state dict (nested by the dots)."""

    def __init__(self, state):
        super().__init__()
        for key, value in state.items():
            owner = self
            *path, leaf = key.split(".")
            for name in path:
                if name not in owner._modules:
                    setattr(owner, name, Module())
                owner = owner._modules[name]
            if leaf.startswith(("running_", "num_batches")):
                owner.register_buffer(leaf, np.zeros_like(value))
            else:
                setattr(owner, leaf, Parameter(np.zeros_like(value)))


@pytest.mark.torch
def test_pytorch_file_loads_into_glassnet(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(1)
    src = torch_model(torch)
    src(torch.randn(4, 3, 8, 8))
    theirs = {k: v.detach().numpy().copy() for k, v in src.state_dict().items()}
    path = tmp_path / "from_torch.safetensors"
    save_file(src.state_dict(), str(path))

    loaded = load_weights(path)
    assert sorted(loaded) == sorted(theirs)
    for key, value in theirs.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    model = _Holder(theirs)
    assert load_model_weights(model, path) == {"missing_keys": [], "unexpected_keys": []}
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, theirs[key], err_msg=key)


# ---------------------------------------------------------------------------- model loading
def test_load_model_weights_names_the_file_and_the_keys(tmp_path, rng):
    state = {"fc.weight": rng.standard_normal((3, 2)), "fc.bias": rng.standard_normal(3),
             "bn.running_mean": rng.standard_normal(3), "bn.num_batches_tracked": np.array(2, dtype=np.int64)}
    path = tmp_path / "ckpt.safetensors"
    save_weights(path, state)
    model = _Holder(state)
    load_model_weights(model, path)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, state[key])

    bigger = _Holder({**state, "extra.weight": np.zeros(2)})
    with pytest.raises(GlassnetIOError, match=r"ckpt\.safetensors: weights do not fit _Holder: .*missing keys: extra\.weight"):
        load_model_weights(bigger, path)
    assert load_model_weights(bigger, path, strict=False)["missing_keys"] == ["extra.weight"]

    reshaped = _Holder({**state, "fc.weight": np.zeros((2, 3))})
    with pytest.raises(GlassnetIOError, match=r"ckpt\.safetensors: .*fc\.weight: expected \(2, 3\), got \(3, 2\)"):
        load_model_weights(reshaped, path)

    smaller = _Holder({k: v for k, v in state.items() if k != "fc.bias"})
    with pytest.raises(GlassnetIOError, match=r"unexpected keys: fc\.bias"):
        load_model_weights(smaller, path)


# ---------------------------------------------------------------------------- damaged files
def _valid_bytes(tmp_path):
    path = tmp_path / "good.safetensors"
    save_weights(path, {"w": np.arange(12, dtype=np.float64).reshape(3, 4), "n": np.array(1, dtype=np.int64)})
    return path.read_bytes()


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", b"not really")
    return buf.getvalue()


def _damaged(tmp_path):
    good = _valid_bytes(tmp_path)
    (n,) = struct.unpack("<Q", good[:8])
    return {
        "empty": (b"", "not a safetensors file (0 bytes"),
        "tiny": (b"\x01\x02\x03", "not a safetensors file (3 bytes"),
        "text": (b"hello, this is certainly not a tensor file\n", "not a safetensors file (its first 8 bytes"),
        "png": (b"\x89PNG\r\n\x1a\n" + bytes(40), "not a safetensors file (its first 8 bytes"),
        "zip": (_zip_bytes(), "not a safetensors file (its first 8 bytes"),  # what torch.save writes
        "cut_in_header": (good[: 8 + n // 2], f"truncated (header of {n} bytes, but only {n // 2} bytes follow)"),
        "cut_in_data": (good[:-5], f"truncated (the tensors need {len(good)} bytes, the file has {len(good) - 5})"),
        "garbage_header": (struct.pack("<Q", 10) + b"{not json}" + bytes(8), "corrupt safetensors header (not JSON"),
        "list_header": (struct.pack("<Q", 2) + b"[]", "corrupt safetensors header (a JSON list, not an object)"),
        "no_offsets": (struct.pack("<Q", 34) + b'{"w":{"dtype":"F64","shape":[1]}} ',
                       "corrupt safetensors header (entry 'w' has no data_offsets)"),
        "bad_dtype": (good.replace(b'"F64"', b'"X64"'), "damaged file (its tensors do not match"),
        "trailing_bytes": (good + b"junk", "damaged file (its tensors do not match"),
    }


@pytest.mark.parametrize("case", ["empty", "tiny", "text", "png", "zip", "cut_in_header", "cut_in_data", "garbage_header",
                                  "list_header", "no_offsets", "bad_dtype", "trailing_bytes"])
def test_damaged_files_raise_one_clear_line(tmp_path, case):
    data, words = _damaged(tmp_path)[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(data)
    with pytest.raises(GlassnetIOError) as info:
        load_weights(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and words in message, message
    assert "\n" not in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, OSError)


@pytest.mark.torch
def test_bfloat16_file_is_named_as_such(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    path = tmp_path / "bf16.safetensors"
    save_file({"fc.weight": torch.ones(2, 2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(GlassnetIOError, match=r"bf16\.safetensors: tensor 'fc\.weight' has a dtype NumPy cannot hold"):
        load_weights(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(GlassnetIOError, match=r"nope\.safetensors: no such file"):
        load_weights(tmp_path / "nope.safetensors")
    with pytest.raises(GlassnetIOError, match="cannot read"):
        load_weights(tmp_path)
    with pytest.raises(GlassnetIOError, match=r"nope\.safetensors: no such file"):
        load_model_weights(_Holder({}), tmp_path / "nope.safetensors")


# ---------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_whole_files(tmp_path):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "second, longer\r\n")
    assert path.read_bytes() == b"second, longer\r\n"
    atomic_write_bytes(str(path), b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01" and os.listdir(tmp_path) == ["f.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # not the 0600 of a bare temp file


@pytest.mark.parametrize("where", ["fsync", "replace", "interrupt"])
def test_failure_mid_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch, rng, where):
    path = tmp_path / "model.safetensors"
    old = {"w": rng.standard_normal(4)}
    save_weights(path, old)
    before = path.read_bytes()

    def boom(*args):
        if where == "interrupt":
            raise KeyboardInterrupt
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gio.os, "fsync" if where != "replace" else "replace", boom)
    with pytest.raises(KeyboardInterrupt if where == "interrupt" else OSError):
        save_weights(path, {"w": np.zeros(1000)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]
    np.testing.assert_array_equal(load_weights(path)["w"], old["w"])


def test_write_into_missing_directory_names_the_path(tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "w.safetensors"
    with pytest.raises(GlassnetIOError, match=rf"{target}: cannot write \(No such file or directory\)"):
        save_weights(target, {"w": np.zeros(1)})


# ---------------------------------------------------------------------------- JSON
def test_json_round_trip_with_numpy_values(tmp_path):
    path = tmp_path / "history.json"
    obj = {"epochs": 3, "loss": [np.float32(0.5), np.float64(0.25)], "acc": np.array([0.9, 0.95]),
           "config": {"lr": 0.1, "betas": (0.9, 0.999), "name": "lenet", "flag": True, "none": None},
           "steps": np.int64(120)}
    save_json(path, obj)
    back = load_json(path)
    assert back == {"epochs": 3, "loss": [0.5, 0.25], "acc": [0.9, 0.95],
                    "config": {"lr": 0.1, "betas": [0.9, 0.999], "name": "lenet", "flag": True, "none": None},
                    "steps": 120}
    assert path.read_text().endswith("}\n") and os.listdir(tmp_path) == ["history.json"]
    save_json(path, {"loss": [0.5, float("nan"), float("inf")]})  # a diverged run can still be saved
    loss = load_json(path)["loss"]
    assert loss[0] == 0.5 and np.isnan(loss[1]) and loss[2] == float("inf")


def test_json_errors_name_the_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"lr": 0.1,\n "epochs": }\n')
    with pytest.raises(GlassnetIOError, match=r"config\.json: corrupt JSON \(Expecting value at line 2 column 12\)"):
        load_json(path)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(GlassnetIOError, match=r"config\.json: corrupt JSON \(not UTF-8 text"):
        load_json(path)
    with pytest.raises(GlassnetIOError, match=r"missing\.json: cannot read \(No such file or directory\)"):
        load_json(tmp_path / "missing.json")
    with pytest.raises(GlassnetIOError, match=r"out\.json: cannot save as JSON: .*set is not JSON serialisable"):
        save_json(tmp_path / "out.json", {"a": {1, 2}})
    assert not (tmp_path / "out.json").exists()


# ---------------------------------------------------------------------------- optimizer files
def _stepped(opt_cls, n_params=2, **options):
    params = [Parameter(np.linspace(0, 1, 3)) for _ in range(n_params)]
    opt = opt_cls(params, **options)
    for p in params:
        p.grad = np.ones(3)
    opt.step()
    return opt


def test_optimizer_file_layout_and_round_trip(tmp_path):
    opt = _stepped(Adam, lr=0.01, amsgrad=True)
    path = tmp_path / "opt.safetensors"
    save_optimizer(path, opt)
    tensors = load_weights(path)
    assert sorted(tensors) == sorted(f"state.{i}.{k}" for i in range(2) for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
    info = json.loads(load_metadata(path)["glassnet.optimizer"])
    assert info["class"] == "Adam" and info["scalars"] == {"0": {"step": 1}, "1": {"step": 1}}
    assert info["param_groups"][0]["lr"] == 0.01 and info["param_groups"][0]["params"] == [0, 1]
    fresh = Adam([Parameter(np.zeros(3)), Parameter(np.zeros(3))], lr=0.5)
    load_optimizer(path, fresh)
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for k, v in a["state"][i].items():
            np.testing.assert_array_equal(b["state"][i][k], v)


def test_optimizer_before_any_step_saves_and_loads(tmp_path):
    opt = SGD([Parameter(np.zeros(2))], lr=0.3, momentum=0.9)
    save_optimizer(tmp_path / "opt.safetensors", opt)
    fresh = SGD([Parameter(np.zeros(2))], lr=0.1)
    load_optimizer(tmp_path / "opt.safetensors", fresh)
    assert fresh.param_groups[0]["lr"] == 0.3 and fresh.param_groups[0]["momentum"] == 0.9 and fresh.state == {}


def test_optimizer_file_errors_name_the_file(tmp_path):
    path = tmp_path / "opt.safetensors"
    save_optimizer(path, _stepped(SGD, lr=0.1, momentum=0.9))
    with pytest.raises(GlassnetIOError, match=r"opt\.safetensors: holds SGD state, cannot load it into Adam"):
        load_optimizer(path, Adam([Parameter(np.zeros(3)), Parameter(np.zeros(3))]))
    with pytest.raises(GlassnetIOError, match=r"opt\.safetensors: does not fit this SGD: .*param group 0 has 2 parameters in the state, 3"):
        load_optimizer(path, SGD([Parameter(np.zeros(3)) for _ in range(3)], lr=0.1))
    with pytest.raises(GlassnetIOError, match=r"'momentum_buffer' of parameter 0 has shape \(3,\), expected \(4,\)"):
        load_optimizer(path, SGD([Parameter(np.zeros(4)), Parameter(np.zeros(3))], lr=0.1))
    weights = tmp_path / "weights.safetensors"
    save_weights(weights, {"w": np.zeros(2)})
    with pytest.raises(GlassnetIOError, match=r"weights\.safetensors: not a glassnet optimizer file"):
        load_optimizer(weights, SGD([Parameter(np.zeros(2))], lr=0.1))
    with pytest.raises(GlassnetIOError, match=r"gone\.safetensors: no such file"):
        load_optimizer(tmp_path / "gone.safetensors", SGD([Parameter(np.zeros(2))], lr=0.1))
