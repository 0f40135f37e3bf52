"""glassnet's optional C kernels: whether they were built, and the switch that turns them off.

``_kernels.c`` (the direct convolutions of ``_conv_kernels.h``) is compiled
by ``setup.py`` where a C compiler is present; without one the installation
goes on and the NumPy fast paths run instead, with the same results.
:mod:`.conv` asks :func:`active` before :mod:`.direct` uses :data:`kernels`;
the tests run both ways.

``GLASSNET_COMPILED=0`` in the environment (or :data:`ENABLED` = False)
switches the kernels off.

>>> isinstance(AVAILABLE, bool)
True
"""

from __future__ import annotations

import os

try:
    from . import _kernels as kernels
except ImportError:  # built without a C compiler: the NumPy paths run instead
    kernels = None

AVAILABLE = kernels is not None
"""Whether the C kernels were built with this installation."""

ENABLED = os.environ.get("GLASSNET_COMPILED", "1") != "0"
"""False: never use the C kernels (the NumPy paths run; the tests turn this both ways)."""


def active() -> bool:
    """True when the C kernels are built and switched on."""
    return AVAILABLE and ENABLED
