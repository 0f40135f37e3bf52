"""The explorer as a server: Host checks (DNS rebinding), no path to the file system, bounded uploads,
bad requests answered without stopping the server; and the page, its assets and the CLI."""

import http.client
import json
import socket
import subprocess
import sys

import pytest

HOST = {"Host": "127.0.0.1:8765"}


def test_page_and_assets(app):
    r = app.handle("GET", "/", HOST)
    page = r.body.decode()
    assert r.status == 200 and '<script type="importmap">' in page and "/static/main.js" in page
    assert app.imap_hash in r.headers["Content-Security-Policy"]
    for name in ("main.js", "api.js", "graph.js", "lecture.js", "style.css"):
        a = app.handle("GET", f"/static/{name}", HOST)
        assert a.status == 200 and a.body == app.assets[name]
    assert "http://" not in "".join(a.decode() for a in app.assets.values()).replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1:9999", "", "127.0.0.1", "localhost.evil.example:8765",
                                  "127.0.0.1:8765.evil.example"])
def test_foreign_host_header_is_refused(app, host):
    for target in ("/", "/api/info", "/static/main.js"):
        r = app.handle("GET", target, {"Host": host} if host else {})
        assert r.status == 403 and "refused" in json.loads(r.body)["error"]


def test_loopback_names_are_accepted(app):
    assert app.handle("GET", "/api/info", {"Host": "localhost:8765"}).status == 200


@pytest.mark.parametrize("target", [
    "/static/../__init__.py", "/static/..%2f__init__.py", "/static/%2e%2e/server.py", "/static/..%252fserver.py",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/etc/passwd", "/../../../../etc/passwd", "//etc/passwd",
    "/static/index.html", "/static/", "/static/server.py", "/api/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/static/C:%5cWindows%5cwin.ini", "/static/main.js/../../server.py", "/static/./main.js", "/favicon.ico",
])
def test_no_path_reaches_the_file_system(app, target):
    r = app.handle("GET", target, HOST)
    assert r.status == 404, (target, r.body[:80])
    assert b"root:" not in r.body and b"import" not in r.body


@pytest.mark.parametrize("target,message", [
    ("/api/forward?input=../../etc/passwd", "input must be test:N"),
    ("/api/forward?input=/etc/passwd", "input must be test:N"),
    ("/api/forward?input=test:99999", "out of range"),
    ("/api/forward?input=upload:0123456789abcdef", "no longer held"),
    ("/api/activation?input=test:0&layer=../etc", "unknown layer"),
    ("/api/activation?input=test:0", "missing parameter 'layer'"),
    ("/api/detail?input=test:0&layer=features.0&c=x", "must be an integer"),
    ("/api/detail?input=test:0&layer=features.0&c=99&y=0&x=0", "channel must be in 0..5"),
    ("/api/detail?input=test:0&layer=features.0&c=0&y=-1&x=0", "row must be in 0..27"),
    ("/api/backward?input=test:0&target=10", "target class must be in 0..9"),
    ("/api/forward?input=test:0&input=test:1", "more than once"),
    ("/api/forward?epoch=abc", "'epoch' must be"),
    ("/api/nothing", "no endpoint"),
    ("/api/wgrad?input=test:0&target=1&layer=features.1", "not a convolution"),
])
def test_bad_requests_get_a_clear_4xx(app, target, message):
    r = app.handle("GET", target, HOST)
    assert 400 <= r.status < 500 and message in json.loads(r.body)["error"], r.body


def test_methods_and_origins(app):
    assert app.handle("DELETE", "/api/info", HOST).status == 405
    assert app.handle("POST", "/api/info", HOST).status == 405
    r = app.handle("POST", "/api/upload?kind=image", {**HOST, "Origin": "http://evil.example"}, b"x")
    assert r.status == 403
    r = app.handle("POST", "/api/upload?kind=script", {**HOST, "Origin": "http://127.0.0.1:8765"}, b"x")
    assert r.status == 400 and "kind must be image or drawing" in json.loads(r.body)["error"]


