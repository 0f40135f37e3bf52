"""The optimizer and scheduler cases checked against PyTorch, and runners for both libraries.

Shared by the tests in this folder and by ``scripts/make_optim_golden.py``,
which records PyTorch's results in ``tests/fixtures/optim_golden.npz`` for
machines without torch. torch is imported only inside the ``*_torch``
functions.

An optimizer case: ``{"optim": class name, "defaults": options,
"groups": None or [{"params": [param indices], option: value}],
"sched": None or (scheduler class name, options)}``. Every case runs
``N_STEPS`` steps on the parameters ``SHAPES`` with one gradient sequence in
which some parameters have no gradient at some steps (``grad = None``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import glassnet.optim as goptim
from glassnet.nn import Parameter

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "optim_golden.npz"
SHAPES = [(3, 4), (5,), (2, 1, 2, 2)]
N_STEPS = 20
NO_GRAD = {(4, 2), (7, 0), (11, 2), (12, 1)}  # (step, param) pairs with grad None

_TWO_GROUPS = [{"params": [0, 2]}, {"params": [1], "lr": 0.003, "weight_decay": 0.1}]

CASES = {
    "sgd": {"optim": "SGD", "defaults": {"lr": 0.1}},
    "sgd_momentum": {"optim": "SGD", "defaults": {"lr": 0.05, "momentum": 0.9}},
    "sgd_dampening_wd": {"optim": "SGD",
                         "defaults": {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}},
    "sgd_nesterov_wd": {"optim": "SGD", "defaults": {"lr": 0.05, "momentum": 0.9, "nesterov": True,
                                                     "weight_decay": 1e-3}},
    "sgd_groups": {"optim": "SGD", "defaults": {"lr": 0.1, "momentum": 0.9}, "groups": _TWO_GROUPS},
    "adam": {"optim": "Adam", "defaults": {"lr": 1e-2}},
    "adam_betas_eps_wd": {"optim": "Adam", "defaults": {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6,
                                                        "weight_decay": 0.05}},
    "adam_amsgrad_wd": {"optim": "Adam", "defaults": {"lr": 1e-2, "amsgrad": True, "weight_decay": 1e-2}},
    "adam_groups": {"optim": "Adam", "defaults": {"lr": 1e-2, "betas": (0.6, 0.95)}, "groups": _TWO_GROUPS},
    "adamw": {"optim": "AdamW", "defaults": {"lr": 1e-2}},
    "adamw_amsgrad": {"optim": "AdamW", "defaults": {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True,
                                                     "betas": (0.5, 0.9)}},
    "rmsprop": {"optim": "RMSprop", "defaults": {"lr": 1e-2}},
    "rmsprop_momentum_wd": {"optim": "RMSprop", "defaults": {"lr": 1e-2, "alpha": 0.9, "momentum": 0.9,
                                                             "weight_decay": 0.01}},
    "rmsprop_centered": {"optim": "RMSprop", "defaults": {"lr": 1e-3, "centered": True, "eps": 1e-6}},
    "rmsprop_centered_momentum": {"optim": "RMSprop", "defaults": {"lr": 1e-3, "centered": True, "momentum": 0.5}},
    "sgd_steplr": {"optim": "SGD", "defaults": {"lr": 0.1, "momentum": 0.9},
                   "sched": ("StepLR", {"step_size": 4, "gamma": 0.5})},
    "adam_onecycle": {"optim": "Adam", "defaults": {"lr": 1e-2},
                      "sched": ("OneCycleLR", {"max_lr": 0.05, "total_steps": N_STEPS})},
    "sgd_onecycle_cos": {"optim": "SGD", "defaults": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
                         "sched": ("OneCycleLR", {"max_lr": 0.2, "total_steps": N_STEPS, "pct_start": 0.25})},
}

# Scheduler cases: (optimizer class, group lrs, optimizer options, scheduler class, scheduler options, steps).
SCHED_CASES = {
    "step": ("SGD", [0.1, 0.02], {}, "StepLR", {"step_size": 3, "gamma": 0.5}, 20),
    "step_gamma_default": ("Adam", [1e-3], {}, "StepLR", {"step_size": 5}, 16),
    "cosine": ("Adam", [0.01, 0.05], {}, "CosineAnnealingLR", {"T_max": 7, "eta_min": 1e-3}, 30),
    "cosine_eta0": ("SGD", [0.3], {"momentum": 0.9}, "CosineAnnealingLR", {"T_max": 10}, 10),
    "onecycle_sgd": ("SGD", [0.1, 0.1], {"momentum": 0.9}, "OneCycleLR",
                     {"max_lr": [0.5, 0.1], "total_steps": 20}, 20),
    "onecycle_adam_linear": ("Adam", [1e-3], {}, "OneCycleLR",
                             {"max_lr": 0.01, "epochs": 3, "steps_per_epoch": 5, "pct_start": 0.25,
                              "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0}, 15),
    "onecycle_three_phase": ("SGD", [0.1], {"momentum": 0.9}, "OneCycleLR",
                             {"max_lr": 1.0, "total_steps": 30, "three_phase": True,
                              "base_momentum": [0.8], "max_momentum": 0.9}, 30),
    "onecycle_adamw_no_momentum": ("AdamW", [1e-3, 1e-3], {}, "OneCycleLR",
                                   {"max_lr": 0.02, "total_steps": 12, "cycle_momentum": False}, 12),
    "onecycle_rmsprop": ("RMSprop", [0.01], {}, "OneCycleLR", {"max_lr": 0.05, "total_steps": 10}, 10),
}


def make_inputs(seed: int = 0) -> dict:
    """Initial parameters and a gradient sequence (float64) whose scale varies from step to step."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    scale = np.exp(rng.normal(0.0, 1.0, size=N_STEPS))
    grads = [np.stack([rng.standard_normal(s) * scale[t] for t in range(N_STEPS)]) for s in SHAPES]
    has_grad = np.ones((N_STEPS, len(SHAPES)), dtype=bool)
    for t, i in NO_GRAD:
        has_grad[t, i] = False
    return {"init": init, "grads": grads, "has_grad": has_grad}


