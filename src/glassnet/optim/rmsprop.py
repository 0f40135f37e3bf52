"""RMSprop: divide the gradient by a running root-mean-square of its history."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (PyTorch's ``torch.optim.RMSprop`` update rule).

    For each parameter :math:`\theta` with gradient :math:`g` (:math:`\gamma` =
    ``lr``, :math:`\alpha` = ``alpha``, :math:`\lambda` = ``weight_decay``,
    :math:`\mu` = ``momentum``)::

        g   <- g + lambda * theta                       (if weight_decay != 0)
        v   <- alpha * v + (1 - alpha) * g^2
        a   <- alpha * a + (1 - alpha) * g              (centered only)
        d   <- sqrt(v - a^2) + eps   if centered   else   sqrt(v) + eps
        b   <- mu * b + g / d;  theta <- theta - gamma * b     (if momentum > 0)
        theta <- theta - gamma * g / d                         (otherwise)

    ``v``, ``a``, ``b`` start at 0. State per parameter: ``step`` (int),
    ``square_avg`` (v), ``momentum_buffer`` (b, when ``momentum > 0``) and
    ``grad_avg`` (a, when ``centered``).

    >>> import numpy as np
    >>> from glassnet.nn import Parameter
    >>> p = Parameter(np.array([1.0]))
    >>> opt = RMSprop([p], lr=0.01, alpha=0.99, eps=0.0)
    >>> p.grad = np.array([2.0])
    >>> opt.step()
    >>> p.data.round(6)  # 1 - 0.01 * 2 / sqrt(0.01 * 4)
    array([0.9])
    """

    state_names = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered}
        super().__init__(params, defaults)

    def _check_group(self, group, index):
        self._require(group["lr"] >= 0, "lr must be >= 0", group["lr"], index)
        self._require(group["eps"] >= 0, "eps must be >= 0", group["eps"], index)
        self._require(group["alpha"] >= 0, "alpha must be >= 0", group["alpha"], index)
        self._require(group["momentum"] >= 0, "momentum must be >= 0", group["momentum"], index)
        self._require(group["weight_decay"] >= 0, "weight_decay must be >= 0", group["weight_decay"], index)

    def _update(self, p, grad, state, group):
        xp = B.get_array_module(p.data)
        lr, alpha, eps, wd, mu = (group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
        if mu > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = xp.zeros_like(p.data)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        g = grad + wd * p.data if wd != 0 else grad
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            a = state["grad_avg"]
            a += (1 - alpha) * (g - a)  # = alpha * a + (1 - alpha) * g
            d = xp.sqrt(v - a * a)
        else:
            d = xp.sqrt(v)
        d += eps
        if mu > 0:
            b = state["momentum_buffer"]
            b *= mu
            b += g / d
            p.data -= lr * b
        else:
            p.data -= lr * (g / d)
