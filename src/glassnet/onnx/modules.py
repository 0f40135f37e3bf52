"""The few modules :func:`glassnet.onnx.load` needs beyond :mod:`glassnet.nn` (NumPy only).

* :class:`Upsample`: nearest-neighbour upsampling by integer factors (ONNX ``Resize``), which is also
  ``AdaptiveAvgPool2d`` when the output size is a multiple of the input size (each window is one pixel).
* :class:`Affine`: ``y = x * scale + shift`` with constant (not trainable) arrays (ONNX ``Mul``/``Add``
  with a constant operand), e.g. GoogLeNet's ``transform_input``.
* :class:`Graph`: any DAG of the supported ops, run node by node in topological order; backward runs
  the nodes in reverse and sums the gradients of values read by several nodes. :func:`load` uses it
  only when the graph is not a nest of ``Sequential``, ``Residual`` and ``Concat``.
"""

from __future__ import annotations

import itertools

from .. import backend as B
from ..nn.module import Module


class Upsample(Module):
    """Repeat every pixel ``scale_factor = (a, b)`` times along H and W: (N, C, H, W) -> (N, C, a H, b W).

    Backward sums each a x b block of dy back onto its pixel.

    >>> import numpy as np
    >>> Upsample((2, 3))(np.arange(2.0).reshape(1, 1, 1, 2))
    array([[[[0., 0., 0., 1., 1., 1.],
             [0., 0., 0., 1., 1., 1.]]]])
    """

    def __init__(self, scale_factor):
        super().__init__()
        a, b = (scale_factor, scale_factor) if isinstance(scale_factor, int) else tuple(scale_factor)
        if not all(isinstance(v, int) and v >= 1 for v in (a, b)):
            raise ValueError(f"Upsample: scale_factor must be positive ints, got {scale_factor!r}")
        self.scale_factor = (a, b)

    def forward(self, x):
        if getattr(x, "ndim", None) != 4:
            raise self._shape_error("(N, C, H, W)", x)
        a, b = self.scale_factor
        xp = B.get_array_module(x)
        self._save(x.shape)
        return xp.repeat(xp.repeat(x, a, axis=2), b, axis=3)

    def backward(self, dy):
        n, c, h, w = self._saved()
        a, b = self.scale_factor
        return dy.reshape(n, c, h, a, w, b).sum(axis=(3, 5))

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}"


class Affine(Module):
    """``y = x * scale + shift`` with constant arrays that broadcast to the input's shape (either may be None).

    The constants are plain attributes, not parameters or buffers: they are part of the graph, not of
    the state dict.

    >>> import numpy as np
    >>> Affine(scale=np.float32(2), shift=np.ones((1, 2), np.float32))(np.ones((3, 2), np.float32))[0]
    array([3., 3.], dtype=float32)
    """

    def __init__(self, scale=None, shift=None):
        super().__init__()
        self.scale = None if scale is None else B.host.asarray(scale)
        self.shift = None if shift is None else B.host.asarray(shift)

    def forward(self, x):
        for c in (self.scale, self.shift):
            if c is not None and B.host.broadcast_shapes(x.shape, c.shape) != x.shape:
                raise self._shape_error(f"a shape the constant {tuple(c.shape)} broadcasts to", x)
        y = x if self.scale is None else x * self._const(self.scale, x)
        y = y if self.shift is None else y + self._const(self.shift, x)
        self._save(True)
        return y

    def backward(self, dy):
        self._saved()
        return dy if self.scale is None else dy * self._const(self.scale, dy)

    @staticmethod
    def _const(c, like):
        return B.get_array_module(like).asarray(c, dtype=like.dtype)

    def extra_repr(self):
        parts = [f"{k}{tuple(v.shape)}" for k, v in (("scale", self.scale), ("shift", self.shift)) if v is not None]
        return ", ".join(parts)


class Graph(Module):
    """A DAG of layers: ``steps`` are ``(kind, child, inputs, output, axis)`` in topological order.

    ``kind`` is ``"module"`` (the child named ``child`` reads ``inputs[0]``), ``"add"`` (the sum of the
    inputs) or ``"concat"`` (the inputs joined along ``axis``). Values are named by strings; the graph
    reads ``input_name`` and returns ``output_name``. Children are registered under their names.
    """

    def __init__(self, children, steps, input_name: str, output_name: str):
        super().__init__()
        for name, m in children.items():
            setattr(self, name, m)
        self.steps = [tuple(s) for s in steps]
        self.input_name, self.output_name = input_name, output_name

    def forward(self, x):
        xp = B.get_array_module(x)
        env = {self.input_name: x}
        sizes = {}
        for kind, child, inputs, output, axis in self.steps:
            args = [env[v] for v in inputs]
            if kind == "module":
                env[output] = self._modules[child](args[0])
            elif kind == "add":
                y = args[0]
                for a in args[1:]:
                    y = y + a
                env[output] = y
            else:
                sizes[output] = [a.shape[axis] for a in args]
                env[output] = xp.concatenate(args, axis=axis)
        self._save(sizes)
        return env[self.output_name]

    def backward(self, dy):
        sizes = self._saved()
        xp = B.get_array_module(dy)
        grads = {self.output_name: dy}

        def give(value, g):
            if g is not None:  # None: a layer reading the input, asked for no dL/dx
                grads[value] = g if value not in grads else grads[value] + g

        for kind, child, inputs, output, axis in reversed(self.steps):
            g = grads.pop(output, None)
            if g is None:  # a value that does not reach the output
                continue
            if kind == "module":
                wanted = inputs[0] != self.input_name or self.input_grad_wanted
                give(inputs[0], self._modules[child].backward(g, input_grad=wanted))
            elif kind == "add":
                for v in inputs:
                    give(v, g)
            else:
                parts = xp.split(g, list(itertools.accumulate(sizes[output]))[:-1], axis=axis)
                for v, part in zip(inputs, parts, strict=True):
                    give(v, xp.ascontiguousarray(part))
        return grads.get(self.input_name)

    def extra_repr(self):
        return f"{len(self.steps)} steps"
