"""glassnet against PyTorch on the same CPU, side by side: ``python benchmarks/run.py``.

Each case runs in a fresh process per framework (so that peak memory is the
case's own); the two processes take turns, ``--repeats`` times, each turn
timing calls for at least ``--min-time`` seconds; a framework's time is the
median over its turns of each turn's median call (``--stat best``: the best
turn, less disturbed by other processes on a shared machine; the JSON
holds both). The table gives
images/s, the ratio glassnet/PyTorch of the throughputs (> 1: glassnet is
faster), the spread of the turns ((max - min)/median, the noise of a shared
machine) and the peak resident memory above the imported framework.
Without PyTorch installed the table has glassnet alone.

Options: ``--only REGEX`` (cases whose name matches), ``--quick`` (3 turns
of 0.15 s), ``--json PATH`` (write every measurement), ``--frameworks``
(comma-separated from glassnet, torch, glassnet-ref: glassnet with its fast
paths off), ``--keep-blas-env`` (see below), ``--list``.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines here set for old
OpenBLAS builds, slow a current NumPy; the workers run without both unless
``--keep-blas-env`` is given (the JSON records the BLAS kernel that ran).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import all_cases, gpu_cases, items  # noqa: E402

GPU_TARGETS = [  # issue #15, --device cuda
    (r"^resnet20 train step b128", 0.5, "ResNet-20 training b128 >= 0.5 (goal 0.8)"),
    (r"^lenet5 train step b256", 0.5, "LeNet-5 training b256 >= 0.5"),
    (r"^(vgg11|resnet18) train step b32", 0.3, "VGG-11 and ResNet-18 training 224x224 b32 >= 0.3 (goal 0.6)"),
]

TARGETS = [  # (name pattern, minimum ratio glassnet/PyTorch, what the issue asks): issue #16, the second round
    (r"^resnet20 train step", 0.8, "ResNet-20 training b128 >= 0.8 (goal 1.0)"),
    (r"^resnet20 inference", 1.0, "ResNet-20 inference >= 1.0"),
    (r"^lenet5 train step", 1.0, "LeNet-5 training b64 and b256 >= 1.0"),
    (r"^conv .* fwd\+bwd$", 0.7, "every conv shape, forward+backward >= 0.7"),
    (r"^(max|avg)pool ", 1.0, "pooling >= 1.0"),
]
PEAK_MEMORY_TARGET = 1.0
"""Peak resident memory of a training step, at most this times PyTorch's (issue #16; the first round allowed 1.5)."""


class Worker:
    """A framework's worker process, spoken to in JSON lines."""

    def __init__(self, framework: str, env: dict):
        self.framework = framework
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), framework],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=str(HERE),
        )
        self.info = self._read()

    def _read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        raise RuntimeError(f"the {self.framework} worker stopped (exit code {self.proc.wait()})")

    def ask(self, **msg) -> dict:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.ask(cmd="quit") if self.proc.poll() is None else None
        except (BrokenPipeError, RuntimeError):
            pass
        self.proc.wait(timeout=30)


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache", "Flags"):
                value = value.strip()
                if key.strip() == "Flags":
                    value = " ".join(f for f in value.split() if f.startswith("avx512f") or f == "avx2")
                info[key.strip()] = value
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
        info["load_average_at_start"] = os.getloadavg()
    except (AttributeError, OSError):
        pass
    info["blas_env"] = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    return info


def run_case(case: dict, frameworks: list[str], env: dict, args) -> dict:
    workers = {}
    try:
        for fw in frameworks:
            workers[fw] = Worker(fw, env)
            setup = workers[fw].ask(cmd="setup", case=case)
            workers[fw].info["versions"] = setup["versions"]
        turns = {fw: [] for fw in frameworks}
        for r in range(args.repeats):  # interleaved, the order alternating
            for fw in frameworks if r % 2 == 0 else frameworks[::-1]:
                times = workers[fw].ask(cmd="time", min_seconds=args.min_time, min_calls=args.min_calls)["times"]
                turns[fw].append(statistics.median(times))
        out = {}
        for fw, w in workers.items():
            t = statistics.median(turns[fw]) if args.stat == "median" else min(turns[fw])
            out[fw] = {
                "seconds": t,
                "median_seconds": statistics.median(turns[fw]),
                "best_seconds": min(turns[fw]),
                "images_per_s": items(case) / t,
                "spread": (max(turns[fw]) - min(turns[fw])) / t,
                "turns": turns[fw],
                **w.ask(cmd="memory"),
                "versions": w.info["versions"],
            }
        return out
    finally:
        for w in workers.values():
            w.close()


