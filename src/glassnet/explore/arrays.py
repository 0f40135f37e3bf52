"""Arrays on the wire: float32, little-endian, base64 inside JSON (``{"shape": [...], "data": "..."}``).

The browser decodes them into a ``Float32Array`` with the same bits; nothing is rounded on the way
(JSON numbers would be printed and re-parsed). Lists of plain numbers go as JSON numbers.

>>> import numpy as np
>>> a = np.array([[1.5, -2.0]], np.float32)
>>> np.array_equal(decode(encode(a)), a)
True
"""

from __future__ import annotations

import base64
import math

import numpy as np


def encode(a) -> dict:
    a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def decode(obj: dict) -> np.ndarray:
    raw = base64.b64decode(obj["data"])
    return np.frombuffer(raw, dtype="<f4").reshape(obj["shape"])


def finite(v: float):
    """A float for JSON: NaN and infinities become None (JSON has no such numbers)."""
    v = float(v)
    return v if math.isfinite(v) else None


def stats(a) -> dict:
    a = np.asarray(a)
    if a.size == 0:
        return {"min": None, "max": None}
    return {"min": finite(np.nanmin(a)), "max": finite(np.nanmax(a))}
