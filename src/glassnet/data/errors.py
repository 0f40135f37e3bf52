"""The errors the data package raises, so callers can catch exactly them.

Each message names the file (or URL) and says what was expected and what was
found, on one line.
"""

from __future__ import annotations


class DataFormatError(ValueError):
    """A dataset file is truncated, corrupt, or not in the expected format."""


class ChecksumError(ValueError):
    """A downloaded file's checksum differs from the published one."""


class DownloadError(RuntimeError):
    """A dataset could not be fetched (no network, server error, ...)."""
