"""gradcheck passes on every layer and a small CNN, and catches a wrong backward."""

import numpy as np
import pytest

import glassnet
import glassnet.nn as nn
from glassnet.inspect.gradcheck import GradcheckError

LAYERS = [
    (lambda: nn.Linear(5, 3), (4, 5)),
    (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 7, 6)),
    (lambda: nn.Conv2d(2, 2, (2, 3), padding="same", dilation=2), (1, 2, 6, 7)),
    (lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), (2, 2, 7, 7)),
    (lambda: nn.AvgPool2d(3, 2, padding=1), (2, 2, 7, 6)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), (2, 2, 5, 7)),
    (lambda: nn.ReLU(), (3, 7)),
    (lambda: nn.LeakyReLU(0.1), (3, 7)),
    (lambda: nn.Sigmoid(), (3, 7)),
    (lambda: nn.Tanh(), (3, 7)),
    (lambda: nn.Softmax(dim=1), (3, 7)),
    (lambda: nn.BatchNorm1d(4), (6, 4)),
    (lambda: nn.BatchNorm2d(3), (4, 3, 3, 3)),
    (lambda: nn.BatchNorm2d(3).eval(), (4, 3, 3, 3)),
    (lambda: nn.LocalResponseNorm(3, alpha=0.1, k=1.5), (2, 5, 3, 3)),
    (lambda: nn.Dropout(0.4), (5, 6)),
    (lambda: nn.Flatten(), (2, 3, 2, 2)),
    (lambda: nn.Concat(nn.Conv2d(2, 2, 1), nn.Sequential(nn.Conv2d(2, 1, 3, padding=1), nn.Tanh())), (2, 2, 4, 4)),
    (lambda: nn.Residual(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.BatchNorm2d(2)), activation=nn.ReLU()),
     (2, 2, 4, 4)),
]


@pytest.mark.parametrize("make,shape", LAYERS, ids=lambda v: type(v()).__name__ if callable(v) else str(v))
def test_every_layer_passes_gradcheck(make, shape):
    glassnet.manual_seed(0)
    x = np.random.default_rng(7).standard_normal(shape)
    report = glassnet.gradcheck(make(), x)
    assert report.ok and len(report.rows) >= 1
    assert all(r.max_abs_error < 1e-6 for r in report.rows)


def test_small_cnn_passes_gradcheck():
    glassnet.manual_seed(0)
    cnn = nn.Sequential(
        nn.Conv2d(1, 3, 5, padding=2), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3),
    )
    x = np.random.default_rng(3).standard_normal((3, 1, 10, 10))
    report = glassnet.gradcheck(cnn, x, max_checks=40)
    assert report.ok
    assert {r.name for r in report.rows} >= {"input", "0.weight", "4.bias", "10.weight"}


class BrokenReLU(nn.ReLU):
    def backward(self, dy):
        return super().backward(dy) * 1.01  # 1% off


def test_gradcheck_catches_a_wrong_backward():
    with pytest.raises(GradcheckError, match="NO"):
        glassnet.gradcheck(BrokenReLU(), np.random.default_rng(0).standard_normal((3, 4)))
    report = glassnet.gradcheck(BrokenReLU(), np.random.default_rng(0).standard_normal((3, 4)), raise_on_failure=False)
    assert not report.ok and "input" in str(report)


def test_gradcheck_leaves_the_module_untouched():
    lin = nn.Linear(3, 2)
    before = lin.state_dict()
    glassnet.gradcheck(lin, np.ones((2, 3)))
    assert lin.weight.dtype == np.float32 and lin.weight.grad is None
    for k, v in lin.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
