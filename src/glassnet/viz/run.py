"""A training run directory, as the pictures and the report read it.

The files and their layout belong to :mod:`glassnet.runs`; the model and its
configuration are loaded by :func:`glassnet.train.load_run`. :class:`Run`
adds what the pictures need: the normalisation, the class names, the test
split of the run's dataset, and the predictions on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import runs
from ..data import ArrayDataset, DataLoader, Normalize, get_dataset
from ..train.metrics import confusion_matrix, evaluate
from ..train.run import load_run


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
        """``history.json`` (with each epoch's seconds from ``timing.json``), or None when there is none."""
        return runs.read_history(self.path)

    def metrics(self):
        """``metrics.json`` (from ``glassnet evaluate``), or None."""
        return runs.read_metrics(self.path)

    def test_set(self):
        """The test split of the run's dataset (``data_root`` from the config when it names one)."""
        if "test" not in self._cache:
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

    def predictions(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(labels, predicted classes) on the first ``limit`` test images (all by default).

        Computed as ``glassnet evaluate`` does: the run's normalisation, batches of
        :data:`glassnet.runs.EVAL_BATCH`, :func:`glassnet.train.metrics.evaluate`.
        """
        key = ("pred", limit)
        if key not in self._cache:
            ds = self.test_set()
            if limit is not None and limit < len(ds):
                ds = ArrayDataset(ds.images[:limit], ds.labels[:limit], ds.classes)
            norm = Normalize(*self.normalize) if self.normalize is not None else None
            r = evaluate(self.model, DataLoader(ds, batch_size=runs.EVAL_BATCH, transform=norm))
            self._cache[key] = r["targets"], r["pred"]
        return self._cache[key]

    def confusion_matrix(self) -> np.ndarray:
        """From ``metrics.json`` when it holds one for this model's classes, else computed on the test set."""
        k = len(self.class_names)
        m = (self.metrics() or {}).get("confusion_matrix")
        if m is not None and np.shape(m) == (k, k):
            return np.asarray(m, np.int64)
        labels, pred = self.predictions()
        return confusion_matrix(labels, pred, k)


def open_run(run_dir, allow_nonfinite: bool = False) -> Run:
    """Load a run directory with :func:`glassnet.train.load_run` (errors name the directory and what to do)."""
    path = Path(run_dir)
    model, config = load_run(path, allow_nonfinite=allow_nonfinite)
    return Run(path, model.eval(), dict(config))
