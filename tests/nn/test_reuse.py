"""A module called several times in one forward pass: gradients summed over the uses, as PyTorch does.

Each case builds a glassnet network that reuses a module instance (a ReLU twice, a Conv2d or Linear applied
twice with shared weights, a MaxPool2d twice, a BatchNorm twice, a whole container twice) and checks outputs,
input gradients and parameter gradients against PyTorch autograd (float64, 1e-8), and always against central
differences (so the file proves something without torch too).
"""

import numpy as np
import pytest
from cases import rel_err as max_rel_err

import glassnet
from glassnet import nn


class Twice(nn.Module):
    """y = tail(body(head(body(x)))): ``body`` used twice; any of head/tail may be None."""

    def __init__(self, body, head=None, tail=None):
        super().__init__()
        self.body = body
        if head is not None:
            self.head = head
        if tail is not None:
            self.tail = tail

    def forward(self, x):
        h = self.body(x)
        if "head" in self._modules:
            h = self.head(h)
        h = self.body(h)
        return self.tail(h) if "tail" in self._modules else h

    def backward(self, dy):
        if "tail" in self._modules:
            dy = self.tail.backward(dy)
        dy = self.body.backward(dy)
        if "head" in self._modules:
            dy = self.head.backward(dy)
        return self.body.backward(dy)


def cases():
    relu = nn.ReLU()
    return {
        "relu in a Sequential": (lambda: nn.Sequential(nn.Linear(5, 5), relu, nn.Linear(5, 5), relu), (4, 5)),
        "conv twice": (lambda: Twice(nn.Conv2d(3, 3, 3, padding=1), head=nn.Tanh()), (2, 3, 6, 5)),
        "strided conv twice": (lambda: Twice(nn.Conv2d(2, 2, 3, stride=2, padding=2)), (2, 2, 9, 9)),
        "linear twice": (lambda: Twice(nn.Linear(4, 4), head=nn.Sigmoid()), (3, 4)),
        "max pool twice": (lambda: Twice(nn.MaxPool2d(2), head=nn.Conv2d(2, 2, 1)), (2, 2, 8, 8)),
        "batch norm twice": (lambda: Twice(nn.BatchNorm2d(3), head=nn.Tanh()), (4, 3, 5, 5)),
        "residual block twice": (
            lambda: Twice(nn.Residual(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, bias=False), nn.BatchNorm2d(2)),
                                      activation=nn.ReLU())),
            (2, 2, 6, 6),
        ),
        "sequential twice": (lambda: Twice(nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3))), (5, 3)),
        "concat twice": (lambda: Twice(nn.Concat(nn.Conv2d(2, 1, 1), nn.Conv2d(2, 1, 3, padding=1))), (2, 2, 5, 5)),
    }


def to_torch(model):
    """The same network in PyTorch, sharing modules exactly where the glassnet one does."""
    import torch

    made = {}

    def conv(m):
        return torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                               m.dilation, bias=m.bias is not None)

    def build(m):
        if id(m) in made:
            return made[id(m)]
        t = {
            nn.Linear: lambda: torch.nn.Linear(m.in_features, m.out_features),
            nn.Conv2d: lambda: conv(m),
            nn.ReLU: torch.nn.ReLU, nn.Tanh: torch.nn.Tanh, nn.Sigmoid: torch.nn.Sigmoid,
            nn.MaxPool2d: lambda: torch.nn.MaxPool2d(m.kernel_size, m.stride),
            nn.BatchNorm2d: lambda: torch.nn.BatchNorm2d(m.num_features),
        }.get(type(m))
        if t is not None:
            out = t()
        elif isinstance(m, nn.Sequential):
            out = torch.nn.Sequential(*[build(c) for c in m])
        elif isinstance(m, nn.Concat):
            branches = [build(c) for c in m.children()]
            out = Lambda(lambda x, b=branches: torch.cat([f(x) for f in b], 1), branches)
        elif isinstance(m, nn.Residual):
            body = [build(c) for c in m.body_modules()]
            act = build(m.act)
            out = Lambda(lambda x, b=body, a=act: a(torch.nn.Sequential(*b)(x) + x), body + [act])
        elif isinstance(m, Twice):
            body = build(m.body)
            head = build(m.head) if "head" in m._modules else (lambda x: x)
            tail = build(m.tail) if "tail" in m._modules else (lambda x: x)
            parts = [p for p in (body, head, tail) if isinstance(p, torch.nn.Module)]
            out = Lambda(lambda x, b=body, h=head, t=tail: t(b(h(b(x)))), parts)
        else:
            raise AssertionError(type(m))
        made[id(m)] = out
        return out

    class Lambda(torch.nn.Module):
        def __init__(self, fn, mods):
            super().__init__()
            self.fn = fn
            self.mods = torch.nn.ModuleList(mods)

        def forward(self, x):
            return self.fn(x)

    tm = build(model).double()
    # copy the weights module by module (shared modules once)
    for m in model.modules():
        t = made.get(id(m))
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.BatchNorm2d)):
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(m.weight.data))
                if m.bias is not None:
                    t.bias.copy_(torch.from_numpy(m.bias.data))
    return tm, made


