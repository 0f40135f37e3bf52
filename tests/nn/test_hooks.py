"""Module hooks (PyTorch's names and signatures), enable_grad, backward(dy, input_grad=False), input conversion."""

import numpy as np
import pytest

import glassnet
from glassnet import nn
from glassnet.models import lenet5


def small_net():
    glassnet.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3)).double()


def test_forward_hooks_see_and_may_replace_inputs_and_outputs():
    net = small_net()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    seen = []
    h1 = net[1].register_forward_pre_hook(lambda m, args: seen.append(("pre", m, args[0].shape)))
    h2 = net[1].register_forward_hook(lambda m, args, y: seen.append(("post", m, y.min())))
    y = net(x)
    assert [s[0] for s in seen] == ["pre", "post"] and seen[0][1] is net[1] and seen[1][2] >= 0
    h1.remove()
    h2.remove()
    seen.clear()
    net(x)
    assert seen == []
    with net[3].register_forward_hook(lambda m, args, out: out * 0):  # a returned value replaces the output
        assert not net(x).any()
    np.testing.assert_array_equal(net(x), y)  # removed on leaving the block
    with net[0].register_forward_pre_hook(lambda m, args: (args[0] * 0,)):
        np.testing.assert_allclose(net(x), net(np.zeros_like(x)))


def test_backward_hooks_match_pytorch_semantics():
    net = small_net()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    dy = np.random.default_rng(1).standard_normal((2, 3))
    calls = []
    net[1].register_full_backward_pre_hook(lambda m, g_out: calls.append(("pre", g_out[0].shape)))
    net[1].register_full_backward_hook(lambda m, g_in, g_out: calls.append(("post", g_in[0].shape, g_out[0].shape)))
    net(x)
    dx = net.backward(dy)
    assert calls == [("pre", (2, 2, 4, 4)), ("post", (2, 2, 4, 4), (2, 2, 4, 4))]
    # a pre-hook that returns a new grad_output changes what flows below; a hook returning grad_input likewise
    net2 = small_net()
    net2[1].register_full_backward_pre_hook(lambda m, g_out: (g_out[0] * 2,))
    net2(x)
    np.testing.assert_allclose(net2.backward(dy), 2 * dx, rtol=1e-12)
    net3 = small_net()
    net3[1].register_full_backward_hook(lambda m, g_in, g_out: (g_in[0] * 0,))
    net3(x)
    assert not net3.backward(dy).any()


def test_backward_hooks_against_torch():
    torch = pytest.importorskip("torch")
    net = small_net()
    tnet = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(32, 3)).double()
    tnet.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    dy = np.random.default_rng(1).standard_normal((2, 3))
    got, want = {}, {}
    net[0].register_full_backward_hook(lambda m, gi, go: got.update(gi=gi[0], go=go[0]))
    tnet[0].register_full_backward_hook(lambda m, gi, go: want.update(gi=gi[0], go=go[0]))
    net(x)
    net.backward(dy)
    tx = torch.from_numpy(x).requires_grad_(True)
    tnet(tx).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(got["go"], want["go"].numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got["gi"], want["gi"].numpy(), rtol=1e-10, atol=1e-14)


def test_enable_grad_inside_no_grad():
    relu = nn.ReLU()
    with nn.no_grad():
        relu(np.ones(2))
        assert relu._saved_stack == []
        with nn.enable_grad():
            assert nn.is_grad_enabled()
            relu(np.ones(2))
        assert not nn.is_grad_enabled()
    assert len(relu._saved_stack) == 1 and nn.is_grad_enabled()
    np.testing.assert_array_equal(relu.backward(np.ones(2)), np.ones(2))


