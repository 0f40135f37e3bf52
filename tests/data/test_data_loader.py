"""DataLoader: batching, scaling, reproducible and resumable shuffling, transforms; ArrayDataset checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

import glassnet
from glassnet.data import ArrayDataset, DataLoader, RandomCrop, RandomHorizontalFlip


def dataset(n=10, c=1, hw=4, seed=0):
    rng = np.random.default_rng(seed)
    return ArrayDataset(rng.integers(0, 256, size=(n, c, hw, hw), dtype=np.uint8), np.arange(n) % 3)


def epoch_batches(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


@pytest.mark.parametrize("n, b, drop_last, sizes", [
    (10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, False, [4, 4]), (8, 4, True, [4, 4]),
    (3, 5, False, [3]), (3, 5, True, []), (10, 1, False, [1] * 10),
])
def test_batch_sizes_and_len(n, b, drop_last, sizes):
    loader = DataLoader(dataset(n), batch_size=b, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in loader] == sizes


def test_unshuffled_batches_are_the_dataset_in_order_scaled():
    ds = dataset(10)
    xs, ys = zip(*DataLoader(ds, batch_size=4), strict=True)
    assert all(x.dtype == np.float32 and x.ndim == 4 for x in xs) and all(y.dtype == np.int64 for y in ys)
    x, y = np.concatenate(xs), np.concatenate(ys)
    np.testing.assert_array_equal(x, (ds.images.astype(np.float64) / 255).astype(np.float32))  # correctly rounded
    np.testing.assert_array_equal(y, ds.labels)
    assert x.min() >= 0 and x.max() <= 1


def test_scaling_matches_torch_to_tensor():
    torch = pytest.importorskip("torch")
    ds = ArrayDataset(np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8), np.zeros(4, int))
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    np.testing.assert_array_equal(x, torch.from_numpy(ds.images).float().div(255).numpy())


def test_batches_do_not_alias_the_dataset():
    ds = dataset(6)
    before = ds.labels.copy()
    for x, y in DataLoader(ds, batch_size=3):
        x[:] = -1
        y[:] = -1
    np.testing.assert_array_equal(ds.labels, before)


def test_float_images_are_not_rescaled_and_dtype_is_configurable():
    images = np.linspace(0, 1, 2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    ds = ArrayDataset(images, [0, 1])
    x, _ = next(iter(DataLoader(ds, batch_size=2, dtype=np.float64)))
    assert x.dtype == np.float64
    np.testing.assert_array_equal(x, images)


def test_shuffle_is_a_permutation_each_epoch():
    ds = dataset(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=7)
    orders = []
    for _ in range(3):
        ys = np.concatenate([y for _, y in loader])
        orders.append(loader.indices(loader.epoch - 1))
        np.testing.assert_array_equal(np.sort(orders[-1]), np.arange(23))
        np.testing.assert_array_equal(ys, ds.labels[orders[-1]])
    assert loader.epoch == 3
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])


def test_same_seed_same_batches_other_seed_other_order():
    ds = dataset(40)
    a = epoch_batches(DataLoader(ds, batch_size=8, shuffle=True, seed=3))
    b = epoch_batches(DataLoader(ds, batch_size=8, shuffle=True, seed=3))
    c = DataLoader(ds, batch_size=8, shuffle=True, seed=4)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(c.indices(0), DataLoader(ds, shuffle=True, seed=3).indices(0))


def test_resume_reproduces_later_epochs_with_augmentation():
    ds = dataset(30, c=3, hw=8)
    aug = [RandomCrop(8, padding=2), RandomHorizontalFlip()]

    def make():
        from glassnet.data import Compose

        return DataLoader(ds, batch_size=7, shuffle=True, seed=11, transform=Compose(aug))

    straight = make()
    runs = [epoch_batches(straight) for _ in range(3)]
    resumed = make()
    resumed.load_state_dict(json.loads(json.dumps({"seed": 11, "epoch": 2})))
    again = epoch_batches(resumed)
    for (xa, ya), (xb, yb) in zip(runs[2], again, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    resumed.set_epoch(1)
    assert np.array_equal(np.concatenate([y for _, y in resumed]), np.concatenate([y for _, y in runs[1]]))
    assert straight.state_dict() == {"seed": 11, "epoch": 3}
    # augmentation really changes with the epoch (the same draws are not reused)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(runs[0], runs[1], strict=True))


def test_seed_none_follows_glassnet_manual_seed():
    ds = dataset(20)
    glassnet.manual_seed(123)
    a = DataLoader(ds, shuffle=True)
    glassnet.manual_seed(123)
    b = DataLoader(ds, shuffle=True)
    assert a.seed == b.seed
    np.testing.assert_array_equal(a.indices(5), b.indices(5))


def test_plain_callable_transform():
    ds = dataset(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4, transform=lambda x: 2 * x - 1)))
    np.testing.assert_allclose(x, 2 * (ds.images / np.float32(255)) - 1, rtol=0, atol=1e-7)


def test_loader_errors():
    ds = dataset(4)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="dataset must have .images and .labels arrays, got list"):
        DataLoader([1, 2, 3])
    with pytest.raises(TypeError, match="transform must be callable, got int"):
        DataLoader(ds, transform=3)
    with pytest.raises(ValueError, match="epoch must be a non-negative int, got -1"):
        DataLoader(ds).set_epoch(-1)


def test_array_dataset_checks():
    ds = ArrayDataset(np.zeros((3, 5, 5), np.uint8), [0, 2, 1])
    assert ds.images.shape == (3, 1, 5, 5) and ds.classes == ["0", "1", "2"] and ds.shape == (1, 5, 5)
    assert repr(ds) == "ArrayDataset(n=3, image_shape=(1, 5, 5), classes=3)"
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\) to match the images, got \(2,\)"):
        ArrayDataset(np.zeros((3, 1, 5, 5)), [0, 1])
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\) or \(N, H, W\), got \(3, 5\)"):
        ArrayDataset(np.zeros((3, 5)), [0, 1, 2])
    with pytest.raises(TypeError, match="images must be uint8 or floating, got int64"):
        ArrayDataset(np.zeros((1, 1, 2, 2), np.int64), [0])
    with pytest.raises(TypeError, match="labels must be integers, got float64"):
        ArrayDataset(np.zeros((1, 1, 2, 2)), [0.5])
    with pytest.raises(ValueError, match=r"labels must lie in 0..1 \(2 classes\), got min 0 max 2"):
        ArrayDataset(np.zeros((2, 1, 2, 2)), [0, 2], classes=["a", "b"])
