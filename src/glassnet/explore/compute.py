"""Every number the explorer page shows, computed by glassnet's own forward and backward passes.

:class:`Explorer` answers the page's questions (one method per endpoint, JSON-able dicts out). A
forward pass runs the model once with a :class:`~glassnet.viz.hooks.Tap` on every leaf module and
every Concat/Residual block (outputs; gradients in the backward pass) and keeps the inputs of the
layers whose arithmetic the page writes out (convolution, pooling, activations, BatchNorm, linear).
Passes are cached per (epoch, input) so that clicking through layers and pixels costs no new pass.

Conventions: one sample (batch 1); arrays are of that sample (the batch axis dropped); the loss of
the backward view is the cross-entropy of the logits against the chosen class, L = -log p_c, so
dL/dlogits = p - onehot(c) and each layer shows dL/d(its output).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..inspect.summary import summary
from ..nn import BatchNorm2d, Conv2d, Linear
from ..nn.module import no_grad
from ..nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from ..viz.attribution import grad_cam, input_gradient
from ..viz.hooks import ACTIVATIONS, BLOCKS, Tap, inspecting, logits_of
from . import lecture
from .arrays import encode, finite, stats

CACHE = 4
PREDICT_LIMIT = 1000
MAX_CHANNELS = 64


def layer_kind(m) -> str:
    if isinstance(m, Conv2d):
        return "conv"
    if isinstance(m, MaxPool2d):
        return "maxpool"
    if isinstance(m, AvgPool2d):
        return "avgpool"
    if isinstance(m, AdaptiveAvgPool2d):
        return "adaptivepool"
    if isinstance(m, ACTIVATIONS):
        return "activation"
    if isinstance(m, BatchNorm2d):
        return "batchnorm"
    if isinstance(m, Linear):
        return "linear"
    if isinstance(m, BLOCKS):
        return "block"
    return "other"


def conv_pads(m) -> tuple:
    """A convolution's (top, bottom, left, right) padding, from its window geometry ('same' resolved)."""
    window = getattr(m, "window", None)
    return tuple(window.pads) if window is not None else tuple(m._pads)


def tapped_modules(model) -> list:
    """(name, module) of every leaf module and every Concat/Residual block, in registration order."""
    return [(n, m) for n, m in model.named_modules() if n and (not m._modules or isinstance(m, BLOCKS))]


@contextlib.contextmanager
def capture_inputs(modules):
    """Record a copy of the first input of each module's forward (``name -> array``) inside the block.

    Through ``Module.register_forward_pre_hook``; the hooks are removed on exit.
    """
    got, undo = {}, []
    for name, m in modules:
        def keep(mod, args, name=name):
            got[name] = np.array(args[0], copy=True)

        undo.append(m.register_forward_pre_hook(keep).remove)
    try:
        yield got
    finally:
        for u in reversed(undo):
            u()


def softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass
class Pass:
    """One forward (and optionally backward) pass of one input."""

    raw: np.ndarray
    x: np.ndarray
    label: int | None
    steps: list
    logits: np.ndarray
    outputs: dict
    inputs: dict
    order: list
    target: int | None = None
    loss: float | None = None
    grads: dict = field(default_factory=dict)
    weight_grads: dict = field(default_factory=dict)


