"""``glassnet visualize`` and ``glassnet report`` on a real run directory written by ``glassnet.train.fit``."""

import base64
import json
import re

import numpy as np
import pytest

from conftest import NORMALIZE, read_png
from glassnet.cli import main
from glassnet.train import TrainConfig, fit, load_run
from glassnet.viz.run import open_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """LeNet-5 trained by the library's trainer for 2 epochs on the shipped MNIST subset (a few seconds)."""
    d = tmp_path_factory.mktemp("runs") / "lenet5"
    fit(TrainConfig(epochs=2, batch_size=128, val_split=0.1, seed=0), d, progress=False)
    return d


def visualize(capsys, *argv):
    assert main(["visualize", *map(str, argv)]) == 0
    return capsys.readouterr().out.strip()


def test_run_loads_the_model_and_its_data(run_dir, test_set):
    run = open_run(run_dir)
    model, _ = load_run(run_dir)
    for (k, a), b in zip(run.model.state_dict().items(), model.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    assert run.normalize == NORMALIZE and run.input_size == (1, 28, 28) and run.class_names == test_set.classes
    labels, pred = run.predictions()
    x = ((test_set.images[:200] / 255.0 - NORMALIZE[0][0]) / NORMALIZE[1][0]).astype(np.float32)
    np.testing.assert_array_equal(pred[:200], model(x).argmax(1))
    # the same predictions as the trainer's own evaluation of the test split
    metrics = run.metrics()
    assert (pred == labels).mean() == metrics["accuracy"] > 0.9
    np.testing.assert_array_equal(run.confusion_matrix(), metrics["confusion_matrix"])


def test_visualize_every_kind(run_dir, capsys, tmp_path, test_set):
    out = visualize(capsys, run_dir, "filters")
    assert out == str(run_dir / "viz" / "filters.png")
    read_png(out, min_size=(400, 250))
    read_png(visualize(capsys, run_dir, "filters", "--layer", "1"), min_size=(800, 300))
    out = visualize(capsys, run_dir, "features", "test:5")
    assert out.endswith("features-test5.png")
    read_png(out, min_size=(1000, 250))
    out = visualize(capsys, run_dir, "curves", "--out", tmp_path / "curves.svg")
    assert "<svg" in open(out, encoding="utf-8").read()
    read_png(visualize(capsys, run_dir, "confusion"), min_size=(700, 450))
    out = visualize(capsys, run_dir, "maximize", "--layer", "features.4", "--channels", "0-2,5", "--steps", "20")
    assert out.endswith("maximize-features.4.png")
    read_png(out, min_size=(400, 200))


def test_visualize_saliency_of_an_image_file(run_dir, capsys, tmp_path, test_set):
    from PIL import Image

    digit = test_set.images[3, 0]
    Image.fromarray(255 - digit).resize((56, 56)).save(tmp_path / "paper.png")  # dark ink on light paper, larger
    label = test_set.classes[test_set.labels[3]]
    out = visualize(capsys, run_dir, "saliency", tmp_path / "paper.png", "--target", label, "--out", tmp_path / "s.png")
    read_png(out, min_size=(900, 300))
    from glassnet.cli.visualize import load_input

    run = open_run(run_dir)
    for invert in ("auto", "yes"):  # auto: a light border on dark training data -> inverted back to light ink
        x, stem, _ = load_input(run, str(tmp_path / "paper.png"), invert)
        assert stem == "paper" and x.shape == (1, 28, 28) and x.dtype == np.float32
        assert x[0, 0, 0] == 0.0 and x.max() > 0.9
    x, _, _ = load_input(run, str(tmp_path / "paper.png"), "no")
    assert x[0, 0, 0] == 1.0


@pytest.mark.parametrize("argv, message", [
    (["nowhere", "filters"], "nowhere: no such run directory"),
    (["{run}", "maximize", "--channels", "a-b"], "--channels expects a list such as 0,3,5 or 0-7, got 'a-b'"),
    (["{run}", "saliency", "--target", "12"], "--target: class index must be in 0..9, got 12"),
    (["{run}", "features", "test:x"], "IMAGE test:N expects an integer N, got 'test:x'"),
    (["{run}", "saliency", "missing.png"], "missing.png: no such file"),
    (["{run}", "features", "test:5000"], "test image index 5000 out of range: the test set has 2000 images"),
    (["{run}", "filters", "--layer", "features.1"], "layer 'features.1' is a ReLU, not a convolution"),
    (["{run}", "curves", "--out", "x.pdf"], "expected png or svg, got 'pdf'"),
])
def test_visualize_errors_are_one_line(run_dir, capsys, argv, message):
    argv = [a.replace("{run}", str(run_dir)) for a in argv]
    assert main(["visualize", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("glassnet visualize: error:")


def test_curves_without_history(run_dir, capsys, tmp_path):
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare, ignore=shutil.ignore_patterns("history.json", "viz"))
    assert main(["visualize", str(bare), "curves"]) == 2
    assert "no history.json" in capsys.readouterr().err


def test_report_is_one_self_contained_page(run_dir, capsys, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(run_dir), "--out", str(out), "--images", "2", "--max-test", "300"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://|<script|<link|<iframe|url\(", page), "the page must load nothing from outside"
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 1 + 1 + 2 + 2 * 2  # curves, confusion, two conv layers' filters, 2 images x 2 pictures
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        read_png(base64.b64decode(src.split(",", 1)[1]), min_size=(300, 200))
    for text in ("glassnet-summary", "61,706", "Training curves", "Confusion matrix", "Kernels of features.0",
                 "Kernels of features.3", "Test image 1: class 0", "from the first 300 test images", "lenet5"):
        assert text in page, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # written atomically, nothing left over


def test_report_uses_the_evaluated_confusion_matrix(run_dir, capsys, tmp_path):
    import shutil

    d = tmp_path / "evaluated"
    shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("viz"))
    m = np.diag(np.full(10, 200))
    m[3, 5], m[3, 3] = 7, 193
    metrics = json.loads((d / "metrics.json").read_text())
    (d / "metrics.json").write_text(json.dumps(dict(metrics, confusion_matrix=m.tolist())))
    assert main(["report", str(d), "--images", "0"]) == 0
    page = (d / "report.html").read_text(encoding="utf-8")
    assert "99.65% on 2000 test images" in page and "metrics.json (glassnet evaluate)" in page
    assert page.count("<img ") == 4
    (d / "metrics.json").unlink()  # without it: computed on the whole test set
    assert main(["report", str(d), "--images", "0"]) == 0
    page = (d / "report.html").read_text(encoding="utf-8")
    assert "from the whole test set" in page and "99.65%" not in page
