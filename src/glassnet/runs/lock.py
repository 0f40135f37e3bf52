"""One writer per run directory: a lock file holding the owner's pid.

``RUN_DIR/.lock`` is opened and locked with ``flock`` (POSIX) for as long as a
writer works on the directory. The kernel drops the lock when its process
dies, however it dies (kill -9 included), so a lock file left behind by a dead
process is *stale*: the next writer takes it over and says so. A live owner
makes the next writer fail at once with a :class:`RunLockedError` naming the
pid. Where ``flock`` does not exist, the pid written in the file is checked
instead (a lock whose pid is not running is stale).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: fall back to the pid check
    fcntl = None

LOCK = ".lock"


class RunLockedError(ValueError):
    """The run directory is being written by another live process."""


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def read_owner(run_dir) -> dict | None:
    """The JSON record of the lock file (``pid``, ``host``, ``purpose``), or None when absent or unreadable."""
    try:
        data = json.loads((Path(run_dir) / LOCK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class RunLock:
    """Hold ``RUN_DIR/.lock`` while writing ``run_dir``; ``purpose`` (e.g. ``"glassnet train"``) goes in the file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d, RunLock(d, "doctest") as lock:
    ...     read_owner(d)["pid"] == os.getpid()
    True
    """

    def __init__(self, run_dir, purpose: str):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.purpose = purpose
        self.took_over: dict | None = None  # the stale owner's record, when the lock was taken over
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        for _ in range(5):  # the file can be replaced between open and flock: retry then
            if self._try_acquire():
                return self
        raise RunLockedError(f"{self.run_dir}: cannot take the lock {self.path} (it keeps changing)")

    def _try_acquire(self) -> bool:
        previous = read_owner(self.run_dir)
        if fcntl is None:
            return self._try_acquire_by_pid(previous)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._busy(self._owner_of_held_lock()) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the owner removed the file while we opened it: start again on the new one
            os.close(fd)
            return False
        self._fd = fd
        self._write_record(previous)
        return True

    def _try_acquire_by_pid(self, previous) -> bool:
        if previous is not None and previous.get("pid") != os.getpid() and pid_alive(int(previous.get("pid", 0))):
            raise self._busy(previous)
        with contextlib.suppress(FileNotFoundError):
            if previous is not None:
                os.unlink(self.path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        self._write_record(previous)
        return True

    def _write_record(self, previous) -> None:
        if previous is not None and previous.get("pid") != os.getpid():
            self.took_over = previous
        record = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": self.purpose}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, (json.dumps(record) + "\n").encode("utf-8"), 0)

    def _owner_of_held_lock(self, tries: int = 50):
        """The holder's record: it may not be written yet when the holder has just taken the lock (wait up to 0.5 s)."""
        for _ in range(tries):
            owner = read_owner(self.run_dir)
            if owner:
                return owner
            time.sleep(0.01)
        return None

    def _busy(self, owner) -> RunLockedError:
        who = f"pid {owner.get('pid')}" if owner else "another process"
        what = f" ({owner.get('purpose')})" if owner and owner.get("purpose") else ""
        return RunLockedError(f"{self.run_dir}: in use by {who}{what}; one writer at a time: wait for it to end "
                              "or choose another directory")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still holding the lock, so nobody locks a removed file unnoticed
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
