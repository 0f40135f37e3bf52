"""Write torchvision's state-dict keys and shapes for the classic CNNs to tests/fixtures/torchvision_keys.json.

torchvision cannot be installed next to the pinned torch here, so this
script rebuilds torchvision's module trees with plain ``torch.nn``, written
from torchvision's model sources (torchvision/models/alexnet.py, vgg.py,
googlenet.py, resnet.py: same attribute names, same registration order,
same layer hyper-parameters). The models are built on torch's ``meta``
device, so no memory is allocated and nothing is initialised.

The committed JSON is what ``tests/models/test_torchvision_compat.py``
checks glassnet's models against, without torch. When torch is importable
the same tests also rebuild these trees (at reduced width, with the
``width`` argument below) and compare glassnet's outputs with torch's on
the same weights.

    python scripts/make_torchvision_keys.py            # rewrites the JSON
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "torchvision_keys.json"


def scaled(c, width):
    return max(1, int(round(c * width)))


# ----------------------------------------------------------------- AlexNet
class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, width=1.0):
        super().__init__()
        c1, c2, c3, c4, c5 = (scaled(c, width) for c in (64, 192, 384, 256, 256))
        h = scaled(4096, width)
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(c5 * 36, h), nn.ReLU(), nn.Dropout(), nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ----------------------------------------------------------------- VGG
VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, cfg, bn, num_classes=1000, width=1.0):
        super().__init__()
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            v = scaled(v, width)
            layers += [nn.Conv2d(cin, v, 3, padding=1)] + ([nn.BatchNorm2d(v)] if bn else []) + [nn.ReLU()]
            cin = v
        h = scaled(4096, width)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(cin * 49, h), nn.ReLU(), nn.Dropout(), nn.Linear(h, h), nn.ReLU(), nn.Dropout(),
            nn.Linear(h, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# ----------------------------------------------------------------- GoogLeNet
class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(cin, c3r, kernel_size=1), BasicConv2d(c3r, c3, kernel_size=3, padding=1)
        )
        self.branch3 = nn.Sequential(  # torchvision's "5x5" branch: a 3x3 kernel
            BasicConv2d(cin, c5r, kernel_size=1), BasicConv2d(c5r, c5, kernel_size=3, padding=1)
        )
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv2d(cin, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    def __init__(self, cin, num_classes, width=1.0):
        super().__init__()
        c, h = scaled(128, width), scaled(1024, width)
        self.conv = BasicConv2d(cin, c, kernel_size=1)
        self.fc1 = nn.Linear(c * 16, h)
        self.fc2 = nn.Linear(h, num_classes)
        self.dropout = nn.Dropout(0.7)

    def forward(self, x):
        x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


INCEPTION = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32), "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64), "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64), "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128), "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=False, width=1.0):
        super().__init__()
        s = {k: [scaled(c, width) for c in v] for k, v in INCEPTION.items()}
        c64 = scaled(64, width)
        self.conv1 = BasicConv2d(3, c64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(c64, c64, kernel_size=1)
        self.conv3 = BasicConv2d(c64, s["inception3a"][0], kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a, self.inception3b = Inception(*s["inception3a"]), Inception(*s["inception3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for k in ("4a", "4b", "4c", "4d", "4e"):
            setattr(self, "inception" + k, Inception(*s["inception" + k]))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a, self.inception5b = Inception(*s["inception5a"]), Inception(*s["inception5b"])
        if aux_logits:
            self.aux1 = InceptionAux(s["inception4b"][0], num_classes, width)
            self.aux2 = InceptionAux(s["inception4e"][0], num_classes, width)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        out = sum(s["inception5b"][i] for i in (1, 3, 5, 6))
        self.fc = nn.Linear(out, num_classes)

    def forward(self, x):  # evaluation path (auxiliary heads are training-only)
        for name in ("conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
                     "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
                     "inception5a", "inception5b", "avgpool"):
            x = getattr(self, name)(x)
        return self.fc(self.dropout(torch.flatten(x, 1)))


# ----------------------------------------------------------------- ResNet
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, width=1.0):
        super().__init__()
        self.inplanes = scaled(64, width)
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            setattr(self, f"layer{i + 1}", self._stage(block, scaled(planes, width), n, 1 if i == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)

    def _stage(self, block, planes, n, stride):
        out = planes * block.expansion
        down = None
        if stride != 1 or self.inplanes != out:
            down = nn.Sequential(nn.Conv2d(self.inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
        blocks = [block(self.inplanes, planes, stride, down)]
        self.inplanes = out
        blocks += [block(out, planes) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(name: str, width: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision's ``name`` (e.g. "vgg16_bn", "googlenet_aux") as a plain torch.nn tree."""
    if name == "alexnet":
        return AlexNet(num_classes, width)
    if name.startswith("vgg"):
        return VGG(VGG_CFG[name.removesuffix("_bn")], name.endswith("_bn"), num_classes, width)
    if name in ("googlenet", "googlenet_aux"):
        return GoogLeNet(num_classes, name.endswith("_aux"), width)
    blocks = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet34": (BasicBlock, [3, 4, 6, 3]),
              "resnet50": (Bottleneck, [3, 4, 6, 3])}
    if name in blocks:
        return ResNet(*blocks[name], num_classes, width)
    raise ValueError(f"no torchvision transcription for {name!r}")


NAMES = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
         "googlenet", "googlenet_aux", "resnet18", "resnet34", "resnet50"]


def _dumps(out) -> str:
    """JSON with one state-dict entry per line (readable diffs)."""
    lines = ["{", f'"generated_by": {json.dumps(out["generated_by"])},',
             f'"torch_version": {json.dumps(out["torch_version"])},', '"models": {']
    for i, (name, m) in enumerate(out["models"].items()):
        lines.append(f'{json.dumps(name)}: {{"num_parameters": {m["num_parameters"]}, "state_dict": [')
        lines += [json.dumps(e) + ("," if j < len(m["state_dict"]) - 1 else "") for j, e in enumerate(m["state_dict"])]
        lines.append("]}" + ("," if i < len(out["models"]) - 1 else ""))
    return "\n".join(lines + ["}}", ""])


def main() -> int:
    out = {"generated_by": "scripts/make_torchvision_keys.py (torchvision's module trees rebuilt in torch.nn)",
           "torch_version": torch.__version__, "models": {}}
    for name in NAMES:
        with torch.device("meta"):
            m = build(name)
        out["models"][name] = {
            "num_parameters": sum(p.numel() for p in m.parameters()),
            "state_dict": [[k, list(v.shape)] for k, v in m.state_dict().items()],
        }
        print(f"{name:<14}{out['models'][name]['num_parameters']:>14,}{len(m.state_dict()):>6} keys")
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(_dumps(out))
    os.replace(tmp, OUT)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
