"""Record PyTorch's optimizer trajectories and scheduler sequences for the torch-free tests.

Writes ``tests/fixtures/optim_golden.npz`` (float64, loaded with
``allow_pickle=False``) from the cases in ``tests/optim/optim_reference.py``:

* ``inputs/init/<i>``, ``inputs/grads/<i>`` (steps, *shape), ``inputs/has_grad`` (steps, params);
* ``traj/<case>/<i>``: parameter ``i`` after each of the steps, per optimizer case;
* ``sched/<case>/lr`` and ``sched/<case>/momentum``: (steps + 1, groups), row 0 before any step;
* ``torch_version``.

Run from the repository root: ``python scripts/make_optim_golden.py`` (needs torch).
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "optim"))

import optim_reference as ref  # noqa: E402

from glassnet.io import atomic_write_bytes  # noqa: E402


def main() -> None:
    import torch

    warnings.filterwarnings("ignore", category=UserWarning)
    inputs = ref.make_inputs(seed=0)
    out = {"torch_version": np.array(torch.__version__), "inputs/has_grad": inputs["has_grad"]}
    for i, (a, g) in enumerate(zip(inputs["init"], inputs["grads"], strict=True)):
        out[f"inputs/init/{i}"], out[f"inputs/grads/{i}"] = a, g
    for name, case in ref.CASES.items():
        for i, traj in enumerate(ref.run_torch(case, inputs)):
            out[f"traj/{name}/{i}"] = traj
    for name, case in ref.SCHED_CASES.items():
        out[f"sched/{name}/lr"], out[f"sched/{name}/momentum"] = ref.run_sched_torch(case)
    buf = io.BytesIO()
    np.savez_compressed(buf, **out)
    atomic_write_bytes(ref.FIXTURE, buf.getvalue())
    print(f"wrote {ref.FIXTURE.relative_to(ROOT)}: {len(out)} arrays, {len(buf.getvalue())} bytes, "
          f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
