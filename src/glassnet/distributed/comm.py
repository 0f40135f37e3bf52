"""The process group: which rank this is, how many there are, and the few collectives glassnet uses.

A program started by ``mpirun -n N`` (Open MPI, or MPICH's Hydra) finds the
launcher's variables in its environment (``OMPI_COMM_WORLD_SIZE``,
``PMI_SIZE``); :func:`init` then imports mpi4py, which initialises MPI, and
uses ``MPI.COMM_WORLD``. Started any other way, the world is this one
process: rank 0 of 1, every collective is the identity, and mpi4py is never
imported (``import glassnet`` never imports it either).

Collectives used (all blocking, all ranks must call them in the same order):

* ``allreduce_(buf)``: in-place element-wise sum of a contiguous float array over the ranks;
* ``any(flag)``: True on every rank when any rank passed True (a one-int ``MAX`` all-reduce);
* ``bcast(obj)``, ``allgather(obj)``, ``gather(obj)``: small Python objects (pickled by mpi4py).

Faults: :func:`guard` wraps a rank's work; an exception escaping it prints
``rank R: <type>: <message>`` to stderr and calls ``MPI_Abort``, which makes
``mpirun`` end every rank with a non-zero status, so a rank that fails can never
leave the others waiting in a collective. A rank killed by a signal is noticed
by ``mpirun`` itself, which then kills the rest.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

import numpy as np

from .. import _threads

LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")
"""Environment variables by which MPI launchers (Open MPI's mpirun, Hydra, PMIx) tell a process it is one of many."""

INSTALL_HINT = ("install the system MPI (Debian/Ubuntu: sudo apt-get install openmpi-bin libopenmpi-dev) "
                "and mpi4py (pip install 'glassnet[mpi]')")


class DistributedError(RuntimeError):
    """MPI is needed but missing, or the ranks disagree: the message says what to do."""


def launched() -> bool:
    """True when this process was started by an MPI launcher (``mpirun``, ``mpiexec``), without importing MPI."""
    return any(os.environ.get(v) for v in LAUNCHER_VARS)


class _Local:
    """The world of one process: rank 0 of 1, collectives are identities (no MPI needed)."""

    rank, size = 0, 1

    def allreduce_(self, buf):
        return buf

    def any(self, flag: bool) -> bool:
        return bool(flag)

    def bcast(self, obj, root: int = 0):
        return obj

    def allgather(self, obj):
        return [obj]

    def gather(self, obj, root: int = 0):
        return [obj]

    def barrier(self) -> None:
        pass

    def abort(self, code: int = 1):
        sys.exit(code)


class _MPI:
    """``MPI.COMM_WORLD`` behind the same small interface."""

    def __init__(self, comm, MPI):
        self.comm, self.MPI = comm, MPI
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def allreduce_(self, buf):
        if self.size > 1:
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def any(self, flag: bool) -> bool:
        if self.size == 1:
            return bool(flag)
        return bool(self.comm.allreduce(int(bool(flag)), op=self.MPI.MAX))

    def bcast(self, obj, root: int = 0):
        return self.comm.bcast(obj, root=root) if self.size > 1 else obj

    def allgather(self, obj):
        return self.comm.allgather(obj) if self.size > 1 else [obj]

    def gather(self, obj, root: int = 0):
        return self.comm.gather(obj, root=root) if self.size > 1 else [obj]

    def barrier(self) -> None:
        if self.size > 1:
            self.comm.Barrier()

    def abort(self, code: int = 1):
        sys.stderr.flush()
        sys.stdout.flush()
        self.comm.Abort(code)


_world = None


def init():
    """Join the MPI job this process was launched into (no-op when not launched by mpirun); return the world.

    Raises :class:`DistributedError` when launched by mpirun without mpi4py.
    Under ``mpirun``, unless ``GLASSNET_NUM_THREADS`` is set, each rank uses
    ``CPUs / ranks on this machine`` threads (at least 1), so N ranks do not
    fight over the cores.
    """
    global _world
    if _world is not None:
        return _world
    if not launched():
        _world = _Local()
        return _world
    try:
        from mpi4py import MPI
    except ImportError:
        raise DistributedError(f"this process was started by mpirun but mpi4py is missing: {INSTALL_HINT}") from None
    _world = _MPI(MPI.COMM_WORLD, MPI)
    if not os.environ.get("GLASSNET_NUM_THREADS"):
        local = int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE") or os.environ.get("MPI_LOCALNRANKS") or _world.size)
        _threads.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, local)))
    return _world


