"""Scheduler bookkeeping: resuming from state_dict (also through JSON), limits and clear errors.

The learning-rate and momentum sequences themselves are checked against
PyTorch in test_optim_vs_torch.py.
"""

import json

import numpy as np
import pytest
from optim_reference import SCHED_CASES

import glassnet.optim as optim
from glassnet.nn import Parameter
from glassnet.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR


def build(case):
    optim_name, lrs, options, sched_name, sched_options, steps = case
    opt = getattr(optim, optim_name)([{"params": [Parameter(np.zeros(2))], "lr": lr} for lr in lrs], **options)
    return opt, getattr(optim.lr_scheduler, sched_name)(opt, **sched_options), steps


def record(opt, sched, n):
    out = []
    for _ in range(n):
        sched.step()
        out.append((sched.get_last_lr(), [dict(g, params=None) for g in opt.param_groups]))
    return out


@pytest.mark.parametrize("through_json", [False, True])
@pytest.mark.parametrize("name", SCHED_CASES)
def test_state_dict_resumes_the_schedule(name, through_json):
    opt, sched, steps = build(SCHED_CASES[name])
    half = steps // 2
    record(opt, sched, half)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    if through_json:
        opt_state = json.loads(json.dumps(opt_state))
        sched_state = json.loads(json.dumps(sched_state))
    straight = record(opt, sched, steps - half)

    opt2, sched2, _ = build(SCHED_CASES[name])
    sched2.load_state_dict(sched_state)
    opt2.load_state_dict(opt_state)
    assert record(opt2, sched2, steps - half) == straight


def test_get_last_lr_is_a_copy_and_groups_get_torch_keys():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=0.5, total_steps=10)
    sched.get_last_lr().append(1.0)
    assert len(sched.get_last_lr()) == 1
    group = opt.param_groups[0]
    assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == (0.02, 0.5, 0.02 / 1e4)
    assert (group["max_momentum"], group["base_momentum"]) == (0.95, 0.85)


def test_onecycle_refuses_to_step_past_total_steps():
    sched = OneCycleLR(optim.Adam([Parameter(np.zeros(1))]), max_lr=0.1, total_steps=4)
    for _ in range(4):
        sched.step()
    with pytest.raises(ValueError, match="stepped 5 times, but total_steps is 4"):
        sched.step()


def test_onecycle_cycles_adam_beta1_and_keeps_beta2():
    opt = optim.Adam([Parameter(np.zeros(1))], betas=(0.9, 0.98))
    sched = OneCycleLR(opt, max_lr=0.1, total_steps=10, base_momentum=0.8, max_momentum=0.9)
    assert opt.param_groups[0]["betas"] == (0.9, 0.98)
    betas = []
    for _ in range(9):
        sched.step()
        betas.append(opt.param_groups[0]["betas"])
    assert all(b2 == 0.98 for _, b2 in betas)
    assert min(b1 for b1, _ in betas) == pytest.approx(0.8) and betas[-1][0] == pytest.approx(0.9)


class _NoMomentum(optim.Optimizer):
    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})


@pytest.mark.parametrize("make, words", [
    (lambda o: StepLR(o, step_size=0), "step_size must be a positive int, got 0"),
    (lambda o: CosineAnnealingLR(o, T_max=0), "T_max must be > 0, got 0"),
    (lambda o: OneCycleLR(o, max_lr=0.1), "give either total_steps or both epochs and steps_per_epoch"),
    (lambda o: OneCycleLR(o, max_lr=0.1, total_steps=0), "total_steps must be a positive int, got 0"),
    (lambda o: OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1), "steps_per_epoch must be a positive int"),
    (lambda o: OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=1.5), r"pct_start must lie in \[0, 1\], got 1.5"),
    (lambda o: OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"), "anneal_strategy must be 'cos' or"),
    (lambda o: OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=5), "max_lr has 2 values, the optimizer has 1 param"),
    (lambda o: OneCycleLR(o, max_lr=0.1, total_steps=5, max_momentum=(0.9, 0.9)), "max_momentum has 2 values"),
])
def test_bad_scheduler_arguments_are_named(make, words):
    with pytest.raises(ValueError, match=words):
        make(optim.SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9))


def test_cycle_momentum_needs_momentum_or_betas():
    opt = _NoMomentum([Parameter(np.zeros(1))])
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum or betas, got _NoMomentum"):
        OneCycleLR(opt, max_lr=0.1, total_steps=5)
    sched = OneCycleLR(opt, max_lr=0.1, total_steps=5, cycle_momentum=False)
    assert sched.get_last_lr() == [pytest.approx(0.1 / 25)]


def test_load_state_dict_of_another_scheduler_is_refused():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=0.1)
    step_state = StepLR(opt, step_size=2).state_dict()
    with pytest.raises(ValueError, match=r"CosineAnnealingLR.load_state_dict: missing keys \['T_max', 'eta_min'\], "
                                         r"unexpected keys \['gamma', 'step_size'\]"):
        CosineAnnealingLR(opt, T_max=3).load_state_dict(step_state)
