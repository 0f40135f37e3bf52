"""Checkpoints moved to :mod:`glassnet.runs.checkpoint` (the run directory's one owner); the names stay here."""

from ..runs.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]
