"""Pooling windows in ONNX's terms and PyTorch's (glassnet's), where ``ceil_mode`` makes them differ.

PyTorch's ceil mode keeps a last window only if it starts inside the input or
its left padding; ONNX's shape formula (``onnx.shape_inference``) has no such
rule, although onnxruntime applies it when it runs. So the exporter writes
``ceil_mode=1`` only where ONNX's formula gives PyTorch's size, and otherwise
moves the difference into the end padding of the axis concerned (per axis:
ONNX has one ``ceil_mode`` for both). The loader reads such pads back. The
windows (and the divisor of an average) stay exactly PyTorch's; the one case
without an exact form (a count-including-padding average whose axes need
opposite fixes that pads cannot make) is refused.
"""

from __future__ import annotations


def torch_size(size, k, s, p, ceil) -> int:
    """PyTorch's (glassnet's) output size of one axis."""
    span = size + 2 * p - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def onnx_size(size, k, s, begin, end, ceil) -> int:
    """ONNX's output size of one axis (its shape-inference formula)."""
    span = size + begin + end - k
    return (-(-span // s) if ceil else span // s) + 1


def onnx_pads(sizes, kernel, stride, padding, ceil, count_include_pad):
    """``(pads [top, left, bottom, right], ceil_mode)`` giving PyTorch's windows, or None where none exists."""
    want = [torch_size(n, k, s, p, ceil) for n, k, s, p in zip(sizes, kernel, stride, padding, strict=True)]
    axes = list(zip(sizes, kernel, stride, padding, want, strict=True))
    for mode in (0, 1):  # symmetric pads
        if all(onnx_size(n, k, s, p, p, mode) == w for n, k, s, p, w in axes):
            return [*padding, *padding], mode
    ends = []  # ceil_mode=1, less end padding where ONNX's ceil would add a window PyTorch drops
    for n, k, s, p, w in axes:
        end = p
        if onnx_size(n, k, s, p, p, 1) != w:
            end = p - (n + 2 * p - k) % s
        if end < 0 or onnx_size(n, k, s, p, end, 1) != w or (w - 1) * s - p + k > n + end:
            ends = None
            break
        ends.append(end)
    if ends is not None:
        return [*padding, *ends], 1
    if count_include_pad:  # extra end padding would count in the average's divisor
        return None
    ends = [p + (s - (n + 2 * p - k) % s) % s if onnx_size(n, k, s, p, p, 0) != w else p for n, k, s, p, w in axes]
    if all(onnx_size(n, k, s, p, e, 0) == w for (n, k, s, p, w), e in zip(axes, ends, strict=True)):
        return [*padding, *ends], 0
    return None


def torch_padding(sizes, kernel, stride, pads, ceil, count_include_pad):
    """The reverse: ``(padding, ceil_mode)`` of a glassnet pool with the same windows as ONNX's ``pads``, or None."""
    begin, end = list(pads[:2]), list(pads[2:])
    if begin == end:
        return tuple(begin), bool(ceil)
    if sizes is None or None in sizes:
        return None
    for mode in (False, True):
        ok = True
        for n, k, s, p, e in zip(sizes, kernel, stride, begin, end, strict=True):
            w = torch_size(n, k, s, p, mode)
            if onnx_size(n, k, s, p, e, ceil) != w or (count_include_pad and e > p):
                ok = False
            elif count_include_pad and e < p and (w - 1) * s - p + k > n + e:
                ok = False
        if ok:
            return tuple(begin), mode
    return None
