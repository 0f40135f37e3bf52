"""TrainConfig: defaults, checks with the field named, JSON round trip, resolution from a data set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glassnet.data import ArrayDataset, load_mnist_subset
from glassnet.io import GlassnetIOError
from glassnet.train import TrainConfig


def test_defaults_describe_lenet5_on_the_shipped_subset():
    c = TrainConfig()
    assert (c.model, c.dataset, c.optimizer, c.schedule, c.augment) == ("lenet5", "mnist-subset", "adam",
                                                                       "onecycle", "crop")
    assert not c.resolved


@pytest.mark.parametrize("kwargs, field", [
    ({"epochs": 0}, "epochs"), ({"epochs": 2.5}, "epochs"), ({"batch_size": True}, "batch_size"),
    ({"lr": 0}, "lr"), ({"lr": float("nan")}, "lr"), ({"val_split": 1.0}, "val_split"),
    ({"optimizer": "adagrad"}, "optimizer"), ({"schedule": "linear"}, "schedule"), ({"augment": "rotate"}, "augment"),
    ({"seed": -1}, "seed"), ({"model": ""}, "model"), ({"model_args": [1]}, "model_args"),
    ({"input_shape": [1, 28]}, "input_shape"), ({"std": [0.0]}, "std"), ({"monitor": "loss"}, "monitor"),
])
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"TrainConfig: {field} must be"):
        TrainConfig(**kwargs)


def test_early_stopping_needs_a_validation_split():
    with pytest.raises(ValueError, match="early_stopping needs a validation split"):
        TrainConfig(early_stopping=2, val_split=0)


def test_resolve_from_the_subset_uses_the_mnist_constants():
    c = TrainConfig().resolve(load_mnist_subset(train=True))
    assert c.resolved
    assert (c.num_classes, c.input_shape, c.mean, c.std) == (10, [1, 28, 28], [0.1307], [0.3081])
    assert c.class_names == [str(i) for i in range(10)]


def test_resolve_measures_an_unknown_data_set():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 3, 4, 4), dtype=np.uint8)
    c = TrainConfig(dataset="my-data").resolve(ArrayDataset(images, np.arange(50) % 4, classes="abcd"))
    pixels = images.transpose(1, 0, 2, 3).reshape(3, -1) / 255.0
    np.testing.assert_allclose(c.mean, pixels.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(c.std, pixels.std(axis=1), rtol=1e-12)
    assert (c.num_classes, c.input_shape, c.class_names) == (4, [3, 4, 4], ["a", "b", "c", "d"])


def test_json_round_trip_and_mapping_view(tmp_path):
    c = TrainConfig(epochs=3, lr=0.002, model_args={"width": 0.5}).resolve(load_mnist_subset(train=False))
    c.save(tmp_path / "config.json")
    raw = json.loads((tmp_path / "config.json").read_text())
    assert raw["format"] == "glassnet-run/1" and raw["mean"] == [0.1307] and raw["model_args"] == {"width": 0.5}
    assert TrainConfig.load(tmp_path / "config.json") == c
    assert dict(c) == raw and c["input_shape"] == [1, 28, 28]


def test_bad_files_are_named(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"model": "lenet5", "epochs": ')
    with pytest.raises(GlassnetIOError, match=r"config\.json: corrupt JSON"):
        TrainConfig.load(path)
    path.write_text(json.dumps({"model": "lenet5", "epocs": 3}))
    with pytest.raises(ValueError, match=r"config\.json: unknown entries \['epocs'\]"):
        TrainConfig.load(path)
    path.write_text(json.dumps({"epochs": -3}))
    with pytest.raises(ValueError, match=r"config\.json: TrainConfig: epochs must be a positive int, got -3"):
        TrainConfig.load(path)
    path.write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(ValueError, match=r"config\.json: format 'other/9'"):
        TrainConfig.load(path)
    with pytest.raises(GlassnetIOError, match="missing.json"):
        TrainConfig.load(tmp_path / "missing.json")
