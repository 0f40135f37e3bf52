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

**Same input, same bytes.** glassnet encodes safetensors files itself: header
keys sorted, compact JSON padded to 8 bytes, tensors laid out by item size then
name (safetensors' own order). The same state dict therefore always gives
byte-identical files (JSON keeps its keys' insertion order, also deterministic).

**Integrity.** Every weights and optimizer file glassnet writes carries
``glassnet.sha256`` in its metadata: the SHA-256 of its tensor table (names,
dtypes, shapes, byte ranges) and of glassnet's own metadata entries (key
order, optimizer options), followed by the tensor bytes. A file whose digest
does not match is refused with :class:`GlassnetIOError` naming it; files
written elsewhere (no digest) still load. :func:`nonfinite_tensors` lists the
tensors holding NaN or infinity. safetensors (the decoder) is imported inside
the function that reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections import OrderedDict

import numpy as np

from ._files import atomic_write

_KEYS = "glassnet.keys"  # metadata entry: the state dict's key order
_OPTIMIZER = "glassnet.optimizer"  # metadata entry of optimizer files
_DIGEST = "glassnet.sha256"  # metadata entry: SHA-256 of the tensor table and the tensor bytes
_CODES = {"bool": "BOOL", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64", "uint8": "U8",
          "uint16": "U16", "uint32": "U32", "uint64": "U64", "float16": "F16", "float32": "F32", "float64": "F64"}
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
    """Write ``obj`` as indented JSON (NumPy scalars and arrays become numbers and lists), atomically.

    Keys keep their insertion order, so the same ``obj`` always gives the same bytes."""
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
    path = os.fspath(path)
    arrays = _prepare(state_dict, f"save_weights({path})")
    meta = {"format": "pt"}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save_weights({path}): metadata must map str to str, got {k!r}: {type(v).__name__}")
        meta[k] = v
    meta[_KEYS] = json.dumps(list(arrays))
    atomic_write_bytes(path, encode_safetensors(arrays, meta))


def encode_safetensors(arrays: dict, metadata: dict[str, str]) -> bytes:
    """The bytes of a safetensors file holding ``arrays`` (prepared by :func:`_prepare`), deterministically.

    Tensors are laid out by item size (largest first, so each stays aligned) then by name;
    the header's keys are sorted; ``metadata`` gains ``glassnet.sha256`` (see the module docstring).
    """
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    table, offset = {}, 0
    for key in order:
        a = arrays[key]
        table[key] = {"dtype": _CODES[a.dtype.newbyteorder("=").name], "shape": list(a.shape),
                      "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    data = b"".join(arrays[k].astype(arrays[k].dtype.newbyteorder("<"), copy=False).tobytes() for k in order)
    meta = {k: v for k, v in metadata.items() if k != _DIGEST}
    meta[_DIGEST] = _digest(table, meta, data)
    header = json.dumps({"__metadata__": meta, **table}, sort_keys=True, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def _digest(table: dict, metadata: dict, data) -> str:
    """SHA-256 of the tensor table and glassnet's own metadata entries (canonical JSON), then the tensor bytes."""
    own = {k: v for k, v in metadata.items() if k.startswith("glassnet.") and k != _DIGEST}
    h = hashlib.sha256(json.dumps([table, own], sort_keys=True, separators=(",", ":")).encode("utf-8"))
    h.update(data)
    return h.hexdigest()


def nonfinite_tensors(state_dict) -> dict[str, str]:
    """``{name: "3 NaN, 1 inf"}`` for every floating tensor of ``state_dict`` holding NaN or infinity.

    >>> nonfinite_tensors({"w": np.array([1.0, np.nan, np.inf]), "n": np.array(3)})
    {'w': '1 NaN, 1 inf'}
    """
    out = {}
    for key, value in state_dict.items():
        a = np.asarray(value)
        if a.dtype.kind != "f" or np.isfinite(a).all():
            continue
        n_nan = int(np.count_nonzero(np.isnan(a)))
        n_inf = int(np.count_nonzero(np.isinf(a)))
        out[key] = ", ".join(p for p in (f"{n_nan} NaN" * bool(n_nan), f"{n_inf} inf" * bool(n_inf)) if p)
    return out


def load_weights(path) -> OrderedDict:
    """Read a safetensors file into an ``OrderedDict`` of NumPy arrays (saved order when known).

    A missing, truncated or corrupt file, or one that is not safetensors,
    raises :class:`GlassnetIOError` naming the file and the problem.
    """
    return _read(path)[0]


def load_metadata(path) -> dict[str, str]:
    """The ``metadata`` strings of a safetensors file (glassnet's own bookkeeping left out)."""
    return {k: v for k, v in _read(path)[1].items() if k not in (_KEYS, _DIGEST)}


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


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError as e:
        raise GlassnetIOError(f"{path}: no such file") from e
    except OSError as e:
        raise GlassnetIOError(f"{path}: cannot read ({e.strerror})") from e


def _parse_header(path: str, raw: bytes) -> tuple[dict, int]:
    """(header table, start of the tensor bytes): the safetensors framing checked by us, for messages
    that say what is wrong."""
    size = len(raw)
    if size < 8:
        raise GlassnetIOError(f"{path}: not a safetensors file ({size} bytes, shorter than the 8-byte header size)")
    n = struct.unpack("<Q", raw[:8])[0]
    if n > _MAX_HEADER:
        raise GlassnetIOError(f"{path}: not a safetensors file (its first 8 bytes do not encode a header size)")
    if n > size - 8:
        raise GlassnetIOError(f"{path}: truncated (header of {n} bytes, but only {size - 8} bytes follow)")
    try:
        table = json.loads(raw[8:8 + n].decode("utf-8"))
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
    return table, 8 + n


def _read(path) -> tuple[OrderedDict, dict]:
    """(arrays in saved order, metadata) of a safetensors file; its digest checked when it has one."""
    path = os.fspath(path)
    raw = _read_file(path)
    table, start = _parse_header(path, raw)
    metadata = table.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise GlassnetIOError(f"{path}: corrupt safetensors header (__metadata__ is not an object)")
    digest = metadata.get(_DIGEST)
    if digest is not None and _digest(table, metadata, memoryview(raw)[start:]) != digest:
        raise GlassnetIOError(f"{path}: damaged file (its tensors do not match the SHA-256 digest stored in it)")
    for key, entry in table.items():
        code = entry.get("dtype") if isinstance(entry, dict) else None
        if code not in _CODES.values() and isinstance(code, str) and code.startswith(("BF", "F8", "F6", "F4", "C")):
            raise GlassnetIOError(f"{path}: tensor '{key}' has a dtype NumPy cannot hold ({code}); "
                                  "convert it to float32 before saving")
    import safetensors.numpy

    try:
        arrays = safetensors.numpy.load(raw)
    except Exception as e:  # safetensors raises its own error types
        raise GlassnetIOError(f"{path}: corrupt safetensors file ({e})") from e
    order = list(arrays)
    if _KEYS in metadata:
        try:
            saved = json.loads(metadata[_KEYS])
        except (json.JSONDecodeError, TypeError):
            saved = None
        if isinstance(saved, list) and sorted(map(str, saved)) == sorted(order):
            order = saved
    return OrderedDict((k, arrays[k]) for k in order), metadata


# ---------------------------------------------------------------------------- optimizer state
def save_optimizer(path, optimizer) -> None:
    """Save ``optimizer.state_dict()``: arrays as tensors ``state.<index>.<name>``, the rest as JSON metadata."""
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
    atomic_write_bytes(path, encode_safetensors(data, meta))


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
