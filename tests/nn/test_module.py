"""The module contract: state dicts, modes, dtypes, naming, errors."""

import numpy as np
import pytest

import glassnet
import glassnet.nn as nn


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 10),
    )


def test_state_dict_keys_follow_pytorch():
    m = small_cnn()
    assert list(m.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "5.weight", "5.bias",
    ]
    torch = pytest.importorskip("torch")
    t = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64, 10),
    )
    assert list(t.state_dict()) == list(m.state_dict())
    for (k, a), (k2, b) in zip(m.state_dict().items(), t.state_dict().items(), strict=True):
        assert k == k2 and a.shape == tuple(b.shape)
    t.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in m.state_dict().items()})
    m2 = small_cnn()
    m2.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    for a, b in zip(m.parameters(), m2.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_names_missing_unexpected_and_misshaped_keys():
    m = small_cnn()
    sd = m.state_dict()
    del sd["0.bias"]
    sd["extra.weight"] = np.zeros(3)
    sd["5.weight"] = np.zeros((10, 63))
    with pytest.raises(ValueError) as e:
        m.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys: 0.bias" in msg and "unexpected keys: extra.weight" in msg
    assert "5.weight: expected (10, 64), got (10, 63)" in msg
    sd["5.weight"] = np.zeros((10, 64))
    out = m.load_state_dict(sd, strict=False)
    assert out == {"missing_keys": ["0.bias"], "unexpected_keys": ["extra.weight"]}


def test_indexing_named_parameters_and_repr():
    m = small_cnn()
    assert isinstance(m[0], nn.Conv2d) and isinstance(m[-1], nn.Linear)
    assert len(m[1:3]) == 2
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"]
    r = repr(m)
    assert "(0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in r
    assert "(5): Linear(in_features=64, out_features=10, bias=True)" in r
    assert m.num_parameters() == 4 * 9 + 4 + 8 + 64 * 10 + 10


def test_shape_errors_name_layer_expected_and_received():
    m = nn.Sequential()
    m.conv1 = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"^Conv2d \(conv1\): expected input \(N, 3, H, W\), got \(8, 1, 28, 28\)$"):
        m(np.zeros((8, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d: expected input \(N, 3, H, W\), got \(3, 28, 28\)"):
        nn.Conv2d(3, 8, 3)(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match=r"H \+ padding >= 5.*got \(1, 3, 4, 4\)"):
        nn.Conv2d(3, 8, 5)(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"Linear \(5\): expected input \(N, 64\), got \(2, 63\)"):
        small_cnn()[5](np.zeros((2, 63)))
    with pytest.raises(ValueError, match=r"MaxPool2d: expected input \(N, C, H, W\) with H >= 2"):
        nn.MaxPool2d(2)(np.zeros((1, 1, 1, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input \(N, 4, H, W\), got \(2, 3, 5, 5\)"):
        nn.BatchNorm2d(4)(np.zeros((2, 3, 5, 5)))


def test_nested_names_are_full_paths():
    inner = nn.Sequential(nn.Linear(3, 3))
    outer = nn.Sequential(nn.Linear(3, 3), inner)
    with pytest.raises(ValueError, match=r"Linear \(1\.0\)"):
        outer[1][0](np.zeros((1, 4)))


def test_backward_before_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"Conv2d: backward\(\) called before forward\(\)"):
        nn.Conv2d(1, 1, 1).backward(np.zeros((1, 1, 1, 1)))
    m = nn.ReLU()
    with glassnet.no_grad():
        m(np.ones(3))
    with pytest.raises(RuntimeError, match="no_grad"):
        m.backward(np.ones(3))


def test_float32_default_and_float64_on_request():
    m = small_cnn()
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert m(x.astype(np.float32)).dtype == np.float32
    m.to(np.float64)
    assert all(p.dtype == np.float64 for p in m.parameters()) and m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64
    assert m(x).dtype == np.float64


def test_gradients_accumulate_and_zero_grad_clears():
    lin = nn.Linear(3, 2)
    x = np.ones((4, 3), np.float32)
    lin(x)
    lin.backward(np.ones((4, 2), np.float32))
    g1 = lin.weight.grad.copy()
    lin(x)
    lin.backward(np.ones((4, 2), np.float32))
    np.testing.assert_allclose(lin.weight.grad, 2 * g1)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_train_eval_switches_batchnorm_and_dropout():
    glassnet.manual_seed(0)
    m = nn.Sequential(nn.BatchNorm1d(3), nn.Dropout(0.5))
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32) * 3 + 2
    y = m(x)
    assert (y == 0).mean() == pytest.approx(0.5, abs=0.1)  # dropout active
    assert int(m[0].num_batches_tracked) == 1
    m.eval()
    assert not m[1].training
    y1, y2 = m(x), m(x)
    np.testing.assert_array_equal(y1, y2)  # deterministic in eval
    assert int(m[0].num_batches_tracked) == 1  # no statistics update in eval


def test_dropout_backward_uses_the_forward_mask():
    glassnet.manual_seed(1)
    d = nn.Dropout(0.3)
    y = d(np.ones((50, 50)))
    np.testing.assert_array_equal(d.backward(np.ones((50, 50))), y)
    assert set(np.unique(y)) <= {0.0, 1 / 0.7}


def test_conv_padding_modes():
    x = np.zeros((1, 2, 9, 8), np.float32)
    assert nn.Conv2d(2, 3, 4, padding="same")(x).shape == (1, 3, 9, 8)
    assert nn.Conv2d(2, 3, 3, padding="same", dilation=2)(x).shape == (1, 3, 9, 8)
    assert nn.Conv2d(2, 3, 3, padding="valid")(x).shape == (1, 3, 7, 6)
    assert nn.Conv2d(2, 3, (3, 1), stride=(2, 1), padding=(1, 0))(x).shape == (1, 3, 5, 8)
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nn.Conv2d(2, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be"):
        nn.Conv2d(2, 3, 3, padding="full")


def test_default_init_matches_pytorch_bounds():
    conv = nn.Conv2d(16, 32, 3)
    bound = 1 / np.sqrt(16 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound  # uniform over the whole range
    from glassnet.nn import init

    w = nn.Parameter(np.empty((256, 128)))
    init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(np.sqrt(2 / 128), rel=0.05)
    init.xavier_uniform_(w)
    assert np.abs(w.data).max() <= np.sqrt(6 / (256 + 128))


def test_batchnorm_without_affine_has_no_parameters_like_pytorch():
    bn = nn.BatchNorm2d(3, affine=False)
    assert list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    assert bn.num_parameters() == 0
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
    assert glassnet.gradcheck(bn, x).ok
    torch = pytest.importorskip("torch")
    bn.load_state_dict({k: v.numpy() for k, v in torch.nn.BatchNorm2d(3, affine=False).state_dict().items()})


def test_loss_gradients_keep_the_model_dtype():
    m = nn.MSELoss()
    m(np.ones(3, np.float32), np.zeros(3))
    assert m.backward().dtype == np.float32


def test_dropout_p1_drops_everything():
    d = nn.Dropout(1.0)
    assert (d(np.ones((3, 3))) == 0).all() and (d.backward(np.ones((3, 3))) == 0).all()


def test_slicing_a_sequential_keeps_the_layers_names():
    m = small_cnn()
    head = m[4:]
    assert list(head._modules) == ["4", "5"] and head[1] is m[5]
    with pytest.raises(ValueError, match=r"Linear \(5\)"):
        m[5](np.zeros((1, 3)))
    assert head(np.zeros((2, 4, 4, 4), np.float32)).shape == (2, 10)
