"""The same models on the GPU (CuPy arrays): equal to the CPU run in float64, files that move between devices.

Runs where CuPy and a CUDA GPU are available (benchmarks/gpu_check.sh on the lent GPU machine); elsewhere
only the first test runs: asking for the GPU without CuPy is one clear error.
"""

import importlib.util

import numpy as np
import pytest

import glassnet
import glassnet.backend as B
from glassnet import nn
from glassnet.models import lenet5, resnet20
from glassnet.optim import SGD


def _gpu():
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        B.require_cupy()
        return True
    except RuntimeError:
        return False


GPU = _gpu()
needs_gpu = pytest.mark.skipif(not GPU, reason="needs CuPy and a CUDA GPU")


@pytest.mark.skipif(GPU, reason="CuPy and a GPU are here")
def test_asking_for_the_gpu_without_cupy_says_what_is_missing():
    with pytest.raises(RuntimeError, match=r"device 'cuda' needs CuPy and an NVIDIA GPU: pip install 'glassnet\[gpu\]'"):
        nn.Linear(2, 2).to("cuda")
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        B.normalize_device("gpu")


def _pair(model_fn, shape, seed=0):
    glassnet.manual_seed(seed)
    cpu = model_fn().double()
    gpu = model_fn().double()
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda")
    x = np.random.default_rng(seed).standard_normal(shape)
    return cpu, gpu, x


def _rel(a, b):
    a, b = B.to_host(a), B.to_host(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-6))


@needs_gpu
@pytest.mark.parametrize("model_fn, shape", [(lenet5, (4, 1, 28, 28)), (resnet20, (4, 3, 32, 32))])
def test_forward_backward_on_the_gpu_equal_the_cpu(model_fn, shape):
    cpu, gpu, x = _pair(model_fn, shape)
    assert gpu.device == "cuda"
    y_cpu, y_gpu = cpu(x), gpu(x)
    assert B.device_of(y_gpu) == "cuda" and _rel(y_gpu, y_cpu) < 1e-8
    dy = np.random.default_rng(1).standard_normal(y_cpu.shape)
    dx_cpu, dx_gpu = cpu.backward(dy), gpu.backward(B.to_device(dy, "cuda"))
    assert _rel(dx_gpu, dx_cpu) < 1e-8
    for (k, p), (_, q) in zip(cpu.named_parameters(), gpu.named_parameters(), strict=True):
        assert _rel(q.grad, p.grad) < 1e-8, k


@needs_gpu
def test_training_steps_on_the_gpu_equal_the_cpu_and_the_files_move():
    cpu, gpu, x = _pair(resnet20, (8, 3, 32, 32))
    y = np.random.default_rng(2).integers(0, 10, 8)
    for model in (cpu, gpu):
        opt, loss_fn = SGD(model.parameters(), lr=0.05, momentum=0.9), nn.CrossEntropyLoss()
        for _ in range(3):
            opt.zero_grad()
            loss_fn(model(x), y)
            model.backward(loss_fn.backward(), input_grad=False)
            opt.step()
        model.opt_state = opt.state_dict()
    sd_gpu = gpu.state_dict()
    assert all(type(v) is np.ndarray for v in sd_gpu.values())  # weight files are host arrays
    for k, v in cpu.state_dict().items():
        assert _rel(sd_gpu[k], v) < 1e-8, k
    back = resnet20().double()
    back.load_state_dict(sd_gpu)  # a GPU run resumes on the CPU
    assert _rel(back.eval()(x), cpu.eval()(x)) < 1e-8


@needs_gpu
def test_gradcheck_on_the_gpu():
    glassnet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(12, 4)).double().eval().to("cuda")
    x = np.random.default_rng(0).standard_normal((2, 2, 8, 8))
    assert glassnet.gradcheck(net, x).ok