def _group_list(case: dict, params: list) -> list:
    if not case.get("groups"):
        return params
    return [{**g, "params": [params[i] for i in g["params"]]} for g in case["groups"]]


def build_glassnet(case: dict, init: list, dtype=np.float64):
    """Parameters (copies of ``init``), optimizer and scheduler (or None) for ``case``."""
    params = [Parameter(np.array(a, dtype=dtype)) for a in init]
    opt = getattr(goptim, case["optim"])(_group_list(case, params), **case["defaults"])
    sched = None
    if case.get("sched"):
        name, options = case["sched"]
        sched = getattr(goptim.lr_scheduler, name)(opt, **options)
    return params, opt, sched


def drive(params, opt, sched, inputs: dict, steps) -> list:
    """Apply the gradients of ``steps`` (optimizer step, then scheduler step); return the trajectories."""
    steps = list(steps)
    traj = [np.empty((len(steps), *p.shape), dtype=p.dtype) for p in params]
    for k, t in enumerate(steps):
        for i, p in enumerate(params):
            p.grad = np.array(inputs["grads"][i][t], dtype=p.dtype) if inputs["has_grad"][t, i] else None
        opt.step()
        if sched is not None:
            sched.step()
        for i, p in enumerate(params):
            traj[i][k] = p.data
    return traj


def run_glassnet(case: dict, inputs: dict, dtype=np.float64) -> list:
    """Run ``case`` for ``N_STEPS`` in glassnet; return the trajectory (N_STEPS, *shape) of each parameter."""
    params, opt, sched = build_glassnet(case, inputs["init"], dtype)
    return drive(params, opt, sched, inputs, range(N_STEPS))


def run_torch(case: dict, inputs: dict, dtype="float64"):
    """Run ``case`` in PyTorch (single-tensor code path); return the trajectory per parameter."""
    import torch

    tdtype = getattr(torch, dtype)
    params = [torch.nn.Parameter(torch.tensor(a, dtype=tdtype)) for a in inputs["init"]]
    opt = getattr(torch.optim, case["optim"])(_group_list(case, params), **case["defaults"], foreach=False)
    sched = None
    if case.get("sched"):
        name, options = case["sched"]
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **options)
    traj = [np.empty((N_STEPS, *p.shape), dtype=dtype) for p in params]
    for t in range(N_STEPS):
        for i, p in enumerate(params):
            p.grad = torch.tensor(inputs["grads"][i][t], dtype=tdtype) if inputs["has_grad"][t, i] else None
        opt.step()
        if sched is not None:
            sched.step()
        for i, p in enumerate(params):
            traj[i][t] = p.detach().numpy()
    return traj


def _momentum(group: dict) -> float:
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum", float("nan"))


def _sched_run(lib, case, n_steps=None):
    optim_name, lrs, options, sched_name, sched_options, steps = case
    if lib == "torch":
        import torch

        optim, make = torch.optim, (lambda: torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)))
    else:
        optim, make = goptim, (lambda: Parameter(np.zeros(2)))
    groups = [{"params": [make()], "lr": lr} for lr in lrs]
    opt = getattr(optim, optim_name)(groups, **options)
    sched = getattr(optim.lr_scheduler, sched_name)(opt, **sched_options)
    lr_seq, mom_seq = [sched.get_last_lr()], [[_momentum(g) for g in opt.param_groups]]
    for _ in range(steps if n_steps is None else n_steps):
        opt.step()  # no gradients: nothing moves, but PyTorch wants optimizer.step() first
        sched.step()
        lr_seq.append(sched.get_last_lr())
        mom_seq.append([_momentum(g) for g in opt.param_groups])
    return np.array(lr_seq, dtype=np.float64), np.array(mom_seq, dtype=np.float64), opt, sched


def run_sched_glassnet(case):
    """(lr per step and group, momentum per step and group) for glassnet; row 0 is before any step."""
    return _sched_run("glassnet", case)[:2]


def run_sched_torch(case):
    """The same sequences from PyTorch."""
    return _sched_run("torch", case)[:2]