def test_an_internal_failure_is_a_500_not_a_crash(app, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("simulated")

    monkeypatch.setattr(app.explorer, "info", boom)
    r = app.handle("GET", "/api/info", HOST)
    assert r.status == 500 and "simulated" in json.loads(r.body)["error"]


# ---------------------------------------------------------------------------- over a real socket
def _request(url, method, path, body=None, headers=None):
    host, port = url.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def test_live_server_survives_abuse(live):
    url, _ = live
    port = url.rsplit(":", 1)[1]
    assert _request(url, "GET", "/api/forward?input=test:0")[0] == 200
    assert _request(url, "GET", "/", headers={"Host": "rebind.example:" + port})[0] == 403
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:  # refused before the body is read
        s.sendall(f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 9000000\r\n\r\n".encode())
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413") and b"the limit is" in reply
    status, _ = _request(url, "POST", "/api/upload", body=b"not an image")
    assert status == 400
    for junk in (b"GARBAGE\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x00\xa5\x01"):
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as s:
            s.sendall(junk)
            s.settimeout(1)
            try:
                s.recv(1024)
            except OSError:
                pass
    status, data = _request(url, "GET", "/api/info")
    assert status == 200 and json.loads(data)["model"] == "lenet5"


def test_import_glassnet_does_not_load_the_server():
    code = ("import sys, glassnet, glassnet.nn, glassnet.models; "
            "print(sorted(m for m in ('http.server', 'glassnet.explore', 'starlette', 'uvicorn', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_errors(lenet_run, capsys):
    from glassnet.cli import main

    assert main(["explore"]) == 2
    assert "give RUN_DIR (or FILE.onnx) or --model NAME" in capsys.readouterr().err
    assert main(["explore", str(lenet_run), "--weights", "x.safetensors"]) == 2
    assert "--weights goes with --model" in capsys.readouterr().err
    assert main(["explore", str(lenet_run), "--dataset", "mnist"]) == 2
    assert "--dataset goes with --model or an .onnx file" in capsys.readouterr().err
    assert main(["explore", "--model", "lenet5", "--data-dir", "data"]) == 2
    assert "--data-dir goes with --dataset" in capsys.readouterr().err
    assert main(["explore", "--model", "lenet6", "--no-browser"]) == 2
    assert "unknown model 'lenet6'" in capsys.readouterr().err
    assert main(["explore", str(lenet_run.parent / "missing"), "--no-browser"]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert main(["explore", str(lenet_run), "--export", "x.html", "--inputs", "test:x"]) == 2
    assert "--inputs expects a list" in capsys.readouterr().err
    assert main(["explore", "--model", "net.onnx"]) == 2
    assert "glassnet explore net.onnx" in capsys.readouterr().err  # an ONNX file is the first argument
    assert main(["explore", str(lenet_run), "--host", "0.0.0.0"]) == 2
    assert "binds every address" in capsys.readouterr().err


def test_the_command_serves_until_stopped(lenet_run):
    """``glassnet explore RUN_DIR --port 0 --no-browser`` prints its URL, serves the page, stops on SIGINT."""
    import os
    import signal

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "glassnet", "explore", str(lenet_run), "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split(" at ", 1)[1].split()[0].rstrip("/")
        status, data = _request(url, "GET", "/api/info")
        assert status == 200 and json.loads(data)["epochs"] == [1, 2]
        status, data = _request(url, "GET", "/")
        assert status == 200 and b"glassnet explore" in data
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    assert "stopped" in proc.stderr.read()


def test_export_holds_the_page_and_the_numbers(lenet_run, tmp_path, capsys):
    from glassnet.cli import main

    out = tmp_path / "explorer.html"
    assert main(["explore", str(lenet_run), "--export", str(out), "--inputs", "test:0,test:8"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text()
    assert "/static/" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    data = json.loads(page.split('id="glassnet-export">', 1)[1].split("</script>", 1)[0])
    assert data["inputs"] == ["test:0", "test:8"]
    keys = data["responses"]
    assert "info" in keys and "forward?input=test:8" in keys
    assert "detail?c=0&input=test:0&layer=features.0&x=14&y=14" in keys
    assert "detail?c=0&input=test:0&layer=features.0&x=15&y=14" in keys  # a step of the window


def test_keep_epoch_weights_writes_one_file_per_epoch(lenet_run):
    from glassnet.explore.epochs import saved_epochs
    from glassnet.io import load_weights

    assert saved_epochs(lenet_run) == [1, 2]
    last = load_weights(lenet_run / "epochs" / "epoch-002.safetensors")
    final = load_weights(lenet_run / "model.safetensors")
    assert last.keys() == final.keys() and all((last[k] == final[k]).all() for k in final)
