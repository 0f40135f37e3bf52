"""Per-epoch weights for the explorer's training replay (``glassnet train --keep-epoch-weights``).

With the option, the run directory gets one weights file per finished epoch::

    RUN_DIR/epochs/epoch-001.safetensors, epoch-002.safetensors, ...

each the model's ``state_dict()`` at the end of that epoch (PyTorch key names, as ``model.safetensors``).
A file costs 4 bytes per parameter: LeNet-5 (61,706 parameters) 247 kB an epoch, ResNet-20 1.1 MB,
ResNet-18 47 MB. Meant for small models; ``glassnet explore`` puts an epoch slider over them.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..io import save_weights

EPOCHS_DIR = "epochs"
_NAME = re.compile(r"^epoch-(\d{3,})\.safetensors$")


def epoch_file(run_dir, epoch: int) -> Path:
    return Path(run_dir) / EPOCHS_DIR / f"epoch-{epoch:03d}.safetensors"


class KeepEpochWeights:
    """A training callback: after every epoch, write the weights to ``RUN_DIR/epochs/epoch-NNN.safetensors``."""

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, trainer, epoch, record):

        number = int(record.get("epoch", epoch + 1))
        path = epoch_file(self.run_dir, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_weights(path, trainer.model.state_dict(), metadata={"epoch": str(number)})


def saved_epochs(run_dir) -> list[int]:
    """The epoch numbers with a weights file in ``RUN_DIR/epochs``, sorted."""
    folder = Path(run_dir) / EPOCHS_DIR
    if not folder.is_dir():
        return []
    found = (_NAME.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)
