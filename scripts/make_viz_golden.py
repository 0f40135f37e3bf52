"""Record PyTorch's input gradient, Grad-CAM and bilinear resize for the torch-free viz tests.

Writes ``tests/viz/fixtures/viz_golden.npz`` (float64, loaded with
``allow_pickle=False``) from the cases in ``tests/viz/viz_reference.py``:

* ``weights/<key>``: the network's weights (glassnet key names), ``x`` (1, 2, 8, 8);
* per target class t in 0..4: ``grad/<t>`` ds_t/dx (2, 8, 8), ``cam_small/<t>`` (4, 4),
  ``cam/<t>`` (8, 8) (upsampled by ``F.interpolate(bilinear, align_corners=False)``),
  ``cam_weights/<t>`` (4,), Grad-CAM on module 4 (the ReLU after the Concat block);
* ``resize/in/<i>`` and ``resize/out/<i>`` for each of ``RESIZE_CASES``;
* ``torch_version``.

Run from the repository root: ``python scripts/make_viz_golden.py`` (needs torch).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "viz"))

import viz_reference as ref  # noqa: E402


def main() -> None:
    import torch

    weights, x = ref.make_weights(), ref.make_input()
    out = {"torch_version": np.array(torch.__version__), "x": x}
    out.update({f"weights/{k}": v for k, v in weights.items()})
    for t in range(5):
        out[f"grad/{t}"], out[f"cam_small/{t}"], out[f"cam/{t}"], out[f"cam_weights/{t}"] = ref.saliency_torch(
            weights, x, t
        )
    for i, (a, (_, size)) in enumerate(zip(ref.resize_inputs(), ref.RESIZE_CASES, strict=True)):
        out[f"resize/in/{i}"], out[f"resize/out/{i}"] = a, ref.resize_torch(a, size)
    buf = io.BytesIO()
    np.savez_compressed(buf, **out)
    ref.FIXTURE.parent.mkdir(exist_ok=True)
    tmp = ref.FIXTURE.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, ref.FIXTURE)
    print(f"wrote {ref.FIXTURE.relative_to(ROOT)}: {len(out)} arrays, {len(buf.getvalue())} bytes, "
          f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
