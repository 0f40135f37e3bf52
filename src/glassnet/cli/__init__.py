"""The ``glassnet`` command (also ``python -m glassnet``).

Each sub-command lives in its own module here with two functions:
``register(subparsers)`` adds its parser (and sets ``func`` on it), and the
handler it sets runs it and returns an exit status. Errors the user can fix
are printed as one line (``glassnet: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import tune_process

COMMANDS = ["train", "evaluate", "predict", "summary", "explain", "visualize", "report", "export", "explore"]


class CLIError(Exception):
    """An error the user can act on; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="glassnet: a glass-box deep-learning library (NumPy CNNs, checked against PyTorch).",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def run() -> int:
    """The ``glassnet`` program: its process is glassnet's own, so it takes the process-wide tuning
    (:func:`glassnet.tune_process`) that ``import glassnet`` never does; ``GLASSNET_TUNE=0`` declines it."""
    if os.environ.get("GLASSNET_TUNE", "1") != "0":
        tune_process()
    return main()


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, OSError, KeyError, FloatingPointError, ImportError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"glassnet {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
