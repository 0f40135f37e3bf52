"""Optimizers and schedulers against PyTorch: live when torch is importable, else the recorded fixture.

Every case in ``optim_reference.CASES`` runs 20 steps from the same
parameters and gradients (some ``None``) in both libraries; every parameter
must agree after every step to 1e-10 in float64. Scheduler learning rates
and momenta must agree to 1e-13 (relative) at every step.
"""

import warnings

import numpy as np
import pytest
from optim_reference import (
    CASES,
    FIXTURE,
    N_STEPS,
    SCHED_CASES,
    SHAPES,
    make_inputs,
    run_glassnet,
    run_sched_glassnet,
    run_sched_torch,
    run_torch,
)

ATOL = 1e-10
REGENERATE = "regenerate the fixture with `python scripts/make_optim_golden.py`"


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def golden_inputs(g):
    n = len(SHAPES)
    return {"init": [g[f"inputs/init/{i}"] for i in range(n)], "grads": [g[f"inputs/grads/{i}"] for i in range(n)],
            "has_grad": g["inputs/has_grad"]}


def assert_same_trajectory(ours, theirs, name, atol=ATOL, rtol=0.0):
    assert len(ours) == len(theirs) == len(SHAPES)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.shape == b.shape == (N_STEPS, *SHAPES[i])
        for t in range(N_STEPS):
            np.testing.assert_allclose(a[t], b[t], rtol=rtol, atol=atol, err_msg=f"{name}: parameter {i} after step {t + 1}")


def assert_moved(traj, inputs, name):
    """Guard against a vacuous comparison: every parameter moved well beyond the tolerance."""
    for i, a in enumerate(traj):
        assert np.abs(a[-1] - inputs["init"][i]).max() > 1e-3, f"{name}: parameter {i} did not move"


@pytest.mark.parametrize("name", CASES)
def test_optimizer_matches_recorded_torch(name, golden):
    inputs = golden_inputs(golden)
    keys = [f"traj/{name}/{i}" for i in range(len(SHAPES))]
    assert all(k in golden for k in keys), f"{name} is not in {FIXTURE.name}: {REGENERATE}"
    ours = run_glassnet(CASES[name], inputs)
    assert_same_trajectory(ours, [golden[k] for k in keys], name)
    assert_moved(ours, inputs, name)


@pytest.mark.torch
@pytest.mark.parametrize("name", CASES)
def test_optimizer_matches_torch_live(name):
    pytest.importorskip("torch")
    inputs = make_inputs(seed=1)  # a fresh sequence, not the fixture's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = run_torch(CASES[name], inputs)
    ours = run_glassnet(CASES[name], inputs)
    assert_same_trajectory(ours, theirs, name)
    assert_moved(ours, inputs, name)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sgd_nesterov_wd", "adam_amsgrad_wd", "adamw", "rmsprop_centered_momentum",
                                  "adam_onecycle"])
def test_optimizer_float32_matches_torch_live(name):
    """float32 parameters are updated in float32; agreement to float32 precision."""
    pytest.importorskip("torch")
    inputs = make_inputs(seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = run_torch(CASES[name], inputs, dtype="float32")
    ours = run_glassnet(CASES[name], inputs, dtype=np.float32)
    assert all(a.dtype == np.float32 for a in ours)
    assert_same_trajectory(ours, theirs, name, atol=1e-5, rtol=1e-5)


@pytest.mark.torch
def test_fixture_is_current(golden):
    """The recorded trajectories are what this torch computes (else the fixture is stale)."""
    pytest.importorskip("torch")
    inputs = golden_inputs(golden)
    for name, case in CASES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = run_torch(case, inputs)
        for i, b in enumerate(theirs):
            np.testing.assert_allclose(golden[f"traj/{name}/{i}"], b, rtol=0, atol=1e-12, err_msg=f"{name}: {REGENERATE}")


def assert_same_schedule(ours, theirs, name):
    (lr, mom), (lr_ref, mom_ref) = ours, theirs
    steps = SCHED_CASES[name][-1]
    assert lr.shape == lr_ref.shape == (steps + 1, len(SCHED_CASES[name][1]))
    np.testing.assert_allclose(lr, lr_ref, rtol=1e-13, atol=0, err_msg=f"{name}: learning rates")
    np.testing.assert_allclose(mom, mom_ref, rtol=1e-13, atol=0, err_msg=f"{name}: momentum")
    assert len(np.unique(lr[:, 0])) > 2, f"{name}: the schedule did not change the learning rate"


@pytest.mark.parametrize("name", SCHED_CASES)
def test_scheduler_matches_recorded_torch(name, golden):
    assert f"sched/{name}/lr" in golden, f"{name} is not in {FIXTURE.name}: {REGENERATE}"
    assert_same_schedule(run_sched_glassnet(SCHED_CASES[name]),
                         (golden[f"sched/{name}/lr"], golden[f"sched/{name}/momentum"]), name)


@pytest.mark.torch
@pytest.mark.parametrize("name", SCHED_CASES)
def test_scheduler_matches_torch_live(name):
    pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = run_sched_torch(SCHED_CASES[name])
    assert_same_schedule(run_sched_glassnet(SCHED_CASES[name]), theirs, name)


def test_float32_tracks_float64():
    """Without torch: the float32 run stays within float32 precision of the float64 run."""
    inputs = make_inputs(seed=3)
    for name, case in CASES.items():
        single = run_glassnet(case, inputs, dtype=np.float32)
        double = run_glassnet(case, inputs, dtype=np.float64)
        assert all(a.dtype == np.float32 for a in single)
        assert_same_trajectory(single, double, name, atol=1e-5, rtol=1e-5)
