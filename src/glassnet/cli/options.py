"""What every sub-command shares: the one-line error type, range-checked numeric options, ``--arg KEY=VALUE``.

Every numeric option of ``glassnet`` is declared with :func:`integer` or
:func:`number`, so argparse itself refuses a value out of range, in one line
naming the option, with exit status 2::

    glassnet train: error: argument --epochs: must be an integer >= 1, got '0'

>>> integer(1)("3"), number(0, 1, high_open=True)("0.25")
(3, 0.25)
>>> integer(1)("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be an integer >= 1, got '0'
>>> number(0, low_open=True)("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: must be a finite number > 0, got 'nan'
"""

from __future__ import annotations

import argparse
import ast
import math

from .. import backend

DATA_WORDS = {"download": "Add --download to fetch them", "root": "or name their directory with --data-dir DIR"}
"""How data-set errors name their remedies on the command line (see :class:`glassnet.data.DatasetNotFoundError`)."""


class CLIError(Exception):
    """An error the user can act on; printed as one line, exit status 2."""


def _bounds(low, high, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts)


def _in_range(v, low, high, low_open, high_open) -> bool:
    if low is not None and (v < low or (low_open and v == low)):
        return False
    return not (high is not None and (v > high or (high_open and v == high)))


def integer(low: int | None = None, high: int | None = None):
    """An argparse ``type``: an int in ``[low, high]`` (either bound may be None)."""

    def parse(text: str) -> int:
        want = f"an integer {_bounds(low, high, False, False)}".rstrip()
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if not _in_range(v, low, high, False, False):
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return v

    parse.__name__ = "integer"  # argparse names the type in some messages
    parse.bounds = (low, high)
    return parse


def number(low: float | None = None, high: float | None = None, *, low_open: bool = False, high_open: bool = False):
    """An argparse ``type``: a finite float between ``low`` and ``high`` (open ends excluded)."""

    def parse(text: str) -> float:
        want = f"a finite number {_bounds(low, high, low_open, high_open)}".rstrip()
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if not math.isfinite(v) or not _in_range(v, low, high, low_open, high_open):
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return v

    parse.__name__ = "number"
    parse.bounds = (low, high)
    return parse


SEED = integer(0, 2**32 - 1)
"""Seeds: what NumPy's generators take everywhere."""


def model_args(items, example: str = "width=0.5") -> dict:
    """``["width=0.5", "paper=True"]`` -> ``{"width": 0.5, "paper": True}`` (Python literals, else strings)."""
    kw = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise CLIError(f"--arg expects KEY=VALUE (e.g. {example}), got {item!r}")
        try:
            kw[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kw[key] = value
    return kw


def add_device(parser) -> None:
    """``--device cpu|cuda``: where the model computes (cuda: CuPy on an NVIDIA GPU, the ``gpu`` extra)."""
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where the model computes: cpu (default) or cuda (CuPy on an NVIDIA GPU; "
                             "pip install 'glassnet[gpu]')")


def check_device(device: str) -> str:
    """``device`` if it can be used; a missing CuPy or GPU is one line (``CLIError``) naming what to install."""
    if device != "cpu":
        try:
            backend.require_cupy(device)
        except RuntimeError as e:
            raise CLIError(f"--device {device}: {e}") from None
    return device


def on_device(model, device: str):
    """``model.to(device)`` after :func:`check_device`."""
    return model if check_device(device) == "cpu" else model.to(device)