class Explorer:
    """The explorer's computations over one :class:`~glassnet.explore.source.Source`; thread-safe."""

    def __init__(self, source):
        self.source = source
        self.lock = threading.RLock()
        self._passes: OrderedDict = OrderedDict()
        self._predictions = None
        self._layers = None
        self._graph = None

    # ------------------------------------------------------------------ passes
    def _run(self, spec: str, epoch, target: int | None = None) -> Pass:
        key = (epoch, spec, target)
        if key in self._passes:
            self._passes.move_to_end(key)
            return self._passes[key]
        model = self.source.model_at(epoch)
        raw, label, steps = self.source.image(spec)
        x, more = self.source.model_input(raw, model.dtype)
        mods = tapped_modules(model)
        keep_in = [(n, m) for n, m in mods if layer_kind(m) not in ("block", "other")]
        with inspecting(model), Tap(model, mods) as tap, capture_inputs(keep_in) as inputs:
            for p in model.parameters():
                p.grad = None
            logits = logits_of(model, x)
            p = None
            if target is not None:
                k = logits.shape[1]
                if not 0 <= target < k:
                    raise ValueError(f"target class must be in 0..{k - 1}, got {target}")
                probs = softmax(logits[0])
                dlogits = probs.copy()
                dlogits[target] -= 1.0
                tap.backward(dlogits[None].astype(logits.dtype))
                loss = float(-np.log(max(probs[target], 1e-300)))
                grads = {n: g[0] for n, g in tap.grads.items()}
                wgrads = {n: m.weight.grad.copy() for n, m in mods
                          if isinstance(m, Conv2d) and m.weight.grad is not None}
        outputs, order = {}, []
        for r in tap.records:
            if r.name not in outputs:
                order.append(r.name)
            outputs[r.name] = r.output[0]
        p = Pass(raw, x, label, steps + more, logits[0].astype(np.float64), outputs,
                 {n: a[0] for n, a in inputs.items()}, order)
        if target is not None:
            p.target, p.loss, p.grads, p.weight_grads = target, loss, grads, wgrads
        self._passes[key] = p
        while len(self._passes) > CACHE:
            self._passes.popitem(last=False)
        return p

    def _module(self, epoch, layer: str):
        model = self.source.model_at(epoch)
        table = dict(tapped_modules(model))
        if layer not in table:
            raise ValueError(f"unknown layer {layer!r}")
        return table[layer]

    # ------------------------------------------------------------------ model and inputs
    def layers(self) -> list:
        """The tapped layers in execution order, with kind, output shape and geometry."""
        if self._layers is None:
            p = self._run(self.source.default_input(), None)
            table = dict(tapped_modules(self.source.model))
            out = []
            for name in p.order:
                m = table[name]
                row = {"name": name, "type": type(m).__name__, "kind": layer_kind(m),
                       "shape": list(p.outputs[name].shape)}
                for attr in ("kernel_size", "stride", "dilation", "padding"):
                    v = getattr(m, attr, None)
                    if v is not None and layer_kind(m) in ("conv", "maxpool", "avgpool"):
                        row[attr] = v if isinstance(v, str) else list(v)
                out.append(row)
            self._layers = out
        return self._layers

    def graph(self):
        """The layer tree of :func:`glassnet.summary` (rows nested by depth), or None if it cannot walk the model."""
        if self._graph is None:

            try:
                s = summary(self.source.model, self.source.input_size)
            except (ValueError, TypeError, IndexError) as e:
                self._graph = {"error": str(e)}
                return self._graph
            root = {"name": "", "type": s.model, "children": []}
            stack = [(-1, root)]
            for r in s.rows:
                node = {"name": r.name, "type": r.type, "role": r.role, "kind": r.kind, "container": r.container,
                        "shape": list(r.output_shape), "params": r.params, "macs": r.macs,
                        "rf": list(r.rf) if r.rf else None, "children": []}
                while stack[-1][0] >= r.depth:
                    stack.pop()
                stack[-1][1]["children"].append(node)
                stack.append((r.depth, node))
            t = s.totals
            self._graph = {"tree": root, "totals": {"params": t.params, "macs": t.macs,
                                                    "activation_bytes": t.activation_bytes}}
        return self._graph

    def info(self) -> dict:
        s = self.source
        c, h, w = s.input_size
        with self.lock:
            layers = self.layers()
            graph = self.graph()
        return {
            "title": s.title, "model": s.model_name, "input_size": [c, h, w], "classes": s.class_names,
            "normalize": [list(v) for v in s.normalize] if s.normalize is not None else None,
            "test_images": len(s.test_set) if s.test_set is not None else 0,
            "default_input": s.default_input(), "can_draw": (c, h, w) == (1, 28, 28),
            "epochs": s.epochs, "history": (s.history or {}).get("epochs") if s.history else None,
            "layers": layers, "graph": graph,
        }

    def _predicted(self):
        if self._predictions is None:

            ds, model = self.source.test_set, self.source.model
            n = min(len(ds), PREDICT_LIMIT)
            preds = []
            with no_grad():
                for i in range(0, n, 100):
                    raw = ds.images[i:min(i + 100, n)]
                    raw = raw.astype(np.float32) / 255.0 if raw.dtype == np.uint8 else raw.astype(np.float32)
                    x = np.concatenate([self.source.model_input(r, model.dtype)[0] for r in raw])
                    preds.append(np.argmax(logits_of(model, x), axis=1))
            self._predictions = np.concatenate(preds), np.asarray(ds.labels[:n])
        return self._predictions

    def inputs(self, which: str = "all", cls: int | None = None, limit: int = 60) -> dict:
        """Test images to pick from: ``all``, of class ``cls``, or ``wrong`` (misclassified by the final model)."""
        if self.source.test_set is None:
            return {"items": [], "searched": 0}
        if which not in ("all", "class", "wrong"):
            raise ValueError(f"which must be all, class or wrong, got {which!r}")
        with self.lock:
            pred, labels = self._predicted()
        keep = np.ones(len(pred), bool)
        if which == "class":
            if cls is None or not 0 <= cls < len(self.source.class_names):
                raise ValueError(f"class must be in 0..{len(self.source.class_names) - 1}")
            keep &= labels == cls
        elif which == "wrong":
            keep &= pred != labels
        idx = np.nonzero(keep)[0][:max(1, min(limit, 500))]
        return {"searched": int(len(pred)),
                "items": [{"input": f"test:{i}", "label": int(labels[i]), "pred": int(pred[i])} for i in idx]}

    def upload(self, data: bytes, kind: str) -> dict:
        if kind not in ("image", "drawing"):
            raise ValueError(f"kind must be image or drawing, got {kind!r}")
        with self.lock:
            return {"input": self.source.add_upload(data, kind)}

    # ------------------------------------------------------------------ forward views
    def forward(self, spec: str, epoch=None) -> dict:
        with self.lock:
            p = self._run(spec, epoch)
            probs = softmax(p.logits)
            top = np.argsort(-probs, kind="stable")[:5]
            layers = [{"name": n, "shape": list(p.outputs[n].shape), **stats(p.outputs[n])} for n in p.order]
            return {
                "input": spec, "epoch": epoch, "label": p.label, "steps": p.steps,
                "raw": encode(p.raw), "x": encode(p.x[0]), "logits": [finite(v) for v in p.logits],
                "probs": probs.tolist(), "pred": int(top[0]),
                "top": [{"class": int(k), "p": float(probs[k])} for k in top], "layers": layers,
            }

    @staticmethod
    def _channels(a: np.ndarray, start: int, count: int) -> dict:
        if a.ndim != 3:
            return {"shape": list(a.shape), "start": 0, "array": encode(a), **stats(a)}
        start = max(0, min(start, a.shape[0] - 1))
        part = a[start:start + max(1, min(count, MAX_CHANNELS))]
        return {"shape": list(a.shape), "start": start, "array": encode(part), **stats(a)}

    def activation(self, spec: str, layer: str, epoch=None, start: int = 0, count: int = MAX_CHANNELS) -> dict:
        with self.lock:
            p = self._run(spec, epoch)
            if layer not in p.outputs:
                raise ValueError(f"unknown layer {layer!r} (or not run by the forward pass)")
            return {"layer": layer, **self._channels(p.outputs[layer], start, count)}

    def detail(self, spec: str, layer: str, c: int, y: int, x: int, epoch=None) -> dict:
        """How the value at (c, y, x) of ``layer``'s output is made, with the value the forward pass gave."""
        with self.lock:
            p = self._run(spec, epoch)
            m = self._module(epoch, layer)
            if layer not in p.outputs:
                raise ValueError(f"layer {layer!r} was not run by the forward pass")
            out = p.outputs[layer]
            kind = layer_kind(m)
            if out.ndim == 1:
                if not 0 <= c < out.shape[0]:
                    raise ValueError(f"unit must be in 0..{out.shape[0] - 1}, got {c}")
                value = float(out[c])
                rec = {"op": kind}
                if kind == "linear":
                    rec = lecture.linear_unit(p.inputs[layer], m.weight.data, m.bias.data if m.bias is not None
                                              else None, c)
                elif kind == "activation":
                    rec = {"op": "activation", "input": float(p.inputs[layer].reshape(-1)[c]), "total": value}
                return {"layer": layer, "kind": kind, "type": type(m).__name__, "value": value, **rec}
            for name, v, n in (("channel", c, out.shape[0]), ("row", y, out.shape[1]), ("column", x, out.shape[2])):
                if not 0 <= v < n:
                    raise ValueError(f"{name} must be in 0..{n - 1}, got {v}")
            value = float(out[c, y, x])
            rec = {"op": kind}
            xin = p.inputs.get(layer)
            if kind == "conv":
                rec = lecture.conv_pixel(xin, m.weight.data, None if m.bias is None else m.bias.data, m.stride,
                                         conv_pads(m), m.dilation, c, y, x)
                rec["input_maps"] = encode(xin[:16])
            elif kind in ("maxpool", "avgpool"):
                rec = lecture.pool_pixel(xin, kind[:3], m.kernel_size, m.stride, m.padding, c, y, x,
                                         ceil_mode=m.ceil_mode,
                                         count_include_pad=getattr(m, "count_include_pad", True))
                rec["input_maps"] = encode(xin[c:c + 1])
            elif kind == "adaptivepool":
                rec = lecture.adaptive_pool_pixel(xin, out.shape[1:], c, y, x)
                rec["input_maps"] = encode(xin[c:c + 1])
            elif kind == "activation":
                before = xin[c].astype(np.float64)
                rec = {"op": "activation", "input": float(before[y, x]), "total": value,
                       "cut": int((before < 0).sum()) if type(m).__name__ == "ReLU" else None,
                       "map_size": int(before.size), "input_map": encode(before)}
            elif kind == "batchnorm":
                mean, var = float(m.running_mean[c]), float(m.running_var[c])
                g = float(m.weight.data[c]) if m.weight is not None else 1.0
                b = float(m.bias.data[c]) if m.bias is not None else 0.0
                xi = float(xin[c, y, x])
                rec = {"op": "batchnorm", "input": xi, "mean": mean, "var": var, "eps": m.eps, "gamma": g,
                       "beta": b, "total": (xi - mean) / np.sqrt(var + m.eps) * g + b}
            return {"layer": layer, "kind": kind, "type": type(m).__name__, "value": value, **rec}

    # ------------------------------------------------------------------ backward views
    def backward(self, spec: str, target: int, epoch=None) -> dict:
        with self.lock:
            p = self._run(spec, epoch, target)
            layers = [{"name": n, "shape": list(p.grads[n].shape), **stats(p.grads[n])}
                      for n in p.order if n in p.grads]
            dlogits = softmax(p.logits)
            dlogits[target] -= 1.0
            return {"input": spec, "epoch": epoch, "target": target, "loss": p.loss,
                    "dlogits": dlogits.tolist(), "layers": layers}

    def gradient(self, spec: str, target: int, layer: str, epoch=None, start: int = 0,
                 count: int = MAX_CHANNELS) -> dict:
        with self.lock:
            p = self._run(spec, epoch, target)
            if layer not in p.grads:
                raise ValueError(f"no gradient reached layer {layer!r}")
            return {"layer": layer, "target": target, **self._channels(p.grads[layer], start, count)}

    def weight_gradient(self, spec: str, target: int, layer: str, co: int, ci: int, kp: int = 0, kq: int = 0,
                        epoch=None) -> dict:
        """dF = X correlated with dZ for kernel F[co, ci] of a convolution, beside glassnet's ``weight.grad``."""
        with self.lock:
            p = self._run(spec, epoch, target)
            m = self._module(epoch, layer)
            if layer_kind(m) != "conv":
                raise ValueError(f"layer {layer!r} is not a convolution")
            if layer not in p.grads:
                raise ValueError(f"no gradient reached layer {layer!r}")
            rec = lecture.weight_gradient(p.inputs[layer], p.grads[layer], m.stride, conv_pads(m), m.dilation,
                                          m.kernel_size, ci, co, kp, kq)
            rec["library"] = p.weight_grads[layer][co, ci].astype(np.float64).tolist()
            return {"layer": layer, "target": target, **rec}

    # ------------------------------------------------------------------ what the network looks at
    def filters(self, layer: str, epoch=None, start: int = 0, count: int = MAX_CHANNELS) -> dict:
        with self.lock:
            m = self._module(epoch, layer)
            if layer_kind(m) != "conv":
                raise ValueError(f"layer {layer!r} is not a convolution")
            w = m.weight.data
            start = max(0, min(start, w.shape[0] - 1))
            part = w[start:start + max(1, min(count, MAX_CHANNELS)), :MAX_CHANNELS]
            return {"layer": layer, "shape": list(w.shape), "start": start, "array": encode(part), **stats(w),
                    "bias": None if m.bias is None else [float(b) for b in m.bias.data[start:start + len(part)]]}

    def attribution(self, spec: str, target: int | None = None, layer: str | None = None, epoch=None) -> dict:
        """Saliency (ds_c/dx) and Grad-CAM from :mod:`glassnet.viz.attribution`."""

        with self.lock:
            model = self.source.model_at(epoch)
            p = self._run(spec, epoch)
            grad, target, probs = input_gradient(model, p.x, target)
            try:
                cam, small, weights, used, _ = grad_cam(model, p.x, target, layer)
                cam_rec = {"cam": encode(cam), "cam_small": encode(small), "cam_layer": used}
            except ValueError as e:
                cam_rec = {"cam": None, "cam_error": str(e)}
            return {"input": spec, "target": target, "saliency": encode(grad), **stats(grad), **cam_rec}
