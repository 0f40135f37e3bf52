"""The explorer's HTTP side: routes, security checks, and a standard-library server.

Why the standard library (``http.server.ThreadingHTTPServer``) and not Starlette: the explorer is a
local, single-user page with a dozen GET endpoints and one upload; the standard library serves that
with no dependency to pin, and :class:`App` stays a plain function of (method, target, headers, body)
that the tests call directly. Nothing here is imported by ``import glassnet``.

Security (it is a server, however local):

* it binds 127.0.0.1 unless told otherwise;
* every request must carry ``Host: <bound address>:<port>`` (or ``localhost:<port>`` on a loopback
  bind), so a page on another domain that rebinds its DNS to 127.0.0.1 gets 403 (DNS rebinding);
  a POST with an ``Origin`` from elsewhere gets 403 too;
* it serves its own assets from a table read at start (names, not paths: nothing the browser sends is
  ever joined to a file-system path) and the numbers of the one run or model it was started on;
* uploads are bounded (:data:`~glassnet.explore.images.MAX_BYTES`) and decoded as images only;
* a bad request gets a 4xx with a one-line JSON ``{"error": ...}``; an unexpected failure a 500, and
  the server goes on serving.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import traceback
import webbrowser
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from .images import MAX_BYTES, ImageError

ASSET_NAME = re.compile(r"^[a-z][a-z0-9_-]*\.(js|css)$")
TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


def load_assets() -> dict:
    """``{file name: bytes}`` of the front end (``glassnet/explore/static``), read once."""
    folder = resources.files("glassnet.explore") / "static"
    return {p.name: p.read_bytes() for p in folder.iterdir() if ASSET_NAME.match(p.name)}


def index_html(import_map: dict, head: str = "", body_end: str = "") -> str:
    """The page: ``static/index.html`` with the import map (and, for an export, inline assets) filled in."""
    page = (resources.files("glassnet.explore") / "static" / "index.html").read_text(encoding="utf-8")
    imap = json.dumps({"imports": import_map}, indent=1, sort_keys=True)
    return page.replace("<!--IMPORTMAP-->", f'<script type="importmap">{imap}</script>').replace(
        "<!--HEAD-->", head).replace("<!--BODY-END-->", body_end)


def server_page(assets: dict) -> tuple[str, str]:
    """(HTML, the CSP hash of its inline import map) for the served page."""
    imports = {f"explore/{n}": f"/static/{n}" for n in sorted(assets) if n.endswith(".js")}
    head = '<link rel="stylesheet" href="/static/style.css">'
    body = '<script type="module" src="/static/main.js"></script>'
    html = index_html(imports, head, body)
    imap = html.split('<script type="importmap">', 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(imap.encode()).digest()).decode()
    return html, f"'sha256-{digest}'"


def api_key(name: str, params: dict) -> str:
    """The key of a response in an export: ``name?k=v&...`` with the non-empty parameters, sorted."""
    items = sorted((k, str(v)) for k, v in params.items() if v is not None and v != "")
    return name + ("?" + "&".join(f"{k}={v}" for k, v in items) if items else "")


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)


def _one(query: dict, name: str, default=None):
    values = query.get(name)
    if not values:
        return default
    if len(values) > 1:
        raise HTTPError(400, f"parameter {name!r} given more than once")
    return values[0]


def _int(query, name, default=None):
    v = _one(query, name)
    if v is None:
        if default is None:
            raise HTTPError(400, f"missing parameter {name!r}")
        return default
    try:
        return int(v)
    except ValueError:
        raise HTTPError(400, f"parameter {name!r} must be an integer, got {v!r}") from None


def _epoch(query):
    v = _one(query, "epoch")
    if v in (None, "", "final"):
        return None
    try:
        return int(v)
    except ValueError:
        raise HTTPError(400, f"parameter 'epoch' must be an integer or 'final', got {v!r}") from None


class App:
    """Routes requests to an :class:`~glassnet.explore.compute.Explorer`; ``handle`` never raises."""

    def __init__(self, explorer, host: str = "127.0.0.1", port: int = 0):
        self.explorer = explorer
        self.assets = load_assets()
        self.page, self.imap_hash = server_page(self.assets)
        self.bind(host, port)

    def bind(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        names = {host}
        if host in ("127.0.0.1", "::1", "localhost"):
            names |= {"127.0.0.1", "localhost", "[::1]"}
        self.allowed_hosts = {f"{h}:{port}" for h in names}
        self.origins = {f"http://{h}" for h in self.allowed_hosts}

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, target: str, headers: dict, body: bytes = b"") -> Response:
        try:
            return self._route(method, target, {k.lower(): v for k, v in headers.items()}, body)
        except HTTPError as e:
            return self._json({"error": str(e)}, e.status)
        except ImageError as e:
            return self._json({"error": f"upload refused: {e}"}, 400)
        except (ValueError, KeyError, IndexError) as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            return self._json({"error": str(msg)}, 400)
        except Exception as e:  # noqa: BLE001 - a bad request must never stop the server
            traceback.print_exc(file=sys.stderr)
            return self._json({"error": f"internal error: {type(e).__name__}: {e}"}, 500)

    def _json(self, obj, status=200) -> Response:
        return Response(status, json.dumps(obj, separators=(",", ":"), allow_nan=False).encode())

    def _route(self, method, target, headers, body) -> Response:
        host = headers.get("host", "")
        if host not in self.allowed_hosts:
            raise HTTPError(403, f"Host {host!r} refused: this server answers only {self.host}:{self.port}")
        if method not in ("GET", "HEAD", "POST"):
            raise HTTPError(405, f"method {method} not allowed")
        parts = urlsplit(target)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True, max_num_fields=32)
        if method == "POST":
            origin = headers.get("origin")
            if origin is not None and origin not in self.origins:
                raise HTTPError(403, f"Origin {origin!r} refused")
            if path != "/api/upload":
                raise HTTPError(405, "POST goes to /api/upload only")
            return self._json(self.explorer.upload(body, _one(query, "kind", "image")))
        if path in ("/", "/index.html"):
            csp = (f"default-src 'self'; script-src 'self' {self.imap_hash}; style-src 'self' 'unsafe-inline'; "
                   "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'")
            return Response(200, self.page.encode(), "text/html; charset=utf-8", {"Content-Security-Policy": csp})
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name not in self.assets:
                raise HTTPError(404, "no such asset")
            return Response(200, self.assets[name], TYPES[name.rsplit(".", 1)[1]])
        if path.startswith("/api/"):
            return self._json(self.api(path[len("/api/"):], query))
        raise HTTPError(404, "not found")

    def api(self, name: str, query: dict):
        """The JSON of endpoint ``name``; also what :mod:`.export` precomputes."""
        e = self.explorer
        spec = _one(query, "input") or e.source.default_input()
        epoch = _epoch(query)
        if name == "info":
            return e.info()
        if name == "inputs":
            cls = _one(query, "class")
            return e.inputs(_one(query, "which", "all"), None if cls in (None, "") else _int(query, "class"),
                            _int(query, "limit", 60))
        if name == "forward":
            return e.forward(spec, epoch)
        if name == "activation":
            return e.activation(spec, self._layer(query), epoch, _int(query, "start", 0), _int(query, "count", 64))
        if name == "detail":
            return e.detail(spec, self._layer(query), _int(query, "c"), _int(query, "y", 0), _int(query, "x", 0),
                            epoch)
        if name == "backward":
            return e.backward(spec, _int(query, "target"), epoch)
        if name == "gradient":
            return e.gradient(spec, _int(query, "target"), self._layer(query), epoch, _int(query, "start", 0),
                              _int(query, "count", 64))
        if name == "wgrad":
            return e.weight_gradient(spec, _int(query, "target"), self._layer(query), _int(query, "co", 0),
                                     _int(query, "ci", 0), _int(query, "p", 0), _int(query, "q", 0), epoch)
        if name == "filters":
            return e.filters(self._layer(query), epoch, _int(query, "start", 0), _int(query, "count", 64))
        if name == "attribution":
            t = _one(query, "target")
            return e.attribution(spec, None if t in (None, "") else _int(query, "target"), _one(query, "layer"),
                                 epoch)
        raise HTTPError(404, f"no endpoint {name!r}")

    @staticmethod
    def _layer(query):
        layer = _one(query, "layer")
        if not layer:
            raise HTTPError(400, "missing parameter 'layer'")
        return layer


# ---------------------------------------------------------------------------- the socket side
def make_server(app: App, host: str = "127.0.0.1", port: int = 0):
    """A ``ThreadingHTTPServer`` bound to (host, port) serving ``app`` (port 0: any free port)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "glassnet-explore"
        protocol_version = "HTTP/1.1"

        def _serve(self):
            body = b""
            if self.command == "POST":
                try:
                    n = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    return self._send(Response(411, b'{"error":"Content-Length required"}'), close=True)
                if n < 0 or n > MAX_BYTES:
                    msg = json.dumps({"error": f"upload refused: {n:,} bytes; the limit is {MAX_BYTES:,}"})
                    return self._send(Response(413, msg.encode()), close=True)
                body = self.rfile.read(n)
            self._send(app.handle(self.command, self.path, dict(self.headers.items()), body))

        def _send(self, r: Response, close: bool = False):
            self.send_response(r.status)
            self.send_header("Content-Type", r.content_type)
            self.send_header("Content-Length", str(len(r.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            for k, v in r.headers.items():
                self.send_header(k, v)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(r.body)

        do_GET = do_POST = do_HEAD = _serve

        def do_PUT(self):  # noqa: N802
            self._send(app.handle("PUT", self.path, dict(self.headers.items())))

        do_DELETE = do_PATCH = do_OPTIONS = do_PUT

        def log_message(self, format, *args):  # quiet: the terminal shows the URL, not every request
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    app.bind(host, server.server_address[1])
    return server


def serve(app: App, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> int:
    """Serve ``app`` until Ctrl-C: the first pass is computed first, then the URL is printed (and opened)."""
    app.explorer.info()  # the first pass now, so that the page's first request is quick and errors show here
    server = make_server(app, host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{app.port}/"
    print(f"glassnet explore: {app.explorer.source.title} at {url}  (Ctrl-C stops)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"glassnet explore: warning: bound to {host}: other machines can reach this page", file=sys.stderr)
    if open_browser:

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("glassnet explore: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
