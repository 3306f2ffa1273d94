"""Energy during one benchmark: discover the meters, run the sampler, take the idle baseline,
and turn the traces into the report's measurement and prediction.

The Benchmark owns one EnergyRun; this keeps the power plumbing out of the timing loop.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

from ..measure.bounded import call_bounded
from ..measure.devices.base import Meter
from ..measure.devices.discover import meters_for
from ..measure.energy_options import IDLE_BUDGET_SHARE, EnergyOptions
from ..measure.load import gpu_sharing
from ..measure.power_sampler import DeviceTrace, PowerSampler
from ..measure.ranks import RankGroup, World, gpu_index, rank_share
from ..measure.timing import EpochRecord, Instruments, cuda_in_use
from ..model import TimePrediction
from ..model.energy import (
    EnergyMeasurement,
    EnergyPrediction,
    measure_energy,
    measurement_warnings,
    predict_energy,
)
from ..sample import Budget

SHARING_TIMEOUT_S = 2.0
"""How long the end of the benchmark waits for NVML's list of the GPUs' processes."""


class EnergyRun:
    """``options`` None: energy is not measured and every method is a no-op."""

    def __init__(self, options: EnergyOptions | None, instruments: Instruments, *,
                 world: World | None = None) -> None:
        self.options, self._clock, self._sleep = options, instruments.clock, instruments.sleep
        self._world = world or World()
        self._background = instruments.background
        self._sampler: PowerSampler | None = None
        self._meters: tuple[Meter, ...] = ()
        self._fallbacks: tuple[str, ...] = ()
        self._traces: tuple[DeviceTrace, ...] = ()
        self._origin_s = math.nan
        self._sharing: tuple[str, ...] = ()
        self.idle_window_s: tuple[float, float] | None = None

    def start(self, origin_s: float) -> None:
        """Discover the meters (or take the given ones) and start the sampler thread."""
        self._origin_s = origin_s
        if self.options is None:
            return
        found = meters_for(self.options.meters)
        self._meters, self._fallbacks = found.meters, found.fallbacks
        if self.options.meters is None and self._world.distributed:
            self._meters = self._rank_share(self._meters)
        self._sampler = PowerSampler(self._meters, interval_s=self.options.interval_s,
                                     clock=self._clock).start()

    def idle_baseline(self, budget: Budget) -> float:
        """A short idle reading before the first epoch; returns the seconds it took."""
        if self._sampler is None or self.options is None:
            return 0.0
        idle_s = self.options.idle_s
        if budget.value_s is not None:
            idle_s = min(idle_s, IDLE_BUDGET_SHARE * budget.value_s)
        if idle_s <= 0:
            return 0.0
        t0 = self._clock()
        self._sleep(idle_s)
        if self._background:
            t1 = self._clock()
            # A reading after the window's end, taken by the sampler's thread: a meter read
            # that hangs must never hold up the user's thread.
            self._sampler.wait_for_pass()
        else:
            self._sampler.sample_once()   # tests on a fake clock: the reading at exactly t1
            t1 = self._clock()
        self.idle_window_s = (t0 - self._origin_s, t1 - self._origin_s)
        return self._clock() - t0

    def stop(self) -> None:
        """Stop the thread and keep the traces (idempotent; safe on any exit path)."""
        if self._sampler is not None and not self._sampler.abandoned and not self._sharing:
            self._sharing = self._gpu_sharing()
        if self._sampler is not None:
            self._sampler.stop()
            self._traces = self._sampler.traces()

    def _rank_share(self, meters: tuple[Meter, ...]) -> tuple[Meter, ...]:
        """This rank's share of the machine's meters (:func:`~..measure.ranks.rank_share`):
        its own GPU, and the node's CPU and memory on local rank 0; the rest are closed."""
        import torch

        cuda = torch.cuda.current_device() if cuda_in_use() else None
        keep = rank_share([(m.kind, gpu_index(m)) for m in meters], self._world, cuda)
        for meter, kept in zip(meters, keep):
            if not kept:
                meter.close()
        return tuple(m for m, kept in zip(meters, keep) if kept)

    def gather_ranks(self, ranks: RankGroup) -> None:
        """In a distributed job (every rank calls it, after the benchmark): every rank's traces
        to rank 0, moved onto rank 0's clock (the ranks' starts are aligned by a barrier) and
        named by rank, so that rank 0's report sums every device of the job once."""
        if self.options is None or not ranks.world.distributed:
            return
        shared = ranks.gather("the energy of every rank",
                              (self._origin_s, self._traces, self._fallbacks, self._sharing))
        if not ranks.world.is_writer:
            return
        traces: list[DeviceTrace] = []
        for rank, (origin_s, rank_traces, _, _) in enumerate(shared):
            shift_s = self._origin_s - origin_s
            traces += [dataclasses.replace(t, name=f"rank {rank}: {t.name}",
                                           times_s=tuple(x + shift_s for x in t.times_s))
                       for t in rank_traces]
        self._traces = tuple(traces)
        # The ranks of one node find the same fallbacks: each said once.
        self._fallbacks = tuple(dict.fromkeys(f for _, _, said, _ in shared for f in said))
        self._sharing = tuple(dict.fromkeys(f for _, _, _, said in shared for f in said))

    def _gpu_sharing(self, timeout_s: float = SHARING_TIMEOUT_S) -> tuple[str, ...]:
        """Who else ran on the GPUs, asked of NVML before the meters close, off the user's
        thread and waited for at most ``timeout_s``; a failure is a sentence less, never more."""
        cuda = cuda_in_use()
        try:
            finished, said = call_bounded(
                lambda: gpu_sharing(self._meters, own_pid=os.getpid(), cuda_in_use=cuda),
                timeout_s, name="greenlove-gpu-sharing")
        except Exception:
            return ()
        return said if finished and said is not None else ()

    def results(self, records: Sequence[EpochRecord], prediction: TimePrediction, *,
                full_batches: int, epochs: int, confidence: float, drift_rel: float,
                ) -> tuple[EnergyMeasurement | None, EnergyPrediction | None, tuple[str, ...]]:
        """What was measured, the prediction of the full run, and the warnings about both."""
        if self.options is None:
            return None, None, ()
        measured = measure_energy(
            self._traces, records, prediction.roles, origin_s=self._origin_s,
            idle_window_s=self.idle_window_s, interval_s=self.options.interval_s,
            fallbacks=self._fallbacks,
        )
        warnings = [*self._sharing, *measurement_warnings(measured, records)]
        predicted = predict_energy(measured, records, prediction, full_batches=full_batches,
                                   epochs=epochs, confidence=confidence, drift_rel=drift_rel)
        if predicted is None:
            warnings.append("No device's energy could be measured or estimated, so the report "
                            "has no energy prediction.")
        else:
            warnings += predicted.warnings
        return measured, predicted, tuple(warnings)

    def assumptions(self) -> dict[str, dict[str, Any]]:
        """Constants the estimating meters used (TDP, W per GB), each with its source."""
        found: dict[str, dict[str, Any]] = {}
        for meter in self._meters:
            found.update(getattr(meter, "assumptions", lambda: {})())
        return found
