"""Every layer and container against PyTorch: outputs, input gradients, parameter gradients
and running statistics, float64 to a relative error of 1e-8 (max-norm, see cases.rel_err).

Golden fixtures (made from PyTorch by scripts/make_golden.py) always run; the
randomised live comparison runs too when torch is importable.
"""

import json
from pathlib import Path

import cases
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TOL64 = 1e-8
TOL32 = 1e-4
GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "layers_golden.npz"


def _golden_cases():
    with np.load(GOLDEN, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    n = max(int(k.split("/")[0]) for k in data if k[0].isdigit()) + 1
    out = []
    for i in range(n):
        spec = json.loads(str(data[f"{i}/spec"]))

        def sub(kind, i=i):
            return {k.split("/", 2)[2]: v for k, v in data.items() if k.startswith(f"{i}/{kind}/")}

        out.append((spec, data[f"{i}/x"], data[f"{i}/dy"], sub("state"),
                    (data[f"{i}/y"], data[f"{i}/dx"], sub("grad"), sub("after"))))
    return out


GOLDEN_CASES = _golden_cases()


def test_golden_covers_every_layer():
    kinds = set()

    def walk(spec):
        kinds.add(spec["kind"])
        for c in spec.get("children", []):
            walk(c)

    for spec, *_ in GOLDEN_CASES:
        walk(spec)
    import glassnet.nn as gnn

    layers = {n for n in gnn.__all__ if isinstance(getattr(gnn, n), type) and issubclass(getattr(gnn, n), gnn.Module)}
    untested = layers - kinds - {"Module", "Identity", "CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss"}
    assert not untested, f"layers without a PyTorch golden case: {sorted(untested)}"


@pytest.mark.parametrize("i", range(len(GOLDEN_CASES)), ids=lambda i: f"{i}-{GOLDEN_CASES[i][0]['kind']}")
def test_golden_float64(i):
    spec, x, dy, state, want = GOLDEN_CASES[i]
    m = cases.build_glassnet(spec)
    m.load_state_dict(state)
    cases.assert_same(cases.run_glassnet(m, x, dy), want, TOL64, json.dumps(spec))


@pytest.mark.parametrize("i", range(0, len(GOLDEN_CASES), 3))
def test_golden_float32(i):
    spec, x, dy, state, want = GOLDEN_CASES[i]
    m = cases.build_glassnet(spec).to(np.float32)
    m.load_state_dict(state)
    got = cases.run_glassnet(m, x.astype(np.float32), dy.astype(np.float32))
    assert got[0].dtype == np.float32 and got[1].dtype == np.float32
    cases.assert_same(got, want, TOL32, json.dumps(spec))


# ----------------------------------------------------------------------------- live, randomised

LIVE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _live(spec, shape, seed):
    pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, dy, state = cases.make_inputs(spec, shape, rng)
    want = cases.run_torch(spec, state, x, dy)
    m = cases.build_glassnet(spec)
    m.load_state_dict(state)
    cases.assert_same(cases.run_glassnet(m, x, dy), want, TOL64, json.dumps(spec))


@LIVE
@given(st.integers(0, 2**32 - 1))
def test_live_conv2d(seed):
    spec, shape = cases.conv_case(np.random.default_rng(seed))
    _live(spec, shape, seed)


@LIVE
@given(st.integers(0, 2**32 - 1), st.sampled_from(["MaxPool2d", "AvgPool2d"]))
def test_live_pooling(seed, kind):
    spec, shape = cases.pool_case(np.random.default_rng(seed), kind)
    _live(spec, shape, seed)


@pytest.mark.parametrize("k", range(len(cases.misc_cases())))
def test_live_misc(k):
    spec, shape = cases.misc_cases()[k]
    _live(spec, shape, 1000 + k)
