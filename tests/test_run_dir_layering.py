"""The run directory has one owner (glassnet.runs) and the packages around it form no cycle (issue #10, item 5).

An AST scan of the sources: which glassnet packages each package imports at module level, and which
imports hide inside functions (only optional heavy dependencies may).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import glassnet

SRC = Path(glassnet.__file__).resolve().parent
OPTIONAL = ("PIL", "matplotlib", "sympy", "tqdm", "safetensors", "threadpoolctl", "fcntl")
LOCAL_OK = {
    ("cli/explain.py", "glassnet.explain"): "imports SymPy (the explain extra): loaded when the command runs",
    ("train/run.py", "glassnet.viz"): "train.run.write_curves, kept for old callers, resolved on first access",
}
SCANNED = ("train", "viz", "cli", "data", "runs", "io.py")


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
    for entry in SCANNED:
        yield from ([SRC / entry] if entry.endswith(".py") else sorted((SRC / entry).rglob("*.py")))


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
    assert run.write_curves is glassnet.viz.write_curves
    text = (SRC / "viz" / "run.py").read_text() + (SRC / "train" / "run.py").read_text()
    assert "json.loads" not in text and "batch_size=500" not in text
    assert viz_run.runs.EVAL_BATCH == run.EVAL_BATCH
