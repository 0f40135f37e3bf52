"""A training run directory, as the pictures and the report read it.

``glassnet train`` writes a run directory::

    model.safetensors   the weights (PyTorch key names)
    config.json         the run's TrainConfig: model, model_args, dataset, data_root, num_classes,
                        input_shape, class_names, mean, std (normalisation), optimizer, ...
    history.json        {"epochs": [{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}]}
    curves.png          the training curves
    metrics.json        test-split evaluation (also written by ``glassnet evaluate``): accuracy, loss,
                        per_class_accuracy, confusion_matrix, ...

The model and its configuration are loaded by :func:`glassnet.train.load_run`.
:class:`Run` adds what the pictures need: the normalisation, the class names,
the test split of the run's dataset, and the predictions on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..nn.module import no_grad


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: corrupt JSON ({e})") from e


@dataclass
class Run:
    """A loaded run: ``model`` (evaluation mode), ``config`` and the directory ``path``."""

    path: Path
    model: object
    config: dict
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def model_name(self) -> str:
        return str(self.config.get("model", type(self.model).__name__))

    @property
    def normalize(self):
        """(mean, std) per channel from the config, or None when the run fed raw pixels in [0, 1]."""
        mean, std = self.config.get("mean"), self.config.get("std")
        return None if mean is None or std is None else (tuple(mean), tuple(std))

    @property
    def input_size(self) -> tuple[int, int, int]:
        size = self.config.get("input_shape") or getattr(self.model, "input_size", None)
        if size is None:
            raise ValueError(f"{self.path}: config.json gives no input_shape and {self.model_name} has no input_size")
        return tuple(int(s) for s in size)

    @property
    def dataset_name(self):
        return self.config.get("dataset")

    @property
    def class_names(self) -> list[str]:
        names = self.config.get("class_names")
        return [str(n) for n in (names if names is not None else self.test_set().classes)]

    def history(self):
        """The per-epoch records of ``history.json``, or None when there is none."""
        return _read_json(self.path / "history.json")

    def metrics(self):
        """``metrics.json`` (from ``glassnet evaluate``), or None."""
        return _read_json(self.path / "metrics.json")

    def test_set(self):
        """The test split of the run's dataset (``data_root`` from the config when it names one)."""
        if "test" not in self._cache:
            from ..data import get_dataset

            name = self.dataset_name
            if name is None:
                raise ValueError(f"{self.path}: config.json names no dataset")
            self._cache["test"] = get_dataset(name, root=self.config.get("data_root"), train=False)
        return self._cache["test"]

    def test_image(self, index: int):
        """(image, label) of the test split."""
        ds = self.test_set()
        if not -len(ds) <= index < len(ds):
            raise ValueError(f"test image index {index} out of range: the test set has {len(ds)} images")
        return ds.images[index], int(ds.labels[index])

    def predictions(self, limit: int | None = None, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """(labels, predicted classes) on the first ``limit`` test images (all by default)."""
        key = ("pred", limit)
        if key not in self._cache:
            ds = self.test_set()
            n = len(ds) if limit is None else min(limit, len(ds))
            self._cache[key] = ds.labels[:n], predict(self.model, ds.images[:n], self.normalize, batch_size)
        return self._cache[key]

    def confusion_matrix(self) -> np.ndarray:
        """From ``metrics.json`` when it holds one for this model's classes, else computed on the test set."""
        k = len(self.class_names)
        m = (self.metrics() or {}).get("confusion_matrix")
        if m is not None and np.shape(m) == (k, k):
            return np.asarray(m, np.int64)
        from .evaluation import confusion_matrix

        labels, pred = self.predictions()
        return confusion_matrix(labels, pred, k)


def predict(model, images, normalize=None, batch_size: int = 500) -> np.ndarray:
    """Predicted classes for raw images (N, C, H, W) (uint8, or floats in [0, 1]), in evaluation mode."""
    images = np.asarray(images)
    if normalize is not None:
        mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in normalize)
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    out = []
    try:
        with no_grad():
            for i in range(0, len(images), batch_size):
                x = images[i:i + batch_size].astype(np.float32)
                if images.dtype == np.uint8:
                    x /= 255.0
                if normalize is not None:
                    x = (x - mean) / std
                out.append(np.argmax(model(x.astype(model.dtype, copy=False)), axis=1))
    finally:
        for m, flag in flags:
            object.__setattr__(m, "training", flag)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def open_run(run_dir) -> Run:
    """Load a run directory with :func:`glassnet.train.load_run` (errors name the directory and what to do)."""
    from ..train import load_run

    path = Path(run_dir)
    model, config = load_run(path)
    return Run(path, model.eval(), dict(config))
