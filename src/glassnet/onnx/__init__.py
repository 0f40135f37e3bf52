"""ONNX files: export any glassnet model, load ONNX models as glassnet modules.

* :func:`export` writes ``model`` as an ONNX graph built from its module tree
  (``Sequential`` chains, ``Concat`` branches, ``Residual`` adds), weights as
  initializers, with metadata (producer, input normalisation, class names).
* :func:`load` reads an ONNX file (glassnet's own, or PyTorch's
  ``torch.onnx.export``) back into ``Sequential``/``Concat``/``Residual``
  containers of glassnet layers, so it can be inspected, fine-tuned, explained.
* :func:`read_metadata` returns a file's metadata without building the model.

The op table, the conventions that differ between glassnet (PyTorch) and ONNX,
and the limits are in ``docs/onnx.md``. The ``onnx`` package (and
``onnxruntime`` for running the files) comes with the ``onnx`` extra:
``pip install 'glassnet[onnx]'``; importing :mod:`glassnet` or this package
does not import it, the functions do.
"""

from __future__ import annotations

from .errors import OnnxError
from .exporter import export as _export
from .loader import load as _load
from .loader import read_metadata as _read

__all__ = ["export", "load", "read_metadata", "OnnxError"]


def export(model, path, input_shape=None, opset: int = 17, dynamic_batch: bool = True, metadata=None):
    """Write ``model`` to the ONNX file ``path`` (atomically); see :func:`glassnet.onnx.exporter.export`."""

    return _export(model, path, input_shape=input_shape, opset=opset, dynamic_batch=dynamic_batch,
                   metadata=metadata)


def load(path):
    """Build a glassnet module from the ONNX file ``path``; see :func:`glassnet.onnx.loader.load`."""

    return _load(path)


def read_metadata(path) -> dict:
    """The metadata of an ONNX file (JSON entries decoded); see :func:`glassnet.onnx.loader.read_metadata`."""

    return _read(path)