@pytest.mark.parametrize("name", list(cases()))
def test_reuse_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    build, shape = cases()[name]
    glassnet.manual_seed(1)
    model = build().double()
    for m in model.modules():  # BatchNorm: move gamma/beta off their defaults
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = np.random.default_rng(2).uniform(0.5, 1.5, m.weight.shape)
            m.bias.data = np.random.default_rng(3).normal(0, 0.3, m.bias.shape)
    tm, made = to_torch(model)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    y = model(x)
    dy = rng.standard_normal(y.shape)
    model.zero_grad()
    dx = model.backward(dy)

    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = tm(tx)
    ty.backward(torch.from_numpy(dy))
    assert max_rel_err(y, ty.detach().numpy()) < 1e-8
    assert max_rel_err(dx, tx.grad.numpy()) < 1e-8
    for m in model.modules():
        t = made.get(id(m))
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.BatchNorm2d)):
            assert max_rel_err(m.weight.grad, t.weight.grad.numpy()) < 1e-8, m.label
            if m.bias is not None:
                assert max_rel_err(m.bias.grad, t.bias.grad.numpy()) < 1e-8, m.label
        if isinstance(m, nn.BatchNorm2d):  # the running statistics saw both uses, in order
            assert max_rel_err(m.running_mean, t.running_mean.numpy()) < 1e-8
            assert max_rel_err(m.running_var, t.running_var.numpy()) < 1e-8


@pytest.mark.parametrize("name", list(cases()))
def test_reuse_passes_gradcheck(name):
    build, shape = cases()[name]
    glassnet.manual_seed(1)
    model = build().double().eval()  # eval: BatchNorm with fixed statistics is a function of x
    x = np.random.default_rng(0).standard_normal(shape)
    report = glassnet.gradcheck(model, x)
    assert report.ok and len(report.rows) >= 2


def test_second_backward_over_the_same_forward_gives_the_same_gradients():
    relu = nn.ReLU()
    net = nn.Sequential(nn.Linear(3, 3), relu, nn.Linear(3, 3), relu).double()
    x = np.random.default_rng(0).standard_normal((4, 3))
    dy = np.random.default_rng(1).standard_normal((4, 3))
    net(x)
    first = net.backward(dy)
    second = net.backward(dy)
    np.testing.assert_array_equal(first, second)


def test_backward_more_often_than_forward_is_a_clear_error():
    relu = nn.ReLU()
    relu(np.ones(3))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.ReLU().backward(np.ones(3))
    twice = nn.Sequential(relu, relu)
    twice(np.ones(3))
    with pytest.raises(RuntimeError, match=r"ReLU \(body.1\): backward\(\) called more often than forward\(\)"):
        Twice(twice).backward(np.ones(3))  # four backward calls for a forward pass with two


def test_a_new_forward_pass_forgets_the_old_one_and_no_grad_keeps_nothing():
    conv = nn.Conv2d(1, 2, 3)
    x = np.zeros((1, 1, 5, 5), np.float32)
    for _ in range(5):
        conv(x)  # inference without no_grad: memory must not grow
    assert len(conv._saved_stack) == 1
    with nn.no_grad():
        fresh = nn.Conv2d(1, 2, 3)
        fresh(x)
    assert fresh._saved_stack == []
    relu = nn.ReLU()
    net = nn.Sequential(relu, relu)
    net(np.ones(2))
    net(np.ones(2))
    assert len(relu._saved_stack) == 2  # two uses in the latest pass, nothing from the one before


def test_reuse_across_outermost_calls_is_refused_never_a_wrong_gradient():
    """m(m(x)) from plain code: two outermost calls, so two forward passes; only the latest is kept."""
    lin = nn.Linear(1, 1, bias=False).double()
    lin.weight.data[...] = 2.0
    x = np.array([[3.0]])
    y = lin(lin(x))  # y = 4x: dy/dw = 2*w*x = 12
    assert float(y[0, 0]) == 12.0
    lin.zero_grad()
    dh = lin.backward(np.ones((1, 1)))  # the outer use (the latest call's state): adds h = 6
    with pytest.raises(RuntimeError, match=r"Linear: a second backward over its forward pass, but it was called "
                                           r"at the outermost level more than once"):
        lin.backward(dh)  # the inner use's state is gone: refused instead of adding 6 again
    # the same composition inside one module's forward pass accumulates correctly
    twice = nn.Sequential(lin, lin)
    lin.zero_grad()
    twice(x)
    twice.backward(np.ones((1, 1)))
    assert float(lin.weight.grad[0, 0]) == 12.0
