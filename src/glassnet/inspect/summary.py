"""`summary`: one row per layer with output shape, parameters, MACs and receptive field, plus totals.

The model is walked, not run: each leaf's output shape, multiply-accumulates
and receptive-field geometry come from its size formula
(:mod:`glassnet.inspect.shapes`), so summarising VGG-16 at 224x224 costs
milliseconds. The walk follows the containers:

* `Sequential`: children in order, each reading the previous output;
* `Concat` (Inception): every branch reads the same input (rows tagged
  ``branch``); the output joins them along channels;
* `Residual` (ResNet): the body's layers, then the shortcut (tagged
  ``shortcut``; ``identity`` when there is none), then an ``add`` row, then
  the activation;
* a model with a ``forward_plan()`` (GoogLeNet with auxiliary heads) runs
  its children in that order, side heads (tagged ``aux``) reading the
  output they name;
* any other module with children is run once on zeros (batch 1, evaluation
  mode, ``no_grad``) to record in which order its children are called.

Columns (per layer):

* output shape per sample (C x H x W, or features);
* parameters: weights + biases of the layer (a container: all of its
  sub-layers'), counted once even if shared;
* MACs: multiply-accumulates of one forward pass of the whole batch. A conv
  costs C_out * H_out * W_out * (C_in * kh * kw), a linear layer in * out;
  biases, BatchNorm, activations, pooling and additions count 0;
* receptive field r and jump j (the product of strides) in input pixels:
  ``r_out = r_in + (k_eff - 1) * j_in`` and ``j_out = j_in * s``, with
  ``k_eff = d*(k-1) + 1``; a concatenation or a residual sum takes the
  largest over its paths; ``-`` once the spatial axes are gone.

Totals: parameters (trainable and not), MACs, activation memory (every
array a forward pass creates: each layer's output, concatenations and
residual sums; Flatten and Identity return views and count 0), parameter
and buffer memory, in the model's dtype.

>>> from glassnet import nn
>>> s = summary(nn.Sequential(nn.Conv2d(3, 10, 3), nn.ReLU(), nn.MaxPool2d(2)), (3, 100, 100))
>>> [(r.name, r.output_shape, r.params, r.macs, r.rf) for r in s.rows][::2]
[('0', (10, 98, 98), 280, 2593080, (3, 3)), ('2', (10, 49, 49), 0, 0, (4, 4))]
>>> s.totals.params, s.totals.macs
(280, 2593080)
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import nn
from .render import render_html, render_text
from .shapes import Geometry, _shape_str, layer_geometry
from .trace import trace_children


@dataclass
class Row:
    """One line of the summary. ``rf``/``jump`` are (height, width) pairs, or None where not defined."""

    name: str
    type: str
    depth: int
    role: str
    input_shape: tuple
    output_shape: tuple
    params: int
    trainable: int
    macs: int | None
    rf: tuple | None
    jump: tuple | None
    container: bool = False
    activations: int = 0
    """Elements (per sample) of the new array this row creates."""
    kind: str = ""
    """"concat" or "residual" for those containers, else empty."""


@dataclass
class Totals:
    params: int
    trainable: int
    non_trainable: int
    macs: int
    unknown_macs: int
    """How many layers have no known cost (counted as 0 in ``macs``)."""
    activation_bytes: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int


@dataclass
class Summary:
    """The result of :func:`summary`: ``rows`` and ``totals``; prints as a table, renders as HTML in a notebook."""

    model: str
    input_size: tuple
    batch_size: int
    dtype: str
    output_shape: tuple
    rows: list = field(default_factory=list)
    totals: Totals | None = None

    def row(self, name: str) -> Row:
        """The row of the layer with dotted path ``name`` (as in ``named_modules()``)."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"summary of {self.model}: no layer named {name!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self, max_depth: int | None = None) -> str:
        """The table as text; ``max_depth`` hides rows nested deeper (0: top-level layers only)."""

        return render_text(self, max_depth)

    def to_html(self, max_depth: int | None = None) -> str:

        return render_html(self, max_depth)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()


