"""The distributed job greenlove runs in (torchrun, DDP), and the few collectives it issues itself.

:func:`current_world` reads the job when called, never at import: outside an initialised
``torch.distributed`` job it is one process (rank 0 of 1) and every collective of
:class:`RankGroup` is a no-op, so single-process users see no difference.

Inside a job, greenlove's collectives run on a process group of its own (gloo, CPU tensors,
whatever backend the user's training uses), so that they never interleave with the user's
NCCL stream nor touch a GPU, and that group has a timeout: a collective that does not complete
in time raises :class:`~greenlove.errors.BenchmarkError` naming this rank and what the ranks
were agreeing on, instead of hanging. A peer that exited makes gloo fail at once ("Connection
closed by peer"), which becomes the same error.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..errors import BenchmarkError

COLLECTIVE_TIMEOUT_S = 300.0
"""How long greenlove's own collectives wait for the other ranks. They wait at the edges of the
benchmark's epochs, where ranks are seconds apart at most; the longest wait is at the start
(ranks that reach ``estimate`` at different times) and at the end (rank 0 assembles the report
while the others wait for it)."""


@dataclass(frozen=True)
class World:
    """Where this process sits in the job: ``rank`` of ``size`` (global), ``local_rank`` of
    ``local_size`` on its node. One process: ``World()`` (rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def nodes(self) -> int:
        return max(1, math.ceil(self.size / self.local_size))

    @property
    def is_writer(self) -> bool:
        """Rank 0: the one process that shows progress and writes files."""
        return self.rank == 0

    @property
    def node_leader(self) -> bool:
        """Local rank 0: the one process per node that meters the node's CPU and memory."""
        return self.local_rank == 0

    def describe(self) -> dict[str, int]:
        """The report's ``environment["world"]``."""
        return {"size": self.size, "nodes": self.nodes, "ranks_per_node": self.local_size}


def _dist() -> Any | None:
    """``torch.distributed`` when a job is initialised, else None."""
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def current_world(env: Mapping[str, str] | None = None) -> World:
    """The job as it is now: ranks from ``torch.distributed``, the node's from torchrun's
    ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` (one rank per node where they are not set)."""
    import os

    dist = _dist()
    if dist is None:
        return World()
    env = os.environ if env is None else env
    size, rank = dist.get_world_size(), dist.get_rank()
    if size <= 1:
        return World()
    try:
        local_rank = int(env["LOCAL_RANK"])
        local_size = int(env["LOCAL_WORLD_SIZE"])
    except (KeyError, ValueError):
        local_rank, local_size = 0, 1
    if not 0 <= local_rank < local_size <= size:
        local_rank, local_size = 0, 1
    return World(rank=rank, size=size, local_rank=local_rank, local_size=local_size)


class RankGroup:
    """greenlove's own collectives over the job's ranks, each with a timeout.

    ``RankGroup.open()`` must be called by every rank (it creates a process group, which is a
    collective); ``close()`` releases it. In one process, ``open()`` returns a group of one
    whose collectives return at once.
    """

    def __init__(self, world: World, group: Any = None,
                 timeout_s: float = COLLECTIVE_TIMEOUT_S) -> None:
        self.world, self._group, self.timeout_s = world, group, timeout_s

    @classmethod
    def open(cls, timeout_s: float = COLLECTIVE_TIMEOUT_S, world: World | None = None) -> RankGroup:
        world = current_world() if world is None else world
        if not world.distributed:
            return cls(world)
        dist = _dist()
        assert dist is not None
        try:
            group = dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout_s))
        except Exception as error:
            raise _failed(world, "creating greenlove's process group", timeout_s, error) from error
        return cls(world, group, timeout_s)

    def close(self) -> None:
        """Release the process group (idempotent)."""
        group, self._group = self._group, None
        dist = _dist()
        if group is not None and dist is not None:
            with contextlib.suppress(Exception):   # best effort at teardown
                dist.destroy_process_group(group)

    # -- collectives ---------------------------------------------------------------------
    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        if self._group is None:
            raise BenchmarkError(f"greenlove (rank {self.world.rank} of {self.world.size}): "
                                 f"{what} was asked after greenlove's process group was closed")
        try:
            return function(*args, **kwargs)
        except Exception as error:
            raise _failed(self.world, what, self.timeout_s, error) from error

    def barrier(self, what: str) -> None:
        """Wait until every rank is here."""
        if not self.world.distributed:
            return
        dist = _dist()
        self._call(what, dist.barrier, group=self._group,
                   timeout=timedelta(seconds=self.timeout_s))

    def gather(self, what: str, value: Any) -> list[Any]:
        """Every rank's ``value`` (picklable), in rank order, on every rank."""
        if not self.world.distributed:
            return [value]
        dist = _dist()
        values: list[Any] = [None] * self.world.size
        self._call(what, dist.all_gather_object, values, value, group=self._group)
        return values

    def broadcast(self, what: str, value: Any) -> Any:
        """Rank 0's ``value`` (picklable), on every rank."""
        if not self.world.distributed:
            return value
        dist = _dist()
        box = [value if self.world.is_writer else None]
        self._call(what, dist.broadcast_object_list, box, src=0, group=self._group)
        return box[0]

    def agree(self, what: str, values: Mapping[str, Any]) -> None:
        """Check that every rank passed the same ``values`` (name -> value); when they differ,
        raise the same :class:`BenchmarkError` on every rank, naming each rank's value."""
        if not self.world.distributed:
            return
        everyone = self.gather(what, dict(values))
        differ = [name for name in values if any(v.get(name) != values[name] for v in everyone)]
        if not differ:
            return
        said = "; ".join(f"{name}: " + ", ".join(f"rank {r} {v.get(name)!r}"
                                                 for r, v in enumerate(everyone))
                         for name in differ)
        raise BenchmarkError(
            f"greenlove (rank {self.world.rank} of {self.world.size}): the ranks disagree on "
            f"{what}: {said}. Every rank must run the same epochs of the same size, or the "
            "ranks would wait for each other forever; pass the same arguments on every rank "
            "(and a DistributedSampler, which gives every rank a shard of the same length).")


