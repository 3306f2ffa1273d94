"""Timing primitives: the clock, device synchronisation at timing edges, and raw epoch records.

Raw values are kept apart from statistics (pyperf): an :class:`EpochRecord` holds what was
measured, and :mod:`greenlove.model` derives everything else from a list of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import BenchmarkError
from .load import cpu_snapshot

Clock = Callable[[], float]
"""A monotonic clock in seconds; ``time.perf_counter`` unless a test injects another."""

MAX_BATCH_TIMES_KEPT = 4096
"""Per-batch intervals kept per epoch; longer epochs keep the first ones (bounded memory)."""


def synchronize_devices() -> None:
    """Wait for queued device work so a timestamp means what it says (CUDA is asynchronous).

    Only devices the user's code already initialised are synchronised: greenlove never creates
    a CUDA context of its own. In a distributed job each rank synchronises only its current
    device (the one it trains on): touching the others would open a context on every GPU from
    every rank.
    """
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        from .ranks import current_world

        indices = [torch.cuda.current_device()] if current_world().distributed \
            else range(torch.cuda.device_count())
        for index in indices:
            torch.cuda.synchronize(index)
    mps_backend = getattr(torch.backends, "mps", None)
    if mps_backend is not None and mps_backend.is_available():
        torch.mps.synchronize()


def cuda_in_use() -> bool:
    """Whether this process's code has initialised CUDA (never initialises it)."""
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def training_device_kind(model: Any) -> str:
    """Where training runs: "accelerator" when the model lives on a GPU (CUDA, MPS, XPU...),
    else "cpu". Without a model: "accelerator" when the user's code initialised CUDA."""
    if model is not None:
        for tensor in (*model.parameters(), *model.buffers()):
            return "cpu" if tensor.device.type == "cpu" else "accelerator"
    cuda_used = torch.cuda.is_available() and torch.cuda.is_initialized()
    return "accelerator" if cuda_used else "cpu"


@dataclass(frozen=True)
class EpochRecord:
    """One timed epoch of the benchmark, as measured (seconds throughout)."""

    order: int                 # position in the benchmark, 0-based
    sample_batches: int        # batches the sampled loader offered
    sample_size: int           # items in those batches
    batches_drawn: int         # batches the user's epoch actually took
    epoch_s: float             # synchronised wall time of the whole train_epoch call
    started_s: float           # start of the epoch, seconds after the benchmark began
    loader_epoch: int          # 0 for the first epoch served by its loader (worker start-up)
    first_batch_s: float | None = None   # epoch start to first batch delivered (unsynchronised)
    batch_s: tuple[float, ...] = ()      # intervals between batch deliveries (unsynchronised)
    span_s: float | None = None          # first to last batch delivery (unsynchronised)
    profiled: bool = False               # its first step ran under the cloud comparison's profiler
    compile_s: float = 0.0               # of epoch_s, torch.compile's compiling (compile_watch)
    recompiles: int = 0                  # recompiles the compiler reported during the epoch

    @property
    def outside_batches_s(self) -> float | None:
        """What the epoch spent outside the span of batch deliveries: loader start-up before
        the first batch, the last batch's step, and whatever the epoch does after its loop
        (validation, checkpoints). None with fewer than two batches."""
        if self.span_s is None or self.batches_drawn < 2:
            return None
        return self.epoch_s - self.span_s


class BatchRecorder:
    """Records when batches are handed to the user's loop: one clock read per batch.

    Not synchronised with the device (that would change the user's training); these times show
    loader start-up and stalls, while epoch times, synchronised at both edges, drive the model.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        self.started_at: float | None = None
        self.deliveries: list[float] = []
        self.last_delivery: float | None = None
        self.count = 0
        self._step_hooks: tuple[Callable[[], Any], Callable[[], Any]] | None = None

    def mark_start(self, now: float) -> None:
        self.started_at = now

    def around_first_step(self, start: Callable[[], Any], stop: Callable[[], Any]) -> None:
        """In the coming epoch, call ``start`` when the first batch is handed over and ``stop``
        when the loop asks for the next one (or leaves): exactly one training step, not what
        the epoch function does before or after its loop."""
        self._step_hooks = (start, stop)

    def wrap(self, batches: Iterator[Any], limit: int | None = None) -> Iterator[Any]:
        """Yield from ``batches`` (at most ``limit`` of them), stamping each delivery."""
        clock = self._clock
        deliveries = self.deliveries
        for batch in batches:
            self.count += 1
            now = self.last_delivery = clock()
            if len(deliveries) <= MAX_BATCH_TIMES_KEPT:
                deliveries.append(now)
            if self._step_hooks is None:
                yield batch
            else:
                (start, stop), self._step_hooks = self._step_hooks, None
                start()
                try:
                    yield batch
                finally:
                    stop()
            if limit is not None and self.count >= limit:
                return

    def intervals(self) -> tuple[float | None, tuple[float, ...], float | None]:
        """(time to first batch, intervals between kept batches, first-to-last span) in s."""
        if not self.deliveries or self.started_at is None or self.last_delivery is None:
            return None, (), None
        first = self.deliveries[0] - self.started_at
        steps = tuple(b - a for a, b in zip(self.deliveries, self.deliveries[1:]))
        return first, steps, self.last_delivery - self.deliveries[0]


def elapsed_s(start: float, end: float) -> float:
    """A clock difference, refusing values no real epoch can have."""
    value = end - start
    if not math.isfinite(value) or value < 0:
        raise BenchmarkError(
            f"the clock gave a non-finite or negative epoch time ({value!r} s from {start!r} to "
            f"{end!r}); greenlove needs a monotonic clock such as time.perf_counter"
        )
    return value


def default_clock() -> Clock:
    return time.perf_counter


@dataclass(frozen=True)
class Instruments:
    """What the benchmark reads time from and waits with: the real ones unless a test injects
    fakes (a clock that only moves when told, no device sync, sleeping that advances the clock).

    ``clock``: monotonic seconds; ``synchronize``: waits for queued device work at a timing
    edge; ``sleep``: waits that many seconds (the idle baseline); ``background``: a tracked run
    updates its forecast, progress and file on a thread once a second (False: only at epoch
    ends and when asked, so that tests on a fake clock are deterministic); ``cpu_snapshot``:
    the machine's CPU counters, for the load during the benchmark (None: not measured).
    """

    clock: Clock = time.perf_counter
    synchronize: Callable[[], None] = synchronize_devices
    sleep: Callable[[float], None] = time.sleep
    background: bool = True
    cpu_snapshot: Callable[[], Any] | None = cpu_snapshot
