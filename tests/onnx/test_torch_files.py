"""Files written by PyTorch's exporter (torch.onnx.export, TorchScript-based: dynamo=False, since the dynamo
exporter needs onnxscript) for LeNet-5, a small ResNet and a VGG-style net load into glassnet and compute what
PyTorch and onnxruntime compute."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from onnx_helpers import TOL, inputs, ort_run, rel_err  # noqa: E402

import glassnet.nn as gnn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402

pytestmark = pytest.mark.torch
tnn = torch.nn


class Block(tnn.Module):
    """torchvision's basic block: conv-bn-relu-conv-bn, + identity or a 1x1 projection, relu."""

    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1, self.bn1 = tnn.Conv2d(cin, c, 3, stride, 1, bias=False), tnn.BatchNorm2d(c)
        self.conv2, self.bn2 = tnn.Conv2d(c, c, 3, 1, 1, bias=False), tnn.BatchNorm2d(c)
        self.relu = tnn.ReLU()
        self.downsample = None
        if stride != 1 or cin != c:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, c, 1, stride, bias=False), tnn.BatchNorm2d(c))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def lenet():
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
        tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
        tnn.Linear(84, 10)), (1, 28, 28)


def resnet():
    return tnn.Sequential(
        tnn.Conv2d(3, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8), tnn.ReLU(),
        tnn.Sequential(Block(8, 8, 1), Block(8, 8, 1)), tnn.Sequential(Block(8, 16, 2), Block(16, 16, 1)),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(16, 10)), (3, 32, 32)


def vgg():
    return tnn.Sequential(
        tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(), tnn.MaxPool2d(2, 2),
        tnn.Conv2d(8, 16, 3, padding=1), tnn.ReLU(), tnn.Conv2d(16, 16, 3, padding=1), tnn.ReLU(),
        tnn.MaxPool2d(2, 2, ceil_mode=True), tnn.Flatten(), tnn.Linear(16 * 8 * 8, 32), tnn.ReLU(), tnn.Dropout(0.5),
        tnn.Linear(32, 10), tnn.Softmax(dim=1)), (3, 32, 32)


def export_torch(net, shape, path, opset=None):
    torch.manual_seed(0)
    for m in net.modules():
        if isinstance(m, tnn.BatchNorm2d):  # statistics that are not the identity
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(net, (torch.zeros(1, *shape),), str(path), dynamo=False, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                          **({"opset_version": opset} if opset else {}))
    return path


@pytest.mark.parametrize("make", [lenet, resnet, vgg])
@pytest.mark.parametrize("opset", [None, 13])
def test_pytorch_file_loads_and_matches(make, opset, tmp_path):
    torch.manual_seed(1)
    net, shape = make()
    path = export_torch(net, shape, tmp_path / "net.onnx", opset)
    model = gx.load(path)
    for batch in (1, 7):
        x = inputs(shape, batch)
        y = model(x)
        with torch.no_grad():
            y_torch = net(torch.from_numpy(x)).numpy()
        assert rel_err(y, y_torch) < TOL
        assert rel_err(y, ort_run(path, x)) < TOL


def test_pytorch_names_become_state_dict_keys(tmp_path):
    """PyTorch's scope names give the containers their names: the keys are the PyTorch model's (BatchNorm is
    folded into the convolutions by PyTorch's exporter, so those convolutions gain a bias)."""
    net, shape = resnet()
    model = gx.load(export_torch(net, shape, tmp_path / "net.onnx"))
    keys = set(model.state_dict())
    assert {"0.weight", "3.0.conv1.weight", "4.0.downsample.0.weight", "7.weight", "7.bias"} <= keys
    assert isinstance(model._modules["3"]._modules["0"], gnn.Residual)
    assert model._modules["3"]._modules["0"].act is not None
    # the same weights: PyTorch's Linear lands in glassnet's Linear unchanged
    assert np.array_equal(model.state_dict()["7.weight"], net[7].weight.detach().numpy())


def test_glassnet_file_in_pytorch_terms(tmp_path):
    """A glassnet export of LeNet-5 computes what PyTorch computes with the same weights (safetensors keys)."""
    from onnx_helpers import randomize

    from glassnet.models import lenet5

    model = randomize(lenet5())
    path = gx.export(model, tmp_path / "lenet.onnx", (1, 28, 28))
    net, _ = lenet()
    net.load_state_dict(_lenet_keys({k: torch.from_numpy(v) for k, v in model.state_dict().items()}))
    x = inputs((1, 28, 28), 7)
    with torch.no_grad():
        assert rel_err(ort_run(path, x), net.eval()(torch.from_numpy(x)).numpy()) < TOL


def _lenet_keys(state):
    """glassnet's LeNet-5 keys (features.i, classifier.j) -> the flat Sequential above (i, 7 + j)."""
    out = {}
    for k, v in state.items():
        part, i, leaf = k.split(".")
        out[f"{int(i) + (7 if part == 'classifier' else 0)}.{leaf}"] = v
    return out
