"""Small file helpers shared by data/ and io.py: atomic writes and streaming checksums."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, make_parents: bool = True):
    """Open a temporary file beside ``path`` for binary writing; on success move it onto ``path``.

    A reader never sees a half-written ``path``: the data goes to a temporary
    file in the same directory, which ``os.replace`` renames in one step. If
    the block raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)  # umask applies
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_digest(path, algorithm: str = "sha256", chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file's bytes (``algorithm`` is any :mod:`hashlib` name, e.g. ``"md5"``)."""
    h = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()
