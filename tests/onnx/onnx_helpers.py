"""Helpers of the ONNX tests: random weights and statistics, a checked export, onnxruntime, the error measure."""

from __future__ import annotations

import numpy as np

import glassnet.nn as nn

TOL = 1e-5  # float32, relative to the largest output (max-norm), as the issue asks


def rel_err(a, b) -> float:
    """max |a - b| / max |b| (0 when both are 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale else float(np.abs(a).max())


def randomize(model, seed=0):
    """Weights with unit-scale signals and BatchNorm statistics that are not the identity, so every layer matters.

    (The zoo's initialisations can make a deep network's output its last bias alone: GoogLeNet's N(0, 0.01)
    convolutions with fresh BatchNorm statistics shrink the signal by 1e-2 per layer.)
    """
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight.data[0].size
            m.weight.data = (rng.standard_normal(m.weight.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
            if m.bias is not None:
                m.bias.data = rng.uniform(-0.1, 0.1, m.bias.shape).astype(np.float32)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean = rng.uniform(-0.3, 0.3, c).astype(np.float32)
            m.running_var = rng.uniform(0.5, 2.0, c).astype(np.float32)
            m.num_batches_tracked = np.array(int(rng.integers(1, 1000)), np.int64)
            if m.affine:
                m.weight.data = rng.uniform(0.5, 1.5, c).astype(np.float32)
                m.bias.data = rng.uniform(-0.2, 0.2, c).astype(np.float32)
    return model.eval()


def export_checked(model, path, input_shape, **kwargs):
    """Export, then ``onnx.checker.check_model(full_check=True)`` on the file written."""
    import onnx

    import glassnet.onnx as gx

    gx.export(model, path, input_shape, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def ort_run(path, x):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def inputs(shape, batch, seed=1):
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype(np.float32)


def assert_same_state(a, b, skip=None):
    """Same keys in the same order, equal arrays (keys starting with ``skip`` left out of ``a``)."""
    sa, sb = a.state_dict(), b.state_dict()
    if skip:
        sa = {k: v for k, v in sa.items() if not k.startswith(skip)}
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].shape == sb[k].shape and np.array_equal(sa[k], sb[k]), k
