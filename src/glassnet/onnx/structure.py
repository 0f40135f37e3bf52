"""From a DAG of layers back to glassnet containers: chains, residual adds and concatenations.

:func:`assemble` reads the graph as a series-parallel nest. Walking from a
value, a value with one consumer continues the chain; a value read by several
nodes is a fork, and the fork's immediate post-dominator (the first node every
path from the fork to the end goes through) must be an ``Add`` of two branches
(a ``Residual``: body, shortcut, and the activation right after the add) or a
``Concat`` (a ``Concat`` of branches); each branch is parsed the same way
within the nodes between the fork and that input of the join. A graph that is
not such a nest (branches that share nodes, joins of other kinds) becomes a
:class:`~glassnet.onnx.modules.Graph` instead.

Names: where the file says which module each node came from (glassnet's own
files name nodes ``<module path>/<Op>``; PyTorch's name them by scope,
``/layer1/layer1.0/conv1/Conv``), the containers are named so that the state
dict's keys are the original's (``layer1.0.conv1.weight``); otherwise children
are numbered as in ``Sequential``.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass

from .. import nn
from .modules import Graph

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh)


@dataclass
class Unit:
    """One layer (``kind="module"``) or join (``"add"``, ``"concat"``) of the graph, in topological order."""

    index: int
    kind: str
    inputs: list
    output: str
    module: object = None
    hint: str | None = None
    axis: int = 1


@dataclass
class _Leaf:
    unit: Unit


@dataclass
class _Join:
    unit: Unit
    branches: list
    act: Unit | None = None


class _Unstructured(Exception):
    pass


class _NoNames(Exception):
    pass


class _Parser:
    def __init__(self, units, hinted):
        self.units, self.hinted = units, hinted
        self.consumers = defaultdict(list)
        for u in units:
            for v in dict.fromkeys(u.inputs):
                self.consumers[v].append(u)
        self.anc = defaultdict(set)  # value -> units it depends on
        for u in units:
            self.anc[u.output] = {u.index}.union(*(self.anc[v] for v in u.inputs))
        self.desc = defaultdict(set)  # value -> units that depend on it
        for u in reversed(units):
            for v in u.inputs:
                self.desc[v] |= {u.index} | self.desc[u.output]

    def _reaches(self, v, end, allowed) -> bool:
        seen, todo = {v}, [v]
        while todo:
            w = todo.pop()
            if w == end:
                return True
            for u in self.consumers[w]:
                if u.index in allowed and u.output not in seen:
                    seen.add(u.output)
                    todo.append(u.output)
        return False

    def _post_dominator(self, v, end, allowed):
        for i in sorted(self.desc[v] & self.anc[end] & allowed):
            if not self._reaches(v, end, allowed - {i}):
                return self.units[i]
        return None

    def chain(self, v, end, allowed) -> list:
        items = []
        while v != end:
            cons = [u for u in self.consumers[v] if u.index in allowed]
            if len(cons) == 1 and cons[0].kind == "module":
                items.append(_Leaf(cons[0]))
                v = cons[0].output
                continue
            join = self._post_dominator(v, end, allowed)
            if join is None or join.kind == "module" or len(set(join.inputs)) != len(join.inputs):
                raise _Unstructured
            between = (self.desc[v] & self.anc[join.output] & allowed) - {join.index}
            covered, branches = set(), []
            for u in join.inputs:
                region = set() if u == v else self.desc[v] & self.anc[u] & allowed
                if (u != v and not region) or region & covered:
                    raise _Unstructured
                covered |= region
                branches.append(self.chain(v, u, region) if region else [])
            if covered != between or (join.kind == "add" and (len(branches) != 2 or not any(branches))):
                raise _Unstructured
            item = _Join(join, branches)
            v = join.output
            after = self.consumers[v]
            if (join.kind == "add" and v != end and len(after) == 1 and after[0].index in allowed
                    and isinstance(after[0].module, ACTIVATIONS) and self._fits(after[0], join)):
                item.act = after[0]
                v = after[0].output
            items.append(item)
        return items

    def _fits(self, act, join) -> bool:
        """With names, an activation joins the residual block only if its name says it belongs there."""
        if not self.hinted:
            return True
        return act.hint is not None and join.hint is not None and (
            join.hint == "" or act.hint.startswith(join.hint + "."))


# ---------------------------------------------------------------------------- naming
def _path(item):
    return item.unit.hint


def _rel(path, prefix):
    if path is None:
        raise _NoNames
    if path == prefix:
        return []
    if not prefix:
        return path.split(".")
    if not path.startswith(prefix + "."):
        raise _NoNames
    return path[len(prefix) + 1:].split(".")


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _groups(items, prefix):
    """Consecutive items sharing the first name below ``prefix``: [(name, items)], names unique."""
    groups = []
    for item in items:
        rel = _rel(_path(item), prefix)
        if not rel:
            raise _NoNames
        if groups and groups[-1][0] == rel[0]:
            groups[-1][1].append(item)
        else:
            groups.append((rel[0], [item]))
    names = [g[0] for g in groups]
    if len(set(names)) != len(names):
        raise _NoNames
    return groups


def _named_chain(items, prefix):
    if len(items) == 1 and _path(items[0]) == prefix:
        return _named_item(items[0], prefix)
    if items and all(_path(i) == prefix for i in items):  # one module exported as several nodes
        return nn.Sequential(*[_named_item(i, prefix) for i in items])
    return nn.Sequential(OrderedDict((name, _named_chain(group, _join(prefix, name)))
                                     for name, group in _groups(items, prefix)))


def _named_item(item, prefix):
    if _path(item) != prefix:
        raise _NoNames
    if isinstance(item, _Leaf):
        return item.unit.module
    unit = item.unit
    if unit.kind == "concat":
        branches = OrderedDict()
        for branch in item.branches:
            groups = _groups(branch, prefix)
            if len(groups) != 1 or groups[0][0] in branches:
                raise _NoNames
            branches[groups[0][0]] = _named_chain(groups[0][1], _join(prefix, groups[0][0]))
        return nn.Concat(branches, dim=unit.axis)
    body_items, shortcut_items = item.branches if item.branches[0] else item.branches[::-1]
    body = OrderedDict((name, _named_chain(g, _join(prefix, name))) for name, g in _groups(body_items, prefix))
    shortcut, shortcut_name = None, "shortcut"
    if shortcut_items:
        groups = _groups(shortcut_items, prefix)
        if len(groups) != 1 or groups[0][0] in body:
            raise _NoNames
        shortcut_name = groups[0][0]
        shortcut = _named_chain(groups[0][1], _join(prefix, shortcut_name))
    if item.act is not None and len(_rel(item.act.hint, prefix)) != 1:
        raise _NoNames
    act = item.act.module if item.act is not None else None
    return nn.Residual(body, shortcut=shortcut, activation=act, shortcut_name=shortcut_name)


def _numbered_chain(items):
    mods = [_numbered_item(i) for i in items]
    if not mods:
        return nn.Identity()
    return mods[0] if len(mods) == 1 else nn.Sequential(*mods)


def _numbered_item(item):
    if isinstance(item, _Leaf):
        return item.unit.module
    if item.unit.kind == "concat":
        return nn.Concat(*[_numbered_chain(b) for b in item.branches], dim=item.unit.axis)
    body, shortcut = item.branches if item.branches[0] else item.branches[::-1]
    return nn.Residual(_numbered_chain(body), shortcut=_numbered_chain(shortcut) if shortcut else None,
                       activation=item.act.module if item.act is not None else None)


def _graph(units, input_name, output_name):
    children = OrderedDict((str(u.index), u.module) for u in units if u.kind == "module")
    steps = [(u.kind, str(u.index) if u.kind == "module" else None, list(u.inputs), u.output, u.axis) for u in units]
    return Graph(children, steps, input_name, output_name)


def assemble(units, input_name: str, output_name: str, hinted: bool):
    """The module computing ``output_name`` from ``input_name`` through ``units`` (see the module docstring)."""
    try:
        items = _Parser(units, hinted).chain(input_name, output_name, {u.index for u in units})
    except _Unstructured:
        return _graph(units, input_name, output_name)
    if hinted:
        try:
            return _named_chain(items, "")
        except _NoNames:
            pass
    return nn.Sequential(*[_numbered_item(i) for i in items])
