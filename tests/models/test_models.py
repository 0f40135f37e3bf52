"""Every model: published parameter counts, documented layouts, forward + backward, spot gradcheck."""

import numpy as np
import pytest
from model_helpers import build_structure

import glassnet
from glassnet import nn
from glassnet.models import (
    GoogLeNetOutputs,
    Inception,
    InceptionAux,
    ZeroPadShortcut,
    available_models,
    get_model,
    googlenet,
)

# Published figures: torchvision's documentation (num_params) for the ImageNet models; He et al. 2016
# table 6 (0.27/0.46/0.66/0.85 M) for the CIFAR ResNets, exact values by hand count below.
COUNTS = {
    "lenet5": 61_706, "alexnet": 61_100_840,
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736, "vgg16_bn": 138_365_992, "vgg19_bn": 143_678_248,
    "googlenet": 6_624_904, "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586, "resnet56": 853_018,
}


def test_every_registered_model_has_a_published_count():
    assert sorted(COUNTS) == available_models()


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_parameter_counts(name):
    assert build_structure(name).num_parameters() == COUNTS[name]


def test_cifar_resnet_counts_by_hand():
    # 6n+2 layers: 3x3 conv 16, stages of 2n 3x3 convs at 16/32/64 channels, BN after each conv, fc 64->10;
    # option A shortcuts have no parameters.
    def count(n):
        convs = 3 * 16 * 9 + (2 * n) * 16 * 16 * 9
        convs += 16 * 32 * 9 + (2 * n - 1) * 32 * 32 * 9 + 32 * 64 * 9 + (2 * n - 1) * 64 * 64 * 9
        bns = 2 * (16 + 2 * n * (16 + 32 + 64))
        return convs + bns + 64 * 10 + 10

    for depth in (20, 32, 44, 56):
        assert count((depth - 2) // 6) == COUNTS[f"resnet{depth}"]
    assert round(COUNTS["resnet20"] / 1e6, 2) == 0.27 and round(COUNTS["resnet56"] / 1e6, 2) == 0.85


def test_googlenet_paper_and_aux_counts():
    assert build_structure("googlenet", paper=True).num_parameters() == 6_998_552
    assert build_structure("googlenet", paper=True, aux_logits=True).num_parameters() == 13_378_280
    assert build_structure("googlenet_aux").num_parameters() == 13_004_888


def test_googlenet_paper_layout():
    paper, tv = build_structure("googlenet", paper=True), build_structure("googlenet")
    assert paper.inception3a.branch3[1].conv.kernel_size == (5, 5)
    assert paper.inception3a.branch3[1].conv.padding == (2, 2)
    assert tv.inception3a.branch3[1].conv.kernel_size == (3, 3)  # torchvision's quirk
    assert not any(isinstance(m, nn.BatchNorm2d) for m in paper.modules())
    assert all(m.bias is not None for m in paper.modules() if isinstance(m, nn.Conv2d))
    assert all(m.bias is None for m in tv.modules() if isinstance(m, nn.Conv2d))
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in paper.modules()) == 2
    assert paper.dropout.p == 0.4 and tv.dropout.p == 0.2


def test_cifar_resnets_use_option_a_shortcuts():
    m = build_structure("resnet20")
    shortcuts = [blk.shortcut for stage in (m.layer1, m.layer2, m.layer3) for blk in stage]
    assert [type(s).__name__ for s in shortcuts if s is not None] == ["ZeroPadShortcut", "ZeroPadShortcut"]
    assert sum(isinstance(x, nn.Conv2d) for x in m.modules()) + 1 == 20  # 19 convs + fc


