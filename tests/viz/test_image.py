"""Image helpers: model input and display form, bilinear resize (against PyTorch), mosaics."""

import numpy as np
import pytest
from viz_reference import FIXTURE, RESIZE_CASES, resize_inputs, resize_torch

from glassnet.viz.image import mosaic, prepare, resize_bilinear

golden = np.load(FIXTURE, allow_pickle=False)


def test_prepare_standardises_per_channel_and_shows_raw_pixels():
    img = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5) * 4
    x, shown = prepare(img, normalize=((0.1, 0.2, 0.3), (0.5, 0.25, 2.0)))
    assert x.shape == (1, 3, 4, 5) and x.dtype == np.float32
    p = img / 255.0
    np.testing.assert_allclose(x[0, 1], (p[1] - 0.2) / 0.25, rtol=1e-6)
    assert shown.shape == (4, 5, 3)
    np.testing.assert_allclose(shown[..., 2], p[2])
    x, shown = prepare(np.array([[-2.0, 2.0]]))  # float, no normalisation: fed as is, shown stretched
    np.testing.assert_array_equal(x[0, 0], [[-2.0, 2.0]])
    np.testing.assert_array_equal(shown, [[0.0, 1.0]])


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 1, 4, 4)), r"one image of shape .* got \(2, 1, 4, 4\)"),
    (np.zeros((4, 4), np.int32), "uint8 or floating pixels, got int32"),
])
def test_prepare_rejects_what_is_not_one_image(bad, match):
    with pytest.raises(ValueError, match=match):
        prepare(bad)


def test_prepare_checks_the_normalisation_length():
    with pytest.raises(ValueError, match="1 or 3 values"):
        prepare(np.zeros((3, 2, 2)), normalize=((0.1, 0.2), (1.0, 1.0)))


@pytest.mark.parametrize("i", range(len(RESIZE_CASES)))
def test_resize_matches_pytorch_golden(i):
    a, size = golden[f"resize/in/{i}"], RESIZE_CASES[i][1]
    np.testing.assert_allclose(resize_bilinear(a, size), golden[f"resize/out/{i}"], rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_resize_matches_pytorch_live(rng):
    pytest.importorskip("torch")
    for _ in range(5):
        shape = tuple(rng.integers(1, 9, 3))
        size = tuple(int(s) for s in rng.integers(1, 17, 2))
        a = rng.normal(size=shape)
        np.testing.assert_allclose(resize_bilinear(a, size), resize_torch(a, size), rtol=1e-12, atol=1e-12)
    assert len(resize_inputs()) == len(RESIZE_CASES)


def test_resize_keeps_constants_and_linear_ramps():
    np.testing.assert_allclose(resize_bilinear(np.full((3, 4), 2.5), (7, 9)), 2.5)
    ramp = np.arange(4.0)[None].repeat(2, 0)  # value = column index
    out = resize_bilinear(ramp, (2, 8))
    centres = (np.arange(8) + 0.5) / 2 - 0.5  # input coordinate sampled by each output column
    inner = (centres >= 0) & (centres <= 3)
    np.testing.assert_allclose(out[0, inner], centres[inner])


def test_mosaic_tiles_with_nan_gaps():
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    m = mosaic(maps)  # 3 columns, 2 rows
    assert m.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(m[3:5, 4:7], maps[4])
    assert np.isnan(m[2]).all() and np.isnan(m[3:, 8:]).all()
