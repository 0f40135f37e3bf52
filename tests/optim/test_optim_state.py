"""Optimizer bookkeeping: groups, skipping, in-place updates, state_dict round trips and clear errors."""

import json

import numpy as np
import pytest
from optim_reference import CASES, N_STEPS, build_glassnet, drive, make_inputs

from glassnet.io import load_json, load_optimizer, save_json, save_optimizer
from glassnet.nn import Module, Parameter
from glassnet.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from glassnet.optim.lr_scheduler import StepLR

HALF = N_STEPS // 2


def resume(case, inputs, handoff):
    """10 steps, ``handoff(opt, sched, fresh_opt, fresh_sched)`` to a fresh optimizer and scheduler, 10 more steps."""
    params, opt, sched = build_glassnet(case, inputs["init"])
    drive(params, opt, sched, inputs, range(HALF))
    params2, opt2, sched2 = build_glassnet(case, [p.data for p in params])
    handoff(opt, sched, opt2, sched2)
    return drive(params2, opt2, sched2, inputs, range(HALF, N_STEPS))


def straight_run(case, inputs):
    params, opt, sched = build_glassnet(case, inputs["init"])
    return drive(params, opt, sched, inputs, range(N_STEPS))


@pytest.mark.parametrize("name", CASES)
def test_state_dict_round_trip_resumes_exactly(name):
    """Save after 10 steps, load into a fresh optimizer, 10 more steps == 20 straight (bit for bit)."""
    inputs = make_inputs(seed=4)

    def in_memory(opt, sched, opt2, sched2):
        if sched is not None:
            sched2.load_state_dict(sched.state_dict())
        opt2.load_state_dict(opt.state_dict())

    resumed = resume(CASES[name], inputs, in_memory)
    for a, b in zip(straight_run(CASES[name], inputs), resumed, strict=True):
        np.testing.assert_array_equal(a[HALF:], b)


@pytest.mark.parametrize("name", ["sgd_dampening_wd", "adam_groups", "adamw_amsgrad", "rmsprop_centered_momentum",
                                  "adam_onecycle", "sgd_steplr"])
def test_checkpoint_files_resume_exactly(name, tmp_path):
    """The same through files: optimizer state in safetensors, scheduler state in JSON."""
    inputs = make_inputs(seed=5)

    def through_files(opt, sched, opt2, sched2):
        save_optimizer(tmp_path / "opt.safetensors", opt)
        save_json(tmp_path / "sched.json", sched.state_dict() if sched else None)
        load_optimizer(tmp_path / "opt.safetensors", opt2)
        if sched is not None:
            sched2.load_state_dict(load_json(tmp_path / "sched.json"))

    resumed = resume(CASES[name], inputs, through_files)
    for a, b in zip(straight_run(CASES[name], inputs), resumed, strict=True):
        np.testing.assert_array_equal(a[HALF:], b)


def test_state_dict_layout_follows_pytorch():
    p, q = Parameter(np.ones((2, 2))), Parameter(np.ones(3))
    opt = Adam([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1, amsgrad=True)
    p.grad = np.ones((2, 2))
    opt.step()
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]  # q had no gradient: no state
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert sd["state"][0]["step"] == 1
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    sd["state"][0]["exp_avg"][...] = 99.0  # a copy: the optimizer is untouched
    assert opt.state[p]["exp_avg"].max() < 1.0
    json_groups = json.loads(json.dumps(sd["param_groups"]))  # betas become a list in JSON ...
    opt2 = Adam([{"params": [p]}, {"params": [q]}])
    opt2.load_state_dict({"state": sd["state"], "param_groups": json_groups})
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)  # ... and a tuple again on load
    assert opt2.param_groups[1]["lr"] == 0.5 and opt2.param_groups[1]["params"] == [q]


def test_parameters_without_grad_are_skipped_and_keep_no_state():
    p, q = Parameter(np.ones(3)), Parameter(np.full(2, 5.0))
    for opt in (SGD([p, q], lr=0.1, momentum=0.9), Adam([p, q]), AdamW([p, q]), RMSprop([p, q], centered=True)):
        p.grad, q.grad = np.ones(3), None
        before = q.data.copy()
        opt.step()
        np.testing.assert_array_equal(q.data, before)
        assert q not in opt.state and p in opt.state
        assert (p.data < 1.0).all()


def test_updates_in_place_without_touching_grad():
    for dtype in (np.float32, np.float64):
        for make in (lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                     lambda ps: Adam(ps, weight_decay=0.1, amsgrad=True), lambda ps: AdamW(ps),
                     lambda ps: RMSprop(ps, momentum=0.5, centered=True, weight_decay=0.1)):
            p = Parameter(np.linspace(-1, 1, 6, dtype=dtype).reshape(2, 3))
            data = p.data
            opt = make([p])
            for _ in range(2):
                p.grad = np.full((2, 3), 0.5, dtype=dtype)
                opt.step()
                np.testing.assert_array_equal(p.grad, 0.5)  # weight decay did not write into grad
            assert p.data is data and p.data.dtype == dtype
            assert all(v.dtype == dtype for v in opt.state[p].values() if isinstance(v, np.ndarray))


def test_float64_gradient_on_float32_parameter_updates_in_float32():
    p = Parameter(np.ones(4, dtype=np.float32))
    opt = Adam([p], lr=0.1)
    p.grad = np.ones(4, dtype=np.float64)
    opt.step()
    assert p.data.dtype == np.float32 and opt.state[p]["exp_avg"].dtype == np.float32


def test_numpy_hyper_parameters_do_not_promote_float32():
    p = Parameter(np.ones(3, dtype=np.float32))
    opt = SGD([p], lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=np.float64(0.01))
    assert type(opt.param_groups[0]["lr"]) is float
    for _ in range(2):
        p.grad = np.ones(3, dtype=np.float32)
        opt.step()
    assert p.data.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32