def _batch(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# (name, kwargs, input size, batch): reduced width and small inputs keep NumPy fast
SMALL = [
    ("lenet5", {}, 28, 2),
    ("alexnet", {"width": 1 / 16}, 63, 2),
    ("vgg11", {"width": 1 / 16}, 32, 2),
    ("vgg13_bn", {"width": 1 / 16}, 32, 2),
    ("vgg16", {"width": 1 / 32}, 32, 2),
    ("vgg19_bn", {"width": 1 / 32}, 32, 2),
    ("googlenet", {"width": 1 / 16}, 32, 2),
    ("resnet18", {"width": 1 / 8}, 32, 2),
    ("resnet34", {"width": 1 / 16}, 32, 2),
    ("resnet50", {"width": 1 / 16}, 32, 2),
    ("resnet20", {"width": 0.5}, 32, 2),
    ("resnet56", {"width": 0.25}, 16, 2),
]


@pytest.mark.parametrize("name,kw,size,n", SMALL, ids=[c[0] for c in SMALL])
def test_forward_backward_small_batch(name, kw, size, n):
    glassnet.manual_seed(1)
    m = get_model(name, num_classes=5, **kw)
    c = 1 if name == "lenet5" else 3
    x = _batch((n, c, size, size)).astype(np.float32)
    y = m(x)
    assert y.shape == (n, 5) and y.dtype == np.float32 and np.isfinite(y).all()
    m.zero_grad()
    dx = m.backward(np.ones_like(y))
    assert dx.shape == x.shape and np.isfinite(dx).all()
    missing = [k for k, p in m.named_parameters() if p.grad is None or p.grad.shape != p.shape]
    assert not missing
    m.eval()
    assert m(x).shape == (n, 5)


# Spot gradcheck (float64 central differences) of each family at reduced width: the input and a few
# random entries of every parameter tensor.
GRAD = [
    ("lenet5", {}, 28, 8),
    ("alexnet", {"width": 1 / 32}, 63, 3),
    ("vgg11_bn", {"width": 1 / 32}, 32, 3),
    ("googlenet", {"width": 1 / 16}, 32, 1),  # ~170 tensors: one random entry each
    ("resnet18", {"width": 1 / 16}, 32, 2),
    ("resnet50", {"width": 1 / 16}, 64, 1),  # 2x2 maps in layer4: BatchNorm over 1 pixel x 2 samples is too stiff
    ("resnet20", {"width": 0.25}, 16, 3),
]


@pytest.mark.parametrize("name,kw,size,checks", GRAD, ids=[c[0] for c in GRAD])
def test_spot_gradcheck(name, kw, size, checks):
    glassnet.manual_seed(2)
    m = get_model(name, num_classes=3, **kw)
    _move_off_relu_kinks(m, np.random.default_rng(9))
    x = _batch((2, 1 if name == "lenet5" else 3, size, size), seed=3)
    report = glassnet.gradcheck(m, x, max_checks=checks, seed=4)
    assert report.ok and len(report.rows) == 1 + len(list(m.parameters()))


def _move_off_relu_kinks(model, rng):
    """Random BatchNorm shifts and statistics.

    With fresh BatchNorm (beta = 0) a ReLU's exact zeros pass through a
    bias-free convolution and the next BatchNorm as exact zeros, so the next
    ReLU sits exactly on its kink, where a central difference measures half a
    one-sided slope (ReLU'(0) = 0 by convention, as PyTorch). Chainer's
    gradient check resamples such inputs; here the shifts make exact zeros
    impossible, and the check measures the gradients it is meant to.
    """
    for m in model.modules():
        if isinstance(m, glassnet.nn.BatchNorm2d) and m.affine:
            m.bias.data = rng.normal(0, 0.5, m.bias.shape).astype(m.bias.dtype)
            m.weight.data = rng.uniform(0.5, 1.5, m.weight.shape).astype(m.weight.dtype)


def test_gradcheck_paper_inception_module_and_aux_head():
    glassnet.manual_seed(5)
    block = Inception(8, 4, 3, 5, 2, 3, 2, paper=True)
    assert block.branch3[1].conv.kernel_size == (5, 5)
    assert glassnet.gradcheck(block, _batch((2, 8, 6, 6), seed=6), max_checks=6).ok
    head = InceptionAux(8, 3, width=1 / 32, paper=True)
    assert glassnet.gradcheck(head, _batch((2, 8, 14, 14), seed=7), max_checks=6).ok


def test_googlenet_paper_runs_at_224():
    glassnet.manual_seed(8)
    m = googlenet(num_classes=4, paper=True, aux_logits=True, width=1 / 16)
    x = _batch((1, 3, 224, 224)).astype(np.float32)
    out = m(x)
    assert isinstance(out, GoogLeNetOutputs) and all(o.shape == (1, 4) for o in out)
    dx = m.backward(tuple(np.ones_like(o) for o in out))
    assert dx.shape == x.shape and np.isfinite(dx).all()


def _numeric_grad(f, x, idx, eps=1e-6):
    out = []
    for i in idx:
        old = x.flat[i]
        x.flat[i] = old + eps
        jp = f()
        x.flat[i] = old - eps
        jm = f()
        x.flat[i] = old
        out.append((jp - jm) / (2 * eps))
    return np.array(out)


@pytest.mark.parametrize("transform_input", [False, True])
def test_googlenet_aux_heads_training_outputs_and_backward(transform_input):
    glassnet.manual_seed(9)
    m = googlenet(num_classes=3, aux_logits=True, width=1 / 16, dropout=0.0, dropout_aux=0.0,
                  transform_input=transform_input).double()
    x = _batch((2, 3, 32, 32), seed=10)
    out = m(x)
    assert isinstance(out, GoogLeNetOutputs) and [o.shape for o in out] == [(2, 3)] * 3
    R = [_batch((2, 3), seed=s) for s in (11, 12, 13)]
    m.zero_grad()
    dx = m.backward(tuple(R))

    def J():
        return float(sum((o * r).sum() for o, r in zip(m(x), R, strict=True)))

    idx = np.random.default_rng(14).choice(x.size, 12, replace=False)
    np.testing.assert_allclose(dx.flat[idx], _numeric_grad(J, x, idx), rtol=1e-4, atol=1e-7)
    # the aux heads receive gradient only through the tuple
    assert m.aux1.fc2.weight.grad is not None and np.abs(m.aux1.fc2.weight.grad).sum() > 0
    # a plain array means: no gradient from the auxiliary losses
    m(x)
    m.zero_grad()
    m.backward(R[0])
    assert m.aux1.fc2.weight.grad is None
    m.eval()
    assert m(x).shape == (2, 3)
    with pytest.raises(ValueError, match="one array"):
        m.backward(tuple(R))


def test_zero_pad_shortcut_forward_backward():
    s = ZeroPadShortcut(2, 5, 2)
    x = _batch((1, 2, 5, 5))
    y = s(x)
    assert y.shape == (1, 5, 3, 3)
    np.testing.assert_array_equal(y[:, :2], x[:, :, ::2, ::2])
    assert not y[:, 2:].any()
    assert glassnet.gradcheck(s, x).ok
    with pytest.raises(ValueError, match="out_channels"):
        ZeroPadShortcut(4, 2)
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        s(_batch((1, 3, 4, 4)))


def test_width_and_num_classes_validation():
    with pytest.raises(ValueError, match="num_classes"):
        get_model("resnet18", num_classes=0)
    with pytest.raises(ValueError, match="width"):
        get_model("vgg11", width=0)
    assert get_model("resnet20", num_classes=100).fc.out_features == 100


def test_zero_init_residual_makes_blocks_start_as_identity():
    m = get_model("resnet18", width=1 / 16, zero_init_residual=True)
    assert all(not blk.bn2.weight.data.any() for stage in (m.layer1, m.layer4) for blk in stage)


def test_documented_input_sizes():
    sizes = {"lenet5": (1, 28, 28), "alexnet": (3, 224, 224), "vgg16": (3, 224, 224), "googlenet": (3, 224, 224),
             "resnet50": (3, 224, 224), "resnet20": (3, 32, 32)}
    for name, size in sizes.items():
        assert tuple(build_structure(name).input_size) == size
