"""Stochastic gradient descent with momentum, dampening, weight decay and Nesterov."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD`` update rule).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`
    (:math:`\lambda` = ``weight_decay``, :math:`\mu` = ``momentum``,
    :math:`\tau` = ``dampening``, :math:`\gamma` = ``lr``)::

        g   <- g + lambda * theta                       (if weight_decay != 0)
        b_1 <- g                                        (first step: no dampening)
        b_t <- mu * b_{t-1} + (1 - tau) * g             (later steps, if momentum != 0)
        g   <- g + mu * b_t   if nesterov   else   b_t  (if momentum != 0)
        theta <- theta - gamma * g

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).

    >>> import numpy as np
    >>> from glassnet.nn import Parameter
    >>> p = Parameter(np.array([1.0, 2.0]))
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad = np.array([1.0, -1.0])
    ...     opt.step()
    >>> p.data  # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
    array([0.71, 2.29])
    """

    state_names = ("momentum_buffer",)

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov}
        super().__init__(params, defaults)

    def _check_group(self, group, index):
        self._require(group["lr"] >= 0, "lr must be >= 0", group["lr"], index)
        self._require(group["momentum"] >= 0, "momentum must be >= 0", group["momentum"], index)
        self._require(group["weight_decay"] >= 0, "weight_decay must be >= 0", group["weight_decay"], index)
        if group["nesterov"]:
            ok = group["momentum"] > 0 and group["dampening"] == 0
            self._require(ok, "nesterov needs momentum > 0 and dampening == 0",
                          (group["momentum"], group["dampening"]), index)

    def _update(self, p, grad, state, group):
        lr, mu, tau, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        g = grad + wd * p.data if wd != 0 else grad
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = B.get_array_module(g).array(g, copy=True)
            else:
                buf *= mu
                buf += (1 - tau) * g
            g = g + mu * buf if group["nesterov"] else buf
        p.data -= lr * g
