"""Metrics against naive loops, and evaluation leaves the model and loader as it found them."""

from __future__ import annotations

import numpy as np
import pytest
from train_helpers import small_net, tiny_data_fixture  # noqa: F401 (fixture)

from glassnet.data import DataLoader
from glassnet.nn import CrossEntropyLoss
from glassnet.train import accuracy, confusion_matrix, evaluate, per_class_accuracy
from glassnet.train.metrics import softmax


def test_confusion_matrix_and_accuracy_against_loops():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 7, 500)
    logits = rng.standard_normal((500, 7))
    p = logits.argmax(axis=1)
    cm = confusion_matrix(t, logits, 7)
    naive = np.zeros((7, 7), np.int64)
    for ti, pi in zip(t, p, strict=True):
        naive[ti, pi] += 1
    np.testing.assert_array_equal(cm, naive)
    assert accuracy(logits, t) == sum(int(a == b) for a, b in zip(p, t, strict=True)) / 500
    per = per_class_accuracy(cm)
    for k in range(7):
        assert per[k] == sum(1 for a, b in zip(p, t, strict=True) if b == k and a == k) / sum(1 for b in t if b == k)


def test_empty_class_gives_nan_and_bad_input_is_named():
    cm = confusion_matrix([0, 0, 2], [0, 1, 2], 3)
    per = per_class_accuracy(cm)
    assert per[0] == 0.5 and np.isnan(per[1]) and per[2] == 1.0
    with pytest.raises(ValueError, match=r"targets must lie in 0\.\.2"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="accuracy"):
        accuracy([0, 1, 2], [0, 1])


def test_softmax_is_stable_and_normalised():
    z = np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), -np.inf]])
    s = softmax(z)
    np.testing.assert_allclose(s, [[0.5, 0.5, 0.0], [0.25, 0.75, 0.0]], atol=1e-15)


def test_evaluate_matches_a_manual_pass_and_restores_modes(tiny_data):
    _, val = tiny_data
    model = small_net()
    model.train()
    loader = DataLoader(val, batch_size=24)
    loader.set_epoch(4)
    r = evaluate(model, loader, CrossEntropyLoss())
    assert all(m.training for m in model.modules()) and loader.epoch == 4
    x = val.images.astype(np.float32) / 255
    model.eval()
    logits = model(x)
    assert r["n"] == 64
    np.testing.assert_array_equal(r["pred"], logits.argmax(axis=1))
    assert r["acc"] == accuracy(logits, val.labels)
    assert r["loss"] == pytest.approx(float(CrossEntropyLoss()(logits, val.labels)), rel=1e-5)
