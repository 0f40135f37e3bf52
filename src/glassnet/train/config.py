"""The hyper-parameters of a training run: one object, saved as ``config.json`` beside the weights.

:class:`TrainConfig` holds what the user chooses (model, data set, epochs,
batch size, optimizer, learning rate and schedule, seed, ...) and, once
:meth:`TrainConfig.resolve` has looked at the data set, what follows from it
(number of classes, input shape, class names, normalisation mean and std).
A resolved config is everything needed to rebuild the model and feed it
images the way it was trained: :func:`glassnet.train.load_run` and
``glassnet predict`` read nothing else.

>>> c = TrainConfig(epochs=2, lr=0.003)
>>> c.model, c.dataset, c.optimizer, c.schedule, c.batch_size
('lenet5', 'mnist-subset', 'adam', 'onecycle', 64)
>>> TrainConfig.from_dict(c.to_dict()) == c
True
>>> TrainConfig(optimizer="adagrad")
Traceback (most recent call last):
...
ValueError: TrainConfig: optimizer must be one of adam, adamw, sgd, rmsprop, got 'adagrad'
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field

from ..backend import host as np  # host arrays: files, data sets, metrics (the array library is the backend's)
from ..io import load_json, save_json

FORMAT = "glassnet-run/1"
"""The ``format`` entry of every ``config.json`` this version writes."""

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
MONITORS = ("val_loss", "val_acc")
AUGMENTATIONS = ("none", "crop", "crop-flip")

NORMALIZATION = {
    "mnist-subset": ((0.1307,), (0.3081,)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
"""Per-channel (mean, std) of each known training set, pixels in [0, 1]; others are measured."""


@dataclass
class TrainConfig:
    """Hyper-parameters of one run (defaults: LeNet-5 on the shipped MNIST subset, Adam + one-cycle).

    Chosen by the user:
        model, model_args: name for :func:`glassnet.models.get_model` and extra keyword arguments.
        dataset, data_root: name for :func:`glassnet.data.get_dataset` and the directory of its files
            (``None``: the default cache; the shipped ``mnist-subset`` takes none).
        epochs, batch_size: passes over the training split; images per step.
        optimizer: ``adam``, ``adamw``, ``sgd`` (with ``momentum``) or ``rmsprop``.
        lr: the learning rate; with ``schedule="onecycle"`` it is the peak rate ``max_lr``.
        weight_decay, momentum: optimizer options (momentum: SGD and RMSprop only).
        schedule: ``onecycle`` (per step, Smith & Topin), ``cosine`` (per epoch, to 0 at the
            last epoch), ``step`` (times ``lr_gamma`` every ``lr_step`` epochs) or ``constant``.
        augment: training-batch augmentation: ``crop`` (pad 2 pixels, cut a random window of the
            original size), ``crop-flip`` (pad 4, random crop, random horizontal flip: CIFAR's usual) or ``none``.
        val_split: fraction of the training split held out (seeded) for validation; 0: none.
        early_stopping: patience in epochs (0: off), on ``monitor`` (``val_loss`` or ``val_acc``).
        seed: seeds initialisation, the validation split, the batch order and dropout.
        checkpoint_every: also checkpoint every this many steps inside an epoch (0: at epoch ends only).

    Filled by :meth:`resolve` from the data set (``None`` until then):
        num_classes, input_shape [C, H, W], class_names, mean and std (per channel).
    """

    model: str = "lenet5"
    model_args: dict = field(default_factory=dict)
    dataset: str = "mnist-subset"
    data_root: str | None = None
    epochs: int = 6
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 0.01
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "onecycle"
    lr_step: int = 1
    lr_gamma: float = 0.1
    augment: str = "crop"
    val_split: float = 0.1
    early_stopping: int = 0
    monitor: str = "val_loss"
    seed: int = 0
    checkpoint_every: int = 0
    num_classes: int | None = None
    input_shape: list | None = None
    class_names: list | None = None
    mean: list | None = None
    std: list | None = None

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that is out of range or of the wrong type."""

        def bad(name, expected):
            raise ValueError(f"TrainConfig: {name} must be {expected}, got {getattr(self, name)!r}")

        def is_int(v):
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v):
            return (is_int(v) or isinstance(v, float)) and math.isfinite(v)

        for name in ("model", "dataset"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                bad(name, "a non-empty string")
        if not isinstance(self.model_args, dict) or not all(isinstance(k, str) for k in self.model_args):
            bad("model_args", "a dict of keyword arguments")
        if self.data_root is not None and not isinstance(self.data_root, str):
            bad("data_root", "a directory path (str) or None")
        for name in ("epochs", "batch_size", "lr_step"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                bad(name, "a positive int")
        for name in ("early_stopping", "seed", "checkpoint_every"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 0:
                bad(name, "a non-negative int")
        if not is_num(self.lr) or self.lr <= 0:
            bad("lr", "a positive number")
        for name in ("weight_decay", "momentum", "lr_gamma"):
            if not is_num(getattr(self, name)) or getattr(self, name) < 0:
                bad(name, "a non-negative number")
        if not is_num(self.val_split) or not 0 <= self.val_split < 1:
            bad("val_split", "a fraction in [0, 1)")
        for name, allowed in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("monitor", MONITORS),
                              ("augment", AUGMENTATIONS)):
            if getattr(self, name) not in allowed:
                bad(name, f"one of {', '.join(allowed)}")
        if self.early_stopping and self.val_split == 0:
            raise ValueError("TrainConfig: early_stopping needs a validation split (val_split > 0)")
        if self.num_classes is not None and (not is_int(self.num_classes) or self.num_classes < 1):
            bad("num_classes", "a positive int")
        if self.input_shape is not None and (
            not isinstance(self.input_shape, list) or len(self.input_shape) != 3
            or not all(is_int(s) and s > 0 for s in self.input_shape)
        ):
            bad("input_shape", "a list [C, H, W] of positive ints")
        if self.class_names is not None and (
            not isinstance(self.class_names, list) or not all(isinstance(c, str) for c in self.class_names)
        ):
            bad("class_names", "a list of strings")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, list) or not v or not all(is_num(x) for x in v)):
                bad(name, "a non-empty list of numbers (one per channel)")
        if self.std is not None and any(s <= 0 for s in self.std):
            bad("std", "positive")

    @property
    def resolved(self) -> bool:
        """True once the data-set fields (classes, shape, normalisation) are filled."""
        return None not in (self.num_classes, self.input_shape, self.class_names, self.mean, self.std)

    def resolve(self, train_set) -> TrainConfig:
        """Fill the data-set fields from ``train_set`` (images (N, C, H, W), classes); return ``self``.

        The normalisation is the known constant of the data set (:data:`NORMALIZATION`),
        else the per-channel mean and std of ``train_set``'s pixels scaled to [0, 1].
        """
        images = train_set.images
        self.num_classes = len(train_set.classes)
        self.input_shape = [int(s) for s in images.shape[1:]]
        self.class_names = [str(c) for c in train_set.classes]
        if self.dataset in NORMALIZATION:
            mean, std = NORMALIZATION[self.dataset]
        else:
            scale = 255.0 if images.dtype == np.uint8 else 1.0
            mean = images.mean(axis=(0, 2, 3), dtype=np.float64) / scale
            std = images.std(axis=(0, 2, 3), dtype=np.float64) / scale
        self.mean = [float(m) for m in mean]
        self.std = [float(s) if s > 0 else 1.0 for s in std]
        self.validate()
        return self

    # ------------------------------------------------------------------ read as a mapping
    def keys(self):
        """The entry names of :meth:`to_dict`, so that ``dict(config)`` and ``config["mean"]`` work."""
        return self.to_dict().keys()

    def __getitem__(self, key):
        return self.to_dict()[key]

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        """Plain JSON-able data, with ``"format"`` first."""
        return {"format": FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> TrainConfig:
        """Build from :meth:`to_dict` output; unknown or ill-typed entries raise ``ValueError`` naming ``source``."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object of hyper-parameters, got {type(data).__name__}")
        data = dict(data)
        fmt = data.pop("format", FORMAT)
        if fmt != FORMAT:
            raise ValueError(f"{source}: format {fmt!r} is not one this glassnet reads ({FORMAT!r})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown entries {unknown}; known: {sorted(known)}")
        try:
            return cls(**data)
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None

    def save(self, path) -> None:
        """Write ``config.json`` atomically (:func:`glassnet.io.save_json`)."""
        save_json(path, self.to_dict())

    @classmethod
    def load(cls, path) -> TrainConfig:
        """Read a ``config.json``; a missing, corrupt or invalid file raises an error naming it."""
        return cls.from_dict(load_json(path), source=os.fspath(path))
