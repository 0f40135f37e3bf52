"""The process-wide choices that only the user (or glassnet's own command) makes: :func:`tune_process`."""

from __future__ import annotations

from . import _threads, backend


def tune_process(malloc: bool = True, switch_interval: bool = True) -> dict:
    """Opt in to the two process-wide settings that make glassnet faster on small CPUs.

    ``import glassnet`` changes no process-wide setting; these two are the
    user's choice (the ``glassnet`` command makes it for its own process):

    * ``malloc``: glibc keeps freed memory for reuse instead of unmapping it
      (:func:`glassnet.backend.keep_freed_memory`; LeNet-5 training step
      6-15% less CPU time; the process keeps up to 512 MB of its peak heap);
    * ``switch_interval``: the interpreter hands the GIL over every 0.1 ms
      instead of 5 ms, only inside glassnet's parallel regions
      (:data:`glassnet._threads.SWITCH_INTERVAL`; two threads of a small layer
      then run side by side).

    Returns what was applied. The environment variables ``GLASSNET_MALLOC_TUNE=1``
    and ``GLASSNET_SWITCH_INTERVAL_TUNE=1`` make the same choices at import.
    """
    applied = {"malloc": False, "switch_interval": False}
    if malloc:
        applied["malloc"] = backend.keep_freed_memory()
    if switch_interval:
        _threads.set_switch_interval_tuning(True)
        applied["switch_interval"] = True
    return applied
