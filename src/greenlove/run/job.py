"""The benchmark inside a distributed job (torchrun, DDP): what the ranks decide together.

In a collective job every rank must run the same epochs of the same size, or one rank leaves
its loop while another waits in a backward all-reduce. So:

- the ranks first check that they were given the same run (epochs, batches per epoch on their
  shard, budget, sample cap, warm-up, seed, energy on or off); a difference is one clear error
  on every rank;
- rank 0's schedule alone decides each next sample size and when to stop, and broadcasts it;
- the timing edges: a barrier before each epoch's start (every rank's clock starts together),
  then the largest of the ranks' epoch times. A job's epoch lasts as long as its slowest rank,
  and taking the maximum of durations measured before any collective keeps greenlove's own
  collective out of the figure (a barrier at the end would add its latency to every epoch and
  give each rank a different share of it). Every rank then holds rank 0's record with that
  time, so the records, and everything predicted from them, are identical on every rank;
- at the end, rank 0 assembles the report (with every rank's energy traces) and every rank
  returns the same report.

Outside a job every method here returns at once, and the benchmark is what it always was.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from typing import Any

from ..errors import BenchmarkError
from ..measure import EpochRecord
from ..measure.ranks import RankGroup, World
from ..sample import LoaderShape, Step
from .options import Settings


class BenchmarkJob:
    """One benchmark's collectives; ``close()`` releases the process group (idempotent)."""

    def __init__(self, ranks: RankGroup) -> None:
        self.ranks = ranks

    @classmethod
    def open(cls) -> BenchmarkJob:
        return cls(RankGroup.open())

    @property
    def world(self) -> World:
        return self.ranks.world

    def close(self) -> None:
        self.ranks.close()

    def agree(self, settings: Settings, shape: LoaderShape) -> None:
        """The same run on every rank, or a :class:`BenchmarkError` on every rank."""
        self.ranks.agree("the benchmark's arguments", {
            "epochs": settings.epochs,
            "batches per epoch (len(loader) on each rank)": shape.full_batches,
            "budget_s": settings.budget.value_s,
            "sample_fraction": settings.sample_fraction,
            "warmup_epochs": settings.warmup_epochs,
            "seed": settings.seed,
            # On or off changes which collectives follow: the ranks must issue the same ones.
            "energy measured": settings.energy is not None,
        })

    def next_step(self, decide: Callable[[], Step | None], order: int) -> Step | None:
        """Rank 0's decision (``decide()`` is called there only), on every rank."""
        step = decide() if self.world.is_writer else None
        return self.ranks.broadcast(f"the sample size of timed epoch {order}", step)

    def start_edge(self, order: int) -> None:
        """Every rank starts timed epoch ``order`` together."""
        self.ranks.barrier(f"the start of timed epoch {order}")

    def shared_record(self, order: int, local: EpochRecord | BenchmarkError) -> EpochRecord:
        """Rank 0's record of the epoch with the slowest rank's time, on every rank; a rank's
        error (no batch drawn...) is raised on every rank."""
        if not self.world.distributed:
            if isinstance(local, BenchmarkError):
                raise local
            return local
        mine = str(local) if isinstance(local, BenchmarkError) else local
        records = self.ranks.gather(f"the time of timed epoch {order}", mine)
        failed = [(rank, r) for rank, r in enumerate(records) if isinstance(r, str)]
        if failed:
            raise BenchmarkError("; ".join(f"rank {rank}: {said}" for rank, said in failed))
        return dataclasses.replace(records[0], epoch_s=max(r.epoch_s for r in records))

    def node_cpu_s(self, own_s: float) -> float:
        """On rank 0: the CPU seconds the job's other ranks on rank 0's machine spent (each
        rank's ``own_s``), so that the machine's load does not count the job itself as other
        processes; 0 in one process and on the other ranks. The host name is compared here
        and never kept."""
        if not self.world.distributed:
            return 0.0
        shared = self.ranks.gather("the ranks' CPU time", (socket.gethostname(), own_s))
        if not self.world.is_writer:
            return 0.0
        host = shared[0][0]
        return sum(seconds for name, seconds in shared[1:] if name == host)

    def share_report(self, build: Callable[[], Any]) -> Any:
        """``build()`` on rank 0, its result on every rank (rank 0's failure raised on all)."""
        if not self.world.distributed:
            return build()
        built: Any = None
        failure: str | None = None
        if self.world.is_writer:
            try:
                built = build()
            except Exception as error:
                failure = f"{type(error).__name__}: {error}"
                self.ranks.broadcast("the report", (None, failure))
                raise
        built, failure = self.ranks.broadcast("the report", (built, failure))
        if failure is not None:
            raise BenchmarkError(f"rank 0 could not build the report ({failure})")
        return built
