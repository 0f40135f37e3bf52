"""Issue #11's table, one test per row (rows 5 and 12 live with the layers, tests/nn)."""

from __future__ import annotations

import errno
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from glassnet import runs
from glassnet.cli import main
from glassnet.cli.train import ARG_EXAMPLE, build_config
from glassnet.data import load_mnist_subset
from glassnet.io import load_weights, save_weights
from glassnet.train import TrainConfig, fit
from glassnet.train.run import build_model
from glassnet.viz import write_curves

PIL = pytest.importorskip("PIL.Image")


def one_line(capsys, *needles) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture(scope="module", name="data")
def data_fixture(tmp_path_factory):
    from train_helpers import write_tiny_mnist

    return write_tiny_mnist(tmp_path_factory.mktemp("data"), n_train=96, n_test=40)


def _config(data, **kw):
    return TrainConfig(**{"dataset": "mnist", "data_root": str(data), "epochs": 2, "batch_size": 16,
                          "val_split": 0.25, **kw})


@pytest.fixture(scope="module", name="run")
def run_fixture(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    fit(_config(data), out, progress=False)
    return out


# ---------------------------------------------------------------------------- row 1: non-finite weights
def test_row1_nonfinite_weights_are_refused_naming_the_tensors(run, tmp_path, capsys):
    bad = tmp_path / "nan-run"
    bad.mkdir()
    for name in ("config.json", "history.json"):
        (bad / name).write_bytes((run / name).read_bytes())
    w = load_weights(run / "model.safetensors")
    w["classifier.4.weight"][0, :3] = [np.nan, np.inf, np.nan]
    w["features.0.bias"][1] = -np.inf
    save_weights(bad / "model.safetensors", w)
    image = tmp_path / "d.png"
    PIL.fromarray(load_mnist_subset(train=False).images[0, 0]).save(image)
    for argv in (["predict", str(bad), str(image)], ["evaluate", str(bad)], ["visualize", str(bad), "filters"],
                 ["report", str(bad)]):
        assert main(argv) == 2, argv
        one_line(capsys, "model.safetensors: non-finite weights in 2 tensor(s)", "features.0.bias (1 inf)",
                 "classifier.4.weight (2 NaN, 1 inf)", "--allow-nonfinite")
    assert main(["predict", str(bad), str(image), "--allow-nonfinite", "--json"]) == 0
    assert "nan" in capsys.readouterr().out.lower()  # loaded for inspection, NaN shown as such


# ---------------------------------------------------------------------------- row 2: huge images
def _png_header_only(path: Path, width: int, height: int):
    """A PNG whose header claims width x height grey pixels (no pixel data needed to test the limit)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [7072, 10_000, 14_000], ids=["50MP", "100MP", "196MP"])
def test_row2_images_over_the_pixel_limit_are_one_line(run, tmp_path, capsys, recwarn, side):
    big = tmp_path / "big.png"
    _png_header_only(big, side, side)
    assert main(["predict", str(run), str(big)]) == 2
    one_line(capsys, "big.png: image too large", "glassnet reads at most 50,000,000 pixels")
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


# ---------------------------------------------------------------------------- row 3: transparency
def _predict(run, path, capsys):
    assert main(["predict", str(run), str(path), "--json", "--top", "10"]) == 0
    import json

    return json.loads(capsys.readouterr().out)[0]


def test_row3_a_digit_drawn_in_alpha_is_read_as_ink(run, tmp_path, capsys):
    digits = load_mnist_subset(train=False).images[:6, 0]
    agree = 0
    for i, digit in enumerate(digits):
        plain = tmp_path / f"plain{i}.png"
        PIL.fromarray(digit).save(plain)
        rgba = np.zeros((28, 28, 4), np.uint8)
        rgba[..., 3] = digit  # black ink, drawn only in the alpha channel, on a transparent background
        alpha = tmp_path / f"alpha{i}.png"
        PIL.fromarray(rgba, "RGBA").save(alpha)
        white = rgba.copy()
        white[..., :3] = 255  # white ink on transparency
        light = tmp_path / f"white{i}.png"
        PIL.fromarray(white, "RGBA").save(light)
        a, b, c = (_predict(run, p, capsys) for p in (plain, alpha, light))
        assert a["top"] == c["top"]  # white strokes on black: exactly the training picture
        assert b["inverted"] and dict(b["top"]) == pytest.approx(dict(a["top"]), abs=1e-5)
        agree += a["top"][0][0] == b["top"][0][0]
    assert agree == len(digits)


# ---------------------------------------------------------------------------- row 4: --max-channels 0
def test_row4_feature_maps_of_zero_channels(run, capsys):
    assert main(["visualize", str(run), "features", "--max-channels", "0"]) == 2
    one_line(capsys, "argument --max-channels: must be an integer >= 1, got '0'")
    from glassnet.viz import feature_maps

    model, _ = __import__("glassnet.train", fromlist=["load_run"]).load_run(run)
    with pytest.raises(ValueError, match="max_channels must be a positive int, got 0"):
        feature_maps(model, np.zeros((1, 28, 28), np.float32), max_channels=0)


# ---------------------------------------------------------------------------- row 7: deterministic files
def test_row7_same_seed_same_bytes(data, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        fit(_config(data, checkpoint_every=2), out, progress=False)
        write_curves(out)
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    differ = [n for n in names if (a / n).read_bytes() != (b / n).read_bytes()]
    assert differ == ["checkpoint/clock.json", "timing.json"], differ  # the two wall-clock files
    assert "seconds" not in (a / "history.json").read_text()
    assert "seconds" not in (a / "checkpoint" / "state.json").read_text()


# ---------------------------------------------------------------------------- row 9: integrity
def test_row9_a_flipped_byte_in_the_tensors_is_refused(run, tmp_path, capsys):
    copy = tmp_path / "flipped"
    copy.mkdir()
    for name in ("config.json", "model.safetensors"):
        (copy / name).write_bytes((run / name).read_bytes())
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1000] ^= 0x10  # inside the last tensor's bytes
    (copy / "model.safetensors").write_bytes(bytes(data))
    assert main(["evaluate", str(copy)]) == 2
    one_line(capsys, f"{copy / 'model.safetensors'}: damaged file (its tensors do not match the SHA-256 digest")


def test_row9_files_without_a_digest_still_load(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    w = {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3)}
    (tmp_path / "other.safetensors").write_bytes(safetensors_numpy.save(w))
    np.testing.assert_array_equal(load_weights(tmp_path / "other.safetensors")["fc.weight"], w["fc.weight"])


# ---------------------------------------------------------------------------- row 10: --data-dir words
def test_row10_data_dir_errors_in_command_line_words(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = one_line(capsys, "--data-dir: mnist-subset (the default --dataset) ships inside glassnet")
    assert "root=" not in err
    assert main(["train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = one_line(capsys, "Fashion-MNIST: ", "not found in", "Add --download", "--data-dir DIR")
    assert "download=True" not in err and "root=" not in err
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------- row 11: read-only --out
@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied")])
def test_row11_unwritable_out_is_one_line(monkeypatch, tmp_path, capsys, code, words):
    def refuse(self, *a, **k):
        raise OSError(code, "refused", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "ro" / "run"), "--no-progress"]) == 2
    err = one_line(capsys, f"{tmp_path / 'ro' / 'run'}: cannot write the run directory ({words}")
    assert "Errno" not in err


# ---------------------------------------------------------------------------- row 13: stale temporary files
def test_row13_temp_files_of_a_killed_writer_are_removed_on_open(run, tmp_path):
    copy = tmp_path / "tmp-run"
    copy.mkdir()
    for name in ("config.json", "model.safetensors"):
        (copy / name).write_bytes((run / name).read_bytes())
    (copy / "checkpoint").mkdir()
    stale = [copy / ".metrics.json.999999999.ab12cd34.tmp", copy / "checkpoint" / ".state.json.999999998.0f.tmp"]
    for p in stale:
        p.write_bytes(b"half")
    assert main(["evaluate", str(copy)]) == 0
    assert not any(p.exists() for p in stale)
    assert runs.read_metrics(copy)["n"] == 40


# ---------------------------------------------------------------------------- row 14: the --arg example
def test_row14_the_help_example_of_arg_works(capsys):
    assert main(["train", "--help"]) == 0
    assert ARG_EXAMPLE in " ".join(capsys.readouterr().out.split())
    args = __import__("glassnet.cli", fromlist=["build_parser"]).build_parser().parse_args(
        ["train", *ARG_EXAMPLE.split()])
    config = build_config(args)
    config.num_classes, config.input_shape, config.class_names = 10, [3, 32, 32], [str(i) for i in range(10)]
    config.mean, config.std = [0.5] * 3, [0.25] * 3
    half = build_model(config)  # the example's model takes the example's argument on CIFAR-10 images
    config.model_args = {}
    full = build_model(config)
    n_half, n_full = (sum(p.data.size for p in m.parameters()) for m in (half, full))
    assert n_half < 0.5 * n_full
