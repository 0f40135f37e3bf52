"""glassnet: a glass-box deep-learning library.

Every layer's forward and backward pass is written out by hand in NumPy,
next to the formula it implements, and checked against PyTorch.

``import glassnet`` loads NumPy and nothing else heavy; training, plotting,
file I/O and the symbolic explanations import their extras lazily.
"""

from . import backend, nn
from .backend import get_default_dtype, manual_seed, set_default_dtype
from .nn.module import no_grad

__version__ = "0.1.0"

__all__ = ["backend", "nn", "manual_seed", "get_default_dtype", "set_default_dtype", "no_grad", "gradcheck", "summary"]


def __getattr__(name):
    # Lazy: keep `import glassnet` light.
    if name == "gradcheck":
        from .inspect.gradcheck import gradcheck

        return gradcheck
    if name == "summary":
        from .inspect.summary import summary

        return summary
    if name in ("models", "optim", "data", "io", "train", "viz", "explain", "inspect", "onnx"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute '{name}'")
