"""One framework's side of a benchmark case, in its own process (started by run.py).

Usage: ``python worker.py glassnet|glassnet-ref|torch``. It answers JSON
commands read from stdin, one per line, with one JSON line on stdout
prefixed by ``@@``:

* ``{"cmd": "setup", "case": {...}}``: build the case and run it twice (warm-up);
* ``{"cmd": "time", "min_seconds": s, "min_calls": n}``: time calls until both are reached;
* ``{"cmd": "memory"}``: peak and current resident memory above the level
  measured once the framework was imported (the peak counter of
  /proc/self/status is reset then), and the growth since the end of the
  first timed turn (a training run must not grow);
* ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import json
import os
import sys
import time


def _status_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (the peak resident set) to the current resident set
    except OSError:
        pass


def _versions(framework: str) -> dict:
    import numpy

    out = {"python": sys.version.split()[0], "numpy": numpy.__version__, "threads": {}}
    if framework == "torch":
        import torch

        out["torch"] = torch.__version__
        out["threads"]["torch"] = torch.get_num_threads()
    else:
        import glassnet
        from glassnet import _threads

        out["glassnet"] = glassnet.__version__
        out["threads"]["glassnet"] = _threads.get_num_threads()
    try:
        from threadpoolctl import threadpool_info

        out["threadpools"] = [
            {k: d.get(k) for k in ("internal_api", "prefix", "version", "num_threads", "architecture")}
            for d in threadpool_info()
        ]
    except ImportError:
        pass
    return out


def main(framework: str) -> None:
    if framework == "torch":
        import impl_torch as impl
    else:
        if framework == "glassnet-ref":
            os.environ["GLASSNET_FAST"] = "0"
        import impl_glassnet as impl
    out = sys.stdout
    sys.stdout = sys.stderr  # only the answers go to the real stdout
    base_kb = _status_kb("VmRSS")
    _reset_peak()
    fn, warm_kb = None, None

    def answer(obj):
        out.write("@@" + json.dumps(obj) + "\n")
        out.flush()

    answer({"ready": True, "versions": _versions(framework)})
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "setup":
            t0 = time.perf_counter()
            fn = impl.build(msg["case"])
            fn()
            fn()
            answer({"setup_s": time.perf_counter() - t0, "versions": _versions(framework)})
        elif cmd == "time":
            times, start = [], time.perf_counter()
            while len(times) < msg["min_calls"] or time.perf_counter() - start < msg["min_seconds"]:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            if warm_kb is None:
                warm_kb = _status_kb("VmRSS")
            answer({"times": times})
        elif cmd == "memory":
            rss = _status_kb("VmRSS")
            answer({
                "peak_mb": (_status_kb("VmHWM") - base_kb) / 1024,
                "rss_mb": (rss - base_kb) / 1024,
                "growth_mb": (rss - (warm_kb or rss)) / 1024,
                "gpu_mb": impl.gpu_memory_mb(),
            })
        elif cmd == "quit":
            return


if __name__ == "__main__":
    main(sys.argv[1])
