"""GoogLeNet / Inception v1 (Szegedy et al. 2014), for 3x224x224 input, in two versions.

* ``googlenet()`` (default): torchvision's network, key for key. Every
  convolution is a :class:`BasicConv2d` (conv without bias, BatchNorm with
  eps 0.001, ReLU), and the "5x5" branch of each Inception module uses a
  **3x3** kernel, a quirk torchvision keeps because its weights were trained
  so. 6,624,904 parameters with 1000 classes (auxiliary heads off).
* ``googlenet(paper=True)``: the paper's network (table 1 and figure 3):
  convolutions with biases and no BatchNorm, true 5x5 kernels, local
  response normalisation after the first pooling and after conv3 (size 5,
  alpha 1e-4, beta 0.75, as the BVLC reference model), dropout 0.4, and
  auxiliary heads that start with a 5x5/3 average pool. 6,998,552
  parameters (13,378,280 with the auxiliary heads). Initialisation as the
  BVLC Caffe model: Xavier-uniform weights, biases 0.2.

Each Inception module is a :class:`glassnet.nn.Concat` of four branches
(``branch1``: 1x1; ``branch2``: 1x1 reduce, 3x3; ``branch3``: 1x1 reduce,
5x5; ``branch4``: 3x3/1 max-pool, 1x1 projection) joined along channels.

Auxiliary heads (``aux_logits=True``): ``aux1`` reads the output of
inception (4a), ``aux2`` that of (4d). In training mode the forward pass then
returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`` and backward
takes the three gradients in the same order (the paper weights the
auxiliary losses by 0.3); in evaluation mode, or with ``aux_logits=False``
(the default here; torchvision's builder defaults to True), it returns the
logits alone. ``transform_input=True`` re-normalises ImageNet-normalised
input the way torchvision's pretrained weights expect.

>>> googlenet().num_parameters(), googlenet(paper=True).num_parameters()
(6624904, 6998552)
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

from .. import backend as B
from .. import nn
from ._common import check_common, scaled

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])

# in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj (the paper's table 1)
INCEPTION = OrderedDict(
    inception3a=(192, 64, 96, 128, 16, 32, 32),
    inception3b=(256, 128, 128, 192, 32, 96, 64),
    inception4a=(480, 192, 96, 208, 16, 48, 64),
    inception4b=(512, 160, 112, 224, 24, 64, 64),
    inception4c=(512, 128, 128, 256, 24, 64, 64),
    inception4d=(512, 112, 144, 288, 32, 64, 64),
    inception4e=(528, 256, 160, 320, 32, 128, 128),
    inception5a=(832, 256, 160, 320, 32, 128, 128),
    inception5b=(832, 384, 192, 384, 48, 128, 128),
)


class BasicConv2d(nn.Sequential):
    """conv - BatchNorm(eps=0.001) - ReLU (torchvision), or conv with bias - ReLU (``paper=True``)."""

    def __init__(self, cin, cout, kernel_size, stride=1, padding=0, paper=False):
        mods = OrderedDict(conv=nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=paper))
        if not paper:
            mods["bn"] = nn.BatchNorm2d(cout, eps=0.001)
        mods["relu"] = nn.ReLU()
        super().__init__(mods)


class Inception(nn.Concat):
    """Four parallel branches concatenated along channels: out = ch1x1 + ch3x3 + ch5x5 + pool_proj channels."""

    def __init__(self, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, paper=False):
        k5 = 5 if paper else 3  # torchvision's "5x5" branch has a 3x3 kernel
        super().__init__(OrderedDict(
            branch1=BasicConv2d(cin, ch1x1, 1, paper=paper),
            branch2=nn.Sequential(
                BasicConv2d(cin, ch3x3red, 1, paper=paper), BasicConv2d(ch3x3red, ch3x3, 3, padding=1, paper=paper)
            ),
            branch3=nn.Sequential(
                BasicConv2d(cin, ch5x5red, 1, paper=paper),
                BasicConv2d(ch5x5red, ch5x5, k5, padding=k5 // 2, paper=paper),
            ),
            branch4=nn.Sequential(
                nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), BasicConv2d(cin, pool_proj, 1, paper=paper)
            ),
        ))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj


class InceptionAux(nn.Sequential):
    """Auxiliary classifier: pool to 4x4, 1x1 conv (128), flatten, fc1 (1024), ReLU, dropout 0.7, fc2."""

    def __init__(self, cin, num_classes, width=1.0, paper=False, dropout=0.7):
        c, hidden = scaled(128, width), scaled(1024, width)
        pool = nn.AvgPool2d(5, stride=3) if paper else nn.AdaptiveAvgPool2d(4)
        super().__init__(OrderedDict(
            avgpool=pool, conv=BasicConv2d(cin, c, 1, paper=paper), flatten=nn.Flatten(),
            fc1=nn.Linear(c * 16, hidden), relu=nn.ReLU(), dropout=nn.Dropout(dropout),
            fc2=nn.Linear(hidden, num_classes),
        ))


_MEAN, _STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class GoogLeNet(nn.Module):
    """The trunk runs its children in :attr:`trunk` order; aux heads read the outputs named in :attr:`taps`."""

    input_size = (3, 224, 224)

    def __init__(self, num_classes=1000, aux_logits=False, transform_input=False, paper=False, width=1.0,
                 dropout=None, dropout_aux=0.7):
        super().__init__()
        check_common("GoogLeNet", num_classes, width)
        self.aux_logits, self.transform_input, self.paper = aux_logits, transform_input, paper
        dropout = (0.4 if paper else 0.2) if dropout is None else dropout
        s = {name: tuple(scaled(c, width) for c in cfg) for name, cfg in INCEPTION.items()}
        self.conv1 = BasicConv2d(3, scaled(64, width), 7, stride=2, padding=3, paper=paper)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        if paper:
            self.lrn1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.conv2 = BasicConv2d(scaled(64, width), scaled(64, width), 1, paper=paper)
        self.conv3 = BasicConv2d(scaled(64, width), s["inception3a"][0], 3, padding=1, paper=paper)
        if paper:
            self.lrn2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("inception3a", "inception3b"):
            setattr(self, name, Inception(*s[name], paper=paper))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            setattr(self, name, Inception(*s[name], paper=paper))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        for name in ("inception5a", "inception5b"):
            setattr(self, name, Inception(*s[name], paper=paper))
        if aux_logits:
            self.aux1 = InceptionAux(s["inception4b"][0], num_classes, width, paper, dropout_aux)
            self.aux2 = InceptionAux(s["inception4e"][0], num_classes, width, paper, dropout_aux)
        self.avgpool = nn.AvgPool2d(7, stride=1) if paper else nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.inception5b.out_channels, num_classes)
        self.taps = {"aux1": "inception4a", "aux2": "inception4d"} if aux_logits else {}
        self.trunk = [n for n in self._modules if n not in self.taps]
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if self.paper:
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0.2)
                else:  # torchvision: N(0, 0.01) truncated at 2 sigma; biases keep PyTorch's default
                    nn.init.trunc_normal_(m.weight, 0.0, 0.01, -0.02, 0.02)

    def forward_plan(self):
        """How the children run, for :func:`glassnet.summary`: ``(name, None)`` continues the trunk;
        ``(head, source)`` is a side head that reads the output of ``source``."""
        plan = []
        for name in self.trunk:
            plan.append((name, None))
            plan += [(head, src) for head, src in self.taps.items() if src == name]
        return plan

    def _aux_active(self):
        return self.aux_logits and self.training

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != 3:
            raise self._shape_error("(N, 3, H, W)", x)
        if self.transform_input:
            scale = B.get_array_module(x).asarray([s / 0.5 for s in _STD], dtype=x.dtype).reshape(1, 3, 1, 1)
            shift = B.get_array_module(x).asarray([(m - 0.5) / 0.5 for m in _MEAN], dtype=x.dtype).reshape(1, 3, 1, 1)
            x = x * scale + shift
        aux = {}
        active = self._aux_active()
        for name in self.trunk:
            x = self._modules[name](x)
            for head, src in self.taps.items():
                if active and src == name:
                    aux[head] = self._modules[head](x)
        self._save(active)
        if active:
            return GoogLeNetOutputs(x, aux["aux2"], aux["aux1"])
        return x

    def backward(self, dy):
        """``dy`` is d(loss)/d(logits), or ``(dlogits, daux2, daux1)`` when the forward returned the aux logits."""
        active = self._saved()
        daux = {}
        if isinstance(dy, tuple):
            if not active or len(dy) != 3:
                raise ValueError(
                    f"{self.label}: backward got a tuple of {len(dy)} gradients; expected "
                    + ("(dlogits, daux2, daux1)" if active else "one array (the forward returned only logits)")
                )
            dy, daux["aux2"], daux["aux1"] = dy
        for name in reversed(self.trunk):
            for head, src in self.taps.items():
                if src == name and daux.get(head) is not None:
                    dy = dy + self._modules[head].backward(daux[head])
            dy = self._modules[name].backward(dy)
        if self.transform_input:
            dy = dy * B.get_array_module(dy).asarray([s / 0.5 for s in _STD], dtype=dy.dtype).reshape(1, 3, 1, 1)
        return dy


def googlenet(num_classes: int = 1000, aux_logits: bool = False, transform_input: bool = False,
              paper: bool = False, width: float = 1.0, dropout: float | None = None,
              dropout_aux: float = 0.7) -> GoogLeNet:
    """GoogLeNet for 3x224x224 input: torchvision's (default) or the paper's (``paper=True``)."""
    return GoogLeNet(num_classes, aux_logits, transform_input, paper, width, dropout, dropout_aux)
