"""``glassnet explore FILE.onnx``: an exported LeNet-5 loaded with glassnet.onnx.load gives the run's numbers.

The file is ``glassnet export`` of the session's LeNet-5 run, so its layers, weights, normalisation, class names
and data set are the run's: every endpoint must answer what the run's explorer (and the run's model) answers.
"""

import json

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from explore_helpers import explorer_of  # noqa: E402
from test_endpoints import get, model_input  # noqa: E402

from glassnet.cli import main  # noqa: E402
from glassnet.explore.arrays import decode  # noqa: E402
from glassnet.nn.module import no_grad  # noqa: E402


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and err.startswith("glassnet explore: error: "), err
    for needle in needles:
        assert needle in err, err


@pytest.fixture(scope="module")
def onnx_app(lenet_onnx):
    from glassnet.explore.server import App

    return App(explorer_of(lenet_onnx), "127.0.0.1", 8765)


def test_info_comes_from_the_file(onnx_app, app, lenet_onnx):
    info, run_info = get(onnx_app, "/api/info"), get(app, "/api/info")
    assert info["title"] == "lenet5.onnx" and info["model"] == "lenet5"
    assert info["input_size"] == [1, 28, 28] and info["can_draw"]
    assert info["classes"] == run_info["classes"] and info["test_images"] == run_info["test_images"] == 2000
    assert info["layers"] == run_info["layers"] and info["graph"]["totals"] == run_info["graph"]["totals"]
    assert info["graph"]["tree"]["type"] == "Sequential"          # the loader's containers, the run's LeNet5 ...
    assert info["graph"]["tree"]["children"] == run_info["graph"]["tree"]["children"]   # ... with the same layers
    assert info["epochs"] == [] and info["history"] is None
    assert onnx_app.explorer.source.normalize == app.explorer.source.normalize is not None


@pytest.mark.parametrize("spec", ["test:3", "test:11", "sample:noise"])
def test_activations_equal_the_glassnet_model(onnx_app, app, spec):
    """Every layer's activation from the .onnx explorer equals the run's model's (same input, same numbers)."""
    x = model_input(onnx_app, spec)
    assert np.array_equal(x, model_input(app, spec))
    model = app.explorer.source.model
    f = get(onnx_app, f"/api/forward?input={spec}")
    with no_grad():
        logits = model(x)[0]
        first = model.features[:3](x)[0]
    assert np.allclose(f["logits"], logits, rtol=1e-6, atol=1e-7) and f["pred"] == int(np.argmax(logits))
    assert np.array_equal(decode(get(onnx_app, f"/api/activation?input={spec}&layer=features.2")["array"]), first)
    for layer in get(app, "/api/info")["layers"]:
        q = f"/api/activation?input={spec}&layer={layer['name']}&count=1000"
        assert np.array_equal(decode(get(onnx_app, q)["array"]), decode(get(app, q)["array"])), layer["name"]


def test_backward_and_detail_equal_the_run(onnx_app, app):
    b, run_b = get(onnx_app, "/api/backward?input=test:5&target=3"), get(app, "/api/backward?input=test:5&target=3")
    assert b["loss"] == pytest.approx(run_b["loss"], rel=1e-6) and np.allclose(b["dlogits"], run_b["dlogits"])
    q = "/api/gradient?input=test:5&target=3&layer=features.0&count=1000"
    assert np.allclose(decode(get(onnx_app, q)["array"]), decode(get(app, q)["array"]), rtol=1e-6, atol=1e-9)
    q = "/api/detail?input=test:2&layer=features.3&c=7&y=4&x=5"
    assert get(onnx_app, q)["value"] == pytest.approx(get(app, q)["value"], rel=1e-6)


def test_a_file_without_metadata(tmp_path, capsys):
    import glassnet.onnx as gx
    from glassnet.models import lenet5

    bare = gx.export(lenet5().eval(), tmp_path / "bare.onnx")
    src = explorer_of(bare).source
    assert "states no input normalisation" in capsys.readouterr().err
    assert src.normalize is None and src.test_set is None and src.class_names == [str(i) for i in range(10)]
    assert src.model_name == "bare" and src.input_size == (1, 28, 28) and src.default_input() == "sample:noise"
    src = explorer_of(bare, "--mean", "0.5", "--std", "0.25", "--dataset", "mnist-subset").source
    assert src.normalize == ((0.5,), (0.25,)) and len(src.test_set) == 2000
    raw, _, _ = src.image("test:0")
    assert np.allclose(src.model_input(raw, np.float32)[0], (raw - 0.5) / 0.25, atol=1e-6)


def test_export_of_an_onnx_file(lenet_onnx, tmp_path):
    out = tmp_path / "onnx.html"
    assert main(["explore", str(lenet_onnx), "--export", str(out), "--inputs", "test:0"]) == 0
    table = json.loads(out.read_text().split('id="glassnet-export">', 1)[1].split("</script>", 1)[0])
    assert table["inputs"] and "lenet5" in out.read_text()


def test_cli_errors(lenet_run, lenet_onnx, tmp_path, capsys):
    assert main(["explore", "--model", str(lenet_onnx), "--no-browser"]) == 2
    one_line_error(capsys, "--model takes a model name", f"glassnet explore {lenet_onnx}")
    assert main(["explore", "--model", "lenet5", "--weights", str(lenet_onnx), "--no-browser"]) == 2
    one_line_error(capsys, "carries its own architecture", f"glassnet explore {lenet_onnx}")
    assert main(["explore", str(lenet_run), "--mean", "0.5", "--no-browser"]) == 2
    one_line_error(capsys, "--mean", "only for an .onnx file")
    assert main(["explore", str(lenet_onnx), "--weights", "w.safetensors", "--no-browser"]) == 2
    one_line_error(capsys, "--weights goes with --model")
    assert main(["explore", str(tmp_path / "missing.onnx"), "--no-browser"]) == 2
    one_line_error(capsys, "missing.onnx", "no such file")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(lenet_onnx.read_bytes()[:1000])
    assert main(["explore", str(broken), "--no-browser"]) == 2
    one_line_error(capsys, "broken.onnx", "not an ONNX model")
    assert main(["explore", str(lenet_onnx), "--mean", "0.1,0.2", "--no-browser"]) == 2
    one_line_error(capsys, "--mean", "1 input channels")
    assert main(["explore", str(lenet_onnx), "--dataset", "cifar10", "--data-dir", str(tmp_path), "--no-browser"]) == 2
    one_line_error(capsys, "--data-dir")

