"""Starting N ranks on this machine (``glassnet train --nproc N``) and running a command as one rank of many.

``glassnet train --nproc N ARGS`` runs::

    mpirun -n N [--oversubscribe] [--allow-run-as-root] --bind-to none --mca mpi_yield_when_idle 1 \
           PYTHON -m glassnet train ARGS

(Open MPI's options; ``--oversubscribe`` when N exceeds the CPUs,
``--allow-run-as-root`` when run by root; a rank waiting in a collective
yields its core, which on a machine busy with other work made the gradient
all-reduce several times faster: see docs/distributed.md), each rank with
``GLASSNET_NUM_THREADS = CPUs // N`` unless set. mpirun starts in a session
of its own, so the terminal's Ctrl-C reaches only this launcher, which
forwards it as SIGUSR1 (mpirun passes SIGUSR1 on to every rank; the ranks
agree to stop after the current batch and save one checkpoint). A second
Ctrl-C sends SIGTERM: mpirun then ends the job at once.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys

from . import comm
from .comm import INSTALL_HINT, DistributedError


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def find_mpirun() -> str:
    """The path of ``mpirun`` (or ``mpiexec``); :class:`DistributedError` naming what to install when missing.

    mpi4py is checked too: the ranks need it.
    """
    path = shutil.which("mpirun") or shutil.which("mpiexec")
    if path is None:
        raise DistributedError(f"mpirun is not on PATH: {INSTALL_HINT}")
    if importlib.util.find_spec("mpi4py") is None:
        raise DistributedError(f"mpi4py is not installed in {sys.executable}: {INSTALL_HINT}")
    return path


def _is_open_mpi(mpirun: str) -> bool:
    try:
        out = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Open MPI" in out or "OpenRTE" in out


def mpirun_command(nproc: int, args: list[str], mpirun: str, open_mpi: bool = True) -> list[str]:
    """The command line that starts ``nproc`` ranks of ``python -m glassnet <args>`` on this machine.

    >>> mpirun_command(2, ["train", "--epochs", "1"], "/usr/bin/mpirun")[:3]
    ['/usr/bin/mpirun', '-n', '2']
    """
    cmd = [mpirun, "-n", str(nproc)]
    if open_mpi:
        if nproc > _cpus():
            cmd.append("--oversubscribe")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        cmd += ["--bind-to", "none", "--mca", "mpi_yield_when_idle", "1"]
    return cmd + [sys.executable, "-m", "glassnet", *args]


def launch(nproc: int, args: list[str]) -> int:
    """Run ``glassnet <args>`` as ``nproc`` MPI ranks on this machine; return mpirun's exit status."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise DistributedError(f"--nproc must be a positive int, got {nproc!r}")
    mpirun = find_mpirun()
    cmd = mpirun_command(nproc, args, mpirun, _is_open_mpi(mpirun))
    env = dict(os.environ)
    env.setdefault("GLASSNET_NUM_THREADS", str(max(1, _cpus() // nproc)))
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    interrupts = 0

    def forward(signum, frame):
        nonlocal interrupts
        interrupts += 1
        if signum == signal.SIGINT and interrupts == 1:
            print("\nglassnet: stopping every rank after this batch to save a checkpoint (Ctrl-C again to stop now)",
                  file=sys.stderr, flush=True)
            proc.send_signal(signal.SIGUSR1)
        else:
            proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    return 128 - code if code < 0 else code


def run_rank(fn, check=None) -> int:
    """Run the command ``fn()`` as one rank of an MPI job; return its exit status.

    ``check()`` (optional) validates the command line first, on every rank
    alike: a bad option is then reported once, by rank 0, and every rank exits
    with status 2. An exception from ``fn`` on some ranks aborts the job,
    each failing rank printing ``rank R: <cause>``.
    """
    try:
        world = comm.init()
    except DistributedError as e:
        print(f"glassnet: error: {e}", file=sys.stderr)
        return 2
    with comm.guard("glassnet"):
        try:
            if check is not None:
                with comm.together(world):
                    check()
            return fn()
        except Exception as e:
            if getattr(e, "glassnet_agreed", False) and world.rank != 0:
                return 2  # rank 0 reports it
            raise
