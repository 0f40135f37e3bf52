"""Helpers of the fault suite: seeded random mutations of a file's bytes, and a guard on time and memory."""

from __future__ import annotations

import contextlib
import time
import tracemalloc

import numpy as np

KINDS = ("flip_bit", "set_byte", "truncate", "insert", "delete", "zero_run", "header_size", "duplicate")


def mutate(data: bytes, rng: np.random.Generator, kind: str | None = None) -> tuple[bytes, str]:
    """``(mutated bytes, description)``: one random change of ``data`` (never the identity)."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    n = len(data)
    b = bytearray(data)
    i = int(rng.integers(n))
    if kind == "flip_bit":
        b[i] ^= 1 << int(rng.integers(8))
    elif kind == "set_byte":
        b[i] = (b[i] + int(rng.integers(1, 256))) % 256
    elif kind == "truncate":
        b = b[:i]
    elif kind == "insert":
        b[i:i] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
    elif kind == "delete":
        del b[i:i + int(rng.integers(1, 16))]
    elif kind == "zero_run":
        j = min(n, i + int(rng.integers(1, 64)))
        b[i:j] = bytes(j - i)
        if bytes(b) == data:
            b[i] ^= 0xFF
    elif kind == "header_size":  # the first 8 (safetensors) or 4..8 (IDX) bytes: sizes and dimensions
        k = int(rng.integers(min(8, n)))
        b[k] = (b[k] + int(rng.integers(1, 256))) % 256
        i = k
    elif kind == "duplicate":
        j = min(n, i + int(rng.integers(1, 64)))
        b[j:j] = b[i:j]
    return bytes(b), f"{kind}@{i}"


@contextlib.contextmanager
def bounded(what: str, seconds: float = 5.0, megabytes: float = 64.0):
    """Fail when the block takes longer than ``seconds`` or allocates more than ``megabytes`` at its peak
    (tracemalloc sees NumPy's allocations too)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        took = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert took < seconds, f"{what}: took {took:.1f} s"
    assert peak < megabytes, f"{what}: allocated {peak:.0f} MiB at its peak"
