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
    print(f"largest relative difference: {worst:.2e}")


if __name__ == "__main__":
    main()
