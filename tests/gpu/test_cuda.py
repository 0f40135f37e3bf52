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


def _both_paths(run):
    """run() with the CUDA fast paths and with the reference paths (both on the GPU); which paths ran."""
    from glassnet.nn.functional.dispatch import paths_taken

    previous = B.set_fast_paths(True)
    try:
        with paths_taken() as fast_taken:
            fast = [B.to_host(a) if a is not None else None for a in run()]
        B.set_fast_paths(False)
        with paths_taken() as ref_taken:
            ref = [B.to_host(a) if a is not None else None for a in run()]
    finally:
        B.set_fast_paths(previous)
    return fast, ref, dict(fast_taken), dict(ref_taken)


def _close(got, want, tol):
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            assert g.shape == w.shape and g.dtype == w.dtype
            assert float(np.abs(g - w).max(initial=0) / max(np.abs(w).max(initial=0), 1e-6)) <= tol


@needs_gpu
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_cuda_convolution_equals_the_reference(dtype, tol):
    from glassnet.nn.functional.conv import conv2d_backward, conv2d_forward

    rng = np.random.default_rng(0)
    for _ in range(30):
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        dil = tuple(int(v) for v in rng.integers(1, 3, 2))
        pads = tuple(int(v) for v in rng.integers(0, 3, 4))
        H = dil[0] * (kh - 1) + 1 + int(rng.integers(0, 7))
        W = dil[1] * (kw - 1) + 1 + int(rng.integers(0, 7))
        N, C, F_out = (int(v) for v in rng.integers(1, 5, 3))
        X = B.to_device(rng.standard_normal((N, C, H, W)).astype(dtype), "cuda")
        F = B.to_device(rng.standard_normal((F_out, C, kh, kw)).astype(dtype), "cuda")
        b = B.to_device(rng.standard_normal(F_out).astype(dtype), "cuda") if rng.random() < 0.7 else None
        need_dX = bool(rng.random() < 0.8)

        def run(X=X, F=F, b=b, stride=stride, pads=pads, dil=dil, need_dX=need_dX):
            Z, saved = conv2d_forward(X, F, b, stride, pads, dil)
            dZ = B.to_device(np.random.default_rng(1).standard_normal(Z.shape).astype(dtype), "cuda")
            return (Z, *conv2d_backward(dZ, saved._replace(need_dX=need_dX)))

        fast, ref, taken, ref_taken = _both_paths(run)
        assert taken == {"conv2d_forward": {"cuda"}, "conv2d_backward": {"cuda"}}
        assert ref_taken == {"conv2d_forward": {"reference"}, "conv2d_backward": {"reference"}}
        _close(fast, ref, tol)


@needs_gpu
def test_cuda_max_pool_batch_norm_and_relu_equal_the_reference():
    from glassnet.nn.functional import activation, norm, pooling

    rng = np.random.default_rng(3)
    for _ in range(30):
        k = tuple(int(v) for v in rng.integers(1, 4, 2))
        s = tuple(int(v) for v in rng.integers(1, 4, 2))
        p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
        ceil = bool(rng.random() < 0.4)
        X = B.to_device(np.round(rng.standard_normal((2, 3, k[0] + int(rng.integers(0, 7)),
                                                      k[1] + int(rng.integers(0, 7)))) * 2) / 2, "cuda")

        def run(X=X, k=k, s=s, p=p, ceil=ceil):
            Y, saved = pooling.max_pool2d_forward(X, k, s, p, ceil)
            dY = B.to_device(np.random.default_rng(2).standard_normal(Y.shape), "cuda")
            return Y, pooling.max_pool2d_backward(dY, saved)

        fast, ref, taken, _ = _both_paths(run)
        assert taken == {"max_pool2d_forward": {"cuda"}, "max_pool2d_backward": {"cuda"}}
        _close(fast, ref, 1e-12)
    X = B.to_device(rng.normal(2, 3, (6, 4, 5, 7)), "cuda")
    gamma, beta = B.to_device(rng.uniform(0.5, 2, 4), "cuda"), B.to_device(rng.normal(0, 1, 4), "cuda")
    dY = B.to_device(rng.standard_normal(X.shape), "cuda")
    axes = (0, 2, 3)

    def bn():
        Y, saved, (mu, var) = norm.batch_norm_train(X, gamma, beta, axes, 1e-5)
        rm, rv = B.to_device(np.zeros(4), "cuda"), B.to_device(np.ones(4), "cuda")
        rm, rv = norm.running_stats_update(rm, rv, mu, var, 0.1, 6 * 5 * 7)
        Ye, _ = norm.batch_norm_eval(X, gamma, beta, rm, rv, axes, 1e-5)
        A, rs = activation.relu_forward(Y)
        return (Y, mu, var, rm, rv, Ye, *norm.batch_norm_backward(dY, saved), activation.relu_backward(dY, rs))

    fast, ref, taken, _ = _both_paths(bn)
    assert taken["batch_norm_train"] == {"cuda"} and taken["batch_norm_backward"] == {"cuda"}
    assert taken["batch_norm_eval"] == {"cuda"} and taken["relu_backward"] == {"cuda"}
    _close(fast, ref, 1e-12)


@pytest.mark.skipif(GPU, reason="CuPy and a GPU are here")
def test_the_device_option_without_cupy_is_one_line(tmp_path):
    from glassnet.cli import main

    for argv in (["train", "--device", "cuda", "--epochs", "1", "--out", str(tmp_path / "run")],):
        assert main(argv) == 2
    assert not (tmp_path / "run").exists()  # nothing written


@needs_gpu
def test_a_run_trained_on_the_gpu_resumes_on_the_cpu_and_back(tmp_path):
    """Checkpoints are host files: one epoch on one device, the second after a resume on the other."""
    import json

    from glassnet.runs import has_checkpoint
    from glassnet.train import TrainConfig
    from glassnet.train.run import fit, resume

    for first, second in (("cuda", "cpu"), ("cpu", "cuda")):
        run_dir = tmp_path / f"{first}-then-{second}"
        fit(TrainConfig(epochs=1, batch_size=128, val_split=0.0, schedule="constant"), run_dir, device=first)
        assert has_checkpoint(run_dir)
        config = json.loads((run_dir / "config.json").read_text())
        config["epochs"] = 2  # continue for one more epoch, on the other device
        (run_dir / "config.json").write_text(json.dumps(config))
        result = resume(run_dir, device=second)
        assert len(result.history) == 2 and result.metrics["accuracy"] > 0.85