def fmt_rate(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="glassnet vs PyTorch on this CPU (see the module docstring)")
    p.add_argument("--only", default="", help="regular expression: run the cases whose name matches")
    p.add_argument("--repeats", type=int, default=5, help="turns per framework (default 5)")
    p.add_argument("--min-time", type=float, default=0.3, help="seconds of calls per turn (default 0.3)")
    p.add_argument("--min-calls", type=int, default=3, help="calls per turn at least (default 3)")
    p.add_argument("--quick", action="store_true", help="3 turns of 0.15 s")
    p.add_argument("--stat", choices=("median", "best"), default="median",
                   help="each framework's time: the median of its turns (default) or the best turn")
    p.add_argument("--frameworks", default="glassnet,torch", help="comma-separated: glassnet, torch, glassnet-ref")
    p.add_argument("--json", type=Path, help="write every measurement to this file")
    p.add_argument("--keep-blas-env", action="store_true", help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: glassnet on CuPy against PyTorch on CUDA, the GPU cases (see docs/gpu.md)")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.min_time = 3, 0.15
    pool = gpu_cases() if args.device == "cuda" else all_cases()
    cases = [c for c in pool if re.search(args.only, c["name"])]
    if args.list or not cases:
        print("\n".join(c["name"] for c in pool) if args.list else f"no case matches {args.only!r}")
        return 0 if args.list else 2
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = set(frameworks) - {"glassnet", "torch", "glassnet-ref"}
    if unknown:
        p.error(f"unknown framework(s) {sorted(unknown)}; choose from glassnet, torch, glassnet-ref")
    if "torch" in frameworks and importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed: glassnet alone", file=sys.stderr)
        frameworks.remove("torch")
    env = dict(os.environ)
    if not args.keep_blas_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    env["GLASSNET_BENCH_DEVICE"] = args.device
    src = HERE.parent / "src"
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    report = {"machine": machine_info(), "settings": vars(args) | {"json": str(args.json), "frameworks": frameworks},
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "cases": []}
    other = next((f for f in frameworks if f != "glassnet"), None)
    head = f"{'case':44s} {'unit':>5s}" + "".join(f" {f:>12s}" for f in frameworks)
    head += f" {'ratio':>6s}" if "glassnet" in frameworks and other else ""
    head += " " + " ".join(f"{'spread ' + f[:5]:>12s}" for f in frameworks)
    mem_head = "GPU MB " if args.device == "cuda" else "peak MB "
    head += " " + " ".join(f"{mem_head + f[:5]:>14s}" for f in frameworks)
    print(head)
    t_start = time.perf_counter()
    for case in cases:
        res = run_case(case, frameworks, env, args)
        row = {"case": case, "results": res}
        line = f"{case['name']:44s} {'img/s':>5s}"
        line += "".join(f" {fmt_rate(res[f]['images_per_s']):>12s}" for f in frameworks)
        if "glassnet" in frameworks and other:
            row["ratio"] = res[other]["seconds"] / res["glassnet"]["seconds"]
            line += f" {row['ratio']:6.2f}"
        line += " " + " ".join(f"{res[f]['spread'] * 100:11.0f}%" for f in frameworks)
        mem = "gpu_mb" if args.device == "cuda" else "peak_mb"
        line += " " + " ".join(f"{res[f][mem] or 0:14.1f}" for f in frameworks)
        print(line, flush=True)
        report["cases"].append(row)
    report["versions"] = {fw: report["cases"][-1]["results"][fw].pop("versions") for fw in frameworks}
    for row in report["cases"]:
        for fw in frameworks:
            row["results"][fw].pop("versions", None)
    report["wall_s"] = time.perf_counter() - t_start
    print(f"\n{len(cases)} cases in {report['wall_s']:.0f} s on {report['machine'].get('Model name', '?')}, "
          f"{report['machine'].get('usable_cpus', '?')} CPUs; versions: "
          + "; ".join(f"{fw}: " + ", ".join(f"{k} {v}" for k, v in ver.items() if k in ("numpy", "torch", "glassnet"))
                      for fw, ver in report["versions"].items()))
    if "glassnet" in frameworks and other == "torch":
        print(check_targets(report, GPU_TARGETS if args.device == "cuda" else TARGETS))
    if args.json:
        write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


def check_targets(report: dict, targets=TARGETS) -> str:
    lines = ["targets (ratio of throughputs glassnet/PyTorch):"]
    for pattern, minimum, what in targets:
        rows = [r for r in report["cases"] if re.search(pattern, r["case"]["name"]) and "ratio" in r]
        if rows:
            worst = min(rows, key=lambda r: r["ratio"])
            ok = "met" if worst["ratio"] >= minimum else "NOT met"
            lines.append(f"  {what}: lowest {worst['ratio']:.2f} ({worst['case']['name']}) -> {ok}")
    train = [r for r in report["cases"] if r["case"]["kind"] == "train" and "ratio" in r]
    if train and targets is TARGETS:
        worst = max(train, key=lambda r: r["results"]["glassnet"]["peak_mb"] / max(r["results"]["torch"]["peak_mb"], 1))
        ratio = worst["results"]["glassnet"]["peak_mb"] / max(worst["results"]["torch"]["peak_mb"], 1)
        growth = max(r["results"]["glassnet"]["growth_mb"] for r in train)
        limit = PEAK_MEMORY_TARGET
        lines.append(f"  peak memory of training <= {limit}x PyTorch's: highest {ratio:.2f}x ({worst['case']['name']}) "
                     f"-> {'met' if ratio <= limit else 'NOT met'}; "
                     f"largest growth after the first turn {growth:.1f} MB")
    return "\n".join(lines)


def write_json(path: Path, report: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
