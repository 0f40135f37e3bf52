"""``glassnet explain``: the lecture's derivations, generated from the layers' code and checked.

Sub-commands (each takes ``--format text|latex|markdown``)::

    glassnet explain conv   --input 3x3 --kernel 2x2 [--stride S] [--padding P] [--channels C] [--bias]
    glassnet explain pool   --kind max|avg --input 4x4 --size 2 [--stride S] [--padding P] [--seed N]
    glassnet explain params --input 100x100x3 --filters 10 --kernel 3 [--stride S] [--padding P] [--no-bias]
    glassnet explain dense  --layers 4,3,2 [--activation g|relu|sigmoid|tanh]

Sizes are ``HxW`` (or one number for a square). SymPy is imported only when
the command runs; without it the command says how to install it, in one
line. The exit status is 1 if one of the explanation's own checks failed
(which would be a bug in glassnet).
"""

from __future__ import annotations

import argparse
import sys

from .options import SEED, CLIError, integer

FORMATS = ("text", "latex", "markdown")


def register(subparsers) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    p = subparsers.add_parser(
        "explain",
        help="print a layer's forward and backward derivation (symbolic, checked against the layers)",
        description="Print the lecture's derivations, generated from glassnet's own layer code and checked.",
    )
    sub = p.add_subparsers(dest="topic", metavar="TOPIC", required=True)

    c = sub.add_parser("conv", parents=[common], help="convolution: forward, dJ/dF, dJ/dX, the compact rules")
    c.add_argument("--input", type=size(), default=(3, 3), help="input size HxW (default 3x3)")
    c.add_argument("--kernel", type=size(), default=(2, 2), help="kernel size KxK (default 2x2)")
    c.add_argument("--stride", type=size(), default=(1, 1), help="stride S or SHxSW (default 1)")
    c.add_argument("--padding", type=size(low=0), default=(0, 0),
                   help="zero padding on each side, P or PHxPW (default 0)")
    c.add_argument("--channels", type=integer(1), default=1, help="input channels (default 1)")
    c.add_argument("--bias", action="store_true", help="add the filter's bias b")
    c.set_defaults(func=run_conv)

    q = sub.add_parser("pool", parents=[common], help="max / average pooling: forward and backward routing")
    q.add_argument("--kind", choices=("max", "avg"), default="max", help="max or avg (default max)")
    q.add_argument("--input", type=size(), default=(4, 4), help="input size HxW (default 4x4)")
    q.add_argument("--size", type=size(), default=(2, 2), help="window size (default 2)")
    q.add_argument("--stride", type=size(), default=None, help="stride (default: the window size)")
    q.add_argument("--padding", type=size(low=0), default=(0, 0), help="padding on each side (default 0)")
    q.add_argument("--seed", type=SEED, default=0, help="seed of the worked max-pooling example (default 0)")
    q.set_defaults(func=run_pool)

    r = sub.add_parser("params", parents=[common], help="a convolution layer's parameter count vs a dense layer's")
    r.add_argument("--input", type=size(3), default=(100, 100, 3), help="input HxWxC (default 100x100x3)")
    r.add_argument("--filters", type=integer(1), default=10, help="number of filters (default 10)")
    r.add_argument("--kernel", type=size(), default=(3, 3), help="kernel size (default 3)")
    r.add_argument("--stride", type=size(), default=(1, 1), help="stride (default 1)")
    r.add_argument("--padding", type=size(low=0), default=(0, 0), help="zero padding on each side (default 0)")
    r.add_argument("--no-bias", dest="bias", action="store_false", help="filters without a bias")
    r.set_defaults(func=run_params)

    d = sub.add_parser("dense", parents=[common], help="a small dense network's forward and backward equations")
    d.add_argument("--layers", type=layer_sizes, default=(4, 3, 2),
                   help="units per layer n[0],n[1],...,n[L] (default 4,3,2)")
    d.add_argument(
        "--activation",
        choices=("g", "relu", "sigmoid", "tanh"),
        default="g",
        help="activation; g keeps it abstract (default)",
    )
    d.set_defaults(func=run_dense)


def size(dims: int = 2, low: int = 1):
    """An argparse ``type``: :func:`parse_size` with every number ``>= low``."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            values = parse_size(text, "value", dims)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {dims} whole numbers like {'x'.join(['3'] * dims)}"
                                             f"{' (or one)' if dims == 2 else ''}, got {text!r}") from None
        if min(values) < low:
            raise argparse.ArgumentTypeError(f"every size must be >= {low}, got {text!r}")
        return values

    parse.__name__ = "size"
    parse.bounds = (low, None)
    return parse


def layer_sizes(text: str) -> tuple[int, ...]:
    """An argparse ``type`` for ``--layers 4,3,2``: at least two whole numbers >= 1."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) < 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be two or more whole numbers >= 1 separated by commas like 4,3,2, "
                                         f"got {text!r}")
    return values


layer_sizes.bounds = (1, None)


def parse_size(text: str, name: str, dims: int = 2) -> tuple[int, ...]:
    """``"3x3"`` -> (3, 3); for ``dims=2`` a single number means a square.

    >>> parse_size("3x2", "--input"), parse_size("5", "--kernel"), parse_size("100x100x3", "--input", 3)
    ((3, 2), (5, 5), (100, 100, 3))
    """
    parts = str(text).lower().replace("×", "x").split("x")
    if len(parts) == 1 and dims == 2:
        parts = parts * 2
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != dims:
        example = "x".join(["3"] * dims)
        raise ValueError(f"{name} must be {dims} whole numbers like {example}, got {text!r}")
    return values


def _explain():
    """``glassnet.explain``, imported only now (it imports SymPy); a one-line error without SymPy."""
    try:
        from .. import explain
    except ImportError as e:
        raise CLIError(str(e)) from None
    return explain


def _emit(ex, args) -> int:
    sys.stdout.write(ex.render(args.format))
    failed = [what for what, ok in ex.checks.items() if not ok]
    for what in failed:
        print(f"glassnet explain: warning: a check failed (a glassnet bug): {what}", file=sys.stderr)
    return 1 if failed else 0


def run_conv(args) -> int:
    E = _explain()
    return _emit(E.conv(args.input, args.kernel, args.stride, args.padding, args.channels, args.bias), args)


def run_pool(args) -> int:
    E = _explain()
    return _emit(E.pool(args.kind, args.input, args.size, args.stride, args.padding, args.seed), args)


def run_params(args) -> int:
    E = _explain()
    return _emit(E.params(args.input, args.filters, args.kernel, args.stride, args.padding, args.bias), args)


def run_dense(args) -> int:
    E = _explain()
    return _emit(E.dense(args.layers, args.activation), args)
