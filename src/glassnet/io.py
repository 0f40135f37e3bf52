"""Files: weights in safetensors, configuration and history in JSON, all written atomically.

* Weights: :func:`save_weights` / :func:`load_weights` store a state dict
  (``name -> array``, PyTorch's key names) in the `safetensors
  <https://github.com/huggingface/safetensors>`_ format: an 8-byte
  little-endian header length, a JSON header (dtype, shape and byte range of
  every tensor, plus ``__metadata__`` strings), then the raw bytes. Loading
  executes nothing, unlike pickle. ``safetensors.torch.load_file`` reads the
  same file into PyTorch.
* Optimizer state: :func:`save_optimizer` / :func:`load_optimizer` put the
  arrays in a safetensors file and the scalars and hyper-parameters in its
  metadata, as JSON.
* JSON: :func:`save_json` / :func:`load_json`.

Every writer goes through :func:`atomic_write_bytes`: a temporary file in the
destination's directory, flushed and fsync'ed, then ``os.replace``-d over the
destination, so a reader sees the old file or the new one, never half of one.
Every reader raises :class:`GlassnetIOError` naming the file and the problem.
safetensors is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import os
import struct
from collections import OrderedDict

import numpy as np

from ._files import atomic_write

_KEYS = "glassnet.keys"  # metadata entry: the state dict's key order
_OPTIMIZER = "glassnet.optimizer"  # metadata entry of optimizer files
_MAX_HEADER = 100_000_000  # safetensors' own limit on the header size
_DTYPES = {np.dtype(t) for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                                 "float16", "float32", "float64")}


class GlassnetIOError(ValueError, OSError):
    """A file glassnet cannot read or write: the message names the file and the problem."""


# ---------------------------------------------------------------------------- atomic writes
def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is never seen half-written.

    The bytes go to a temporary file in the same directory, which is flushed,
    fsync'ed and renamed over ``path`` (``os.replace``: atomic on POSIX and
    Windows), see :func:`glassnet._files.atomic_write`. On any error the
    temporary file is removed and an existing ``path`` is untouched.
    """
    try:
        with atomic_write(path, make_parents=False) as f:
            f.write(data)
    except GlassnetIOError:
        raise
    except OSError as e:
        raise GlassnetIOError(f"{os.fspath(path)}: cannot write ({e.strerror or e})") from e


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """:func:`atomic_write_bytes` for text (no newline translation)."""
    atomic_write_bytes(path, text.encode(encoding))


# ---------------------------------------------------------------------------- JSON
def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def save_json(path, obj) -> None:
    """Write ``obj`` as indented JSON (NumPy scalars and arrays become numbers and lists), atomically."""
    try:
        text = json.dumps(obj, indent=2, default=_json_default)
    except (TypeError, ValueError) as e:
        raise GlassnetIOError(f"{os.fspath(path)}: cannot save as JSON: {e}") from e
    atomic_write_text(path, text + "\n")


