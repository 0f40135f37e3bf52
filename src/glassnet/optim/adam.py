"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer


class Adam(Optimizer):
    r"""Adam (PyTorch's ``torch.optim.Adam`` update rule, including AMSGrad).

    For each parameter :math:`\theta` with gradient :math:`g_t` at its step
    :math:`t = 1, 2, \dots` (:math:`\gamma` = ``lr``, :math:`\lambda` =
    ``weight_decay``)::

        g   <- g + lambda * theta                 (Adam: L2 penalty in the gradient)
        theta <- theta * (1 - gamma * lambda)     (AdamW: decoupled decay, instead)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g^2
        vmax_t <- max(vmax_{t-1}, v_t)            (amsgrad: use vmax_t below in place of v_t)
        theta <- theta - gamma / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    ``m_0 = v_0 = vmax_0 = 0``. State per parameter: ``step`` (int),
    ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with ``amsgrad``,
    ``max_exp_avg_sq`` (vmax). Each parameter counts its own steps: one
    skipped because its ``grad`` was ``None`` is not counted.

    >>> import numpy as np
    >>> from glassnet.nn import Parameter
    >>> p = Parameter(np.array([1.0, -1.0]))
    >>> opt = Adam([p], lr=0.1)
    >>> p.grad = np.array([3.0, -0.5])
    >>> opt.step()
    >>> p.data.round(6)  # the first Adam step moves each entry by lr * sign(g)
    array([ 0.9, -0.9])
    """

    state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, decoupled_weight_decay: bool = False):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_group(self, group, index):
        self._require(group["lr"] >= 0, "lr must be >= 0", group["lr"], index)
        self._require(group["eps"] >= 0, "eps must be >= 0", group["eps"], index)
        betas = group["betas"]
        self._require(len(betas) == 2, "betas must be a pair (beta1, beta2)", betas, index)
        self._require(0 <= betas[0] < 1 and 0 <= betas[1] < 1, "betas must lie in [0, 1)", betas, index)
        self._require(group["weight_decay"] >= 0, "weight_decay must be >= 0", group["weight_decay"], index)

    def _update(self, p, grad, state, group):
        xp = B.get_array_module(p.data)
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        t = state["step"]
        g = grad
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.data *= 1 - lr * wd
            else:
                g = grad + wd * p.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)  # = beta1 * m + (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**t)
        denom = xp.sqrt(v) / (1 - beta2**t) ** 0.5 + eps
        p.data -= step_size * (m / denom)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW``).

    The same update as :class:`Adam`, except that weight decay shrinks the
    parameter directly, ``theta <- theta * (1 - lr * weight_decay)``, before
    the moment update, instead of adding ``weight_decay * theta`` to the
    gradient (Loshchilov & Hutter, *Decoupled Weight Decay Regularization*).
    The default ``weight_decay`` is ``1e-2``.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)
