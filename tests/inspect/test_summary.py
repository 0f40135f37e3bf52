"""glassnet.summary: shapes, parameters, MACs and receptive fields against published figures, hand
computation and two independent oracles (a real forward pass; the gradient support of one output pixel)."""

import json

import numpy as np
import pytest

import glassnet
import glassnet.nn.init as init_module
from glassnet import nn
from glassnet.cli import main
from glassnet.inspect.compare import compare_dense
from glassnet.inspect.inception import inception_report
from glassnet.inspect.summary import parse_size, summary
from glassnet.models import get_model


def structure(name, **kw):
    """A full-size model for shape-only work: default initialisation skipped (values never read)."""
    if name.startswith("vgg"):
        kw["init_weights"] = False
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(init_module, "default_weight_and_bias_", lambda weight, bias: None)
        return get_model(name, **kw)


# ----------------------------------------------------------------- published figures and hand counts
def test_lenet5_by_hand():
    s = summary(get_model("lenet5"), (1, 28, 28))
    assert s.totals.params == s.totals.trainable == 61_706
    convs = [r for r in s.rows if r.type == "Conv2d"]
    assert [r.macs for r in convs] == [6 * 28 * 28 * (1 * 5 * 5), 16 * 10 * 10 * (6 * 5 * 5)]
    assert s.totals.macs == 117_600 + 240_000 + 400 * 120 + 120 * 84 + 84 * 10
    # r_out = r_in + (k-1) j_in, j_out = j_in s: conv5 -> 5; pool2 -> 6 (j 2); conv5 -> 14; pool2 -> 16 (j 4)
    assert [(s.row(f"features.{i}").rf[0], s.row(f"features.{i}").jump[0]) for i in (0, 2, 3, 5)] == [
        (5, 1), (6, 2), (14, 2), (16, 4)]
    assert s.row("classifier.4").rf is None and s.output_shape == (10,)
    # activations: every output but the flatten view, float32
    elements = (4704 + 4704 + 1176) + (1600 + 1600 + 400) + (120 + 120) + (84 + 84) + 10
    assert s.totals.activation_bytes == elements * 4 and s.totals.param_bytes == 61_706 * 4
    assert s.totals.input_bytes == 784 * 4


def test_vgg16_receptive_field_196_at_conv5_3_and_212_after_pool5():
    s = summary(structure("vgg16"), (3, 224, 224))
    assert s.row("features.28").type == "Conv2d" and s.row("features.28").rf == (196, 196)
    assert s.row("features.30").type == "MaxPool2d" and s.row("features.30").rf == (212, 212)
    assert s.row("features.30").jump == (32, 32) and s.row("features.30").output_shape == (512, 7, 7)
    assert s.totals.params == 138_357_544


def test_resnet50_receptive_field_427_at_last_block():
    s = summary(structure("resnet50"), (3, 224, 224))
    last = s.row("layer4.2")
    assert last.type == "Bottleneck" and last.rf == (427, 427) and last.jump == (32, 32)
    assert s.row("layer4").rf == (427, 427)


# torchvision's documented GFLOPS (its counting: multiply-adds of conv and linear layers) at 224x224
TORCHVISION_GMACS = {"alexnet": 0.71, "vgg16": 15.47, "resnet18": 1.81, "resnet50": 4.09, "googlenet": 1.50}


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_macs_within_one_percent_of_torchvision(name):
    s = summary(structure(name), (3, 224, 224))
    assert abs(s.totals.macs / 1e9 / TORCHVISION_GMACS[name] - 1) < 0.01
    assert s.totals.macs == sum(r.macs for r in s.rows if r.type in ("Conv2d", "Linear"))
    assert s.totals.unknown_macs == 0


def test_resnet20_parameters_and_option_a_rows():
    s = summary(get_model("resnet20"))
    assert s.input_size == (3, 32, 32) and s.totals.params == 269_722
    short = s.row("layer2.0.downsample")
    assert short.type == "ZeroPadShortcut" and short.role == "shortcut" and short.output_shape == (32, 16, 16)
    assert short.params == 0 and short.macs == 0