@dataclass(frozen=True)
class _State:
    shape: tuple
    rf: tuple | None
    jump: tuple | None


def _grow(st: _State, g: Geometry, out_shape) -> _State:
    """The receptive-field recursion for one layer."""
    if len(out_shape) != 3 or st.rf is None or g.kernel is None:
        return _State(tuple(out_shape), None, None)
    rf = tuple(r + (k - 1) * j for r, k, j in zip(st.rf, g.kernel, st.jump, strict=True))
    jump = tuple(j * s for j, s in zip(st.jump, g.stride, strict=True))
    return _State(tuple(out_shape), rf, jump)


def _largest(states):
    known = [s for s in states if s.rf is not None]
    if not known:
        return None, None
    return (tuple(max(v) for v in zip(*(s.rf for s in known), strict=True)),
            tuple(max(v) for v in zip(*(s.jump for s in known), strict=True)))


def _count(module):
    params = list(module.parameters())
    return sum(p.size for p in params), sum(p.size for p in params if p.requires_grad)


class _Walker:
    def __init__(self):
        self.rows: list[Row] = []

    def visit(self, module, name, depth, role, st: _State) -> _State:
        if callable(getattr(module, "forward_plan", None)):
            return self._container(module, name, depth, role, st, self._plan)
        if isinstance(module, nn.Residual):
            return self._container(module, name, depth, role, st, self._residual)
        if isinstance(module, nn.Concat):
            return self._container(module, name, depth, role, st, self._concat)
        if isinstance(module, nn.Sequential):
            return self._container(module, name, depth, role, st, self._sequential)
        if not module._modules:
            return self._leaf(module, name, depth, role, st)
        return self._container(module, name, depth, role, st, self._traced)

    def _leaf(self, module, name, depth, role, st):
        g = layer_geometry(module, st.shape)
        out = _grow(st, g, g.out_shape)
        p, t = _count(module)
        size = 0 if g.view else math.prod(g.out_shape)
        self.rows.append(Row(name, type(module).__name__, depth, role, st.shape, g.out_shape, p, t, g.macs,
                             out.rf, out.jump, False, size))
        return out

    def _container(self, module, name, depth, role, st, walk):
        p, t = _count(module)
        kind = "residual" if isinstance(module, nn.Residual) else "concat" if isinstance(module, nn.Concat) else ""
        row = Row(name, type(module).__name__, depth, role, st.shape, (), p, t, 0, None, None, True, 0, kind)
        self.rows.append(row)
        first = len(self.rows)
        out = walk(module, name, depth + 1, st)
        inner = self.rows[first:]
        direct = [r for r in inner if r.depth == depth + 1]
        row.macs = None if any(r.macs is None for r in direct) else sum(r.macs for r in direct)
        row.output_shape, row.rf, row.jump = out.shape, out.rf, out.jump
        return out

    @staticmethod
    def _child(name, cname):
        return f"{name}.{cname}" if name else cname

    def _sequential(self, module, name, depth, st):
        for cname, child in module.named_children():
            st = self.visit(child, self._child(name, cname), depth, "", st)
        return st

    def _concat(self, module, name, depth, st):
        outs = [self.visit(c, self._child(name, n), depth, "branch", st) for n, c in module.named_children()]
        axis = module.dim - 1
        rest = {s.shape[:axis] + s.shape[axis + 1 :] for s in outs}
        if len(rest) != 1:
            shapes = ", ".join(_shape_str(s.shape) for s in outs)
            raise ValueError(f"{module.label}: branch outputs cannot be concatenated along dim {module.dim}: {shapes}")
        shape = list(outs[0].shape)
        shape[axis] = sum(s.shape[axis] for s in outs)
        rf, jump = _largest(outs)
        if len(shape) != 3:
            rf = jump = None
        return _State(tuple(shape), rf, jump)

    def _residual(self, module, name, depth, st):
        body = st
        for cname in module.body_names:
            body = self.visit(module._modules[cname], self._child(name, cname), depth, "body", body)
        if module.shortcut is not None:
            short = self.visit(module.shortcut, self._child(name, module.shortcut_name), depth, "shortcut", st)
        else:
            short = st
            self.rows.append(Row(self._child(name, "(identity)"), "Identity", depth, "shortcut", st.shape, st.shape,
                                 0, 0, 0, st.rf, st.jump, False, 0))
        if body.shape != short.shape:
            raise ValueError(
                f"{module.label}: body output {_shape_str(body.shape)} and shortcut output "
                f"{_shape_str(short.shape)} differ"
            )
        rf, jump = _largest([body, short])
        out = _State(body.shape, rf, jump)
        self.rows.append(Row(self._child(name, "(add)"), "Add", depth, "add", body.shape, body.shape, 0, 0, 0,
                             rf, jump, False, math.prod(body.shape)))
        if module.act is not None:
            out = self.visit(module.act, self._child(name, module.activation_name), depth, "", out)
        return out

    def _plan(self, module, name, depth, st):
        outputs = {}
        for cname, source in module.forward_plan():
            child = module._modules[cname]
            if source is None:
                st = outputs[cname] = self.visit(child, self._child(name, cname), depth, "", st)
            else:
                self.visit(child, self._child(name, cname), depth, "aux", outputs[source])
        return st

    def _traced(self, module, name, depth, st):

        calls, x_id, y = trace_children(module, st.shape)
        states = {x_id: st}
        for cname, in_arr, out_arr in calls:
            src = states.get(id(in_arr), _State(tuple(in_arr.shape[1:]), None, None))
            states[id(out_arr)] = self.visit(module._modules[cname], self._child(name, cname), depth, "", src)
        return states.get(id(y), _State(tuple(y.shape[1:]), None, None))


