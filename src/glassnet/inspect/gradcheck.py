"""`gradcheck`: a numerical check of every gradient a module computes.

The loss is a fixed random projection of the output, ``J = sum(R * m(x))``,
so ``dJ/dy = R``. The analytic gradients come from ``m.backward(R)``; the
numerical ones from central differences in float64::

    dJ/dv ~ (J(v + eps) - J(v - eps)) / (2 eps)

for every element of the input and of each parameter (or a random sample of
``max_checks`` elements of the larger ones). An element passes when
``|analytic - numeric| <= atol + rtol * |numeric|``.

The module is deep-copied and cast to float64; the random generator is reset
before every forward pass so that dropout masks stay the same.

>>> import numpy as np, glassnet.nn as nn
>>> report = gradcheck(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), np.random.default_rng(0).normal(size=(2, 1, 5, 5)))
>>> report.ok
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .. import backend as B


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numerical one."""


@dataclass
class GradcheckRow:
    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    max_rel_error: float
    ok: bool


@dataclass
class GradcheckReport:
    rows: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def __str__(self):
        head = f"{'tensor':<28}{'shape':<20}{'checked':>8}{'max abs err':>14}{'max rel err':>14}  ok"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.name:<28}{str(r.shape):<20}{r.checked:>8}{r.max_abs_error:>14.3e}{r.max_rel_error:>14.3e}  "
                + ("yes" if r.ok else "NO")
            )
        return "\n".join(lines)


def gradcheck(module, x, *, eps=1e-6, atol=1e-6, rtol=1e-4, max_checks=64, seed=0, raise_on_failure=True):
    """Compare ``module.backward`` with central differences for the input and every parameter.

    Returns a :class:`GradcheckReport`; raises :class:`GradcheckError` (with
    the report) when any gradient is off and ``raise_on_failure``.
    """
    m = copy.deepcopy(module).to(np.float64)
    xp = next((B.get_array_module(p.data) for p in m.parameters()), np)  # the model's device (NumPy or CuPy)
    x = xp.array(x, dtype=np.float64, copy=True)
    rng = np.random.default_rng(seed)
    state = B.get_rng_state()

    def forward():
        B.set_rng_state(state)
        return m(x)

    y = forward()
    R = xp.asarray(rng.standard_normal(y.shape))
    m.zero_grad()
    dx = m.backward(R)

    def J():
        return float((forward() * R).sum())

    report = GradcheckReport()
    targets = [("input", x, dx)]
    for name, p in m.named_parameters():
        if p.requires_grad:
            targets.append((name, p.data, p.grad if p.grad is not None else xp.zeros_like(p.data)))
    for name, arr, analytic in targets:
        report.rows.append(_check(name, arr, analytic, J, eps, atol, rtol, max_checks, rng))
    B.set_rng_state(state)
    if raise_on_failure and not report.ok:
        raise GradcheckError(f"gradcheck of {type(module).__name__} failed:\n{report}")
    return report


def _check(name, arr, analytic, J, eps, atol, rtol, max_checks, rng):
    if analytic.shape != arr.shape:  # a backward that returns the wrong shape fails outright
        return GradcheckRow(name, tuple(arr.shape), 0, float("inf"), float("inf"), False)
    flat = arr.reshape(-1)  # a view: perturbing it perturbs the array the module reads
    idx = np.arange(flat.size) if flat.size <= max_checks else rng.choice(flat.size, max_checks, replace=False)
    a = B.to_host(analytic).reshape(-1)[idx]
    n = np.empty(len(idx))
    for k, i in enumerate(idx.tolist()):
        old = flat[i].item()  # a Python float: on CuPy flat[i] is a view that the next line would change
        flat[i] = old + eps
        jp = J()
        flat[i] = old - eps
        jm = J()
        flat[i] = old
        n[k] = (jp - jm) / (2 * eps)
    err = np.abs(a - n)
    rel = err / np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-12)
    ok = bool(np.all(err <= atol + rtol * np.abs(n)))
    return GradcheckRow(name, tuple(arr.shape), len(idx), float(err.max(initial=0)), float(rel.max(initial=0)), ok)