# ----------------------------------------------------------------- oracle 1: a real forward pass
def _record_leaf_outputs(model, x):
    seen = {}
    for name, m in model.named_modules():
        if not m._modules:
            original = m.forward

            def hook(inp, _name=name, _orig=original):
                out = _orig(inp)
                seen[_name] = out.shape[1:]
                return out

            object.__setattr__(m, "forward", hook)
    with glassnet.no_grad():
        model.eval()(x)
    return seen


@pytest.mark.parametrize("name,kw,size", [
    ("lenet5", {}, 28), ("alexnet", {"width": 1 / 16}, 67), ("vgg13_bn", {"width": 1 / 16}, 40),
    ("googlenet", {"width": 1 / 16, "aux_logits": True}, 64), ("resnet50", {"width": 1 / 16}, 48),
    ("resnet20", {"width": 0.5}, 20),
])
def test_shapes_and_macs_agree_with_a_forward_pass(name, kw, size):
    model = get_model(name, **kw)
    c = 1 if name == "lenet5" else 3
    s = summary(model, (c, size, size), batch_size=3)
    model.train()  # auxiliary heads run in training mode only
    model.eval = lambda: model  # keep training mode inside the recorder (aux heads)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.track_running_stats = False
    seen = _record_leaf_outputs(model, np.zeros((3, c, size, size), np.float32))
    leaves = {r.name: r for r in s.rows if not r.container and r.type not in ("Add", "Identity")}
    assert set(leaves) == set(seen)
    for n, r in leaves.items():
        assert r.output_shape == tuple(seen[n]), n
    mod = dict(model.named_modules())
    for n, r in leaves.items():
        m = mod[n]
        if isinstance(m, nn.Conv2d):
            kh, kw_ = m.kernel_size
            assert r.macs == 3 * int(np.prod(seen[n])) * m.in_channels * kh * kw_
        elif isinstance(m, nn.Linear):
            assert r.macs == 3 * m.in_features * m.out_features


# ----------------------------------------------------------------- oracle 2: gradient support of one output pixel
def _support(model, in_shape):
    """Height and width of the input region that one central output pixel depends on (weights all positive)."""
    for p in model.parameters():
        p.data = np.full(p.shape, 0.5)
    x = np.random.default_rng(0).uniform(1, 2, (1,) + in_shape)
    y = model.double()(x)
    dy = np.zeros_like(y)
    dy[0, :, y.shape[2] // 2, y.shape[3] // 2] = 1.0  # every channel: every path of a concat
    dx = np.abs(model.backward(dy))[0].sum(axis=0)
    rows, cols = np.nonzero(dx)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def _tail_rf(model, in_shape):
    return summary(model, in_shape).rows[-1].rf


@pytest.mark.parametrize("build", [
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, dilation=2),
                          nn.Conv2d(2, 1, 5, stride=2), nn.AvgPool2d(3, stride=2)),
    lambda: nn.Sequential(nn.Conv2d(1, 2, (3, 5), stride=(1, 2)), nn.ReLU(), nn.Conv2d(2, 1, 3, stride=2),
                          nn.AvgPool2d((2, 1))),
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Concat(nn.Conv2d(2, 1, 1), nn.Conv2d(2, 2, 5, padding=2)),
                          nn.AvgPool2d(2)),
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Residual(
        nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1)),
        activation=nn.ReLU())),
], ids=["strides-dilation-pools", "rectangular", "concat", "residual"])
def test_receptive_field_equals_gradient_support(build):
    model = build()
    rf = _tail_rf(model, (1, 61, 61))
    assert tuple(int(v) for v in _support(model, (1, 61, 61))) == rf


def test_jump_is_the_product_of_strides():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.MaxPool2d(2), nn.Conv2d(1, 1, 1, stride=(3, 1)))
    assert summary(model, (1, 64, 64)).rows[-1].jump == (12, 4)