def parse_size(text) -> tuple:
    """``"3x224x224"`` or ``(3, 224, 224)`` -> (3, 224, 224); a clear error otherwise.

    >>> parse_size("3x32x32"), parse_size([784])
    ((3, 32, 32), (784,))
    """
    try:
        dims = tuple(int(v) for v in (text.lower().replace(" ", "").split("x") if isinstance(text, str) else text))
    except (TypeError, ValueError):
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise ValueError(f"input size must be positive integers like 3x224x224 (per sample, no batch), got {text!r}")
    return dims


def summary(model, input_size=None, batch_size: int = 1, dtype=None) -> Summary:
    """Summarise ``model`` for one batch of ``batch_size`` inputs of per-sample shape ``input_size``.

    ``input_size``: (C, H, W) or (features,), or a string ``"3x224x224"``;
    defaults to the model's ``input_size`` attribute. ``dtype`` (default: the
    model's) sets the bytes per element of the memory totals.
    """
    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"summary of {type(model).__name__}: give input_size, e.g. (3, 224, 224)")
    shape = parse_size(input_size)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")

    itemsize = np.dtype(dtype or model.dtype).itemsize
    start = _State(shape, (1, 1), (1, 1)) if len(shape) == 3 else _State(shape, None, None)
    walker = _Walker()
    out = walker.visit(model, "", -1, "", start) if model._modules else walker.visit(model, type(model).__name__, 0,
                                                                                     "", start)
    rows = [r for r in walker.rows if r.depth >= 0]
    for r in rows:
        r.macs = None if r.macs is None else r.macs * batch_size
    leaves = [r for r in rows if not r.container]
    params = list(model.parameters())
    n, t = sum(p.size for p in params), sum(p.size for p in params if p.requires_grad)
    totals = Totals(
        params=n, trainable=t, non_trainable=n - t,
        macs=sum(r.macs or 0 for r in leaves), unknown_macs=sum(r.macs is None for r in leaves),
        activation_bytes=sum(r.activations for r in leaves) * batch_size * itemsize,
        param_bytes=n * itemsize,
        buffer_bytes=sum(getattr(b, "nbytes", 0) for b in model.buffers() if b is not None),
        input_bytes=math.prod(shape) * batch_size * itemsize,
    )
    return Summary(type(model).__name__, shape, batch_size, str(np.dtype(dtype or model.dtype)), out.shape, rows,
                   totals)
