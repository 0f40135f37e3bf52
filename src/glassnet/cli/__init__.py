"""The ``glassnet`` command (also ``python -m glassnet``).

Each sub-command lives in its own module here with two functions:
``register(subparsers)`` adds its parser (and sets ``func`` on it), and the
handler it sets runs it and returns an exit status. Errors the user can fix
are printed as one line (``glassnet: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from .._process import tune_process
from .._version import __version__
from . import evaluate, explain, explore, export, predict, report, summary, train, visualize
from .options import CLIError

COMMANDS = ["train", "evaluate", "predict", "summary", "explain", "visualize", "report", "export", "explore"]
_MODULES = {"train": train, "evaluate": evaluate, "predict": predict, "summary": summary, "explain": explain,
            "visualize": visualize, "report": report, "export": export, "explore": explore}


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors in one line: ``glassnet CMD: error: ... (see glassnet CMD --help)``, status 2."""

    def error(self, message):
        command = " ".join(self.prog.split()[:2])  # "glassnet explain conv" -> "glassnet explain", as main() says
        self.exit(2, f"{command}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="glassnet",
        description="glassnet: a glass-box deep-learning library (NumPy CNNs, checked against PyTorch).",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        _MODULES[name].register(sub)
    return parser


def run() -> int:
    """The ``glassnet`` program: its process is glassnet's own, so it takes the process-wide tuning
    (:func:`glassnet.tune_process`) that ``import glassnet`` never does; ``GLASSNET_TUNE=0`` declines it."""
    if os.environ.get("GLASSNET_TUNE", "1") != "0":
        tune_process()
    return main()


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error argparse printed in one line (status 2)
        return e.code if isinstance(e.code, int) else 2
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