def _failed(world: World, what: str, timeout_s: float, error: Exception) -> BenchmarkError:
    return BenchmarkError(
        f"greenlove (rank {world.rank} of {world.size}): the ranks could not agree on {what} "
        f"within {timeout_s:g} s ({type(error).__name__}: {error}). Every rank must call "
        "greenlove the same way and run the same epochs; a rank that stopped, failed or broke "
        "out of its loop leaves the others waiting.")


def rank_share(kinds: Sequence[tuple[str, int | None]], world: World,
               cuda_device: int | None) -> list[bool]:
    """Which of this machine's meters this rank reads, so that every device of the job is
    counted once: ``kinds`` holds each meter's (kind, GPU index or None).

    A rank that trains on a GPU (``cuda_device``, its current CUDA device) meters that GPU;
    the node's CPU and memory, and its GPUs when the job trains on the CPU, are metered by
    the node's local rank 0 alone. Outside a job: every meter."""
    if not world.distributed:
        return [True] * len(kinds)
    keep = []
    for kind, index in kinds:
        if kind == "gpu" and cuda_device is not None:
            keep.append(index == cuda_device)
        else:
            keep.append(world.node_leader)
    return keep


_GPU_NAME = re.compile(r"GPU (\d+)\b")


def gpu_index(meter: Any) -> int | None:
    """A GPU meter's CUDA-visible index, read from its name ("GPU 1: NVIDIA H100 ...", the
    convention of every GPU backend in devices/); None for other meters."""
    if getattr(meter, "kind", None) != "gpu":
        return None
    match = _GPU_NAME.match(str(getattr(meter, "name", "")))
    return int(match.group(1)) if match else None
