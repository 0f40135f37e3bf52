"""Helpers of the explorer tests (a plain module: conftest.py names clash between test folders)."""

import threading


def serve(app):
    """Start ``app`` on a free port of 127.0.0.1 in a thread; returns (server, base URL)."""
    from glassnet.explore.server import make_server

    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{app.port}"


def explorer_of(*argv):
    """The explorer ``glassnet explore ARGV...`` would serve (the command line's checks and loading)."""
    from glassnet.cli import build_parser
    from glassnet.cli.explore import _check, open_explorer

    args = build_parser().parse_args(["explore", *map(str, argv)])
    _check(args)
    return open_explorer(args)
