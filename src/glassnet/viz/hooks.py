"""Looking inside a running model: every unit's output, the gradient arriving at a layer.

A :class:`Tap` registers :class:`~glassnet.nn.Module` hooks on the chosen
modules for the length of a ``with`` block (a forward hook records each
output, a backward pre-hook each incoming gradient) and removes them on
exit, even after an error. This works for any model built from glassnet
modules, whatever its ``forward`` does, because every container calls its
children as ``child(x)``.

A model is seen as a list of **units** (:func:`units`): its leaf modules,
except that a :class:`~glassnet.nn.Concat` (Inception) or
:class:`~glassnet.nn.Residual` (ResNet) block counts as one unit, since its
branches only mean something together.

>>> import numpy as np
>>> from glassnet import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
>>> [name for name, _ in units(net)]
['0', '1', '2', '3']
>>> with Tap(net) as tap:
...     _ = net(np.zeros((1, 1, 4, 4), np.float32))
>>> [(r.name, r.output.shape) for r in tap.records]
[('0', (1, 2, 2, 2)), ('1', (1, 2, 2, 2)), ('2', (1, 8)), ('3', (1, 3))]
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from ..nn import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Identity,
    LeakyReLU,
    MaxPool2d,
    Module,
    ReLU,
    Residual,
    Sigmoid,
    Tanh,
    enable_grad,
)

POOLS = (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d)
BLOCKS = (Concat, Residual)
ACTIVATIONS = (ReLU, LeakyReLU, Sigmoid, Tanh)
POINTWISE = ACTIVATIONS + (BatchNorm1d, BatchNorm2d, Dropout, Identity)


def units(model: Module) -> list[tuple[str, Module]]:
    """(name, module) of the model's units in registration order: leaves, and Concat/Residual blocks whole.

    The root, if it is itself a leaf or a block, is named by its class.
    """
    out = []

    def walk(prefix, m):
        if isinstance(m, BLOCKS) or not m._modules:
            out.append((prefix or type(m).__name__, m))
            return
        for name, child in m.named_children():
            walk(f"{prefix}.{name}" if prefix else name, child)

    walk("", model)
    return out


def contains_conv(m: Module) -> bool:
    """True for a convolution, or a block with one inside."""
    return any(is_conv(s) for s in m.modules())


def is_conv(m: Module) -> bool:
    """A convolution: a :class:`Conv2d`, or any module with a 4-D ``weight`` parameter (C_out, C_in, kh, kw)."""
    w = m._parameters.get("weight")
    return isinstance(m, Conv2d) or (w is not None and w.data.ndim == 4)


def conv_layers(model: Module) -> list[tuple[str, Module]]:
    """(name, module) of every convolution, in registration order."""
    return [(n, m) for n, m in model.named_modules() if is_conv(m)]


def find_module(model: Module, name: str) -> Module:
    """The sub-module called ``name`` (as in ``named_modules()``); a clear error listing valid names."""
    table = dict(model.named_modules())
    if name in table and name != "":
        return table[name]
    valid = [n for n in table if n]
    shown = ", ".join(valid[:30]) + (f", ... ({len(valid)} in all)" if len(valid) > 30 else "")
    raise ValueError(f"{type(model).__name__} has no layer {name!r}; valid names: {shown}")


def with_activation(records: list, i: int) -> int:
    """Index of the activation that completes the layer at ``records[i]`` (conv -> BatchNorm -> ReLU), else ``i``.

    Walks on over point-wise units (BatchNorm, activations, Dropout, Identity)
    and returns the last activation among them.
    """
    best = i
    for j in range(i + 1, len(records)):
        m = records[j].module
        if not isinstance(m, POINTWISE):
            break
        if isinstance(m, ACTIVATIONS):
            best = j
    return best


@dataclass
class Record:
    """One call of a tapped module: its name, the module and a copy of its output."""

    name: str
    module: Module
    output: np.ndarray


class _StopBackward(Exception):
    """Raised by a tapped backward to end the backward pass once the wanted gradient is seen."""


class Tap:
    """Record outputs (forward) and incoming gradients (backward) of chosen modules.

    Args:
        model: the model that will be run.
        modules: ``[(name, module), ...]`` to tap; default :func:`units`.
        stop_at: a tapped name: backward stops (via an exception that
            :meth:`backward` catches) right after the gradient arriving at
            that module is recorded, so nothing below it is computed.

    Attributes after running: ``records`` (:class:`Record` per call, in
    execution order; a module called twice appears twice) and ``grads``
    (name -> dL/d(output) seen by that module's backward).
    """

    def __init__(self, model: Module, modules=None, stop_at: str | None = None):
        self.model = model
        self.modules = units(model) if modules is None else list(modules)
        self.stop_at = stop_at
        self.records: list[Record] = []
        self.grads: dict[str, np.ndarray] = {}
        self.inject: dict[str, np.ndarray] = {}
        self._undo = []

    def __enter__(self):
        seen = set()
        try:
            for name, m in self.modules:
                if id(m) not in seen:
                    seen.add(id(m))
                    self._hook(name, m)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for handle in reversed(self._undo):
            handle.remove()
        self._undo.clear()
        return False

    def _hook(self, name, m):
        def record(module, args, y):
            if isinstance(y, np.ndarray):
                self.records.append(Record(name, m, np.array(y, copy=True)))

        def arriving(module, grad_output):
            self.grads[name] = np.array(grad_output[0], copy=True)
            if name == self.stop_at:
                raise _StopBackward
            if name in self.inject:
                return (self.inject[name],)
            return None

        self._undo.append(m.register_forward_hook(record))
        self._undo.append(m.register_full_backward_pre_hook(arriving))

    def output(self, name: str) -> np.ndarray:
        """The output of the last call of ``name``."""
        for r in reversed(self.records):
            if r.name == name:
                return r.output
        raise ValueError(f"layer {name!r} was not called by the forward pass (it may be unused in eval mode)")

    def backward(self, dy):
        """``model.backward(dy)``; returns the input gradient, or None when stopped at ``stop_at``."""
        try:
            return self.model.backward(dy)
        except _StopBackward:
            return None


@contextlib.contextmanager
def inspecting(model: Module):
    """Run ``model`` for a picture and leave it exactly as it was.

    Inside: evaluation mode (BatchNorm uses running statistics, Dropout is
    off), gradients enabled even under :func:`glassnet.no_grad`
    (:func:`glassnet.nn.enable_grad`), every convolution computes its input
    gradient. On exit: each module's training flag, each ``needs_input_grad``
    and each parameter's ``.grad`` are restored (the backward passes run
    here add into ``.grad``).
    """
    mods = list(model.modules())
    training = [m.training for m in mods]
    needs = [(m, m.needs_input_grad) for m in mods if isinstance(m, Conv2d)]
    grads = [(p, None if p.grad is None else p.grad.copy()) for p in model.parameters()]
    model.eval()
    for m, _ in needs:
        m.needs_input_grad = True
    try:
        with enable_grad():
            yield model
    finally:
        for m, flag in zip(mods, training, strict=True):
            object.__setattr__(m, "training", flag)
        for m, flag in needs:
            m.needs_input_grad = flag
        for p, g in grads:
            p.grad = g


def logits_of(model: Module, x: np.ndarray) -> np.ndarray:
    """Run the model and check that it returns class scores (N, K)."""
    y = model(x)
    if not isinstance(y, np.ndarray) or y.ndim != 2:
        got = f"shape {y.shape}" if isinstance(y, np.ndarray) else type(y).__name__
        raise ValueError(f"{type(model).__name__}: expected class scores of shape (N, K) from the model, got {got}")
    return y