def load_json(path):
    """Read a JSON file; a missing or corrupt file raises :class:`GlassnetIOError`."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise GlassnetIOError(f"{path}: cannot read ({e.strerror})") from e
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise GlassnetIOError(f"{path}: corrupt JSON (not UTF-8 text: {e.reason} at byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise GlassnetIOError(f"{path}: corrupt JSON ({e.msg} at line {e.lineno} column {e.colno})") from e


# ---------------------------------------------------------------------------- weights
def _prepare(state_dict, what: str) -> OrderedDict:
    """Check names and arrays; return C-contiguous native-byte-order arrays by name."""
    if hasattr(state_dict, "state_dict") and hasattr(state_dict, "parameters"):
        raise TypeError(f"{what}: got a model; pass model.state_dict()")
    if not hasattr(state_dict, "items"):
        raise TypeError(f"{what}: expected a dict of name -> array, got {type(state_dict).__name__}")
    out = OrderedDict()
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"{what}: key {key!r} is a {type(key).__name__}, expected str")
        if not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(f"{what}: '{key}' is a {type(value).__name__}, expected a numpy array")
        a = np.asarray(value)
        if a.dtype.newbyteorder("=") not in _DTYPES:
            raise TypeError(f"{what}: '{key}' has dtype {a.dtype}, which safetensors cannot store")
        a = a.astype(a.dtype.newbyteorder("="), copy=False)
        out[key] = a if a.flags.c_contiguous else np.array(a, order="C")  # keeps 0-d arrays 0-d
    return out


def save_weights(path, state_dict, metadata: dict[str, str] | None = None) -> None:
    """Save ``state_dict`` (name -> array) as safetensors, atomically.

    Keys are kept as given (PyTorch's names, so ``safetensors.torch.load_file``
    returns a state dict that ``torch.nn.Module.load_state_dict`` accepts);
    every dtype is kept, including int64 buffers such as BatchNorm's
    ``num_batches_tracked`` (shape ``()``). ``metadata`` (str -> str) is
    stored in the header, with ``"format": "pt"`` unless given.

    >>> import os, tempfile, numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "w.safetensors")
    ...     save_weights(path, {"fc.weight": np.ones((2, 3), np.float32), "bn.num_batches_tracked": np.array(7)})
    ...     w = load_weights(path)
    >>> list(w), w["fc.weight"].shape, w["bn.num_batches_tracked"].dtype
    (['fc.weight', 'bn.num_batches_tracked'], (2, 3), dtype('int64'))
    """
    import safetensors.numpy

    path = os.fspath(path)
    arrays = _prepare(state_dict, f"save_weights({path})")
    meta = {"format": "pt"}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save_weights({path}): metadata must map str to str, got {k!r}: {type(v).__name__}")
        meta[k] = v
    meta[_KEYS] = json.dumps(list(arrays))
    atomic_write_bytes(path, safetensors.numpy.save(dict(arrays), metadata=meta))


def load_weights(path) -> OrderedDict:
    """Read a safetensors file into an ``OrderedDict`` of NumPy arrays (saved order when known).

    A missing, truncated or corrupt file, or one that is not safetensors,
    raises :class:`GlassnetIOError` naming the file and the problem.
    """
    return _read(path)[0]


def load_metadata(path) -> dict[str, str]:
    """The ``metadata`` strings of a safetensors file (glassnet's own bookkeeping left out)."""
    return {k: v for k, v in _read(path)[1].items() if k != _KEYS}


def load_model_weights(model, path, strict: bool = True) -> dict:
    """Load the file at ``path`` into ``model`` (``model.load_state_dict``).

    Returns ``{"missing_keys": [...], "unexpected_keys": [...]}``; a file that
    does not fit the model raises :class:`GlassnetIOError` naming the file and
    every missing, unexpected or mis-shaped key.
    """
    path = os.fspath(path)
    state = load_weights(path)
    try:
        return model.load_state_dict(state, strict=strict)
    except (KeyError, ValueError) as e:
        raise GlassnetIOError(f"{path}: weights do not fit {type(model).__name__}: {e}") from e


def _check_header(path: str) -> None:
    """Validate the safetensors framing ourselves, for messages that say what is wrong."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else None
            header = f.read(n) if n is not None and n <= min(size - 8, _MAX_HEADER) else None
    except FileNotFoundError as e:
        raise GlassnetIOError(f"{path}: no such file") from e
    except OSError as e:
        raise GlassnetIOError(f"{path}: cannot read ({e.strerror})") from e
    if n is None:
        raise GlassnetIOError(f"{path}: not a safetensors file ({size} bytes, shorter than the 8-byte header size)")
    if n > _MAX_HEADER:
        raise GlassnetIOError(f"{path}: not a safetensors file (its first 8 bytes do not encode a header size)")
    if header is None:
        raise GlassnetIOError(f"{path}: truncated (header of {n} bytes, but only {size - 8} bytes follow)")
    try:
        table = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise GlassnetIOError(f"{path}: corrupt safetensors header (not JSON: {e})") from e
    if not isinstance(table, dict):
        raise GlassnetIOError(f"{path}: corrupt safetensors header (a JSON {type(table).__name__}, not an object)")
    end = 0
    for key, entry in table.items():
        if key == "__metadata__":
            continue
        try:
            end = max(end, int(entry["data_offsets"][1]))
        except (TypeError, KeyError, IndexError, ValueError) as e:
            raise GlassnetIOError(f"{path}: corrupt safetensors header (entry '{key}' has no data_offsets)") from e
    if 8 + n + end > size:
        raise GlassnetIOError(f"{path}: truncated (the tensors need {8 + n + end} bytes, the file has {size})")


def _read(path) -> tuple[OrderedDict, dict]:
    """(arrays in saved order, metadata) of a safetensors file."""
    path = os.fspath(path)
    _check_header(path)
    from safetensors import safe_open

    try:
        with safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            arrays = {k: _get_tensor(f, k, path) for k in f.keys()}
    except GlassnetIOError:
        raise
    except Exception as e:  # safetensors raises its own error type
        raise GlassnetIOError(f"{path}: corrupt safetensors file ({e})") from e
    order = list(arrays)
    if _KEYS in metadata:
        try:
            saved = json.loads(metadata[_KEYS])
        except json.JSONDecodeError:
            saved = None
        if isinstance(saved, list) and sorted(saved) == sorted(order):
            order = saved
    return OrderedDict((k, arrays[k]) for k in order), metadata


def _get_tensor(f, key: str, path: str) -> np.ndarray:
    try:
        a = f.get_tensor(key)
    except TypeError as e:  # e.g. bfloat16, which NumPy has no dtype for
        raise GlassnetIOError(f"{path}: tensor '{key}' has a dtype NumPy cannot hold ({e}); "
                              "convert it to float32 before saving") from e
    if a.dtype.newbyteorder("=") not in _DTYPES:  # bfloat16 & co. once ml_dtypes is imported (onnx imports it)
        raise GlassnetIOError(f"{path}: tensor '{key}' has a dtype NumPy cannot hold ({a.dtype}); "
                              "convert it to float32 before saving")
    return a


# ---------------------------------------------------------------------------- optimizer state
def save_optimizer(path, optimizer) -> None:
    """Save ``optimizer.state_dict()``: arrays as tensors ``state.<index>.<name>``, the rest as JSON metadata."""
    import safetensors.numpy

    path = os.fspath(path)
    sd = optimizer.state_dict()
    arrays, scalars = {}, {}
    for index, entry in sd["state"].items():
        for name, value in entry.items():
            if isinstance(value, np.ndarray):
                arrays[f"state.{index}.{name}"] = value
            else:
                scalars.setdefault(str(index), {})[name] = value
    info = {"version": 1, "class": type(optimizer).__name__, "param_groups": sd["param_groups"], "scalars": scalars}
    try:
        meta = {_OPTIMIZER: json.dumps(info, default=_json_default)}
    except (TypeError, ValueError) as e:
        raise GlassnetIOError(f"{path}: cannot save the optimizer's options as JSON: {e}") from e
    data = _prepare(arrays, f"save_optimizer({path})")
    atomic_write_bytes(path, safetensors.numpy.save(dict(data), metadata=meta))


def load_optimizer(path, optimizer) -> None:
    """Restore into ``optimizer`` a file written by :func:`save_optimizer` for the same optimizer class."""
    path = os.fspath(path)
    arrays, metadata = _read(path)
    if _OPTIMIZER not in metadata:
        raise GlassnetIOError(f"{path}: not a glassnet optimizer file (no '{_OPTIMIZER}' metadata)")
    try:
        info = json.loads(metadata[_OPTIMIZER])
        cls, groups, scalars = info["class"], info["param_groups"], info["scalars"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise GlassnetIOError(f"{path}: corrupt optimizer metadata ({e})") from e
    if cls != type(optimizer).__name__:
        raise GlassnetIOError(f"{path}: holds {cls} state, cannot load it into {type(optimizer).__name__}")
    state: dict[int, dict] = {}
    for index, entry in scalars.items():
        state.setdefault(int(index), {}).update(entry)
    for key, value in arrays.items():
        parts = key.split(".", 2)
        if len(parts) != 3 or parts[0] != "state" or not parts[1].isdigit():
            raise GlassnetIOError(f"{path}: unexpected tensor '{key}' in an optimizer file (expected state.<i>.<name>)")
        state.setdefault(int(parts[1]), {})[parts[2]] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (KeyError, ValueError) as e:
        raise GlassnetIOError(f"{path}: does not fit this {cls}: {e}") from e
