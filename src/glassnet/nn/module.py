"""`Module`: the base of every layer, container and model.

The contract (the same for every module):

* ``y = m(x)`` runs :meth:`Module.forward` and keeps in ``m`` what the
  backward pass needs (unless inside :func:`no_grad`).
* ``dx = m.backward(dy)`` returns dL/dx for the incoming dL/dy and **adds**
  the parameter gradients into each ``Parameter.grad``.
* ``state_dict()`` / ``load_state_dict()`` use PyTorch's key names
  (``features.0.weight``, ``bn1.running_mean`` ...), parameters before
  buffers, a module's own entries before its children's.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

from .. import backend as B
from .parameter import Parameter

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Run forward passes without keeping what backward needs (inference).

    >>> import glassnet.nn as nn
    >>> with no_grad():
    ...     _ = nn.ReLU()(B.xp.ones((1, 2)))
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


def format_shape(shape) -> str:
    """``(8, 1, 28, 28)``; a 1-d shape as ``(3,)``, like a Python tuple."""
    return str(tuple(int(s) for s in shape))


class Module:
    """Base class of all layers and models (see the module docstring)."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_name", "")
        object.__setattr__(self, "_ctx", None)

    # ---------------------------------------------------------------- registry
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if isinstance(value, (Parameter, Module)):
            for table in (self._parameters, self._buffers, self._modules):
                table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
            value._set_name(name)
        elif name in self._buffers:
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value) -> None:
        """A non-learnable array saved in the state dict (e.g. ``running_mean``)."""
        self._buffers[name] = value

    def register_module(self, name: str, module: Module) -> None:
        setattr(self, name, module)

    def _set_name(self, name: str) -> None:
        self._name = name
        for sub, m in self.named_modules():
            if sub:
                m._name = f"{name}.{sub}"

    @property
    def label(self) -> str:
        """How errors name this module: ``Conv2d (features.0)``."""
        cls = type(self).__name__
        return f"{cls} ({self._name})" if self._name else cls

    # ---------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        yield from self._modules.items()

    def children(self):
        yield from self._modules.values()

    def named_parameters(self, prefix: str = ""):
        seen = set()
        for mname, m in self.named_modules(prefix):
            for pname, p in m._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix: str = ""):
        for mname, m in self.named_modules(prefix):
            for bname, b in m._buffers.items():
                yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ---------------------------------------------------------------- modes
    def zero_grad(self) -> None:
        """Forget accumulated gradients (``grad = None``, as PyTorch)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, dtype):
        """Cast parameters and floating buffers to ``dtype`` (in place)."""
        dtype = B.xp.dtype(dtype)
        for m in self.modules():
            for p in m._parameters.values():
                p.data = p.data.astype(dtype, copy=False)
                if p.grad is not None:
                    p.grad = p.grad.astype(dtype, copy=False)
            for k, b in m._buffers.items():
                if b is not None and B.is_floating(b):
                    m._buffers[k] = b.astype(dtype, copy=False)
            m._ctx = None
        return self

    def double(self):
        return self.to(B.xp.float64)

    def float(self):
        return self.to(B.xp.float32)

    @property
    def dtype(self):
        for p in self.parameters():
            return p.dtype
        return B.get_default_dtype()

    # ---------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict:
        """Parameters and buffers by PyTorch key name (copies)."""
        out = OrderedDict()
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                out[pre + k] = p.data.copy()
            for k, b in m._buffers.items():
                if b is not None:
                    out[pre + k] = B.xp.array(b, copy=True)
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy arrays from ``state_dict`` into this module's parameters and buffers.

        Raises a ``ValueError`` that names every missing,
        unexpected and mis-shaped key; with ``strict=False`` missing and
        unexpected keys are returned instead (shapes must still match).
        """
        targets = {}
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for k in m._parameters:
                targets[pre + k] = (m, k, "param")
            for k, b in m._buffers.items():
                if b is not None:
                    targets[pre + k] = (m, k, "buffer")
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        bad_shape = []
        for k, (m, name, kind) in targets.items():
            if k in state_dict:
                own = m._parameters[name].data if kind == "param" else m._buffers[name]
                if tuple(B.xp.shape(state_dict[k])) != tuple(B.xp.shape(own)):
                    got = format_shape(B.xp.shape(state_dict[k]))
                    bad_shape.append(f"{k}: expected {format_shape(own.shape)}, got {got}")
        problems = []
        if bad_shape:
            problems.append("mis-shaped keys: " + "; ".join(bad_shape))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + " | ".join(problems))
        for k, (m, name, kind) in targets.items():
            if k not in state_dict:
                continue
            if kind == "param":
                p = m._parameters[name]
                p.data = B.xp.array(state_dict[k], dtype=p.data.dtype, copy=True)
            else:
                own = m._buffers[name]
                m._buffers[name] = B.xp.array(state_dict[k], dtype=own.dtype, copy=True)
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    # ---------------------------------------------------------------- running
    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _save(self, ctx) -> None:
        """Keep what backward needs (nothing under ``no_grad``)."""
        self._ctx = ctx if _grad_enabled else None

    def _saved(self):
        """What forward kept; a clear error if backward comes first."""
        if self._ctx is None:
            raise RuntimeError(
                f"{self.label}: backward() called before forward() "
                "(or the forward ran under no_grad())"
            )
        return self._ctx

    def _shape_error(self, expected: str, x) -> ValueError:
        return ValueError(f"{self.label}: expected input {expected}, got {format_shape(B.xp.shape(x))}")

    def _check_ndim(self, x, ndim: int, expected: str) -> None:
        if B.xp.ndim(x) != ndim:
            raise self._shape_error(expected, x)

    # ---------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"
