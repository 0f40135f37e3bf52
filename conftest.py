"""Root pytest configuration: doctests of optional parts run only when their extra is installed."""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("sympy") is None:  # glassnet[explain]
    collect_ignore_glob += ["src/glassnet/explain/*", "tests/explain/*"]
if importlib.util.find_spec("matplotlib") is None:  # glassnet[train]
    collect_ignore_glob += ["src/glassnet/viz/*", "tests/viz/*"]
if importlib.util.find_spec("PIL") is None or importlib.util.find_spec("safetensors") is None:  # glassnet[explore]
    collect_ignore_glob += ["tests/explore/*"]
