"""`Module`: the base of every layer, container and model.

The contract (the same for every module):

* ``y = m(x)`` runs :meth:`Module.forward` and keeps in ``m`` what the
  backward pass needs (unless inside :func:`no_grad`).
* ``dx = m.backward(dy)`` returns dL/dx for the incoming dL/dy and **adds**
  the parameter gradients into each ``Parameter.grad``.
  ``m.backward(dy, input_grad=False)`` skips dL/dx where the layers can
  (the first convolution's full convolution, as PyTorch for inputs without
  ``requires_grad``) and returns None: what training needs.
* A module may be called several times in one forward pass (a ReLU reused,
  shared weights): each call pushes what its backward needs on a stack,
  and each backward call takes the latest entry not yet used, so backward,
  which runs the calls in reverse order, meets them in the right order and
  the parameter gradients add up over the uses (as PyTorch sums them). An
  outermost backward call starts again from the top of the stacks of the
  modules below it (a second backward over the same forward pass gives the
  same gradients again). A new outermost forward call (a new forward pass)
  forgets what an earlier pass kept, so inference without :func:`no_grad`
  does not grow memory; under :func:`no_grad` nothing is kept at all.
* Hooks with PyTorch's names and signatures: :meth:`Module.register_forward_pre_hook`,
  :meth:`Module.register_forward_hook`, :meth:`Module.register_full_backward_pre_hook`,
  :meth:`Module.register_full_backward_hook`, each returning a handle with ``remove()``.
* ``state_dict()`` / ``load_state_dict()`` use PyTorch's key names
  (``features.0.weight``, ``bn1.running_mean`` ...), parameters before
  buffers, a module's own entries before its children's.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sys
import threading
from collections import OrderedDict

from .. import _threads
from .. import backend as B
from .parameter import Parameter

_local = threading.local()  # per thread: grad mode, call depth, the current forward pass
_passes = itertools.count(1)
_rounds = itertools.count(1)  # outermost backward calls
_hook_ids = itertools.count()


def is_grad_enabled() -> bool:
    """Whether forward passes keep what backward needs (per thread, as PyTorch)."""
    return getattr(_local, "grad", True)


@contextlib.contextmanager
def set_grad_enabled(mode: bool):
    """Run the block with gradients on (``True``) or off (``False``); the previous mode comes back after."""
    previous = is_grad_enabled()
    _local.grad = bool(mode)
    try:
        yield
    finally:
        _local.grad = previous


def no_grad():
    """Run forward passes without keeping what backward needs (inference).

    >>> import glassnet.nn as nn
    >>> with no_grad():
    ...     _ = nn.ReLU()(B.xp.ones((1, 2)))
    """
    return set_grad_enabled(False)


def enable_grad():
    """Turn gradients back on inside a :func:`no_grad` block (pictures that need a backward pass do).

    >>> with no_grad(), enable_grad():
    ...     is_grad_enabled()
    True
    """
    return set_grad_enabled(True)


def format_shape(shape) -> str:
    """``(8, 1, 28, 28)``; a 1-d shape as ``(3,)``, like a Python tuple."""
    return str(tuple(int(s) for s in shape))


class RemovableHandle:
    """What ``register_*_hook`` returns: ``handle.remove()`` takes the hook away (also as a context manager)."""

    def __init__(self, table: OrderedDict):
        self.id = next(_hook_ids)
        self._table = table

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _as_array(module, x):
    """The input of an outermost call as an array: documented conversions, else one clear error.

    NumPy (and CuPy) arrays of floats pass untouched. Torch tensors become
    NumPy arrays (``detach().cpu().numpy()``), lists and other array-likes go
    through ``numpy.asarray``; integer and boolean data (e.g. uint8 images)
    become the model's floating dtype, floating data keep their dtype. An
    array on another device than the model's parameters is moved to theirs
    (host images into a model on the GPU).
    """
    x = _as_float_array(module, x)
    if "cupy" in sys.modules:  # a GPU array can exist only then: otherwise nothing to move
        for p in module.parameters():
            if B.get_array_module(p.data) is not B.get_array_module(x):
                x = B.to_device(x, B.device_of(p.data))
            break
    return x


def _as_float_array(module, x):
    xp = B.get_array_module(x)
    if isinstance(x, xp.ndarray) and x.dtype.kind in "fO":  # floating (or objects: symbols), as given
        return x
    if isinstance(x, xp.ndarray):
        pass
    elif hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    else:
        try:
            x = B.host.asarray(x)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{module.label}: expected a NumPy array, got {type(x).__name__} ({e})") from None
    if x.dtype.kind in "biu":
        x = x.astype(module.dtype)
    elif x.dtype.kind not in "fO":
        raise TypeError(
            f"{module.label}: expected a NumPy array of numbers (e.g. np.float32), got an array of dtype {x.dtype}"
        )
    return x


def _backward_with_hooks(method):
    """Wrap a class's ``backward``: hooks, the ``input_grad`` switch, glassnet's BLAS region."""

    @functools.wraps(method)
    def backward(self, *args, input_grad: bool = True, **kwargs):
        d = self.__dict__
        if d.get("_in_backward"):  # super().backward(...) from a subclass: no second round of hooks
            return method(self, *args, **kwargs)
        if args and d["_backward_pre_hooks"]:
            dy = args[0]
            for hook in list(d["_backward_pre_hooks"].values()):
                new = hook(self, (dy,))
                if new is not None:
                    dy = new[0] if isinstance(new, tuple) else new
            args = (dy,) + args[1:]
        previous = d.get("_input_grad", True)
        d["_in_backward"], d["_input_grad"] = True, input_grad
        depth = getattr(_local, "backward_depth", 0)
        if depth == 0:  # an outermost backward: a new round over what the forward pass saved
            _local.backward_round = next(_rounds)
        _local.backward_depth = depth + 1
        try:
            with _threads.region():
                dx = method(self, *args, **kwargs)
        finally:
            d["_in_backward"], d["_input_grad"] = False, previous
            _local.backward_depth = depth
        if not input_grad:
            dx = None
        for hook in list(d["_backward_hooks"].values()):
            new = hook(self, (dx,), tuple(args[:1]))
            if new is not None:
                dx = new[0] if isinstance(new, tuple) else new
        return dx

    backward._glassnet_hooked = True
    return backward


class Module:
    """Base class of all layers and models (see the module docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("backward")
        if own is not None and not getattr(own, "_glassnet_hooked", False):
            cls.backward = _backward_with_hooks(own)

    def __init__(self):
        for name in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks",
                     "_backward_pre_hooks", "_backward_hooks"):
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_name", "")
        object.__setattr__(self, "_saved_stack", [])
        object.__setattr__(self, "_saved_next", 0)  # entries of the stack not yet used by this backward round
        object.__setattr__(self, "_saved_pass", 0)  # the forward pass the stack belongs to
        object.__setattr__(self, "_saved_round", 0)  # the backward round that last read the stack
        object.__setattr__(self, "_saved_stale", False)  # an earlier pass's state was dropped unused

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

    def to(self, dtype_or_device):
        """Cast parameters and floating buffers to a dtype, or move them to a device (in place).

        ``model.to(np.float64)``; ``model.to("cuda")`` (CuPy arrays on the
        GPU, see docs/gpu.md) and ``model.to("cpu")`` (NumPy arrays).
        """
        if isinstance(dtype_or_device, str) and dtype_or_device.split(":")[0] in ("cpu", "cuda"):
            device = B.normalize_device(dtype_or_device)

            def move(a):
                return B.to_device(a, device)
        else:
            dtype = B.host.dtype(dtype_or_device)

            def move(a):
                return a.astype(dtype, copy=False) if B.is_floating(a) else a
        for m in self.modules():
            for p in m._parameters.values():
                p.data = move(p.data)
                if p.grad is not None:
                    p.grad = move(p.grad)
            for k, b in m._buffers.items():
                if b is not None:
                    m._buffers[k] = move(b)
            m._saved_stack.clear()
            object.__setattr__(m, "_saved_next", 0)
        return self

    def double(self):
        return self.to(B.host.float64)

    def float(self):
        return self.to(B.host.float32)

    def cuda(self):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    @property
    def device(self) -> str:
        """Where the parameters live: ``"cpu"`` or ``"cuda"``."""
        for p in self.parameters():
            return B.device_of(p.data)
        return "cpu"

    @property
    def dtype(self):
        for p in self.parameters():
            return p.dtype
        return B.get_default_dtype()

    # ---------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict:
        """Parameters and buffers by PyTorch key name: NumPy copies (also for a model on the GPU).

        Host arrays are what every file format and comparison takes, so a
        model trained on the GPU saves the same files as one trained on the
        CPU; :meth:`load_state_dict` puts them back on the model's device.
        """
        out = OrderedDict()
        for mname, m in self.named_modules():
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                out[pre + k] = B.host_copy(p.data)
            for k, b in m._buffers.items():
                if b is not None:
                    out[pre + k] = B.host_copy(b)
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
                if tuple(B.host.shape(state_dict[k])) != tuple(own.shape):
                    got = format_shape(B.host.shape(state_dict[k]))
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
                p.data = B.get_array_module(p.data).array(state_dict[k], dtype=p.data.dtype, copy=True)
            else:
                own = m._buffers[name]
                m._buffers[name] = B.get_array_module(own).array(state_dict[k], dtype=own.dtype, copy=True)
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    # ---------------------------------------------------------------- running
    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def __call__(self, *args, **kwargs):
        depth = getattr(_local, "depth", 0)
        if depth == 0:  # the outermost call: a new forward pass, glassnet's BLAS region
            if args:
                args = (_as_array(self, args[0]),) + args[1:]
            _local.current_pass = next(_passes)
            _local.depth = 1
            try:
                with _threads.region():
                    return self._call(args, kwargs)
            finally:
                _local.depth = 0
        _local.depth = depth + 1
        try:
            return self._call(args, kwargs)
        finally:
            _local.depth = depth

    def _call(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        y = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, y)
            if new is not None:
                y = new
        return y

    # ---------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, args)`` before each call's forward; it may return new args (a tuple or one array)."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, args, output)`` after each call's forward; it may return a new output.

        >>> import numpy as np
        >>> from glassnet.nn import ReLU
        >>> relu, seen = ReLU(), []
        >>> handle = relu.register_forward_hook(lambda m, args, y: seen.append(y.sum()))
        >>> _ = relu(np.array([-1.0, 2.0])); handle.remove(); _ = relu(np.array([3.0]))
        >>> seen
        [np.float64(2.0)]
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_full_backward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, grad_output)`` before backward (``grad_output = (dy,)``); it may return a new one."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` after backward (``(dx,)``, ``(dy,)``).

        It may return a new grad_input.
        """
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    # ---------------------------------------------------------------- saved state
    @property
    def input_grad_wanted(self) -> bool:
        """Inside ``backward``: whether the caller wants dL/dx (``backward(dy, input_grad=False)`` says no)."""
        return self.__dict__.get("_input_grad", True)

    def _save(self, state) -> None:
        """Keep what backward needs (nothing under ``no_grad``), on top of this forward pass's stack."""
        if not is_grad_enabled():
            return
        current = getattr(_local, "current_pass", 0) if getattr(_local, "depth", 0) else -1
        if current != self._saved_pass or current == -1:  # a new pass: what an earlier one kept is dropped
            object.__setattr__(self, "_saved_stale", self._saved_next > 0)  # ... unused by any backward?
            self._saved_stack.clear()
            object.__setattr__(self, "_saved_pass", current)
            object.__setattr__(self, "_saved_round", 0)
        self._saved_stack.append(state)
        object.__setattr__(self, "_saved_next", len(self._saved_stack))

    def _saved(self):
        """What the latest forward call whose backward has not run yet kept; a clear error if there is none.

        The first call of an outermost backward round that finds the stack already read by an earlier
        round starts again from its top (a second backward over the same forward pass). That is refused
        when a forward call of an earlier pass was dropped unused: the module was then called at the
        outermost level twice (``m(m(x))`` from plain code), and the first call's state is gone, so the
        gradient would be wrong.
        """
        round_ = getattr(_local, "backward_round", 0)
        if self._saved_round != round_:  # the first use of this module in this backward round
            if self._saved_next < len(self._saved_stack):  # an earlier round read it: start from the top again
                if self._saved_stale:
                    raise RuntimeError(
                        f"{self.label}: a second backward over its forward pass, but it was called at the outermost "
                        "level more than once before it and only the latest call's state is kept (the gradient "
                        "would be wrong): call it inside one module's forward (e.g. nn.Sequential(m, m)), or run "
                        "backward after each outermost call"
                    )
                object.__setattr__(self, "_saved_next", len(self._saved_stack))
            object.__setattr__(self, "_saved_round", round_)
        if self._saved_next <= 0:
            if not self._saved_stack:
                raise RuntimeError(
                    f"{self.label}: backward() called before forward() (or the forward ran under no_grad())"
                )
            raise RuntimeError(
                f"{self.label}: backward() called more often than forward(): this forward pass called it "
                f"{len(self._saved_stack)} time(s) and backward has already used them all"
            )
        object.__setattr__(self, "_saved_next", self._saved_next - 1)
        return self._saved_stack[self._saved_next]

    def _shape_error(self, expected: str, x) -> ValueError:
        return ValueError(f"{self.label}: expected input {expected}, got {format_shape(x.shape)}")

    def _check_ndim(self, x, ndim: int, expected: str) -> None:
        if x.ndim != ndim:
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
