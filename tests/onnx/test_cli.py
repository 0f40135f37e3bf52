"""``glassnet export`` and ``.onnx`` files in ``glassnet evaluate`` / ``glassnet predict``."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("PIL")

from cli_helpers import _keep_rng, tiny_mnist_fixture, trained_run_fixture  # noqa: E402, F401 (fixtures)
from onnx_helpers import TOL, ort_run, rel_err  # noqa: E402
from PIL import Image  # noqa: E402

import glassnet.onnx as gx  # noqa: E402
from glassnet.cli import main  # noqa: E402
from glassnet.data import get_dataset  # noqa: E402
from glassnet.models import lenet5  # noqa: E402
from glassnet.train import load_run  # noqa: E402


def one_line_error(capsys, command, *needles):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and err.startswith(f"glassnet {command}: error: "), err
    for needle in needles:
        assert needle in err, err


@pytest.fixture(scope="module")
def run_onnx(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "lenet.onnx"
    assert main(["export", str(trained_run), "-o", str(out)]) == 0
    return out


def test_export_run_carries_its_config(trained_run, run_onnx, capsys):
    model, config = load_run(trained_run)
    meta = gx.read_metadata(run_onnx)
    assert meta["input_mean"] == config.mean and meta["input_std"] == config.std
    assert meta["class_names"] == config.class_names and meta["dataset"] == "mnist" and meta["model"] == "lenet5"
    x = np.random.default_rng(0).standard_normal((7, 1, 28, 28)).astype(np.float32)
    assert rel_err(ort_run(run_onnx, x), model(x)) < TOL


def test_evaluate_onnx_equals_evaluate_run(trained_run, run_onnx, tiny_mnist, capsys, tmp_path):
    assert main(["evaluate", str(trained_run), "--json"]) == 0
    from_run = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(run_onnx), "--json", "--data-dir", str(tiny_mnist),
                 "--out", str(tmp_path / "m.json")]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert from_file == json.loads((tmp_path / "m.json").read_text())
    for key in ("n", "accuracy", "confusion_matrix", "class_names", "dataset", "per_class_accuracy"):
        assert from_file[key] == from_run[key], key
    assert from_file["loss"] == pytest.approx(from_run["loss"], rel=1e-6)


def test_predict_onnx_equals_predict_run(trained_run, run_onnx, tiny_mnist, tmp_path, capsys):
    test = get_dataset("mnist", root=str(tiny_mnist), train=False)
    paths = []
    for i in range(4):
        Image.fromarray(test.images[i, 0]).save(tmp_path / f"d{i}.png")
        paths.append(str(tmp_path / f"d{i}.png"))
    assert main(["predict", str(trained_run), *paths, "--json"]) == 0
    from_run = json.loads(capsys.readouterr().out)
    assert main(["predict", str(run_onnx), *paths, "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    for a, b in zip(from_run, from_file, strict=True):
        assert [n for n, _ in a["top"]] == [n for n, _ in b["top"]]
        assert np.allclose([p for _, p in a["top"]], [p for _, p in b["top"]], rtol=1e-5)


def test_export_model_with_weights_and_flags(trained_run, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--model", "lenet5", "--weights", str(trained_run / "model.safetensors"), "-o", str(out),
                 "--mean", "0.1307", "--std", "0.3081", "--class-names", ",".join("abcdefghij"),
                 "--opset", "13", "--static-batch"]) == 0
    assert "wrote" in capsys.readouterr().out
    meta = gx.read_metadata(out)
    assert meta["input_mean"] == [0.1307] and meta["class_names"] == list("abcdefghij")
    model, _ = load_run(trained_run)
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    assert rel_err(ort_run(out, x), model(x)) < TOL


def test_onnx_file_without_metadata(tmp_path, capsys):
    """A file that states no normalisation: --mean/--std, else none, with a note."""
    out = gx.export(lenet5(), tmp_path / "bare.onnx")
    png = tmp_path / "d.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(png)
    assert main(["predict", str(out), str(png), "--json", "--invert", "no"]) == 0
    captured = capsys.readouterr()
    assert "states no input normalisation" in captured.err
    plain = json.loads(captured.out)[0]["top"]
    assert main(["predict", str(out), str(png), "--json", "--invert", "no", "--mean", "0.5", "--std", "0.25"]) == 0
    shifted = json.loads(capsys.readouterr().out)[0]["top"]
    assert plain != shifted and [n for n, _ in plain][0] in "0123456789"


def test_cli_errors(trained_run, run_onnx, tmp_path, capsys):
    assert main(["export", "-o", str(tmp_path / "m.onnx")]) == 2
    one_line_error(capsys, "export", "either RUN_DIR or --model")
    assert main(["export", str(trained_run), "--model", "lenet5", "-o", str(tmp_path / "m.onnx")]) == 2
    one_line_error(capsys, "export", "either RUN_DIR or --model")
    assert main(["export", str(trained_run), "--input", "1x8x8", "-o", str(tmp_path / "m.onnx")]) == 2
    one_line_error(capsys, "export", "--input", "only with --model")
    assert main(["export", "--model", "lenet5", "--opset", "5", "-o", str(tmp_path / "m.onnx")]) == 2
    one_line_error(capsys, "export", "opset")
    assert main(["export", "--model", "lenet5", "--input", "1x4x4", "-o", str(tmp_path / "m.onnx")]) == 2
    one_line_error(capsys, "export", "cannot export", "features.3")
    assert main(["export", str(tmp_path / "nope"), "-o", str(tmp_path / "m.onnx")]) == 2
    one_line_error(capsys, "export", "no such run directory")
    assert not (tmp_path / "m.onnx").exists()
    assert main(["evaluate", str(trained_run), "--mean", "0.5"]) == 2
    one_line_error(capsys, "evaluate", "--mean", "only for an .onnx file")
    bare = gx.export(lenet5(), tmp_path / "bare.onnx")
    assert main(["evaluate", str(bare)]) == 2
    one_line_error(capsys, "evaluate", "--dataset")
    assert main(["predict", str(tmp_path / "missing.onnx"), "x.png"]) == 2
    one_line_error(capsys, "predict", "no such file")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(run_onnx.read_bytes()[:1000])
    assert main(["predict", str(broken), "x.png"]) == 2
    one_line_error(capsys, "predict", "broken.onnx", "not an ONNX model")
    assert main(["predict", str(run_onnx), "x.png", "--mean", "0.1,0.2"]) == 2
    one_line_error(capsys, "predict", "--mean", "1 input channels")
