import numpy as np
import pytest

import glassnet
from glassnet.models import get_model, lenet5


def test_lenet5_has_61706_parameters():
    # hand count: 6*(25+1) + 16*(6*25+1) + (400*120+120) + (120*84+84) + (84*10+10)
    assert 6 * 26 + 16 * 151 + 48120 + 10164 + 850 == 61706
    assert lenet5().num_parameters() == 61706


def test_lenet5_forward_backward_shapes():
    glassnet.manual_seed(0)
    net = lenet5(num_classes=7)
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    y = net(x)
    assert y.shape == (3, 7)
    dx = net.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())


def test_get_model_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="valid names: .*lenet5"):
        get_model("lenet6")
    assert get_model("LeNet-5", num_classes=3).classifier[4].out_features == 3
