"""The errors the data package raises, so callers can catch exactly them.

Each message names the file (or URL) and says what was expected and what was
found, on one line.
"""

from __future__ import annotations


class DataFormatError(ValueError):
    """A dataset file is truncated, corrupt, or not in the expected format."""


class ChecksumError(ValueError):
    """A downloaded file's checksum differs from the published one."""


API_WORDS = {"download": "Pass download=True to fetch them", "root": "or pass root=<that directory>"}
"""How the messages below name the two remedies in the Python API (the command line passes its own)."""


class _Remedies:
    """A message with two remedies (fetch the files; name their directory) worded by the caller.

    ``str(error)`` uses :data:`API_WORDS`; ``error.message(words)`` uses the caller's words, e.g. the
    command line's ``--download`` and ``--data-dir DIR``.
    """

    def _init_remedies(self, template: str) -> None:
        self.template = template  # with {download} and {root}

    def message(self, words: dict | None = None) -> str:
        return self.template.format(**(words or API_WORDS))


class DatasetNotFoundError(_Remedies, FileNotFoundError):
    """A dataset's files are not where they were looked for (and ``download`` was not asked for)."""

    def __init__(self, label: str, missing, directory, how_to: str):
        self.label, self.missing, self.directory = label, list(missing), directory
        self._init_remedies(f"{label}: {', '.join(self.missing)} not found in {directory}. {{download}}, or put "
                            f"{how_to} ({{root}})")
        super().__init__(self.message())

    def __str__(self) -> str:
        return self.message()


class DownloadError(_Remedies, RuntimeError):
    """A dataset could not be fetched (no network, server error, ...)."""

    def __init__(self, text: str, how_to: str | None = None):
        self._init_remedies(text.replace("{", "{{").replace("}", "}}")
                            + (f". Without network, put {how_to} ({{root}})" if how_to else ""))
        super().__init__(self.message())

    def __str__(self) -> str:
        return self.message()
