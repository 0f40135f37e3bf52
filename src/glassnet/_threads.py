"""Threads for glassnet's kernels: a small pool, one BLAS thread inside it, and scratch buffers.

Why (measured on the 2-core machines this library is tuned on, see
docs/performance.md):

* Two BLAS threads are unstable on the thin matrix products of a CNN
  (a 6x25 @ 25x50176 product flips between 1 and 4 ms; on a busy machine a
  64x400 @ 400x120 product took 15 ms with two threads, 0.4 ms with one),
  and OpenBLAS's idle threads spin for a while after each product, taking
  a core from whatever runs next. glassnet therefore runs NumPy's BLAS on
  **one** thread *inside its own work* (a module's forward or backward
  called from outside any other, and every parallel region: see
  :func:`region`) and splits the batch itself: each task is a range of
  images. The BLAS setting is restored when that work returns, so the
  user's own NumPy code keeps its threads. This needs threadpoolctl (the
  ``fast`` extra); without it glassnet cannot steer BLAS, so it runs its
  tasks in the calling thread and leaves BLAS's threads alone.
* Tasks are claimed dynamically (a shared counter), so a thread that the OS
  deschedules does not hold the others up.
* Each worker reuses its own scratch buffers (:func:`scratch`) instead of
  allocating fresh temporaries on every call: fresh memory costs about
  0.1 ms per MB on these machines (page faults).

Results never depend on the number of threads: a reduction keeps one
partial sum per *task* (the task split depends on the problem only) and
adds the partial sums in task order.

``GLASSNET_NUM_THREADS`` (environment) or :func:`set_num_threads` choose the
number of threads; the default is the number of CPUs this process may use.

>>> out = [0] * 5
>>> def fill(t):
...     out[t] = t * t
>>> parallel_for(5, fill)
>>> out
[0, 1, 4, 9, 16]
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading

import numpy

SWITCH_INTERVAL = 1e-4
"""Seconds between forced GIL hand-overs inside a parallel region, when tuned (Python's default is 5 ms).

Between two NumPy calls a task holds the GIL for a moment; a thread that
released it for a NumPy call usually takes it straight back, and the other
thread, woken too late, waits for the next forced hand-over. With the
default 5 ms the two threads of a LeNet-sized layer ran one after the
other; with 0.1 ms they run side by side (measured 1.65-1.9x faster).
The interval is the interpreter's, shared by every thread of the process,
so glassnet changes it only when asked (:func:`set_switch_interval_tuning`,
``glassnet.tune_process``; the ``glassnet`` command does), and only for the
length of each parallel region.
"""

_tune_switch_interval = False

_num_threads = None
_workers: list[threading.Thread] = []
_inbox: list[queue.SimpleQueue] = []
_done: queue.SimpleQueue = queue.SimpleQueue()
_pool_lock = threading.Lock()
_busy = threading.Lock()  # one parallel region at a time; a second caller runs its tasks itself
_local = threading.local()
_blas = None  # threadpoolctl controllers of NumPy's BLAS; False if unavailable


def _default_threads() -> int:
    env = os.environ.get("GLASSNET_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"GLASSNET_NUM_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"GLASSNET_NUM_THREADS must be a positive integer, got {env!r}")
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def get_num_threads() -> int:
    """Threads glassnet's kernels use (``GLASSNET_NUM_THREADS``, else the usable CPUs)."""
    global _num_threads
    if _num_threads is None:
        _num_threads = _default_threads()
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in glassnet's kernels (1 = run everything in the calling thread)."""
    global _num_threads
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"number of threads must be a positive int, got {n!r}")
    _num_threads = n


# ------------------------------------------------------------------------------------------- BLAS threads
def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # the `fast` extra is not installed: BLAS keeps its own threads
            _blas = False
        else:
            _blas = ThreadpoolController().select(user_api="blas").lib_controllers or False
    return _blas


def set_switch_interval_tuning(enabled: bool) -> bool:
    """Shorten the interpreter's switch interval inside parallel regions (see :data:`SWITCH_INTERVAL`).

    Off by default (a process-wide setting); returns the previous choice.
    """
    global _tune_switch_interval
    previous, _tune_switch_interval = _tune_switch_interval, bool(enabled)
    return previous


@contextlib.contextmanager
def blas_threads(n: int):
    """Run the body with NumPy's BLAS limited to ``n`` threads, restored after (needs threadpoolctl; else no-op)."""
    ctls = _blas_controllers()
    if not ctls:
        yield
        return
    before = [c.get_num_threads() for c in ctls]
    for c in ctls:
        c.set_num_threads(n)
    try:
        yield
    finally:
        for c, k in zip(ctls, before, strict=True):
            c.set_num_threads(k)


# ------------------------------------------------------------------------------------------- the pool
def _worker(inbox: queue.SimpleQueue) -> None:
    while True:
        job = inbox.get()
        if job is None:
            return
        try:
            job()
            _done.put(None)
        except BaseException as e:  # handed to the caller, which re-raises it
            _done.put(e)