def test_load_state_dict_casts_to_parameter_dtype():
    p64 = Parameter(np.ones(3))
    opt64 = RMSprop([p64], momentum=0.9)
    p64.grad = np.ones(3)
    opt64.step()
    p32 = Parameter(np.ones(3, dtype=np.float32))
    opt32 = RMSprop([p32], momentum=0.9)
    opt32.load_state_dict(opt64.state_dict())
    assert opt32.state[p32]["square_avg"].dtype == np.float32
    assert opt32.state[p32]["step"] == 1


def test_zero_grad_sets_none_and_closure_returns_loss():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=0.5)

    def closure():
        p.grad = 2 * p.data  # d/dp of sum(p^2)
        return float((p.data ** 2).sum())

    assert opt.step(closure) == 2.0
    np.testing.assert_array_equal(p.data, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_defaults_fill_missing_group_options_and_add_param_group():
    a, b, c = Parameter(np.zeros(1)), Parameter(np.zeros(1)), Parameter(np.zeros(1))
    opt = SGD([{"params": [a], "momentum": 0.5}, {"params": b}], lr=0.1, momentum=0.9, nesterov=True)
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.9]
    assert all(g["nesterov"] and g["lr"] == 0.1 for g in opt.param_groups)
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert opt.param_groups[2]["lr"] == 0.01 and opt.param_groups[2]["momentum"] == 0.9
    assert "Parameter Group 2" in repr(opt)


class _Net(Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(np.zeros(2))


@pytest.mark.parametrize("params, error, words", [
    ([], ValueError, "empty parameter list"),
    (Parameter(np.zeros(1)), TypeError, "iterable of Parameters"),
    (_Net(), TypeError, "model.parameters()"),
    ([np.zeros(2)], TypeError, "item 0 must be a Parameter, got ndarray"),
    ([Parameter(np.zeros(2, dtype=np.int64))], TypeError, "dtype int64, expected float32 or float64"),
    ([{"params": [Parameter(np.zeros(1))]}, Parameter(np.zeros(1))], TypeError, "mixes"),
])
def test_bad_params_are_named(params, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        SGD(params, lr=0.1)


def test_duplicate_parameters_and_unknown_options_are_refused():
    p = Parameter(np.zeros(1))
    with pytest.raises(ValueError, match="same Parameter more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="already in another group"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['weight_deacy'\] in param group 0"):
        SGD([{"params": [p], "weight_deacy": 0.1}], lr=0.1)


@pytest.mark.parametrize("make, words", [
    (lambda ps: SGD(ps, lr=-1.0), "lr must be >= 0, got -1.0"),
    (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "momentum must be >= 0"),
    (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov needs momentum > 0 and dampening == 0"),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov needs"),
    (lambda ps: SGD([{"params": ps, "lr": -0.1}], lr=0.1), "lr must be >= 0, got -0.1 \\(param group 0\\)"),
    (lambda ps: Adam(ps, betas=(0.9, 1.0)), r"betas must lie in \[0, 1\)"),
    (lambda ps: Adam(ps, betas=(0.9,)), "betas must be a pair"),
    (lambda ps: AdamW(ps, eps=-1e-8), "eps must be >= 0"),
    (lambda ps: Adam(ps, weight_decay=-0.1), "weight_decay must be >= 0"),
    (lambda ps: RMSprop(ps, alpha=-0.1), "alpha must be >= 0"),
    (lambda ps: RMSprop(ps, momentum=-0.1), "momentum must be >= 0"),
])
def test_bad_hyper_parameters_are_named(make, words):
    with pytest.raises(ValueError, match=words):
        make([Parameter(np.zeros(1))])


def test_gradient_of_wrong_shape_is_named():
    p = Parameter(np.zeros((2, 3)))
    opt = Adam([p])
    p.grad = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"param group 0 item 0 has a gradient of shape \(3, 2\), expected \(2, 3\)"):
        opt.step()


def _stepped_adam(shape=(3,), n=2):
    params = [Parameter(np.ones(shape)) for _ in range(n)]
    opt = Adam(params)
    for p in params:
        p.grad = np.ones(shape)
    opt.step()
    return opt


@pytest.mark.parametrize("mutate, words", [
    (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "has 2 parameter groups, this optimizer has 1"),
    (lambda sd: sd["param_groups"][0]["params"].pop(), "param group 0 has 1 parameters in the state, 2 in this"),
    (lambda sd: sd["state"][1].update(exp_avg=np.zeros(4)), r"'exp_avg' of parameter 1 has shape \(4,\), expected \(3,\)"),
    (lambda sd: sd["state"][0].update(momentum_buffer=np.zeros(3)), "has state 'momentum_buffer', expected one of"),
    (lambda sd: sd["state"].update({5: {}}), "state for parameter 5, but there are 2"),
    (lambda sd: sd.pop("state"), "expected a dict with keys"),
])
def test_load_state_dict_mismatch_is_named(mutate, words):
    sd = _stepped_adam().state_dict()
    mutate(sd)
    target = Adam([Parameter(np.ones(3)), Parameter(np.ones(3))])
    with pytest.raises(ValueError, match=words):
        target.load_state_dict(sd)
    assert target.state == {}  # nothing half-loaded


def test_scheduler_needs_a_glassnet_optimizer():
    with pytest.raises(TypeError, match="expected a glassnet Optimizer, got list"):
        StepLR([], step_size=1)


def test_optimizer_base_needs_an_update_rule():
    p = Parameter(np.zeros(1))
    opt = Optimizer([p], {"lr": 0.1})
    p.grad = np.ones(1)
    with pytest.raises(NotImplementedError, match="Optimizer must implement _update"):
        opt.step()
