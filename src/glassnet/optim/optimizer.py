"""`Optimizer`: the base of SGD, Adam, AdamW and RMSprop.

An optimizer holds *parameter groups*: lists of :class:`~glassnet.nn.Parameter`
that share hyper-parameters (``lr``, ``weight_decay``, ...), as in PyTorch::

    SGD(model.parameters(), lr=0.1)
    SGD([{"params": body, "lr": 0.01}, {"params": head}], lr=0.1, momentum=0.9)

Options a group does not name come from the optimizer's ``defaults``.
``step()`` updates every parameter whose ``grad`` is not ``None``, in place
(``p.data`` keeps its array and its dtype); the per-parameter state (moment
estimates, momentum buffers, the step count) lives in ``optimizer.state[p]`` as
NumPy arrays of the parameter's dtype. Subclasses write one method,
``_update(p, grad, state, group)``: the update rule for one parameter.

``state_dict()`` has PyTorch's layout: ``{"state": {index: {name: value}},
"param_groups": [{option: value, ..., "params": [index, ...]}]}``, parameters
numbered in group order from 0.
"""

from __future__ import annotations

from .. import backend as B
from ..nn.module import Module
from ..nn.parameter import Parameter


class Optimizer:
    """Base class: parameter groups, ``zero_grad``, ``step``, ``state_dict``.

    Args:
        params: an iterable of ``Parameter`` or a list of dicts, each with a
            ``"params"`` entry and optional per-group options.
        defaults: the options (and their defaults) this optimizer knows.
    """

    state_names: tuple[str, ...] = ()
    """The names a per-parameter state entry may hold (checked on load)."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[Parameter, dict] = {}
        for group in _as_groups(params, type(self).__name__):
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group: dict) -> None:
        """Add a group (a dict with ``"params"``); missing options take the defaults."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, "
                            f"got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Parameter) else list(params)
        index = len(self.param_groups)
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{name}: param group {index} item {i} must be a Parameter, got {type(p).__name__}")
            if p.data.dtype not in (B.host.float32, B.host.float64):
                raise TypeError(f"{name}: param group {index} item {i} has dtype {p.data.dtype}, "
                                "expected float32 or float64")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: param group {index} lists the same Parameter more than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters of param group {index} are already in another group")
        unknown = sorted(k for k in group if k != "params" and k not in self.defaults)
        if unknown:
            raise ValueError(f"{name}: unknown option(s) {unknown} in param group {index}; "
                             f"known: {sorted(self.defaults)}")
        options = {k: _plain(v) for k, v in {**self.defaults, **group}.items() if k != "params"}
        new = {**options, "params": params}
        self._check_group(new, index)
        self.param_groups.append(new)

    def _check_group(self, group: dict, index: int) -> None:
        """Subclasses validate hyper-parameters here (raise ``ValueError``)."""

    def _require(self, ok: bool, what: str, value, index: int) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}: {what}, got {value!r} (param group {index})")

    # ------------------------------------------------------------------ stepping
    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to ``None`` (PyTorch's default)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()`` if given.

        ``closure`` (optional) recomputes the loss and the gradients before
        the update, as in PyTorch.
        """
        loss = closure() if closure is not None else None
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}: param group {gi} item {pi} has a gradient of shape "
                                     f"{p.grad.shape}, expected {p.data.shape}")
                grad = p.grad.astype(p.data.dtype, copy=False)
                self._update(p, grad, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, p: Parameter, grad, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """A copy of the state in PyTorch's layout (see the module docstring)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                entry = self.state.get(p)
                if entry:
                    state[index[id(p)]] = {k: B.get_array_module(v).array(v, copy=True) if B.is_array(v) else v
                                           for k, v in entry.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict`: hyper-parameters and per-parameter state.

        Group and parameter counts and every array's shape must match this
        optimizer; arrays are copied and cast to each parameter's dtype. List
        options (e.g. ``betas`` read back from JSON) become tuples again.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys ['param_groups', 'state'], got {keys}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        params = []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: param group {gi} has {len(saved['params'])} parameters "
                                 f"in the state, {len(group['params'])} in this optimizer")
            params.extend(group["params"])
        new_state = {}
        for key, entry in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there are {len(params)}")
            p = params[i]
            new_state[p] = {}
            for k, v in entry.items():
                if k not in self.state_names:
                    raise ValueError(f"{name}.load_state_dict: parameter {i} has state '{k}', "
                                     f"expected one of {list(self.state_names)}")
                if B.is_array(v):
                    if v.shape != p.data.shape:
                        raise ValueError(f"{name}.load_state_dict: state '{k}' of parameter {i} has shape {v.shape}, "
                                         f"expected {p.data.shape}")
                    v = B.get_array_module(p.data).array(v, dtype=p.data.dtype, copy=True)
                new_state[p][k] = v
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            options = {k: _plain(v) for k, v in saved.items() if k != "params"}
            new_groups.append({**options, "params": group["params"]})
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _as_groups(params, name: str) -> list[dict]:
    """Normalise ``params`` (Parameters or group dicts) to a list of group dicts."""
    if isinstance(params, Module):
        raise TypeError(f"{name}: got a Module; pass model.parameters() instead")
    if isinstance(params, (Parameter, dict)) or B.is_array(params):
        raise TypeError(f"{name}: params must be an iterable of Parameters or of dicts, got a {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError(f"{name}: got an empty parameter list")
    if all(isinstance(g, dict) for g in params):
        return params
    if any(isinstance(g, dict) for g in params):
        raise TypeError(f"{name}: params mixes Parameters and group dicts; use only one kind")
    return [{"params": params}]


def _plain(value):
    """Python numbers for options (a NumPy float64 ``lr`` would promote float32 updates); lists -> tuples."""
    if isinstance(value, B.host.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value