def _ensure_workers(n: int) -> None:
    with _pool_lock:
        while len(_workers) < n:
            inbox = queue.SimpleQueue()
            t = threading.Thread(target=_worker, args=(inbox,), name=f"glassnet-{len(_workers)}", daemon=True)
            t.start()
            _workers.append(t)
            _inbox.append(inbox)


def _forget_workers_after_fork() -> None:  # threads do not survive fork(): start new ones on demand
    global _done, _pool_lock, _busy
    _workers.clear()
    _inbox.clear()
    _done = queue.SimpleQueue()
    _pool_lock = threading.Lock()
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers_after_fork)


@contextlib.contextmanager
def region():
    """glassnet's own work: NumPy's BLAS on one thread for the length of the block, then as it was.

    Nested regions (a container's children, a parallel region inside a
    layer) cost nothing: only the outermost one of a thread sets and
    restores the BLAS threads. Without threadpoolctl it does nothing.
    """
    depth = getattr(_local, "depth", 0)
    if depth or not _blas_controllers():
        _local.depth = depth + 1
        try:
            yield
        finally:
            _local.depth = depth
        return
    _local.depth = 1
    try:
        with blas_threads(1):
            yield
    finally:
        _local.depth = 0


def parallel_for(n_tasks: int, fn, threads: int | None = None) -> None:
    """Call ``fn(t)`` for t = 0 .. n_tasks-1, spread over the pool; BLAS runs single-threaded meanwhile.

    The calling thread works too. Tasks are claimed in order from a shared
    counter; the first exception raised by any task is re-raised here once
    every thread has stopped.
    """
    n_threads = min(get_num_threads() if threads is None else threads, n_tasks)
    if not _blas_controllers():  # BLAS cannot be kept to one thread: it would fight our threads
        n_threads = 1
    if n_threads <= 1 or not _busy.acquire(blocking=False):  # serial, or the pool is in use (nested call)
        for t in range(n_tasks):
            fn(t)
        return
    try:
        _run_parallel(n_tasks, fn, n_threads)
    finally:
        _busy.release()


def _run_parallel(n_tasks: int, fn, n_threads: int) -> None:
    claim = iter(range(n_tasks)).__next__  # next() on a range iterator is atomic under the GIL
    failed = []

    def run():
        while not failed:
            try:
                t = claim()
            except StopIteration:
                return
            try:
                fn(t)
            except BaseException:
                failed.append(True)
                raise

    helpers = n_threads - 1
    _ensure_workers(helpers)
    interval = sys.getswitchinterval()
    if _tune_switch_interval:
        sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        with region():
            for i in range(helpers):
                _inbox[i].put(run)
            error = None
            try:
                run()
            except BaseException as e:
                error = e
            for _ in range(helpers):
                e = _done.get()
                if error is None and e is not None:
                    error = e
    finally:
        if _tune_switch_interval:
            sys.setswitchinterval(interval)
    if error is not None:
        raise error


# ------------------------------------------------------------------------------------------- scratch buffers
def scratch(name: str, shape, dtype) -> numpy.ndarray:
    """A reusable, uninitialised buffer of this thread, e.g. for one chunk's im2col columns.

    The same ``name`` returns the same memory on the next call (grown when
    too small), so a kernel that asks for it once per chunk allocates it
    once per thread. Its contents are garbage: write before reading, and
    do not keep it past the call that asked for it.
    """
    dtype = numpy.dtype(dtype)
    size = 1
    for s in shape:
        size *= int(s)
    nbytes = size * dtype.itemsize
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    buf = bufs.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = bufs[name] = numpy.empty(max(nbytes, 64), dtype=numpy.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def release_scratch() -> None:
    """Free this thread's scratch buffers (they come back on the next call that needs them)."""
    _local.bufs = {}


# ------------------------------------------------------------------------------------------- batch splits
MIN_PARALLEL_BYTES = 1 << 21
"""Element-wise work on fewer bytes than this runs in the calling thread.

Below it the NumPy calls of each half are shorter (10-50 us) than the time
a thread waiting for the GIL takes to wake (50-80 us on the tuning
machines), and the two threads only take turns: on a quiet 2-core Xeon,
LeNet-5's pooling and ReLU at batch 64 (1.2 MB) were no faster on two.
"""


def parallel_ranges(n: int, fn, nbytes: int, tasks: int | None = None) -> None:
    """Call ``fn(start, stop)`` on consecutive ranges covering 0..n, in parallel when ``nbytes`` is large.

    For element-wise work on a batch (``n`` images, ``nbytes`` touched in
    all): no reduction crosses ranges, so the split may follow the thread
    count (``tasks`` defaults to it: fewer, longer NumPy calls).
    """
    threads = get_num_threads()
    if n <= 1 or threads <= 1 or nbytes < MIN_PARALLEL_BYTES:
        fn(0, n)
        return
    k = min(n, tasks or threads)
    bounds = [n * t // k for t in range(k + 1)]
    parallel_for(k, lambda t: fn(bounds[t], bounds[t + 1]))
