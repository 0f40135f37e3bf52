"""The one compiled part of glassnet: its optional C kernels, the direct convolutions (issue #16).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is
present the build goes on without the kernels and glassnet runs its NumPy paths
(``glassnet.nn.functional.fast.compiled.AVAILABLE`` says which).
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-Wno-psabi"]
setup(
    ext_modules=[
        Extension(
            "glassnet.nn.functional.fast._kernels",
            ["src/glassnet/nn/functional/fast/_kernels.c"],
            depends=["src/glassnet/nn/functional/fast/_conv_kernels.h"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
