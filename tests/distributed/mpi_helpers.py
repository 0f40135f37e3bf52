"""Launching ``mpirun -n N`` on localhost from the tests (skipped when Open MPI's mpirun or mpi4py is missing)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
WORKER = HERE / "mpi_worker.py"
TIMEOUT = 240

needs_mpi = pytest.mark.skipif(shutil.which("mpirun") is None or importlib.util.find_spec("mpi4py") is None,
                               reason="needs mpirun (apt-get install openmpi-bin libopenmpi-dev) and mpi4py")


def env(**extra) -> dict:
    """The test's environment for the ranks: these sources first, one thread per rank, root allowed (CI runs as root)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [e.get("PYTHONPATH")])])
    e.setdefault("GLASSNET_NUM_THREADS", "1")
    e["OMPI_ALLOW_RUN_AS_ROOT"] = e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    e["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    for k in [k for k in e if k.startswith(("OMPI_COMM_WORLD", "PMI_", "PMIX_"))]:
        del e[k]  # never look like a rank ourselves
    e.update(extra)
    return e


def mpirun(n: int, *args, timeout: float = TIMEOUT, check: bool = True, **popen) -> subprocess.CompletedProcess:
    """``mpirun -n n --oversubscribe python ARGS`` (ARGS: a script and its arguments, or ``-m glassnet ...``)."""
    cmd = ["mpirun", "-n", str(n), "--oversubscribe", sys.executable, *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env(), **popen)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{r.stdout[-3000:]}\n"
                             f"stderr:\n{r.stderr[-3000:]}")
    return r
