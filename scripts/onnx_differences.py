"""Measure how far onnxruntime's outputs are from glassnet's for every zoo model exported by glassnet.onnx.

    python scripts/onnx_differences.py            # needs glassnet[onnx]

For each model (the test suite's small inputs and widths, random weights with unit-scale signals and
BatchNorm statistics that are not the identity) it prints max |ort - glassnet| / max |glassnet| in float32
at batch 1 and 7, and whether the export -> load round trip gave the same state dict and bit-equal outputs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "onnx"))

from onnx_helpers import inputs, ort_run, randomize, rel_err  # noqa: E402
from test_zoo import CASES  # noqa: E402

import glassnet  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.models import get_model  # noqa: E402
from glassnet.nn import no_grad  # noqa: E402


def main():
    worst = 0.0
    print(f"{'model':<18} {'input':<10} {'batch 1':>10} {'batch 7':>10}  round trip")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model_name, kwargs, shape) in CASES.items():
            glassnet.manual_seed(0)
            model = randomize(get_model(model_name, **kwargs))
            path = gx.export(model, Path(tmp) / f"{name}.onnx", shape)
            loaded = gx.load(path)
            errs, same = [], True
            for batch in (1, 7):
                x = inputs(shape, batch)
                with no_grad():
                    y = model(x)
                    same = same and np.array_equal(loaded(x), y)
                errs.append(rel_err(ort_run(path, x), y))
            sa, sb = model.state_dict(), loaded.state_dict()
            same_state = all(k in sb and np.array_equal(v, sb[k]) for k, v in sa.items() if not k.startswith("aux"))
            worst = max(worst, *errs)
            print(f"{name:<18} {'x'.join(map(str, shape)):<10} {errs[0]:10.2e} {errs[1]:10.2e}  "
                  f"{'same state, equal outputs' if same and same_state else 'DIFFERS'}")
    print(f"largest relative difference (glassnet exports): {worst:.2e}")
    try:
        import torch
    except ImportError:
        return
    from test_torch_files import export_torch, lenet, resnet, vgg

    worst = 0.0
    print(f"\n{'PyTorch file':<18} {'opset':<6} {'vs torch':>10} {'vs ort':>10}   (glassnet.onnx.load, batch 7)")
    with tempfile.TemporaryDirectory() as tmp:
        for make in (lenet, resnet, vgg):
            for opset in (None, 13):
                torch.manual_seed(1)
                net, shape = make()
                path = export_torch(net, shape, Path(tmp) / "net.onnx", opset)
                x = inputs(shape, 7)
                y = gx.load(path)(x)
                with torch.no_grad():
                    e_torch = rel_err(y, net(torch.from_numpy(x)).numpy())
                e_ort = rel_err(y, ort_run(path, x))
                worst = max(worst, e_torch, e_ort)
                print(f"{make.__name__:<18} {opset or 'deflt':<6} {e_torch:10.2e} {e_ort:10.2e}")
    print(f"largest relative difference (PyTorch's files): {worst:.2e}")


if __name__ == "__main__":
    main()
