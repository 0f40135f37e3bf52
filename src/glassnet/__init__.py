"""glassnet: a glass-box deep-learning library.

Every layer's forward and backward pass is written out by hand in NumPy,
next to the formula it implements, and checked against PyTorch.

``import glassnet`` loads NumPy and nothing else heavy; training, plotting,
file I/O and the symbolic explanations import their extras lazily.
"""

import os as _os

from . import backend, nn
from ._process import tune_process
from ._threads import get_num_threads, set_num_threads
from ._version import __version__
from .backend import get_default_dtype, manual_seed, set_default_dtype
from .nn.module import enable_grad, no_grad

__all__ = [
    "backend", "nn", "manual_seed", "get_default_dtype", "set_default_dtype", "no_grad", "enable_grad",
    "gradcheck", "summary", "set_num_threads", "get_num_threads", "tune_process", "__version__",
]


_env_malloc = _os.environ.get("GLASSNET_MALLOC_TUNE") == "1"
_env_switch = _os.environ.get("GLASSNET_SWITCH_INTERVAL_TUNE") == "1"
if _env_malloc or _env_switch:  # the user's explicit choice, through the environment
    tune_process(_env_malloc, _env_switch)


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
