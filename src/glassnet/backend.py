"""The one place that knows which array library glassnet computes with.

Everything in ``nn``, ``optim``, ``models`` and ``train`` asks this module for
the array namespace instead of importing NumPy (a test scans the imports):

* :func:`get_array_module` ``(*arrays)`` gives the namespace the arrays live
  in (Chainer's pattern): NumPy for NumPy arrays, CuPy for CuPy arrays (when
  CuPy is installed). Every op takes its namespace from its inputs, so the
  same maths runs on either.
* ``xp`` is the default namespace, for arrays created from nothing
  (parameters, buffers): NumPy.
* ``host`` is NumPy itself, for what always lives in host memory: files,
  data sets, metrics.

It also holds the default floating dtype, the random generator and the
switch for the fast paths.

>>> import glassnet.backend as B
>>> B.xp.zeros((2, 3), dtype=B.get_default_dtype()).dtype
dtype('float32')
"""

from __future__ import annotations

import ctypes
import os
import sys

import numpy

xp = numpy
"""The default array namespace (NumPy), for arrays created from nothing."""

host = numpy
"""NumPy: the namespace of host memory (files, data sets, metrics)."""


def get_array_module(*arrays):
    """The array namespace of ``arrays``: CuPy if any of them is a CuPy array, else NumPy.

    CuPy is looked up only if it was already imported (an array of it
    cannot exist otherwise), so this never imports it.

    >>> import numpy as np
    >>> get_array_module(np.zeros(2), None) is np
    True
    """
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    return numpy


def is_array(a) -> bool:
    """A NumPy or CuPy array."""
    return isinstance(a, get_array_module(a).ndarray)


def is_host(*arrays) -> bool:
    """True when every array is a NumPy array (the CPU fast paths take only these)."""
    return all(type(a) is numpy.ndarray for a in arrays if a is not None)

_default_dtype = numpy.dtype(numpy.float32)
_rng = numpy.random.default_rng()


def get_default_dtype() -> numpy.dtype:
    """The floating dtype new parameters and data are created with (float32)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype of new parameters: ``float32`` (default) or ``float64``."""
    global _default_dtype
    dtype = numpy.dtype(dtype)
    if dtype not in (numpy.float32, numpy.float64):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> None:
    """Seed the generator used for initialisation, dropout and shuffling."""
    global _rng
    _rng = numpy.random.default_rng(seed)


def rng() -> numpy.random.Generator:
    """The library's random generator (see :func:`manual_seed`)."""
    return _rng


def get_rng_state() -> dict:
    """A copy of the generator's state, for checkpoints and gradcheck."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _rng.bit_generator.state = state


def asarray(x, dtype=None):
    """Convert ``x`` to an array of its own namespace (no copy when it already is one)."""
    return get_array_module(x).asarray(x, dtype=dtype)


def to_host(x):
    """A NumPy copy of a device array (the array itself when it already is one)."""
    return x.get() if hasattr(x, "get") and not isinstance(x, numpy.ndarray) else numpy.asarray(x)


def normalize_device(device) -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (checked)."""
    d = str(device)
    if d == "cpu" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit()):
        return d
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def require_cupy(device: str = "cuda"):
    """CuPy with a usable GPU, or one clear error saying what is missing (``pip install 'glassnet[gpu]'``)."""
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(
            f"device {device!r} needs CuPy and an NVIDIA GPU: pip install 'glassnet[gpu]' (the cupy-cuda12x wheel; "
            f"cupy-cuda13x for CUDA 13) ({e})"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise RuntimeError(f"device {device!r}: CuPy is installed but no CUDA GPU can be used ({e})") from None
    index = int(device.split(":")[1]) if ":" in device else 0
    if count <= index:
        raise RuntimeError(f"device {device!r}: {count} CUDA GPU(s) visible")
    return cupy


def device_of(a) -> str:
    """``"cuda"`` for a CuPy array (``"cuda:N"`` off device 0), else ``"cpu"``."""
    if type(a) is numpy.ndarray or get_array_module(a) is numpy:
        return "cpu"
    return "cuda" if a.device.id == 0 else f"cuda:{a.device.id}"


def to_device(a, device: str):
    """``a`` on ``device`` (the array itself when it is already there)."""
    device = normalize_device(device)
    if device == "cpu":
        return to_host(a)
    cupy = require_cupy(device)
    index = int(device.split(":")[1]) if ":" in device else 0
    if isinstance(a, cupy.ndarray) and a.device.id == index:
        return a
    with cupy.cuda.Device(index):
        return cupy.asarray(a)


def is_floating(a) -> bool:
    return numpy.issubdtype(a.dtype, numpy.floating)


# ------------------------------------------------------------------------------------------- fast paths
_fast_paths = os.environ.get("GLASSNET_FAST", "1") != "0"


def fast_paths_enabled() -> bool:
    """Whether convolution and pooling take their fast paths (default; ``GLASSNET_FAST=0`` turns them off).

    The fast paths compute the same sums as the readable reference paths
    (chunked, threaded, with reused buffers); the tests compare the two.
    """
    return _fast_paths


def set_fast_paths(enabled: bool) -> bool:
    """Turn the fast paths on or off (off: the reference implementations); returns the previous setting.

    >>> previous = set_fast_paths(False); fast_paths_enabled()
    False
    >>> _ = set_fast_paths(previous)
    """
    global _fast_paths
    previous, _fast_paths = _fast_paths, bool(enabled)
    return previous


# ------------------------------------------------------------------------------------------- memory
MALLOC_MMAP_THRESHOLD = 256 << 20
MALLOC_TRIM_THRESHOLD = 512 << 20

malloc_tuned = False
"""Whether :func:`keep_freed_memory` has applied its glibc settings in this process."""


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse instead of handing them back to the OS (opt-in).

    A process-wide setting, so glassnet never makes it on import: the
    ``glassnet`` command calls it (its process is glassnet's own), a user's
    program may call it, or set ``GLASSNET_MALLOC_TUNE=1`` to have it done
    by :func:`glassnet.tune_process`.

    By default glibc serves each large block (NumPy arrays above ~128 kB to
    32 MB) with a fresh ``mmap`` and unmaps it when freed, so every new
    activation array page-faults its memory in again: about 0.1 ms per MB
    on the tuning machine. With ``M_MMAP_THRESHOLD`` at 256 MB and
    ``M_TRIM_THRESHOLD`` at 512 MB, blocks come from the heap and freed
    ones are reused: a LeNet-5 training step (batch 64) took 15% less CPU
    time, batch 256 6%. The price: the process keeps its peak heap (up to
    512 MB of it) instead of returning it. Other C libraries than glibc are
    left alone. Returns whether the settings were applied.
    """
    global malloc_tuned
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    if not mallopt(m_mmap_threshold, MALLOC_MMAP_THRESHOLD):
        mallopt(m_mmap_threshold, 32 << 20)  # the ceiling of older glibc versions
    malloc_tuned = bool(mallopt(m_trim_threshold, MALLOC_TRIM_THRESHOLD))
    return malloc_tuned
