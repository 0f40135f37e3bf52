"""``glassnet evaluate`` and ``glassnet predict`` on a trained run; their one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import _keep_rng, tiny_mnist_fixture, trained_run_fixture  # noqa: F401 (fixtures)
from PIL import Image

from glassnet.cli import main
from glassnet.data import get_dataset
from glassnet.train import confusion_matrix, load_run


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_evaluate_prints_and_writes_metrics(trained_run, capsys):
    (trained_run / "metrics.json").unlink()
    assert main(["evaluate", str(trained_run)]) == 0
    out = capsys.readouterr().out
    m = json.loads((trained_run / "metrics.json").read_text())
    # the numbers agree with a direct pass of the loaded model over the test split
    model, config = load_run(trained_run)
    test = get_dataset("mnist", root=config.data_root, train=False)
    x = (test.images / 255.0 - 0.1307) / 0.3081
    pred = model(x.astype(np.float32)).argmax(axis=1)
    cm = confusion_matrix(test.labels, pred, 10)
    assert m["confusion_matrix"] == cm.tolist() and m["accuracy"] == np.mean(pred == test.labels)
    assert m["per_class_accuracy"][3] == pytest.approx(cm[3, 3] / cm[3].sum())
    assert out.startswith(f"mnist test split: 100 images, accuracy {m['accuracy']:.2%}")
    assert "per-class accuracy:" in out and "confusion matrix (rows: true class, columns: predicted):" in out
    row = next(line for line in out.splitlines() if line.startswith("  3 ") and "%" not in line)
    assert [int(v) for v in row.split()[1:]] == cm[3].tolist()


def test_evaluate_json_and_train_split(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--split", "train", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["split"] == "train" and m["n"] == 320
    assert json.loads((trained_run / "metrics-train.json").read_text()) == m


def save_png(path, pixels):
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(path)
    return path


def test_predict_agrees_with_the_model(trained_run, tmp_path, capsys):
    model, config = load_run(trained_run)
    test = get_dataset("mnist", root=config.data_root, train=False)
    paths = [save_png(tmp_path / f"digit{i}.png", test.images[i, 0]) for i in range(5)]
    x = ((test.images[:5] / 255.0 - 0.1307) / 0.3081).astype(np.float32)
    logits = model(x).astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    assert main(["predict", str(trained_run), *map(str, paths), "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for i, line in enumerate(lines):
        best = np.argsort(-probs[i])[:2]
        assert line == f"{paths[i]}: {best[0]} ({probs[i, best[0]]:.2%}), {best[1]} ({probs[i, best[1]]:.2%})"


def test_predict_inverts_dark_on_light_and_resizes(trained_run, tmp_path, capsys):
    _, config = load_run(trained_run)
    digit = get_dataset("mnist", root=config.data_root, train=False).images[0, 0]
    normal = save_png(tmp_path / "normal.png", digit)
    scan = Image.fromarray(255 - digit, mode="L").resize((56, 56), Image.Resampling.NEAREST).convert("RGB")
    scan.save(tmp_path / "scan.jpg", quality=95)
    assert main(["predict", str(trained_run), str(normal), str(tmp_path / "scan.jpg"), "--json"]) == 0
    a, b = json.loads(capsys.readouterr().out)
    assert not a["inverted"] and b["inverted"]
    assert a["top"][0][0] == b["top"][0][0]
    assert main(["predict", str(trained_run), str(tmp_path / "scan.jpg"), "--invert", "no", "--json"]) == 0
    assert not json.loads(capsys.readouterr().out)[0]["inverted"]


def test_predict_errors(trained_run, tmp_path, capsys):
    not_image = tmp_path / "notes.png"
    not_image.write_text("this is text")
    assert main(["predict", str(trained_run), str(not_image)]) == 2
    one_line_error(capsys, "glassnet predict: error: ", "notes.png: not an image Pillow can read")
    assert main(["predict", str(trained_run), str(tmp_path / "missing.png")]) == 2
    one_line_error(capsys, "missing.png: no such file")
    png = save_png(tmp_path / "ok.png", np.random.default_rng(0).integers(0, 256, (28, 28)))
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(png.read_bytes()[:400])  # of about 850: the pixel data stops half-way
    assert main(["predict", str(trained_run), str(truncated)]) == 2
    one_line_error(capsys, "cut.png: ")
    assert main(["predict", str(trained_run), str(png), "--top", "0"]) == 2
    one_line_error(capsys, "argument --top: must be an integer >= 1, got '0'")


def test_run_directories_without_weights(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    one_line_error(capsys, "glassnet evaluate: error: ", "no such run directory")
    assert main(["predict", str(tmp_path), "x.png"]) == 2
    one_line_error(capsys, "no config.json", "glassnet train --out")
    (tmp_path / "config.json").write_text("{not json")
    assert main(["evaluate", str(tmp_path)]) == 2
    one_line_error(capsys, "config.json: corrupt JSON")


def test_help_of_each_command(capsys):
    for command in ("evaluate", "predict"):
        assert main([command, "--help"]) == 0  # main returns argparse's status instead of exiting
        assert "RUN_DIR" in capsys.readouterr().out


def test_automatic_inversion_only_for_grey_runs_trained_on_dark_images():
    from glassnet.train.predict import needs_inversion

    light_border = np.ones((1, 8, 8))
    light_border[:, 2:6, 2:6] = 0.0
    assert needs_inversion(light_border, [0.1307])
    assert not needs_inversion(1.0 - light_border, [0.1307])  # already light on dark
    assert not needs_inversion(light_border, [0.8])  # the training images were light
    assert not needs_inversion(np.ones((3, 8, 8)), [0.49, 0.48, 0.45])  # colour photos: never
