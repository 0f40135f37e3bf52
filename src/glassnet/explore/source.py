"""What the explorer is started on: a run directory, a model by name (optionally with weights), or any module
(an ONNX file's, see ``cli/explore.py``).

:class:`Source` gives the model (per epoch when the run kept per-epoch weights), its input size,
class names and normalisation, the test split when there is one, and turns an *input spec* into an
image:

* ``test:N``: the N-th test image of the run's data set;
* ``upload:ID``: an image uploaded to this server (held in memory, see :mod:`.images`);
* ``sample:noise`` / ``sample:zeros``: for a model without a data set.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import backend
from ..data import get_dataset
from ..io import load_model_weights
from ..models import get_model
from ..nn.module import no_grad
from ..train.config import NORMALIZATION
from ..train.run import _load_config, build_model
from ..viz.run import open_run
from .epochs import epoch_file, saved_epochs
from .images import decode

MAX_UPLOADS = 32
_SPEC = re.compile(r"^(test:\d{1,9}|upload:[0-9a-f]{16}|sample:(noise|zeros))$")


@dataclass
class Source:
    title: str
    model_name: str
    model: object
    input_size: tuple
    class_names: list
    normalize: tuple | None
    run_dir: Path | None = None
    test_set: object = None
    epochs: list = field(default_factory=list)
    history: dict | None = None
    _models: OrderedDict = field(default_factory=OrderedDict, repr=False)
    uploads: OrderedDict = field(default_factory=OrderedDict, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_run(cls, run_dir) -> Source:

        run = open_run(run_dir)
        history = run.history()
        try:
            test = run.test_set()
        except (ValueError, OSError):
            test = None
        return cls(run.name, run.model_name, run.model, run.input_size, run.class_names, run.normalize,
                   run.path, test, saved_epochs(run.path), history)

    @classmethod
    def from_model(cls, name: str, weights=None, dataset: str | None = None, num_classes: int | None = None,
                   data_dir=None):
        """A zoo model by name: untrained (seed 0) or with ``weights``; ``dataset`` offers its test split (files in
        ``data_dir``, default the data set's own directory)."""

        test = get_dataset(dataset, root=data_dir, train=False) if dataset else None
        kwargs = {}
        if num_classes or test is not None:
            kwargs["num_classes"] = num_classes or len(test.classes)
        backend.manual_seed(0)
        model = get_model(name, **kwargs)
        if weights is not None:

            load_model_weights(model, weights)
        title = f"{name}" + (f" ({Path(weights).name})" if weights else " (untrained)")
        return cls.from_module(model, test_set=test, normalize=NORMALIZATION.get(dataset) if dataset else None,
                               title=title, model_name=name)

    @classmethod
    def from_module(cls, model, input_size=None, test_set=None, class_names=None, normalize=None,
                    title: str | None = None, model_name: str | None = None):
        """Any glassnet model (built in Python, not from a run) that maps (1, C, H, W) to class scores (1, K).

        ``input_size`` (C, H, W) defaults to the test set's image shape or the model's ``input_size``;
        ``normalize`` is (mean, std) per channel, applied to pixels in [0, 1] (None: fed as they are).
        """

        model.eval()
        if input_size is None:
            input_size = test_set.images.shape[1:] if test_set is not None else getattr(model, "input_size", None)
        if input_size is None or len(input_size) != 3:
            raise ValueError(f"{type(model).__name__}: give input_size (C, H, W), e.g. (1, 28, 28)")
        size = tuple(int(v) for v in input_size)
        with no_grad():
            out = model(np.zeros((1, *size), model.dtype))
        if np.ndim(out) != 2:
            raise ValueError(f"{type(model).__name__}: expected class scores (1, K) for one input, got {np.shape(out)}")
        k = int(np.shape(out)[-1])
        if class_names is None:
            class_names = [str(c) for c in test_set.classes] if test_set is not None else [str(i) for i in range(k)]
        if len(class_names) != k:
            raise ValueError(f"{len(class_names)} class names for a model with {k} outputs")
        name = model_name or type(model).__name__
        norm = None if normalize is None else (tuple(normalize[0]), tuple(normalize[1]))
        return cls(title or name, name, model, size, [str(c) for c in class_names], norm, None, test_set)

    # ------------------------------------------------------------------ models
    def model_at(self, epoch):
        """The final model (``epoch`` None) or the model after epoch ``epoch`` (kept weights); two cached."""
        if epoch is None:
            return self.model
        if epoch not in self.epochs:
            raise ValueError(f"epoch {epoch} has no kept weights; epochs with weights: "
                             f"{', '.join(map(str, self.epochs)) or 'none'}")
        if epoch not in self._models:

            model = build_model(_load_config(self.run_dir))
            load_model_weights(model, epoch_file(self.run_dir, epoch))
            self._models[epoch] = model.eval()
            while len(self._models) > 2:
                self._models.popitem(last=False)
        self._models.move_to_end(epoch)
        return self._models[epoch]

    # ------------------------------------------------------------------ inputs
    def default_input(self) -> str:
        return "test:0" if self.test_set is not None else "sample:noise"

    def add_upload(self, data: bytes, kind: str) -> str:
        """Decode an upload (raises :class:`.images.ImageError`) and return its input spec."""

        mean = self.normalize[0] if self.normalize is not None else (0.0,)
        raw, steps = decode(data, self.input_size, kind, mean)
        key = hashlib.sha256(kind.encode() + b"\0" + data).hexdigest()[:16]
        self.uploads[key] = (raw, [f"uploaded {kind}", *steps])
        while len(self.uploads) > MAX_UPLOADS:
            self.uploads.popitem(last=False)
        return f"upload:{key}"

    def image(self, spec: str):
        """(raw pixels (C, H, W) float32 in [0, 1], true label or None, preprocessing steps) of an input spec."""
        if not isinstance(spec, str) or not _SPEC.match(spec):
            raise ValueError(f"input must be test:N, upload:ID or sample:noise, got {spec!r}")
        kind, _, arg = spec.partition(":")
        if kind == "test":
            if self.test_set is None:
                raise ValueError("this explorer has no test set (start it on a run directory, or give --dataset)")
            n = len(self.test_set)
            i = int(arg)
            if i >= n:
                raise ValueError(f"test image {i} out of range: the test set has {n} images")
            img = self.test_set.images[i]
            raw = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
            return raw, int(self.test_set.labels[i]), [f"test image {i} of the data set", "pixels / 255 -> [0, 1]"]
        if kind == "upload":
            if arg not in self.uploads:
                raise ValueError("that upload is no longer held by the server; upload it again")
            raw, steps = self.uploads[arg]
            return raw, None, list(steps)
        c, h, w = self.input_size
        if arg == "zeros":
            return np.zeros((c, h, w), np.float32), None, ["all zeros"]
        rng = np.random.default_rng(0)
        return rng.random((c, h, w), dtype=np.float32), None, ["uniform noise in [0, 1] (seed 0)"]

    def model_input(self, raw: np.ndarray, dtype) -> tuple[np.ndarray, list]:
        """(x (1, C, H, W), the normalisation step) from raw pixels."""
        if self.normalize is None:
            return raw[None].astype(dtype), ["fed as it is (no normalisation)"]
        mean, std = (np.asarray(v, np.float64).reshape(-1, 1, 1) for v in self.normalize)
        x = (raw.astype(np.float64) - mean) / std
        text = ", ".join(f"{m:g}/{s:g}" for m, s in zip(self.normalize[0], self.normalize[1], strict=True))
        return x[None].astype(dtype), [f"normalised (x - mean) / std per channel, mean/std = {text}"]
