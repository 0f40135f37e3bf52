"""Run directories: what fit() writes, resume after an interruption, load_run, and inputs refused early."""

from __future__ import annotations

import json

import numpy as np
import pytest
from train_helpers import _keep_rng, tiny_mnist_fixture  # noqa: F401 (fixtures)

from glassnet import runs
from glassnet.io import load_weights
from glassnet.train import RunError, TrainConfig, TrainingInterrupted, fit, load_run, resume
from glassnet.train.run import default_run_dir
from glassnet.viz import write_curves


def tiny_config(root, **kw):
    base = dict(dataset="mnist", data_root=str(root), epochs=2, batch_size=32, lr=0.005)
    return TrainConfig(**{**base, **kw})


class StopAt:
    def __init__(self, epoch, step):
        self.epoch, self.step = epoch, step

    def on_batch_end(self, trainer, step, logs):
        if trainer.epoch == self.epoch and step == self.step:
            raise KeyboardInterrupt


def test_fit_writes_the_run_directory(tiny_mnist, tmp_path):
    lines = []
    run = tmp_path / "run"
    result = fit(tiny_config(tiny_mnist), run, log=lines.append, progress=False)
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoint", "config.json", "history.json", "metrics.json", "model.safetensors", "timing.json"]
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "lenet5" and config["input_shape"] == [1, 28, 28] and config["num_classes"] == 10
    assert config["mean"] == [0.1307] and config["std"] == [0.3081] and config["seed"] == 0
    history = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == [1, 2] and history["completed"]
    assert all("seconds" not in r for r in history["epochs"])  # wall clock: in timing.json, see test_faults
    assert runs.read_history(run)["epochs"] == result.history
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n"] == 100
    assert np.sum(metrics["confusion_matrix"]) == 100
    assert metrics["accuracy"] == np.trace(metrics["confusion_matrix"]) / 100
    write_curves(run)  # drawn by the command line (above train and viz), see tests/cli
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert lines[0].startswith("epoch 1/2  train loss") and lines[-2].startswith("test accuracy: ")
    weights = load_weights(run / "model.safetensors")
    assert list(weights) == ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
                             "classifier.0.weight", "classifier.0.bias", "classifier.2.weight",
                             "classifier.2.bias", "classifier.4.weight", "classifier.4.bias"]
    # 288 training images (10% of 320 held out), 9 batches of 32: training moved the weights
    assert result.metrics["accuracy"] > 0.3


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tiny_mnist, tmp_path):
    fit(tiny_config(tiny_mnist), tmp_path / "whole", progress=False)
    with pytest.raises(TrainingInterrupted) as info:
        fit(tiny_config(tiny_mnist), tmp_path / "cut", progress=False, callbacks=[StopAt(1, 3)])
    assert info.value.checkpoint == tmp_path / "cut" / "checkpoint"
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    assert len(json.loads((tmp_path / "cut" / "history.json").read_text())["epochs"]) == 1
    lines = []
    resume(tmp_path / "cut", progress=False, log=lines.append)
    assert lines[0] == f"resuming {tmp_path / 'cut'} at epoch 2, batch 4 of 9"
    a, b = load_weights(tmp_path / "whole" / "model.safetensors"), load_weights(tmp_path / "cut" / "model.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    ha, hb = (json.loads((tmp_path / d / "history.json").read_text())["epochs"] for d in ("whole", "cut"))
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in h] for h in (ha, hb)]
    assert strip[0] == strip[1]


def test_load_run_gives_the_trained_model(tiny_mnist, tmp_path):
    fit(tiny_config(tiny_mnist, epochs=1), tmp_path / "run", progress=False)
    model, config = load_run(tmp_path / "run")
    assert isinstance(config, TrainConfig) and config.dataset == "mnist"
    assert not any(m.training for m in model.modules())
    saved = load_weights(tmp_path / "run" / "model.safetensors")
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, saved[k])


def test_weights_load_in_pytorch_and_agree(tiny_mnist, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    fit(tiny_config(tiny_mnist, epochs=1), tmp_path / "run", progress=False)
    model, config = load_run(tmp_path / "run")
    tn = torch.nn
    net = tn.Sequential()
    net.add_module("features", tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                                             tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2)))
    net.add_module("flatten", tn.Flatten())
    net.add_module("classifier", tn.Sequential(tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
                                               tn.Linear(84, 10)))
    net.load_state_dict(load_file(str(tmp_path / "run" / "model.safetensors")))  # strict: every key matches
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(x), expected, rtol=1e-4, atol=1e-5)


def test_load_run_errors_say_what_to_do(tiny_mnist, tmp_path):
    with pytest.raises(RunError, match="no such run directory"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match=r"no config\.json.*glassnet train --out"):
        load_run(tmp_path / "empty")
    with pytest.raises(TrainingInterrupted):
        fit(tiny_config(tiny_mnist), tmp_path / "cut", progress=False, callbacks=[StopAt(0, 1)])
    with pytest.raises(RunError, match=r"no model\.safetensors .*glassnet train --resume"):
        load_run(tmp_path / "cut")
    fit(tiny_config(tiny_mnist, epochs=1), tmp_path / "run", progress=False)
    weights = tmp_path / "run" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(RunError, match=r"model\.safetensors: truncated"):
        load_run(tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    config["num_classes"] = 5
    config["class_names"] = config["class_names"][:5]
    (tmp_path / "run" / "config.json").write_text(json.dumps(config))
    fit(tiny_config(tiny_mnist, epochs=1), tmp_path / "run2", progress=False)
    weights.write_bytes((tmp_path / "run2" / "model.safetensors").read_bytes())
    with pytest.raises(RunError, match=r"model\.safetensors: weights do not fit .*classifier\.4\.weight"):
        load_run(tmp_path / "run")


@pytest.mark.parametrize("kw, message", [
    ({"model": "lenet6"}, "unknown model 'lenet6'"),
    ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
    ({"model": "resnet20"}, "model resnet20 .*cannot take the mnist images"),
    ({"model_args": {"depth": 3}}, "model lenet5: .*depth"),
])
def test_bad_inputs_fail_before_anything_is_written(tiny_mnist, tmp_path, kw, message):
    with pytest.raises(ValueError, match=message):
        fit(tiny_config(tiny_mnist, **kw), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_missing_data_files_fail_before_anything_is_written(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\.gz.* not found in"):
        fit(tiny_config(tmp_path / "no-data"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_used_run_directory_is_refused(tiny_mnist, tmp_path):
    fit(tiny_config(tiny_mnist, epochs=1), tmp_path / "run", progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()}
    with pytest.raises(RunError, match=r"already holds a run; .*--resume"):
        fit(tiny_config(tiny_mnist, epochs=1), tmp_path / "run", progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()} == before
    with pytest.raises(RunError, match="no checkpoint to resume from"):
        (tmp_path / "run" / "checkpoint" / "state.json").unlink()
        resume(tmp_path / "run")


def test_default_run_dir_is_unique(tmp_path):
    first = default_run_dir(TrainConfig(), base=tmp_path)
    assert first.name.startswith("lenet5-mnist-subset-")
    first.mkdir()
    assert default_run_dir(TrainConfig(), base=tmp_path) != first
