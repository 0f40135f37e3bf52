"""Write tests/fixtures/layers_golden.npz: PyTorch's outputs and gradients for fixed layer cases.

The tests compare glassnet with these when torch is not installed (and with
live PyTorch too when it is). Run from the repository root:

    python scripts/make_golden.py

Needs torch (pip install torch==2.13.0). The file holds only numeric arrays
and JSON strings; it is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "nn"))

import cases  # noqa: E402


def all_cases(seed=2026):
    rng = np.random.default_rng(seed)
    out = [cases.conv_case(rng) for _ in range(40)]
    out += [cases.pool_case(rng, "MaxPool2d") for _ in range(25)]
    out += [cases.pool_case(rng, "AvgPool2d") for _ in range(25)]
    out += cases.misc_cases()
    return out, rng


def main():
    import torch

    arrays = {"torch_version": np.array(torch.__version__)}
    specs, rng = all_cases()
    for i, (spec, shape) in enumerate(specs):
        x, dy, state = cases.make_inputs(spec, shape, rng)
        y, dx, grads, after = cases.run_torch(spec, state, x, dy)
        arrays[f"{i}/spec"] = np.array(json.dumps(spec))
        arrays[f"{i}/x"], arrays[f"{i}/dy"], arrays[f"{i}/y"], arrays[f"{i}/dx"] = x, dy, y, dx
        for k, v in state.items():
            arrays[f"{i}/state/{k}"] = np.asarray(v)
        for k, v in grads.items():
            arrays[f"{i}/grad/{k}"] = v
        for k, v in after.items():
            arrays[f"{i}/after/{k}"] = v
    out = ROOT / "tests" / "fixtures" / "layers_golden.npz"
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    print(f"wrote {len(specs)} cases to {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
