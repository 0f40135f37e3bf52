"""`DataParallel`: what the :class:`~glassnet.train.Trainer` asks of the ranks when it trains under mpirun.

The trainer stays one loop; where N ranks must act together it calls this
object (``Trainer(..., parallel=DataParallel(model))`` with a
:class:`~glassnet.distributed.ShardedLoader` as the training loader):

=========================  =====================================================================
trainer                    DataParallel
=========================  =====================================================================
forward/backward of a step ``shard(loader)``: the loss-gradient weight ``n_r / b``; a stand-in
                           image (weight 0) adds nothing to synchronised batch statistics
after backward             ``reduce_gradients()``: bucketed all-reduce (sum) of the gradients
after each batch           ``any(flag)``: did any rank get Ctrl-C / SIGTERM / SIGUSR1?
end of epoch               ``reduce_sums(sums)``: loss, correct and seen summed over the ranks;
                           ``evaluate(model, loader, loss_fn)``: batches split over the ranks,
                           gathered, reduced in batch order (bit-equal to one process)
checkpoint                 ``checkpoint_state(trainer, state)``: every rank's RNG state and
                           running sums gathered to rank 0, the only writer
resume                     ``load_state(trainer, state)``: each rank takes its own back
=========================  =====================================================================

Random numbers: every rank seeds the same generator, so the model starts
identical everywhere (it is broadcast from rank 0 as well); then rank r
advances its generator by ``r * 2**64`` draws, so dropout masks differ
between ranks and rank 0 keeps the one-process stream.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

import numpy as np

from .. import backend
from ..nn.module import no_grad
from . import comm
from .reduce import BUCKET_MB, GradientReducer, broadcast_buffers, broadcast_parameters
from .sampler import StridedLoader
from .sync_bn import stand_in

_SUMS = ("loss", "correct", "seen")


class DataParallel:
    """Synchronous data-parallel training of ``model`` over the MPI world (see the module docstring)."""

    def __init__(self, model, world=None, bucket_mb: float = BUCKET_MB):
        self.world = world if world is not None else comm.world()
        self.model = model
        self.reducer = GradientReducer(model.parameters(), bucket_mb)
        broadcast_parameters(model)
        if self.world.rank > 0:
            backend.rng().bit_generator.advance(self.world.rank * 2**64)

    @property
    def rank(self) -> int:
        return self.world.rank

    @property
    def size(self) -> int:
        return self.world.size

    @property
    def is_root(self) -> bool:
        return self.world.rank == 0

    # ------------------------------------------------------------------ a step
    @contextlib.contextmanager
    def shard(self, loader):
        """The weight of this rank's loss gradient for the batch ``loader`` just gave (``n_r / b``)."""
        with stand_in(loader.n_local == 0):
            yield loader.weight

    def reduce_gradients(self) -> None:
        self.reducer(self.world)

    def any(self, flag: bool) -> bool:
        return self.world.any(flag)

    def reduce_sums(self, sums: dict) -> dict:
        total = self.world.allreduce_(np.array([float(sums[k]) for k in _SUMS]))
        return {**sums, "loss": float(total[0]), "correct": int(round(total[1])), "seen": int(round(total[2]))}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, model, loader, loss_fn=None) -> dict:
        """:func:`glassnet.train.evaluate` with the batches dealt round-robin to the ranks; the same dict on every rank.

        Rank 0's buffers (running statistics) are copied to every rank first.
        Per-batch results are gathered and summed in batch order, so loss,
        accuracy and predictions equal a one-process evaluation bit for bit.
        """
        broadcast_buffers(model)
        flags = [(m, m.training) for m in model.modules()]
        model.eval()
        mine = []
        try:
            with no_grad():
                for k, x, y in StridedLoader(loader, self.size, self.rank):
                    logits = model(x)
                    loss = float(loss_fn(logits, y)) * len(y) if loss_fn is not None else None
                    mine.append((k, loss, y, np.asarray(logits).argmax(axis=1)))
        finally:
            for m, flag in flags:
                object.__setattr__(m, "training", flag)
        parts = sorted((p for rank_parts in self.world.allgather(mine) for p in rank_parts), key=lambda p: p[0])
        total = 0.0
        for _, loss, _, _ in parts:
            total += loss if loss is not None else 0.0
        t = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
        pred = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
        n = len(t)
        acc = float(np.mean(pred == t)) if n else float("nan")  # as glassnet.train.metrics.accuracy
        return {"loss": total / n if loss_fn is not None and n else None, "acc": acc, "targets": t, "pred": pred,
                "n": n}

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self, trainer, state: dict) -> dict | None:
        """``state`` plus every rank's RNG state and running sums, on rank 0; None on the others."""
        mine = {"rng": backend.get_rng_state(), "sums": {k: trainer._sums[k] for k in _SUMS}}
        gathered = self.world.gather(mine)
        if not self.is_root:
            return None
        return {**state, "world_size": self.size, "ranks": gathered}

    def load_state(self, trainer, state: dict) -> None:
        """After a resume: this rank's RNG state and running sums (see docs/distributed.md for another N)."""
        ranks = state.get("ranks")
        if ranks is not None and len(ranks) == self.size:
            backend.set_rng_state(ranks[self.rank]["rng"])
            trainer._sums = {**trainer._sums, **ranks[self.rank]["sums"]}
            return
        # another number of ranks: rank 0 carries the epoch's totals so far, the others start from zero
        per_rank = [r["sums"] for r in ranks] if ranks else [state["sums"]]
        if self.is_root:
            trainer._sums = {**trainer._sums, **{k: sum(s[k] for s in per_rank) for k in _SUMS}}
        else:
            trainer._sums = {**trainer._sums, "loss": 0.0, "correct": 0, "seen": 0}
            backend.rng().bit_generator.advance(self.rank * 2**64)

    # ------------------------------------------------------------------ signals
    @contextlib.contextmanager
    def signals(self, trainer):
        """SIGINT, SIGTERM (what mpirun sends on Ctrl-C) and SIGUSR1 (forwarded by mpirun) only raise a flag.

        The ranks agree on it after each batch (:meth:`any`), so they all
        stop after the same batch and save one checkpoint together.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if not trainer._interrupt_requested and self.is_root:
                print(f"\nglassnet: signal {signal.Signals(signum).name}: stopping after this batch to save a "
                      "checkpoint", file=sys.stderr, flush=True)
            trainer._interrupt_requested = True

        sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
        previous = [signal.signal(s, handler) for s in sigs]
        try:
            yield
        finally:
            for s, p in zip(sigs, previous, strict=True):
                signal.signal(s, p)
