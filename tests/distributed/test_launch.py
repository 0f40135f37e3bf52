"""``glassnet train --nproc``: the command it builds, and the error naming what to install (no MPI needed)."""

from __future__ import annotations

import os
import subprocess
import sys

from mpi_helpers import SRC

from glassnet.distributed.launch import mpirun_command


def test_nproc_without_mpirun_says_what_to_install(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-m", "glassnet", "train", "--nproc", "2"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip()
    assert line.startswith("glassnet train: error: --nproc 2: mpirun is not on PATH")
    assert "apt-get install openmpi-bin libopenmpi-dev" in line and "glassnet[mpi]" in line


def test_mpirun_command_runs_this_python_with_the_options():
    cmd = mpirun_command(64, ["train", "--epochs", "1"], "/usr/bin/mpirun")
    assert cmd[:3] == ["/usr/bin/mpirun", "-n", "64"] and "--oversubscribe" in cmd
    assert cmd[-6:] == [sys.executable, "-m", "glassnet", "train", "--epochs", "1"]
    assert "--oversubscribe" not in mpirun_command(1, ["train"], "mpiexec", open_mpi=False)


def test_import_glassnet_does_not_import_mpi4py():
    code = "import glassnet, glassnet.train, glassnet.distributed, sys; print('mpi4py' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONPATH": str(SRC)})
    assert r.stdout.strip() == "False"
