"""Losses against PyTorch (live) and against their definitions (always)."""

import numpy as np
import pytest

import glassnet.nn as nn


def _torch_loss(name, z, t, **kw):
    torch = pytest.importorskip("torch")
    tz = torch.tensor(z, requires_grad=True)
    tt = torch.tensor(t)
    loss = getattr(torch.nn, name)(**kw)(tz, tt)
    loss.backward()
    return float(loss.detach()), tz.grad.numpy()


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("seed", range(4))
def test_cross_entropy_vs_torch(eps, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((int(rng.integers(1, 9)), int(rng.integers(2, 11)))) * 3
    t = rng.integers(0, z.shape[1], z.shape[0])
    ce = nn.CrossEntropyLoss(label_smoothing=eps)
    J, dz = float(ce(z, t)), ce.backward()
    tJ, tdz = _torch_loss("CrossEntropyLoss", z, t, label_smoothing=eps)
    assert J == pytest.approx(tJ, rel=1e-12)
    np.testing.assert_allclose(dz, tdz, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["MSELoss", "BCEWithLogitsLoss"])
def test_regression_losses_vs_torch(name, rng):
    z = rng.standard_normal((5, 3, 2)) * 4
    t = rng.random((5, 3, 2)) if name == "BCEWithLogitsLoss" else rng.standard_normal((5, 3, 2))
    m = getattr(nn, name)()
    J, dz = float(m(z, t)), m.backward()
    tJ, tdz = _torch_loss(name, z, t)
    assert J == pytest.approx(tJ, rel=1e-12)
    np.testing.assert_allclose(dz, tdz, rtol=1e-10, atol=1e-14)


def test_cross_entropy_definition_and_gradient(rng):
    z = rng.standard_normal((6, 4))
    t = rng.integers(0, 4, 6)
    ce = nn.CrossEntropyLoss()
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert float(ce(z, t)) == pytest.approx(-np.log(p[np.arange(6), t]).mean(), rel=1e-12)
    onehot = np.eye(4)[t]
    np.testing.assert_allclose(ce.backward(), (p - onehot) / 6, rtol=1e-12)
    # central differences
    g = ce.backward()
    for idx in [(0, 0), (3, 2), (5, 3)]:
        zp, zm = z.copy(), z.copy()
        zp[idx] += 1e-6
        zm[idx] -= 1e-6
        num = (float(ce(zp, t)) - float(ce(zm, t))) / 2e-6
        assert g[idx] == pytest.approx(num, abs=1e-8)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    ce = nn.CrossEntropyLoss()
    assert float(ce(z, np.array([0]))) == 0.0
    assert float(ce(z, np.array([2]))) == pytest.approx(2000.0)
    assert np.isfinite(ce.backward()).all()


def test_bce_is_stable_for_huge_logits():
    m = nn.BCEWithLogitsLoss()
    assert float(m(np.array([800.0, -800.0]), np.array([1.0, 0.0]))) == 0.0


def test_nan_loss_is_reported_not_trained_on():
    with pytest.raises(FloatingPointError, match="CrossEntropyLoss.*nan"):
        nn.CrossEntropyLoss()(np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(FloatingPointError, match="inf"):
        nn.MSELoss()(np.array([np.inf]), np.array([0.0]))


def test_bad_targets_are_named():
    ce = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"expected integer targets of shape \(2,\)"):
        ce(np.zeros((2, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 3\)"):
        ce(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"expected input logits \(N, K\), got \(2, 3, 4\)"):
        ce(np.zeros((2, 3, 4)), np.array([0, 1]))