# ----------------------------------------------------------------- containers, sharing, custom modules
def test_rows_show_inception_branches_residual_paths_and_aux_heads():
    s = summary(structure("googlenet", aux_logits=True))
    inc = s.row("inception3a")
    assert inc.kind == "concat" and inc.output_shape == (256, 28, 28) and inc.input_shape == (192, 28, 28)
    assert [r.name for r in s.rows if r.role == "branch" and r.depth == 1][:4] == [
        f"inception3a.branch{i}" for i in (1, 2, 3, 4)]
    aux1 = s.row("aux1")
    assert aux1.role == "aux" and aux1.input_shape == (512, 14, 14) and aux1.output_shape == (1000,)
    names = [r.name for r in s.rows if r.depth == 0]
    assert names.index("aux1") == names.index("inception4a") + 1
    assert s.row("inception4b").input_shape == (512, 14, 14)  # the trunk continues from 4a, not from aux1
    block = summary(structure("resnet18")).rows
    roles = [(r.name, r.role) for r in block if r.name.startswith("layer2.0.")]
    assert ("layer2.0.downsample", "shortcut") in roles and ("layer2.0.(add)", "add") in roles
    assert ("layer1.0.(identity)", "shortcut") in [(r.name, r.role) for r in block]


def test_shared_layer_counted_once_in_parameters_and_twice_in_macs():
    shared = nn.Linear(8, 8)
    s = summary(nn.Sequential(shared, nn.ReLU(), shared), (8,))
    assert s.totals.params == 72 and s.totals.macs == 2 * 64
    assert [r.params for r in s.rows] == [72, 0, 72]