@pytest.mark.parametrize("model_fn", [lenet5, lambda: glassnet.models.resnet20(), lambda: small_net()])
def test_input_grad_false_skips_dx_and_keeps_the_parameter_gradients(model_fn):
    model = model_fn().double()
    shape = (2, 3, 32, 32) if "ResNet" in type(model).__name__ or hasattr(model, "layer1") else (2, 1, 28, 28)
    if isinstance(model, nn.Sequential) and isinstance(model[0], nn.Conv2d) and model[0].in_channels == 1 \
            and model[-1].in_features == 32:
        shape = (2, 1, 6, 6)
    x = np.random.default_rng(0).standard_normal(shape)
    y = model(x)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    model.zero_grad()
    assert model.backward(dy).shape == x.shape
    full = {k: p.grad.copy() for k, p in model.named_parameters()}
    model.zero_grad()
    assert model.backward(dy, input_grad=False) is None
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, full[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_input_grad_false_really_skips_the_first_convolutions_dx(monkeypatch):
    from glassnet.nn.functional import conv

    asked = []
    original = conv.conv2d_backward
    monkeypatch.setattr("glassnet.nn.conv.conv2d_backward",
                        lambda dZ, saved: asked.append(saved.need_dX) or original(dZ, saved))
    model = lenet5()
    model(np.zeros((2, 1, 28, 28), np.float32))
    model.backward(np.ones((2, 10), np.float32), input_grad=False)
    assert asked == [True, False]  # features.3 (called first in backward) needs dX, features.0 does not


def test_array_likes_are_converted_or_refused_clearly():
    net = small_net().float()
    x = np.random.default_rng(0).random((1, 1, 6, 6)).astype(np.float32)
    want = net(x)
    np.testing.assert_array_equal(net(x.tolist()), net(x.astype(np.float64)))  # lists: float64 as NumPy reads them
    assert net((x * 255).astype(np.uint8)).dtype == np.float32  # integers become the model's dtype
    with pytest.raises(TypeError, match=r"Sequential: expected a NumPy array of numbers .* got an array of dtype"):
        net(np.array([["a"]]))
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(net(torch.from_numpy(x)), want)
    np.testing.assert_array_equal(net(torch.from_numpy(x).requires_grad_(True)), want)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.Conv2d(3, 8, 3, stride=0), "Conv2d: stride must be a positive int"),
        (lambda: nn.Conv2d(3, 8, 0), "Conv2d: kernel_size must be a positive int"),
        (lambda: nn.Conv2d(3, 8, 3, padding=-1), "Conv2d: padding must be a non-negative int"),
        (lambda: nn.Conv2d(3, 8, 3, dilation=0), "Conv2d: dilation must be a positive int"),
        (lambda: nn.Conv2d(0, 8, 3), "Conv2d: in_channels must be a positive int"),
        (lambda: nn.Conv2d(3, 8, (3, 3, 3)), "Conv2d: kernel_size must be a positive int or a pair"),
        (lambda: nn.Conv2d(3, 8, 3, padding="full"), "Conv2d: padding must be a non-negative int, a pair, 'same'"),
        (lambda: nn.MaxPool2d(0), "MaxPool2d: kernel_size must be a positive int"),
        (lambda: nn.MaxPool2d(2, stride=0), "MaxPool2d: stride must be a positive int"),
        (lambda: nn.AvgPool2d(2, padding=2), "AvgPool2d: padding should be at most half of the kernel size"),
        (lambda: nn.AvgPool2d(2, padding=-1), "AvgPool2d: padding must be a non-negative int"),
        (lambda: nn.AdaptiveAvgPool2d(0), "AdaptiveAvgPool2d: output_size must be a positive int"),
        (lambda: nn.Linear(0, 3), "Linear: in_features must be a positive int"),
        (lambda: nn.Linear(3, 2.5), "Linear: out_features must be a positive int"),
        (lambda: nn.BatchNorm2d(0), "BatchNorm2d: num_features must be a positive int"),
        (lambda: nn.BatchNorm2d(3, eps=0), "BatchNorm2d: eps must be > 0"),
        (lambda: nn.BatchNorm1d(3, momentum=2), r"BatchNorm1d: momentum must be in \[0, 1\]"),
        (lambda: nn.LocalResponseNorm(0), "LocalResponseNorm: size must be a positive int"),
        (lambda: nn.Dropout(1.5), r"Dropout probability must be in \[0, 1\]"),
    ],
)
def test_layer_arguments_are_validated_with_the_argument_and_range_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()
