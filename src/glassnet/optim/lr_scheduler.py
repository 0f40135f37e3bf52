"""Learning-rate schedulers: StepLR, CosineAnnealingLR, OneCycleLR (PyTorch's rules).

A scheduler rewrites ``group["lr"]`` of its optimizer's parameter groups.
Creating it sets the epoch counter ``last_epoch`` to 0 and stores each group's
starting rate as ``group["initial_lr"]`` (``base_lrs``); each :meth:`step`
(call it after ``optimizer.step()``) advances ``last_epoch`` by one and sets
the new rates. :meth:`get_last_lr` returns the rates now in force.
``state_dict()`` is plain JSON-able data (numbers, strings, lists, dicts).
"""

from __future__ import annotations

import copy
import math

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses write :meth:`get_lr`, the rates for ``last_epoch``."""

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a glassnet Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr")

    def step(self) -> None:
        """Advance one epoch (or batch, for OneCycleLR) and set the new rates."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group after the latest step."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (JSON-able; save it with ``glassnet.io.save_json``)."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` (the optimizer's rates are restored by its own ``load_state_dict``)."""
        own = set(self.state_dict())
        missing, unexpected = sorted(own - set(state_dict)), sorted(set(state_dict) - own)
        if missing or unexpected:
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        self.__dict__.update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` epochs.

    ``lr(e) = base_lr * gamma ** (e // step_size)``, applied as a running
    product (the rate is multiplied by gamma whenever ``e`` is a non-zero
    multiple of ``step_size``), as PyTorch does.

    >>> import numpy as np
    >>> from glassnet.nn import Parameter
    >>> from glassnet.optim import SGD
    >>> s = StepLR(SGD([Parameter(np.zeros(1))], lr=1.0), step_size=2, gamma=0.5)
    >>> lrs = [s.get_last_lr()[0]]
    >>> for _ in range(5):
    ...     s.step(); lrs.append(s.get_last_lr()[0])
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs.

    Closed form: ``lr(e) = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2``.
    Like PyTorch, the rate is computed recursively from the current
    ``group["lr"]``::

        lr(e) = eta_min + (lr(e-1) - eta_min) * (1 + cos(pi e / T)) / (1 + cos(pi (e-1) / T))

    (which equals the closed form when nothing else touches the rate), with
    ``lr(e) = lr(e-1) + (base_lr - eta_min) * (1 - cos(pi / T)) / 2`` where the
    denominator vanishes; past ``T_max`` the rate climbs back (period ``2 T_max``).

    >>> import numpy as np
    >>> from glassnet.nn import Parameter
    >>> from glassnet.optim import SGD
    >>> s = CosineAnnealingLR(SGD([Parameter(np.zeros(1))], lr=1.0), T_max=4)
    >>> lrs = [s.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     s.step(); lrs.append(round(s.get_last_lr()[0], 6))
    >>> lrs
    [1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be > 0, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self):
        groups, e, T, eta_min = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (e - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups, strict=True)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (group["lr"] - eta_min)
                + eta_min for group in groups]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin): warm up to ``max_lr``, then anneal far below the start.

    Stepped once per **batch**, for ``total_steps`` (or ``epochs *
    steps_per_epoch``) steps. With ``initial_lr = max_lr / div_factor`` and
    ``min_lr = initial_lr / final_div_factor``, and ``N = total_steps``:

    * two phases (default): ``initial_lr -> max_lr`` over steps
      ``0 .. pct_start*N - 1``, then ``max_lr -> min_lr`` until step ``N - 1``;
    * ``three_phase=True``: ``initial_lr -> max_lr``, ``max_lr -> initial_lr``
      (ending at step ``2*pct_start*N - 2``), then ``initial_lr -> min_lr``.

    Within a phase from step ``s0`` to ``s1`` the value at step ``s`` is
    ``anneal(start, end, (s - s0) / (s1 - s0))``, with
    ``anneal_cos = end + (start - end) * (1 + cos(pi * pct)) / 2`` or
    ``anneal_linear = start + (end - start) * pct``.

    With ``cycle_momentum`` the momentum moves the opposite way, between
    ``max_momentum`` and ``base_momentum``: it sets ``group["momentum"]`` (SGD,
    RMSprop) or the first of ``group["betas"]`` (Adam, AdamW).

    >>> import numpy as np
    >>> from glassnet.nn import Parameter
    >>> from glassnet.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    >>> s = OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear")
    >>> lrs = [s.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     s.step(); lrs.append(round(s.get_last_lr()[0], 6))
    >>> lrs, opt.param_groups[0]["momentum"]
    ([0.04, 1.0, 0.666668, 0.333336, 4e-06], 0.95)
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected a glassnet Optimizer, got {type(optimizer).__name__}")
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must lie in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        self._schedule_phases = _phases(self.total_steps, pct_start, three_phase)
        for group, lr in zip(optimizer.param_groups, _per_group("max_lr", optimizer, max_lr), strict=True):
            group["initial_lr"] = lr / div_factor
            group["max_lr"] = lr
            group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                                 f"got {type(optimizer).__name__} (pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group("max_momentum", optimizer, max_momentum)
            lows = _per_group("base_momentum", optimizer, base_momentum)
            for group, high, low in zip(optimizer.param_groups, highs, lows, strict=True):
                self._set_momentum(group, high)
                group["max_momentum"] = high
                group["base_momentum"] = low
        super().__init__(optimizer)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        self._set_momentum(group, momentum)
                    break
                start_step = end_step
        return lrs


def _total_steps(total_steps, epochs, steps_per_epoch) -> int:
    if total_steps is not None:
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"OneCycleLR: total_steps must be a positive int, got {total_steps!r}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError("OneCycleLR: give either total_steps or both epochs and steps_per_epoch")
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"OneCycleLR: {name} must be a positive int, got {value!r}")
    return epochs * steps_per_epoch


def _phases(total_steps: int, pct_start: float, three_phase: bool) -> list[dict]:
    """The phases as PyTorch lays them out: end step and the group keys to go between."""
    warm = float(pct_start * total_steps) - 1
    up = {"end_step": warm, "start_lr": "initial_lr", "end_lr": "max_lr",
          "start_momentum": "max_momentum", "end_momentum": "base_momentum"}
    if not three_phase:
        down = {"end_step": total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                "start_momentum": "base_momentum", "end_momentum": "max_momentum"}
        return [up, down]
    down = {"end_step": float(2 * pct_start * total_steps) - 2, "start_lr": "max_lr", "end_lr": "initial_lr",
            "start_momentum": "base_momentum", "end_momentum": "max_momentum"}
    tail = {"end_step": total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
            "start_momentum": "max_momentum", "end_momentum": "max_momentum"}
    return [up, down, tail]


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a list/tuple of that length, or one value for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"OneCycleLR: {name} has {len(value)} values, the optimizer has {n} param groups")
        return list(value)
    return [value] * n
