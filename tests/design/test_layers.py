"""The shape of the house, checked on the sources (issue #10, items 5 and 6).

An AST scan of every file of the package:

* the packages form layers, each importing only from the ones below it, and no file imports another in a
  cycle (function-local imports included);
* imports hide inside functions only for optional heavy dependencies (matplotlib, SymPy, Pillow, tqdm,
  safetensors, onnx, mpi4py, CuPy, ...), and for the few lazy names listed in LOCAL_OK with the reason;
* the array library: ``nn``, ``optim``, ``models`` and ``train`` get it from ``glassnet.backend``; only the
  NumPy fast paths (``nn/functional/fast``), the naive oracle and the CuPy kernels (``nn/functional/cuda``)
  import NumPy or CuPy themselves;
* the run directory has one owner, ``glassnet.runs``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import glassnet

SRC = Path(glassnet.__file__).resolve().parent
OPTIONAL = ("PIL", "matplotlib", "sympy", "tqdm", "safetensors", "threadpoolctl", "fcntl", "onnx", "onnxruntime",
            "google", "mpi4py", "cupy", "webbrowser")
LOCAL_OK = {
    ("cli/explain.py", "glassnet.explain"): "imports SymPy (the explain extra): loaded when the command runs",
    ("__init__.py", "glassnet.inspect"): "glassnet.gradcheck and glassnet.summary resolved on first use (light import)",
    ("__init__.py", "importlib"): "the lazy subpackages of `import glassnet` (glassnet.models, ...)",
    ("nn/functional/fast/compiled.py", "glassnet.nn.functional.fast._kernels"):
        "the optional C kernels, built by setup.py only where a C compiler is present (try/except ImportError)",
}
SCANNED = ("",)
LAYERS = [  # bottom to top: a package imports only from the layers below its own (and from itself)
    {"_files", "_threads", "_version", "backend"},
    {"_process"},
    {"nn"},
    {"io", "data", "optim", "models", "inspect", "explain"},
    {"onnx", "runs"},
    {"distributed"},  # below train: the Trainer's hook point and train.run call into it
    {"train"},
    {"viz"},
    {"explore"},
    {"cli"},
]
ARRAY_RULE = ("nn", "optim", "models", "train")
ARRAY_OK = {"numpy": ("nn/functional/fast/", "nn/functional/naive.py"), "cupy": ("nn/functional/cuda/",)}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(target module, at module level?) of every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            if node.module is None:  # from . import x: each x is a module or a name of the package
                for a in node.names:
                    yield f"{name}.{a.name}", id(node) in top
            else:
                yield name, id(node) in top


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "glassnet" and len(parts) > 1 else None


def _files():
    yield from sorted(SRC.rglob("*.py"))


def test_function_local_imports_only_for_optional_dependencies():
    found = []
    for path in _files():
        rel = path.relative_to(SRC).as_posix()
        for module, at_top in _imports(path):
            if at_top or module.split(".")[0] in OPTIONAL or module == "__future__":
                continue
            if any(rel == f and module.startswith(m) for f, m in LOCAL_OK):
                continue
            found.append(f"{rel}: {module}")
    assert not found, found


def test_no_cycle_between_packages_and_runs_sits_below_train_and_viz():
    edges: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        source = _package(_module_name(path)) or _module_name(path)
        for module, at_top in _imports(path):
            target = _package(module)
            if at_top and target and target != source:
                edges.setdefault(source, set()).add(target)
    assert "viz" not in edges.get("train", set()) and "cli" not in edges.get("train", set())
    assert not edges.get("runs", set()) & {"train", "viz", "cli"}
    assert "train" not in edges.get("viz", set()) or "viz" not in edges.get("train", set())

    def reach(node, seen):
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                reach(nxt, seen)
        return seen

    cycles = [(p, q) for p in edges for q in edges[p] if p in reach(q, set()) and p != q]
    # the package __init__ (glassnet) re-exports its children; cycles through it are the usual Python layout
    cycles = [c for c in cycles if "glassnet" not in c]
    assert not cycles, cycles


def test_importing_train_loads_neither_viz_nor_matplotlib():
    code = "import sys, glassnet.train; print(sorted(m for m in ('glassnet.viz', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC.parent)}).stdout.strip()
    assert out == "[]"


def test_one_reader_of_run_files_and_public_names_kept():
    from glassnet import runs, train
    from glassnet.train import checkpoint, run
    from glassnet.viz import run as viz_run

    assert train.RunError is runs.RunError and train.CheckpointError is runs.CheckpointError
    assert checkpoint.save_checkpoint is runs.save_checkpoint and checkpoint.load_checkpoint is runs.load_checkpoint
    text = (SRC / "viz" / "run.py").read_text() + (SRC / "train" / "run.py").read_text()
    assert "json.loads" not in text and "batch_size=500" not in text
    assert viz_run.runs.EVAL_BATCH == run.EVAL_BATCH


def _layer(package: str) -> int | None:
    return next((i for i, names in enumerate(LAYERS) if package in names), None)


def test_every_package_has_a_layer_and_imports_only_below_it():
    wrong, unknown = [], set()
    for path in _files():
        rel = path.relative_to(SRC)
        if len(rel.parts) == 1 and rel.name in ("__init__.py", "__main__.py"):
            continue  # the package itself: the facade over every layer
        source = rel.parts[0].removesuffix(".py")
        if _layer(source) is None:
            unknown.add(source)
            continue
        for module, _ in _imports(path):
            target = _package(module)
            if target is None or target == source or target == "__version__":
                continue
            if _layer(target) is None:
                unknown.add(target)
            elif _layer(target) >= _layer(source):
                wrong.append(f"{rel.as_posix()} imports {module} (layer {_layer(target)} >= {_layer(source)})")
    assert not unknown, f"packages without a layer in LAYERS: {sorted(unknown)}"
    assert not wrong, wrong


def test_no_cycle_between_files():
    modules = {_module_name(p): p for p in _files()}
    edges = {}
    for name, path in modules.items():
        for module, _ in _imports(path):
            while module and module not in modules:  # glassnet.nn.Conv2d -> glassnet.nn
                module = module.rpartition(".")[0]
            if module and module != name and module != "glassnet":
                edges.setdefault(name, set()).add(module)
    state, stack, cycles = {}, [], []

    def visit(v):
        state[v] = "open"
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if state.get(w) == "open":
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = "done"

    for v in sorted(modules):
        if v not in state:
            visit(v)
    # a package's __init__ re-exporting its own files is the usual layout, not a cycle between files
    cycles = [c for c in cycles if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)
              and not all(c[-1] == m or m.startswith(c[-1] + ".") or c[-1].startswith(m + ".") for m in c)]
    assert not cycles, cycles


def test_the_array_library_comes_from_the_backend():
    found = []
    for path in _files():
        rel = path.relative_to(SRC).as_posix()
        if rel.split("/")[0] not in ARRAY_RULE:
            continue
        for module, _ in _imports(path):
            lib = module.split(".")[0]
            if lib in ARRAY_OK and not rel.startswith(ARRAY_OK[lib]):
                found.append(f"{rel}: imports {module}")
    assert not found, found
