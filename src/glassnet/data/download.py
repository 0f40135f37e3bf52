"""Where dataset files live, and how they are fetched, verified and unpacked.

Files go to ``<data home>/<dataset>``, where the data home is ``$GLASSNET_DATA``
when that variable is set, else ``~/.cache/glassnet``.

Downloads are checked against the MD5 the publishers list (the same values
torchvision uses), written atomically (temporary file in the same directory,
then ``os.replace``), and a failed or mismatching download leaves nothing
behind. With no network the fetch fails within :data:`TIMEOUT_S` seconds with
a one-line message saying which files to put in which directory.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .._files import atomic_write
from .errors import ChecksumError, DataFormatError, DatasetNotFoundError, DownloadError

TIMEOUT_S = 10.0
"""Seconds any single network operation (connect, read) may take before the download is abandoned."""


def data_home() -> Path:
    """The root of glassnet's dataset cache: ``$GLASSNET_DATA`` or ``~/.cache/glassnet``."""
    env = os.environ.get("GLASSNET_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "glassnet"


def default_root(dataset: str) -> Path:
    """The directory a dataset's files go to by default: ``data_home() / dataset``."""
    return data_home() / dataset


@dataclass(frozen=True)
class Resource:
    """A published file: its name and the MD5 of its bytes as published."""

    filename: str
    md5: str


def _open_url(url: str, timeout: float):
    """Open ``url`` for reading (kept apart so tests can replace it)."""
    return urllib.request.urlopen(url, timeout=timeout)


def fetch(resource: Resource, mirrors, dest_dir, label: str) -> Path:
    """Download ``resource`` from the first mirror that answers into ``dest_dir``; verify its MD5.

    ``mirrors`` are base URLs ending in ``/`` (``https://``, ``http://`` or
    ``file://``). A network failure moves on to the next mirror; when all fail,
    :class:`DownloadError` is raised. A checksum mismatch raises
    :class:`ChecksumError` at once (nothing is written).
    """
    dest = Path(dest_dir) / resource.filename
    reasons = []
    for base in mirrors:
        url = base + resource.filename
        try:
            with _open_url(url, TIMEOUT_S) as response, atomic_write(dest) as out:
                print(f"glassnet: downloading {url} -> {dest}", file=sys.stderr)
                md5 = hashlib.md5(usedforsecurity=False)
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    md5.update(chunk)
                    out.write(chunk)
                if md5.hexdigest() != resource.md5:
                    raise ChecksumError(
                        f"{label}: checksum mismatch for {resource.filename} from {url} "
                        f"(expected md5 {resource.md5}, got {md5.hexdigest()}); the file was not kept"
                    )
            return dest
        except (OSError, ValueError, http.client.HTTPException) as exc:  # urllib.error.URLError is an OSError
            if isinstance(exc, ChecksumError):
                raise
            reasons.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise DownloadError(f"could not download {resource.filename} ({'; '.join(reasons) or 'no mirrors'})")


def download_all(label: str, resources, mirrors, dest_dir, how_to: str) -> None:
    """Fetch each missing resource into ``dest_dir``; on a network failure stop at once with a one-line hint.

    ``how_to`` completes the sentence "Without network, put ..." (which files in which directory).
    """
    for res in resources:
        if (Path(dest_dir) / res.filename).exists():
            continue
        try:
            fetch(res, mirrors, dest_dir, label)
        except DownloadError as exc:
            raise DownloadError(f"{label}: {exc}", how_to) from None


def missing_files_error(label: str, missing, directory, how_to: str) -> DatasetNotFoundError:
    """The error for dataset files that are absent and ``download=False`` (a ``FileNotFoundError``)."""
    return DatasetNotFoundError(label, missing, directory, how_to)


def extract_members(archive, members: dict, dest_dir, label: str) -> None:
    """Extract only the named regular files of a tar archive into ``dest_dir``, safely.

    ``members`` maps each wanted member name (e.g. ``"cifar-10-batches-bin/test_batch.bin"``)
    to its expected size in bytes, or ``None`` for any size. The output path is
    ``dest_dir / name`` built from *our* name, never from the archive, so a
    hostile archive cannot write elsewhere (no ``..``, absolute paths or links are
    followed); every other member is ignored. Each file is written atomically.
    """
    found = set()
    try:
        with tarfile.open(archive, "r:*") as tar:
            for info in tar:
                name = info.name.removeprefix("./")
                if name not in members or name in found:
                    continue
                if not info.isfile():
                    raise DataFormatError(f"{archive}: member {name} is not a regular file (type {info.type!r})")
                want = members[name]
                if want is not None and info.size != want:
                    raise DataFormatError(f"{archive}: member {name} has {info.size} bytes, expected {want}")
                src = tar.extractfile(info)
                with src, atomic_write(Path(dest_dir) / name) as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                found.add(name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataFormatError(f"{archive}: cannot read the archive ({exc})") from None
    missing = sorted(set(members) - found)
    if missing:
        raise DataFormatError(f"{label}: {archive} lacks the expected member(s) {', '.join(missing)}")
