"""One rule for every op: which path computes it, the readable reference or the NumPy fast path.

Each op of :mod:`glassnet.nn.functional` has a reference implementation (the
formula, line by line, for any array namespace and dtype: ``glassnet.explain``
runs it on SymPy symbols) and may have a fast path in :mod:`.fast` (NumPy on
the CPU: threads, cache-sized chunks, strided views) and one in :mod:`.cuda`
(CuPy on the GPU: fused kernels).
The op's dispatcher asks :func:`use_fast` and reports the path it took with
:func:`note`, so that tests can check that a fast path really ran
(:func:`paths_taken`).

>>> import numpy as np
>>> from glassnet.nn.functional.activation import relu_forward
>>> with paths_taken() as taken:
...     _ = relu_forward(np.ones((2, 3), np.float32))
>>> dict(taken)
{'relu_forward': {'fast'}}
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

from ... import backend as B

_taken = None  # op name -> set of paths, while a paths_taken() block is open


def use_fast(*arrays) -> bool:
    """Whether the fast path applies: fast paths on, NumPy arrays, one float32/float64 dtype (``None`` ignored)."""
    if not B.fast_paths_enabled():
        return False
    arrays = [a for a in arrays if a is not None]
    if not B.is_host(*arrays):
        return False
    dtypes = {a.dtype for a in arrays}
    return len(dtypes) == 1 and dtypes.pop() in (B.host.float32, B.host.float64)


def use_cuda(*arrays) -> bool:
    """Whether the CuPy fast path applies: fast paths on, CuPy arrays, one float32/float64 dtype (``None`` ignored)."""
    if not B.fast_paths_enabled():
        return False
    arrays = [a for a in arrays if a is not None]
    if not arrays:
        return False
    xp = B.get_array_module(arrays[0])
    if xp is B.host or xp.__name__ != "cupy" or not all(isinstance(a, xp.ndarray) for a in arrays):
        return False
    dtypes = {a.dtype for a in arrays}
    return len(dtypes) == 1 and dtypes.pop() in (B.host.float32, B.host.float64)


def note(op: str, path: str) -> None:
    """Record that ``op`` ran on ``path`` ("fast", "cuda" or "reference"), if someone is watching."""
    if _taken is not None:
        _taken[op].add(path)


@contextlib.contextmanager
def paths_taken():
    """Collect, for the length of the block, which path each op took: ``{op: {"fast", "reference"}}``."""
    global _taken
    previous, _taken = _taken, defaultdict(set)
    try:
        yield _taken
    finally:
        _taken = previous
