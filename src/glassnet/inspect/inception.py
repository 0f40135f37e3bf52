"""Inception report: what the 1x1 reductions save, module by module.

For every `Concat` whose branches reduce channels with a 1x1 convolution
before a larger one (an Inception module), compare the module as built with
the *naive* module of Szegedy et al. 2014 (figure 2a) that has the same
branches without the 1x1 layers:

* a branch "1x1 reduce -> k x k conv" becomes "k x k conv on all C_in input
  channels": its weights grow from ``r*k*k*C_out`` to ``C_in*k*k*C_out``
  (plus the reduction's own ``C_in*r`` disappearing);
* a branch "pool -> 1x1 projection" becomes the pooling alone: no
  parameters, but it passes all C_in channels on, so the naive module's
  output is wider (and every following layer would cost more);
* a branch with a single convolution (the 1x1 branch) is unchanged.

Parameters count weights, biases and the per-channel parameters of a
BatchNorm that follows a convolution; MACs follow :mod:`glassnet.summary`'s
rule (C_out * H_out * W_out * C_in * kh * kw per convolution).

>>> from glassnet.models import googlenet
>>> r = inception_report(googlenet(paper=True)).row("inception3a")
>>> r.params, r.naive_params, r.out_channels, r.naive_out_channels
(163696, 387296, 256, 416)
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

from .. import nn
from .summary import summary


@dataclass
class InceptionRow:
    name: str
    in_channels: int
    spatial: tuple
    out_channels: int
    params: int
    macs: int
    naive_out_channels: int
    naive_params: int
    naive_macs: int

    @property
    def param_ratio(self) -> float:
        """naive / with reductions (how many times more parameters the naive module needs)."""
        return self.naive_params / self.params if self.params else float("inf")

    @property
    def mac_ratio(self) -> float:
        return self.naive_macs / self.macs if self.macs else float("inf")


@dataclass
class InceptionReport:
    model: str
    input_size: tuple
    rows: list = field(default_factory=list)

    def row(self, name: str) -> InceptionRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"inception report of {self.model}: no Inception module named {name!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def _table(self):
        head = ["module", "in", "out", "params", "MACs"]
        head += ["naive out", "naive params", "naive MACs", "params x", "MACs x"]
        body = [
            [r.name, f"{r.in_channels}", f"{r.out_channels}", f"{r.params:,}", f"{r.macs:,}",
             f"{r.naive_out_channels}", f"{r.naive_params:,}", f"{r.naive_macs:,}",
             f"{r.param_ratio:.2f}", f"{r.mac_ratio:.2f}"]
            for r in self.rows
        ]
        return head, body

    def __str__(self) -> str:
        head, body = self._table()
        if not body:
            return f"{self.model}: no Inception modules (Concat branches with 1x1 reductions) found"
        widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

        def line(vals):
            return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, widths,
                                                                                                  strict=True)))

        size = " x ".join(str(d) for d in self.input_size)
        title = (f"{self.model} at {size}: Inception modules with their 1x1 reductions vs the naive module "
                 "without them (Szegedy et al. 2014, fig. 2a)")
        sep = "=" * len(line(head))
        notes = ("naive: each k x k branch convolution reads all input channels; the pool branch has no "
                 "projection (its C_in channels pass through)\nx = naive / with reductions")
        return "\n".join([title, sep, line(head), sep] + [line(b) for b in body] + [sep, notes])

    def _repr_html_(self) -> str:
        head, body = self._table()
        e = html.escape
        rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in b) + "</tr>" for b in body)
        return ("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"
                + rows + "</tbody></table>")


def _own_params(m) -> int:
    return sum(p.size for p in m._parameters.values() if p is not None)


def _leaves(branch, path):
    """(full name, module) of the branch's layers in execution order (preorder of nested Sequentials)."""
    out = []
    for rel, m in branch.named_modules():
        if not m._modules:
            out.append((f"{path}.{rel}" if rel else path, m))
    return out


def _naive_branch(leaves, rows, cin):
    """(out_channels, params, macs) of one branch without its 1x1 reduction/projection, and whether it had one."""
    params = sum(_own_params(m) for _, m in leaves)
    macs = sum(rows[n].macs or 0 for n, _ in leaves)
    out_c = rows[leaves[-1][0]].output_shape[0]
    convs = [i for i, (_, m) in enumerate(leaves) if isinstance(m, nn.Conv2d)]
    if not convs:
        return out_c, params, macs, False
    first = convs[0]
    pooled = any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for _, m in leaves[:first])
    if leaves[first][1].kernel_size != (1, 1) or (len(convs) == 1 and not pooled):
        return out_c, params, macs, False  # no reduction: the branch stays as it is
    # drop the 1x1 conv and the per-channel layers after it (BatchNorm, ReLU) up to the next conv
    dropped = leaves[first : convs[1] if len(convs) > 1 else len(leaves)]
    params -= sum(_own_params(m) for _, m in dropped)
    macs -= sum(rows[n].macs or 0 for n, _ in dropped)
    if len(convs) == 1:  # pool -> 1x1 projection: the pool's C_in channels pass through
        return cin, params, macs, True
    name1, c1 = leaves[convs[1]]  # reduce -> k x k: the k x k conv now reads all C_in channels
    kh, kw = c1.kernel_size
    params += (cin - c1.in_channels) * c1.out_channels * kh * kw
    macs += (rows[name1].macs or 0) // c1.in_channels * (cin - c1.in_channels)
    return out_c, params, macs, True


def inception_report(model, input_size=None, batch_size: int = 1) -> InceptionReport:
    """Parameters and MACs of every Inception module with and without its 1x1 reductions (see the module doc)."""
    s = summary(model, input_size, batch_size)
    rows = {r.name: r for r in s.rows}
    report = InceptionReport(type(model).__name__, s.input_size)
    for name, m in model.named_modules():
        if not isinstance(m, nn.Concat) or name not in rows:
            continue
        row = rows[name]
        if len(row.input_shape) != 3:
            continue
        cin = row.input_shape[0]
        naive, reduced = [], False
        for bname, branch in m.named_children():
            leaves = _leaves(branch, f"{name}.{bname}")
            out_c, p, mac, had = _naive_branch(leaves, rows, cin)
            naive.append((out_c, p, mac))
            reduced = reduced or had
        if not reduced:
            continue
        report.rows.append(InceptionRow(
            name=name, in_channels=cin, spatial=tuple(row.output_shape[1:]), out_channels=row.output_shape[0],
            params=row.params, macs=row.macs or 0,
            naive_out_channels=sum(v[0] for v in naive), naive_params=sum(v[1] for v in naive),
            naive_macs=sum(v[2] for v in naive),
        ))
    return report
