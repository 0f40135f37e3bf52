"""In-memory image classification datasets: the common base of every reader.

A dataset holds two arrays and the class names:

- ``images``: shape (N, C, H, W), uint8 (0..255) or floating (already in [0, 1]);
- ``labels``: shape (N,), int64, values in ``0 .. len(classes) - 1``;
- ``classes``: one name per class.

The :class:`~glassnet.data.loader.DataLoader` reads these arrays directly and
gathers whole batches with one fancy-indexing operation.

>>> import numpy as np
>>> ds = ArrayDataset(np.zeros((5, 1, 2, 2), np.uint8), [0, 1, 2, 1, 0], classes=["a", "b", "c"])
>>> len(ds), ds.images.shape, ds.labels.dtype
(5, (5, 1, 2, 2), dtype('int64'))
>>> image, label = ds[3]
>>> image.shape, label
((1, 2, 2), 1)
"""

from __future__ import annotations

import numpy as np


class ArrayDataset:
    """A dataset over given arrays.

    Args:
        images: (N, C, H, W) array, or (N, H, W) which is read as one channel
            (C = 1). uint8 pixels (0..255) or floating pixels in [0, 1].
        labels: (N,) integer class indices.
        classes: class names; default ``["0", "1", ..., str(max label)]``.

    ``ds[i]`` gives ``(image (C, H, W), label int)``; a slice or index array
    gives ``(images (K, C, H, W), labels (K,))``.
    """

    def __init__(self, images, labels, classes=None):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(f"ArrayDataset: images must have shape (N, C, H, W) or (N, H, W), got {images.shape}")
        if not (images.dtype == np.uint8 or np.issubdtype(images.dtype, np.floating)):
            raise TypeError(f"ArrayDataset: images must be uint8 or floating, got {images.dtype}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(
                f"ArrayDataset: labels must have shape ({len(images)},) to match the images, got {labels.shape}"
            )
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"ArrayDataset: labels must be integers, got {labels.dtype}")
        labels = labels.astype(np.int64, copy=False)
        if classes is None:
            classes = [str(i) for i in range(int(labels.max()) + 1 if labels.size else 0)]
        classes = [str(c) for c in classes]
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(
                f"ArrayDataset: labels must lie in 0..{len(classes) - 1} ({len(classes)} classes), "
                f"got min {labels.min()} max {labels.max()}"
            )
        self.images = images
        self.labels = labels
        self.classes = classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.images[index], int(self.labels[index])
        return self.images[index], self.labels[index]

    @property
    def shape(self) -> tuple:
        """The shape of one image, (C, H, W)."""
        return self.images.shape[1:]

    def class_counts(self) -> np.ndarray:
        """How many samples each class has, shape (len(classes),)."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, image_shape={self.shape}, classes={len(self.classes)})"
