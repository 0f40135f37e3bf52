"""Helpers of the explorer tests (a plain module: conftest.py names clash between test folders)."""

import threading


def serve(app):
    """Start ``app`` on a free port of 127.0.0.1 in a thread; returns (server, base URL)."""
    from glassnet.explore.server import make_server

    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{app.port}"
