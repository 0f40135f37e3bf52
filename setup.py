"""The one compiled part of glassnet: the optional direct-convolution kernels (issue #16).

Everything else is in pyproject.toml. ``optional=True``: where no C compiler is
present the build goes on without the kernels and glassnet runs its NumPy paths
(``glassnet.nn.functional.fast.direct.AVAILABLE`` says which).
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-Wno-psabi"]
setup(
    ext_modules=[
        Extension(
            "glassnet.nn.functional.fast._direct",
            ["src/glassnet/nn/functional/fast/_direct.c"],
            depends=["src/glassnet/nn/functional/fast/_direct_body.h"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