class TwoPath(nn.Module):
    """Custom forward, children used out of registration order."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4 * 4 * 4, 3)
        self.conv = nn.Conv2d(1, 4, 3, stride=2)
        self.flat = nn.Flatten()

    def forward(self, x):
        return self.head(self.flat(self.conv(x)))


class Doubler(nn.Module):
    def forward(self, x):
        return np.concatenate([x, x], axis=1)


def test_custom_forward_is_traced_and_unknown_layers_are_run_once():
    model = TwoPath()
    model.train()
    s = summary(model, (1, 9, 9))
    assert [r.name for r in s.rows] == ["conv", "flat", "head"]
    assert s.row("conv").rf == (3, 3) and s.row("head").output_shape == (3,)
    assert model.training and "forward" not in model.conv.__dict__  # state restored
    s = summary(nn.Sequential(nn.Conv2d(1, 2, 3), Doubler(), nn.Conv2d(4, 1, 1)), (1, 8, 8))
    assert s.rows[1].output_shape == (4, 6, 6) and s.rows[1].macs is None and s.rows[2].rf is None
    assert s.totals.unknown_macs == 1 and "?" in str(s)


def test_batch_size_scales_macs_and_activations():
    one, four = summary(get_model("lenet5"), (1, 28, 28)), summary(get_model("lenet5"), (1, 28, 28), batch_size=4)
    assert four.totals.macs == 4 * one.totals.macs
    assert four.totals.activation_bytes == 4 * one.totals.activation_bytes
    assert four.totals.param_bytes == one.totals.param_bytes


# ----------------------------------------------------------------- errors
def test_clear_errors():
    with pytest.raises(ValueError, match=r"Conv2d \(features.0\): expected input 1 x H x W, got 3 x 28 x 28"):
        summary(get_model("lenet5"), (3, 28, 28))
    with pytest.raises(ValueError, match=r"MaxPool2d \(features.12\).*got 256 x 1 x 1"):
        summary(structure("alexnet"), "3x32x32")
    with pytest.raises(ValueError, match="3x224x224"):
        parse_size("3 by 224")
    with pytest.raises(ValueError, match="give input_size"):
        summary(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="batch_size"):
        summary(get_model("lenet5"), batch_size=0)
    with pytest.raises(ValueError, match="Linear.*expected input 5 features, got 4"):
        summary(nn.Linear(5, 2), (4,))


# ----------------------------------------------------------------- renderings
def test_text_html_and_json_renderings():
    s = summary(get_model("resnet20"))
    text = str(s)
    lines = text.splitlines()
    assert lines[0].startswith("CifarResNet: input 3 x 32 x 32, batch 1, float32")
    assert any(line.startswith("  0 (BasicBlock) [residual]") for line in lines)
    assert any(line.startswith("    (+) add: body + shortcut") for line in lines)
    assert "Total params:" in text and "269,722" in text
    assert len(s.to_text(max_depth=0).splitlines()) < len(lines)
    page = s._repr_html_()
    assert page.startswith("<div") and page.count("<tr title=") == len(s.rows)
    data = json.loads(s.to_json())
    assert data["totals"]["params"] == 269_722 and len(data["rows"]) == len(s.rows)
    assert data["rows"][0]["name"] == "conv1"


# ----------------------------------------------------------------- the lecture's two comparisons
def test_inception_report_by_hand():
    paper = inception_report(structure("googlenet", paper=True))
    assert len(paper.rows) == 9
    r = paper.row("inception3a")
    # with: 1x1 64; 1x1 96 -> 3x3 128; 1x1 16 -> 5x5 32; pool -> 1x1 32 (biases included)
    assert r.params == (192 * 64 + 64) + (192 * 96 + 96 + 96 * 128 * 9 + 128) + (192 * 16 + 16 + 16 * 32 * 25 + 32) \
        + (192 * 32 + 32)
    # without: the 3x3 and 5x5 read all 192 channels; the pool passes 192 channels on
    assert r.naive_params == (192 * 64 + 64) + (192 * 128 * 9 + 128) + (192 * 32 * 25 + 32)
    assert r.naive_out_channels == 64 + 128 + 32 + 192 and r.out_channels == 256
    assert r.naive_macs == 28 * 28 * (192 * 64 + 192 * 128 * 9 + 192 * 32 * 25)
    assert r.macs == 28 * 28 * (192 * 64 + 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25 + 192 * 32)
    assert all(row.naive_params > row.params for row in paper.rows)
    tv = inception_report(structure("googlenet")).row("inception3a")  # BatchNorm, 3x3 "5x5" branch
    assert tv.naive_params == (192 * 64 + 128) + (192 * 128 * 9 + 256) + (192 * 32 * 9 + 64)
    assert "inception5b" in str(paper) and "<table>" in paper._repr_html_()
    assert inception_report(get_model("lenet5")).rows == []


def test_compare_dense_lecture_example():
    c = compare_dense(nn.Conv2d(3, 10, 3), (3, 100, 100))
    assert c.conv_params == 10 * (3 * 3 * 3 + 1) == 280
    assert c.dense_in == 30_000 and c.dense_out == 10 * 98 * 98
    assert c.dense_params == 30_000 * 96_040 + 96_040 and c.dense_macs == 30_000 * 96_040
    assert "times more parameters" in str(c)
    with pytest.raises(ValueError, match="reads 3 channels"):
        compare_dense(nn.Conv2d(3, 10, 3), (1, 100, 100))


# ----------------------------------------------------------------- the command
def test_cli_summary(capsys):
    assert main(["summary", "lenet5", "--compare-dense"]) == 0
    out = capsys.readouterr().out
    assert "61,706" in out and "Linear(784, 4704)" in out
    assert main(["summary", "resnet20", "--num-classes", "100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["output_shape"] == [100]
    assert main(["summary", "googlenet", "--arg", "paper=True", "--arg", "width=0.25", "--inception",
                 "--depth", "0", "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<div") and "inception3a" in out
    assert main(["summary", "lenet6"]) == 2
    assert "valid names" in capsys.readouterr().err
    assert main(["summary", "resnet18", "--arg", "nonsense"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["summary", "lenet5", "--input", "3x28x28"]) == 2