def world():
    """The world (:func:`init` on first use)."""
    return _world if _world is not None else init()


def is_initialized() -> bool:
    """True once this process has joined an MPI job (mpirun started it and :func:`init` ran)."""
    return isinstance(_world, _MPI)


def rank() -> int:
    """This process's rank, 0 .. world_size() - 1 (0 outside mpirun)."""
    return world().rank


def world_size() -> int:
    """The number of ranks (1 outside mpirun)."""
    return world().size


def is_root() -> bool:
    """True on rank 0: the rank that writes files and prints."""
    return world().rank == 0


def allreduce(array) -> np.ndarray:
    """The element-wise sum of ``array`` over the ranks (a new float64/float32 array; ``array`` is untouched)."""
    buf = np.array(array, copy=True, order="C")
    if buf.dtype.kind not in "fi":
        raise TypeError(f"allreduce: expected a numeric array, got dtype {buf.dtype}")
    return world().allreduce_(buf)


def barrier() -> None:
    """Wait until every rank arrives here."""
    world().barrier()


def broadcast_object(obj, root: int = 0):
    """``obj`` of rank ``root`` on every rank (pickled; for small objects)."""
    return world().bcast(obj, root)


def allgather_object(obj) -> list:
    """Every rank's ``obj``, in rank order, on every rank."""
    return world().allgather(obj)


def describe(exc: BaseException) -> str:
    """``ValueError: message`` (the last line of a traceback, on one line)."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def guard(prefix: str = "glassnet", code: int = 1, traceback_too: bool = False, allow=()):
    """Abort the whole job when an exception escapes this block on any rank (under MPI; else re-raise).

    The failing rank prints ``<prefix>: rank R: <type>: <message>`` to stderr
    and calls ``MPI_Abort(code)``: mpirun then ends every rank (non-zero exit)
    instead of leaving them blocked in the next collective.
    ``SystemExit`` (a deliberate exit), the exception types in ``allow`` (raised
    by every rank together, e.g. a Ctrl-C the ranks agreed on) and errors every
    rank met alike (see :func:`together`) pass through.
    """
    try:
        yield
    except SystemExit:
        raise
    except BaseException as e:
        w = _world
        if not isinstance(w, _MPI) or w.size == 1 or isinstance(e, allow) or getattr(e, "glassnet_agreed", False):
            raise
        if traceback_too:
            traceback.print_exc()
        print(f"{prefix}: rank {w.rank}: {describe(e)}", file=sys.stderr, flush=True)
        w.abort(code)
        raise  # not reached: Abort ends the process


def agree(error: BaseException | None):
    """Collective check after a phase every rank runs: returns None when no rank failed.

    When every rank failed with the same message (a bad option, a missing
    file: the same on every rank), every rank gets that error back to raise
    as usual (rank 0 prints it, the others exit quietly). When only some
    ranks failed, the failing ranks name themselves and the job is aborted.
    """
    w = world()
    if w.size == 1:
        return error
    outcomes = w.allgather(None if error is None else describe(error))
    failed = [(r, m) for r, m in enumerate(outcomes) if m is not None]
    if not failed:
        return None
    if len(failed) == w.size and len({m for _, m in failed}) == 1:
        return error
    if error is not None:
        print(f"glassnet: rank {w.rank}: {describe(error)}", file=sys.stderr, flush=True)
    elif w.rank == min(r for r, m in enumerate(outcomes) if m is None):
        print(f"glassnet: rank {w.rank}: aborting, ranks {[r for r, _ in failed]} failed", file=sys.stderr, flush=True)
    w.barrier()
    w.abort(1)


@contextlib.contextmanager
def together(world=None):
    """A phase every rank runs alike (reading options, data, a checkpoint): fail together or not at all.

    An exception in the block is checked with :func:`agree`: raised on every
    rank (marked ``glassnet_agreed``, so that the CLI prints it once, on rank 0)
    when every rank met it, else the job is aborted naming the failing ranks.
    """
    error = None
    try:
        yield
    except Exception as e:
        error = e
    if world is None or world.size == 1:
        if error is not None:
            raise error
        return
    error = agree(error)
    if error is not None:
        error.glassnet_agreed = True
        raise error
