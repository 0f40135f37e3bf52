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
    c.add_argument("--input", default="3x3", help="input size HxW (default 3x3)")
    c.add_argument("--kernel", default="2x2", help="kernel size KxK (default 2x2)")
    c.add_argument("--stride", default="1", help="stride S or SHxSW (default 1)")
    c.add_argument("--padding", default="0", help="zero padding on each side, P or PHxPW (default 0)")
    c.add_argument("--channels", type=int, default=1, help="input channels (default 1)")
    c.add_argument("--bias", action="store_true", help="add the filter's bias b")
    c.set_defaults(func=run_conv)

    q = sub.add_parser("pool", parents=[common], help="max / average pooling: forward and backward routing")
    q.add_argument("--kind", choices=("max", "avg"), default="max", help="max or avg (default max)")
    q.add_argument("--input", default="4x4", help="input size HxW (default 4x4)")
    q.add_argument("--size", default="2", help="window size (default 2)")
    q.add_argument("--stride", default=None, help="stride (default: the window size)")
    q.add_argument("--padding", default="0", help="padding on each side (default 0)")
    q.add_argument("--seed", type=int, default=0, help="seed of the worked max-pooling example (default 0)")
    q.set_defaults(func=run_pool)

    r = sub.add_parser("params", parents=[common], help="a convolution layer's parameter count vs a dense layer's")
    r.add_argument("--input", default="100x100x3", help="input HxWxC (default 100x100x3)")
    r.add_argument("--filters", type=int, default=10, help="number of filters (default 10)")
    r.add_argument("--kernel", default="3", help="kernel size (default 3)")
    r.add_argument("--stride", default="1", help="stride (default 1)")
    r.add_argument("--padding", default="0", help="zero padding on each side (default 0)")
    r.add_argument("--no-bias", dest="bias", action="store_false", help="filters without a bias")
    r.set_defaults(func=run_params)

    d = sub.add_parser("dense", parents=[common], help="a small dense network's forward and backward equations")
    d.add_argument("--layers", default="4,3,2", help="units per layer n[0],n[1],...,n[L] (default 4,3,2)")
    d.add_argument(
        "--activation",
        choices=("g", "relu", "sigmoid", "tanh"),
        default="g",
        help="activation; g keeps it abstract (default)",
    )
    d.set_defaults(func=run_dense)


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
    from . import CLIError

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
    ex = E.conv(
        parse_size(args.input, "--input"),
        parse_size(args.kernel, "--kernel"),
        parse_size(args.stride, "--stride"),
        parse_size(args.padding, "--padding"),
        args.channels,
        args.bias,
    )
    return _emit(ex, args)


def run_pool(args) -> int:
    E = _explain()
    stride = None if args.stride is None else parse_size(args.stride, "--stride")
    ex = E.pool(
        args.kind,
        parse_size(args.input, "--input"),
        parse_size(args.size, "--size"),
        stride,
        parse_size(args.padding, "--padding"),
        args.seed,
    )
    return _emit(ex, args)


def run_params(args) -> int:
    E = _explain()
    ex = E.params(
        parse_size(args.input, "--input", 3),
        args.filters,
        parse_size(args.kernel, "--kernel"),
        parse_size(args.stride, "--stride"),
        parse_size(args.padding, "--padding"),
        args.bias,
    )
    return _emit(ex, args)


def run_dense(args) -> int:
    E = _explain()
    try:
        layers = tuple(int(v) for v in args.layers.split(","))
    except ValueError:
        raise ValueError(
            f"--layers must be whole numbers separated by commas like 4,3,2, got {args.layers!r}"
        ) from None
    return _emit(E.dense(layers, args.activation), args)
