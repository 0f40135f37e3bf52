"""Batch transforms against per-sample loop references, PyTorch where it has the same operation."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet
from glassnet.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
)


def batch(n=6, c=3, h=5, w=7, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_per_channel(dtype):
    x = batch(dtype=dtype)
    y = Normalize(CIFAR10_MEAN, CIFAR10_STD)(x)
    assert y.dtype == dtype and y.shape == x.shape
    for c in range(3):
        ref = (x[:, c].astype(np.float64) - CIFAR10_MEAN[c]) / CIFAR10_STD[c]
        np.testing.assert_allclose(y[:, c], ref, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=1e-6 if dtype == np.float32 else 0)


def test_normalize_with_own_statistics_standardises():
    x = batch(n=50, c=2, dtype=np.float64)
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    y = Normalize(mean, std)(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, rtol=1e-12)


def test_normalize_single_constant_broadcasts():
    x = batch(c=3, dtype=np.float64)
    np.testing.assert_allclose(Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25, rtol=1e-15)


def test_normalize_matches_torch():
    torch = pytest.importorskip("torch")
    x = batch(dtype=np.float64)
    m, s = torch.tensor(CIFAR10_MEAN, dtype=torch.float64), torch.tensor(CIFAR10_STD, dtype=torch.float64)
    ref = (torch.from_numpy(x) - m[:, None, None]) / s[:, None, None]
    np.testing.assert_allclose(Normalize(CIFAR10_MEAN, CIFAR10_STD)(x), ref.numpy(), rtol=1e-15, atol=0)


def test_normalize_errors():
    with pytest.raises(ValueError, match="3 channel constants for a batch with 1 channels"):
        Normalize(CIFAR10_MEAN, CIFAR10_STD)(batch(c=1))
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="mean and std must be sequences of equal length"):
        Normalize([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match=r"Normalize: expected a floating batch of shape \(N, C, H, W\), got uint8"):
        Normalize(0, 1)(np.zeros((1, 1, 2, 2), np.uint8))


def find_offset(window, padded):
    """All (i, j) where ``window`` (C, h, w) sits in ``padded`` (C, Hp, Wp)."""
    _, h, w = window.shape
    return [(i, j) for i in range(padded.shape[1] - h + 1) for j in range(padded.shape[2] - w + 1)
            if np.array_equal(padded[:, i:i + h, j:j + w], window)]


@pytest.mark.parametrize("size, padding", [(5, 0), ((3, 4), 0), (5, 2), ((6, 7), 1), ((9, 11), 2)])
def test_random_crop_is_a_window_of_the_padded_image(size, padding):
    x = batch(n=20, h=5, w=7)
    fill = -3.0  # distinguishable from the data in [0, 1)
    y = RandomCrop(size, padding, fill=fill)(x, rng=np.random.default_rng(1))
    h, w = (size, size) if isinstance(size, int) else size
    assert y.shape == (20, 3, h, w) and y.dtype == x.dtype
    for n in range(20):  # per-sample loop reference: pad with the fill value, look for the window
        padded = np.full((3, 5 + 2 * padding, 7 + 2 * padding), fill, x.dtype)
        padded[:, padding:padding + 5, padding:padding + 7] = x[n]
        assert len(find_offset(y[n], padded)) == 1, n


def test_random_crop_padding_content_and_offset_coverage():
    x = np.ones((600, 1, 4, 4))
    y = RandomCrop(4, padding=2)(x, rng=np.random.default_rng(2))
    # where a crop reaches into the padding it reads zeros (the default fill)
    padded = np.zeros((1, 8, 8))
    padded[:, 2:6, 2:6] = 1
    offsets = set()
    for n in range(len(y)):
        found = find_offset(y[n], padded)
        assert len(found) == 1
        offsets.add(found[0])
        assert np.all(y[n, 0][y[n, 0] != 1] == 0)
    assert offsets == {(i, j) for i in range(5) for j in range(5)}, "every corner must be drawable"


def test_random_crop_without_padding_at_full_size_is_identity():
    x = batch()
    np.testing.assert_array_equal(RandomCrop((5, 7))(x, rng=np.random.default_rng(0)), x)


def test_random_crop_errors():
    with pytest.raises(ValueError, match=r"crop size \(10, 10\) is larger than the padded image \(9, 11\)"):
        RandomCrop(10, padding=2)(batch(), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="size must be a positive int or"):
        RandomCrop(0)
    with pytest.raises(ValueError, match="padding must be a non-negative int, got -1"):
        RandomCrop(3, padding=-1)


def test_flip_is_an_exact_mirror():
    x = batch()
    y = RandomHorizontalFlip(p=1.0)(x, rng=np.random.default_rng(0))
    for k in range(7):
        np.testing.assert_array_equal(y[..., k], x[..., 6 - k])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x, rng=np.random.default_rng(0)), x)


def test_flip_half_the_samples_and_leave_input_alone():
    x = batch(n=400)
    before = x.copy()
    y = RandomHorizontalFlip()(x, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(x, before)
    same = np.array([np.array_equal(y[n], x[n]) for n in range(400)])
    mirrored = np.array([np.array_equal(y[n], x[n, :, :, ::-1]) for n in range(400)])
    assert np.all(same ^ mirrored)
    assert 150 < mirrored.sum() < 250


def test_flip_matches_torch():
    torch = pytest.importorskip("torch")
    x = batch()
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x), torch.flip(torch.from_numpy(x), dims=[3]).numpy())


def test_compose_shares_the_generator_and_backend_rng_is_the_default():
    x = batch()
    aug = Compose([RandomCrop(5, padding=1), RandomHorizontalFlip(), lambda t: t * 2])
    a = aug(x, rng=np.random.default_rng(9))
    b = aug(x, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    glassnet.manual_seed(4)
    c = aug(x)
    glassnet.manual_seed(4)
    np.testing.assert_array_equal(aug(x), c)
    with pytest.raises(TypeError, match="every transform must be callable, got int"):
        Compose([1])
