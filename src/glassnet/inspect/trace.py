"""Record the order in which a module calls its direct children, by running it once.

Used by :func:`glassnet.summary` for modules whose forward is custom code
(neither a container nor a ``forward_plan()``). The run is on zeros, batch
1, in evaluation mode and under ``no_grad``; every module's training flag is
restored afterwards and nothing is kept.
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import nn


def trace_children(module, in_shape):
    """Run ``module`` on zeros of per-sample shape ``in_shape``.

    Returns ``(calls, id(x), y)``: ``calls`` lists ``(child_name, input_array,
    output_array)`` in call order, so that the caller can tell which output
    fed which child (arrays are compared by identity).
    """
    x = B.xp.zeros((1,) + tuple(in_shape), dtype=module.dtype)
    calls = []
    flags = {id(m): (m, m.training) for m in module.modules()}
    handles = []

    def recorder(cname):
        def record(child, args, out):
            calls.append((cname, args[0] if args else None, out))

        return record

    for cname, child in module.named_children():
        handles.append(child.register_forward_hook(recorder(cname)))
    module.eval()
    try:
        with nn.no_grad():
            y = module(x)
    except Exception as e:
        raise ValueError(f"{module.label}: could not run it on input {in_shape} to find its layer order: {e}") from e
    finally:
        for handle in handles:
            handle.remove()
        for m, flag in flags.values():
            object.__setattr__(m, "training", flag)
    if not hasattr(y, "shape") or math.prod(y.shape) == 0:
        raise ValueError(f"{module.label}: forward did not return an array")
    return calls, id(x), y
