"""Mini-batches from an in-memory dataset, fast and reproducible.

Each batch is gathered with one fancy-indexing operation on the dataset's
uint8 array, scaled to [0, 1] in one vectorised step
(``x = images[idx] / 255``, the same as torchvision's ``ToTensor``), then the
batch transform is applied to the whole array.

Order: the epoch's permutation is a pure function of ``(seed, epoch)``
(``numpy.random.SeedSequence([seed, epoch])``), and so is the generator handed
to random transforms. ``set_epoch(e)`` therefore reproduces epoch ``e`` exactly,
which is what a resumed run needs. Each ``for`` loop over the loader uses the
current epoch and then advances it by one.

>>> import numpy as np
>>> from glassnet.data.dataset import ArrayDataset
>>> ds = ArrayDataset(np.arange(10 * 4, dtype=np.uint8).reshape(10, 1, 2, 2), np.arange(10) % 3)
>>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
>>> len(loader), [x.shape[0] for x, _ in loader]
(3, [4, 4, 2])
>>> x, y = next(iter(loader))
>>> x.dtype, y.dtype, float(x.max()) <= 1.0
(dtype('float32'), dtype('int64'), True)
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .transforms import Transform


class DataLoader:
    """Iterate over ``(x, y)`` batches: x float (B, C, H, W) in [0, 1] then transformed, y int64 (B,).

    Args:
        dataset: anything with ``images`` (N, C, H, W) and ``labels`` (N,)
            arrays, e.g. :class:`~glassnet.data.dataset.ArrayDataset` or a reader.
            uint8 images are divided by 255; floating images are used as they are.
        batch_size: samples per batch.
        shuffle: a fresh permutation each epoch (else dataset order).
        seed: seed of the order and of the transforms' randomness. ``None``
            draws one from :func:`glassnet.backend.rng` at construction, so
            ``glassnet.manual_seed`` makes the run reproducible too.
        drop_last: drop the final short batch.
        transform: a batch transform (see :mod:`glassnet.data.transforms`) or any
            callable ``f(x) -> x``.
        dtype: dtype of ``x``; default :func:`glassnet.backend.get_default_dtype` (float32).
        device: "cpu" (NumPy batches) or "cuda": each batch is read and transformed on the host, then
            moved to the GPU (CuPy arrays), ready for a model there.

    ``len(loader)`` is the number of batches: ``N // B`` with ``drop_last``, else ``ceil(N / B)``.
    """

    def __init__(self, dataset, batch_size: int = 64, shuffle: bool = False, seed: int | None = None,
                 drop_last: bool = False, transform=None, dtype=None, device: str = "cpu"):
        if not (hasattr(dataset, "images") and hasattr(dataset, "labels")):
            raise TypeError(f"DataLoader: dataset must have .images and .labels arrays, got {type(dataset).__name__}")
        if len(dataset.images) != len(dataset.labels):
            raise ValueError(
                f"DataLoader: {len(dataset.images)} images but {len(dataset.labels)} labels in {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable, got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.seed = int(backend.rng().integers(2**63)) if seed is None else int(seed)
        self.epoch = 0
        self.device = backend.normalize_device(device)

    def __len__(self) -> int:
        n = len(self.dataset.labels)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (its order and augmentation depend only on seed and epoch)."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)

    def _generators(self, epoch: int) -> tuple[np.random.Generator, np.random.Generator]:
        order_seq, transform_seq = np.random.SeedSequence([self.seed, epoch]).spawn(2)
        return np.random.default_rng(order_seq), np.random.default_rng(transform_seq)

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """The sample order of ``epoch`` (default: the current one), shape (N,)."""
        n = len(self.dataset.labels)
        if not self.shuffle:
            return np.arange(n)
        return self._generators(self.epoch if epoch is None else epoch)[0].permutation(n)

    def __iter__(self):
        epoch = self.epoch
        self.epoch += 1
        return self._batches(epoch)

    def _batches(self, epoch: int):
        images, labels = self.dataset.images, self.dataset.labels
        n, b = len(labels), self.batch_size
        order = self.indices(epoch)
        transform_rng = self._generators(epoch)[1]
        stop = n - n % b if self.drop_last else n
        scale = images.dtype == np.uint8
        for start in range(0, stop, b):
            # a slice is a view (no copy) when the order is the identity; else one gather
            idx = slice(start, min(start + b, n)) if not self.shuffle else order[start:start + b]
            raw = images[idx]
            x = np.divide(raw, 255, dtype=self.dtype) if scale else raw.astype(self.dtype)
            if self.transform is not None:
                if isinstance(self.transform, Transform):
                    x = self.transform(x, rng=transform_rng)
                else:
                    x = self.transform(x)
            y = np.array(labels[idx], dtype=np.int64)
            if self.device != "cpu":  # the batch is read and augmented on the host, then moved once
                x, y = backend.to_device(x, self.device), backend.to_device(y, self.device)
            yield x, y

    def state_dict(self) -> dict:
        """``{"seed": int, "epoch": int}``: everything needed to resume the same sequence of batches (JSON-safe)."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`."""
        self.seed = int(state["seed"])
        self.set_epoch(state["epoch"])

    def __repr__(self) -> str:
        return (f"DataLoader(n={len(self.dataset.labels)}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"seed={self.seed}, drop_last={self.drop_last}, transform={self.transform!r})")
