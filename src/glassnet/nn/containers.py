"""Containers: `Sequential` (a chain), `Concat` (parallel branches, Inception) and
`Residual` (body + shortcut, ResNet).

Backward composes the contract:

* Sequential: run each child's backward in reverse order.
* Concat: split dY along the channel axis into each branch's part, run each
  branch's backward, and **sum** the branches' input gradients (every branch
  saw the same input).
* Residual: y = act(body(x) + shortcut(x)); dx = body.backward(dz) +
  shortcut.backward(dz), with dz = act.backward(dy).

``backward(dy, input_grad=False)`` is passed on to the children that read
the container's input (the first of a Sequential, every branch of a
Concat, the body's first layer and the shortcut of a Residual), so the
layer that reads the images skips dL/dx.
"""

from __future__ import annotations

import itertools

from .. import backend as B
from .module import Module


def _named(modules):
    if len(modules) == 1 and isinstance(modules[0], dict):
        return list(modules[0].items())
    return [(str(i), m) for i, m in enumerate(modules)]


class Sequential(Module):
    """Modules applied one after another; ``model[i]`` is the i-th layer.

    >>> import numpy as np
    >>> from glassnet.nn import Linear, ReLU
    >>> net = Sequential(Linear(4, 3), ReLU(), Linear(3, 2))
    >>> net(np.ones((5, 4), np.float32)).shape, type(net[1]).__name__, len(net)
    ((5, 2), 'ReLU', 3)
    """

    def __init__(self, *modules):
        super().__init__()
        for name, m in _named(modules):
            setattr(self, name, m)

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):  # the same modules, keeping their names (no re-registration)
            part = Sequential()
            part._modules.update(items[idx])
            return part
        return items[idx][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        setattr(self, str(len(self)), module)
        return self

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def backward(self, dy):
        children = list(self._modules.values())
        for i in range(len(children) - 1, -1, -1):
            dy = children[i].backward(dy, input_grad=i > 0 or self.input_grad_wanted)
        return dy


class Concat(Module):
    """Parallel branches on the same input, outputs joined along ``dim`` (channels).

    Branches are positional (named "0", "1", ...) or an ``OrderedDict`` of
    named branches (e.g. Inception's ``branch1``..``branch4``).

    >>> import numpy as np
    >>> from glassnet.nn import Conv2d
    >>> inc = Concat(Conv2d(3, 4, 1), Conv2d(3, 2, 3, padding=1))
    >>> inc(np.zeros((1, 3, 8, 8), np.float32)).shape
    (1, 6, 8, 8)
    """

    def __init__(self, *branches, dim: int = 1):
        super().__init__()
        self.dim = dim
        for name, m in _named(branches):
            setattr(self, name, m)

    def forward(self, x):
        outs = [m(x) for m in self._modules.values()]
        self._save([o.shape[self.dim] for o in outs])
        return B.get_array_module(x).concatenate(outs, axis=self.dim)

    def backward(self, dy):
        xp = B.get_array_module(dy)
        sizes = self._saved()
        bounds = list(itertools.accumulate(sizes))[:-1]
        parts = xp.split(dy, bounds, axis=self.dim)
        wanted = self.input_grad_wanted
        dx = None
        for m, part in zip(self._modules.values(), parts, strict=True):
            g = m.backward(xp.ascontiguousarray(part), input_grad=wanted)
            if wanted:
                dx = g if dx is None else dx + g
        return dx


class Residual(Module):
    """y = activation(body(x) + shortcut(x)); the shortcut is the identity when ``None``.

    ``body`` is a module (registered as ``body``) or an ``OrderedDict`` of
    modules run in order and registered directly on the block, so that key
    names can match torchvision's (``conv1``, ``bn1``, ..., ``downsample``).
    ``body_names``, ``shortcut_name`` and ``activation_name`` say which child is which.

    >>> import numpy as np
    >>> from glassnet.nn import Conv2d, ReLU
    >>> block = Residual(Conv2d(4, 4, 3, padding=1), activation=ReLU())
    >>> block(np.zeros((2, 4, 8, 8), np.float32)).shape
    (2, 4, 8, 8)
    """

    def __init__(self, body, shortcut=None, activation=None, shortcut_name: str = "shortcut"):
        super().__init__()
        if isinstance(body, dict):
            self.body_names = list(body)
            for name, m in body.items():
                setattr(self, name, m)
        else:
            self.body_names = ["body"]
            self.body = body
        self.shortcut_name = shortcut_name
        if shortcut is not None:
            setattr(self, shortcut_name, shortcut)
        self.activation_name = None
        if activation is not None:
            self.activation_name = "activation" if "relu" in self.body_names else "relu"
            setattr(self, self.activation_name, activation)

    @property
    def shortcut(self):
        return self._modules.get(self.shortcut_name)

    @property
    def act(self):
        return self._modules.get(self.activation_name) if self.activation_name else None

    def body_modules(self):
        return [self._modules[n] for n in self.body_names]

    def forward(self, x):
        h = x
        for m in self.body_modules():
            h = m(h)
        s = self.shortcut(x) if self.shortcut is not None else x
        if h.shape != s.shape:
            raise ValueError(f"{self.label}: body output {h.shape} and shortcut output {s.shape} differ")
        self._save(True)
        z = h + s
        return self.act(z) if self.act is not None else z

    def backward(self, dy):
        self._saved()
        wanted = self.input_grad_wanted
        dz = self.act.backward(dy) if self.act is not None else dy
        dh = dz
        body = self.body_modules()
        for i in range(len(body) - 1, -1, -1):
            dh = body[i].backward(dh, input_grad=i > 0 or wanted)
        ds = self.shortcut.backward(dz, input_grad=wanted) if self.shortcut is not None else dz
        return dh + ds if wanted else None
