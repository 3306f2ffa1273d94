"""The accuracy benchmark: predict each built-in workload, train it fully, compare.

For every workload: greenlove's prediction (automatic budget), then the full training timed
epoch by epoch (the ground truth), optionally repeated to measure the machine's own floor (how
far two identical runs differ). On the same measurements, the two older methods: proportional
scaling of the largest sample (the method greenlove started from) and first full epoch x epochs
(Carbontracker's).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from ..measure.devices.discover import discover_meters
from ..measure.power_sampler import PowerSampler
from ..model import proportional_prediction
from ..model.energy import J_PER_KWH
from ..run import estimate
from .workloads import WORKLOADS, Workload, get_workload


@dataclass(frozen=True)
class AccuracyRow:
    """One workload's prediction against its measured full run (seconds)."""

    workload: str
    family: str
    epochs: int
    batches_per_epoch: int
    predicted_s: float
    low_s: float
    high_s: float
    actual_s: float
    repeat_actual_s: tuple[float, ...]    # further full runs, for the floor
    actual_epoch_s: tuple[float, ...]     # the ground-truth run's epochs, for diagnosis
    benchmark_s: float                    # wall time of the whole estimate() call
    proportional_s: float
    first_epoch_s: float                  # first full epoch x epochs
    warnings: tuple[str, ...]
    method: str = ""                      # how the model was estimated
    noise_rel: float = 0.0                # epoch-to-epoch noise seen by the benchmark
    # Energy: greenlove's prediction against the same meters read through the full run
    # (this checks the sampling and the model, not the meters themselves).
    predicted_kwh: float | None = None
    low_kwh: float | None = None
    high_kwh: float | None = None
    actual_kwh: float | None = None
    energy_method: str = ""
    meter_methods: tuple[str, ...] = ()

    @property
    def energy_error(self) -> float | None:
        if self.predicted_kwh is None or not self.actual_kwh:
            return None
        return self.predicted_kwh / self.actual_kwh - 1

    @property
    def energy_covered(self) -> bool | None:
        if self.predicted_kwh is None or self.actual_kwh is None:
            return None
        return self.low_kwh <= self.actual_kwh <= self.high_kwh

    @property
    def error(self) -> float:
        return self.predicted_s / self.actual_s - 1

    @property
    def covered(self) -> bool:
        return self.low_s <= self.actual_s <= self.high_s

    @property
    def share(self) -> float:
        return self.benchmark_s / self.actual_s

    @property
    def proportional_error(self) -> float:
        return self.proportional_s / self.actual_s - 1

    @property
    def first_epoch_error(self) -> float:
        return self.first_epoch_s / self.actual_s - 1

    @property
    def floor(self) -> float | None:
        """Largest relative difference between repeated full runs (None without repeats)."""
        if not self.repeat_actual_s:
            return None
        runs = (self.actual_s, *self.repeat_actual_s)
        return (max(runs) - min(runs)) / statistics.fmean(runs)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(error=self.error, covered=self.covered, share=self.share,
                    proportional_error=self.proportional_error,
                    first_epoch_error=self.first_epoch_error, floor=self.floor,
                    energy_error=self.energy_error, energy_covered=self.energy_covered)
        return data


def _full_run(workload: Workload, seed: int, scale: str) -> tuple[float, list[float]]:
    setup = workload.build(seed, scale)
    epoch_s = []
    start = time.perf_counter()
    for _ in range(setup.epochs):
        t0 = time.perf_counter()
        setup.train_epoch(setup.loader)
        epoch_s.append(time.perf_counter() - t0)
    return time.perf_counter() - start, epoch_s


def measure_workload(workload: Workload, *, seed: int = 0, scale: str = "full",
                     repeat: int = 1) -> AccuracyRow:
    """Predict, then train fully in the same process, as a user would."""
    setup = workload.build(seed, scale)
    start = time.perf_counter()
    report = estimate(setup.train_epoch, setup.loader, epochs=setup.epochs,
                      restore=setup.restore, seed=seed, progress=False)
    benchmark_s = time.perf_counter() - start
    # Ground truth: the same objects, restored by greenlove, trained for the whole run, with
    # the same kind of meters read in the background.
    sampler = PowerSampler(discover_meters().meters).start()
    try:
        run_start = time.perf_counter()
        epoch_s = []
        for _ in range(setup.epochs):
            t0 = time.perf_counter()
            setup.train_epoch(setup.loader)
            epoch_s.append(time.perf_counter() - t0)
        run_end = time.perf_counter()
    finally:
        sampler.stop()
    actual_s = run_end - run_start
    actual_kwh = _energy_kwh(sampler, run_start, run_end)
    repeats = tuple(_full_run(workload, seed, scale)[0] for _ in range(repeat - 1))
    bench = report.benchmark
    pred = report.prediction.time_s
    return AccuracyRow(
        workload=workload.name, family=workload.family, epochs=setup.epochs,
        batches_per_epoch=report.plan.batches_per_epoch,
        predicted_s=pred.point, low_s=pred.low, high_s=pred.high, actual_s=actual_s,
        repeat_actual_s=repeats, actual_epoch_s=tuple(epoch_s), benchmark_s=benchmark_s,
        proportional_s=proportional_prediction(bench.epochs, bench.roles,
                                               full_batches=report.plan.batches_per_epoch,
                                               epochs=setup.epochs),
        first_epoch_s=epoch_s[0] * setup.epochs,
        warnings=report.warnings,
        method=report.prediction.fit.method,
        noise_rel=report.prediction.fit.noise_rel,
        **_energy_fields(report, actual_kwh),
    )


def _energy_kwh(sampler: PowerSampler, start_s: float, end_s: float) -> float | None:
    """Every measured device's energy over [start_s, end_s], or None if one lacks it."""
    values = [t.energy_between_j(start_s, end_s) for t in sampler.traces() if t.times_s]
    if not values or any(v is None for v in values):
        return None
    return sum(values) / J_PER_KWH


def _energy_fields(report, actual_kwh: float | None) -> dict:
    energy = report.prediction.energy
    if energy is None:
        return {}
    return {"predicted_kwh": energy.energy_kwh.point, "low_kwh": energy.energy_kwh.low,
            "high_kwh": energy.energy_kwh.high, "actual_kwh": actual_kwh,
            "energy_method": energy.method,
            "meter_methods": tuple(d.method for d in energy.devices)}


def run_accuracy(names: Sequence[str] | None = None, *, scale: str = "full", repeat: int = 1,
                 seed: int = 0,
                 on_row: Callable[[AccuracyRow], None] | None = None) -> list[AccuracyRow]:
    workloads = [get_workload(n) for n in names] if names else list(WORKLOADS)
    rows = []
    for workload in workloads:
        row = measure_workload(workload, seed=seed, scale=scale, repeat=repeat)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


@dataclass(frozen=True)
class AccuracySummary:
    median_abs_error: float
    max_abs_error: float
    covered: int
    workloads: int
    max_share: float
    median_share: float
    proportional_median_abs_error: float
    proportional_max_abs_error: float
    first_epoch_median_abs_error: float
    first_epoch_max_abs_error: float
    median_floor: float | None
    max_floor: float | None
    energy_median_abs_error: float | None = None
    energy_max_abs_error: float | None = None
    energy_covered: int = 0
    energy_workloads: int = 0


def summarise(rows: Sequence[AccuracyRow]) -> AccuracySummary:
    def med_max(values: list[float]) -> tuple[float, float]:
        return statistics.median(values), max(values)

    ours = med_max([abs(r.error) for r in rows])
    prop = med_max([abs(r.proportional_error) for r in rows])
    first = med_max([abs(r.first_epoch_error) for r in rows])
    floors = [r.floor for r in rows if r.floor is not None]
    shares = [r.share for r in rows]
    return AccuracySummary(
        median_abs_error=ours[0], max_abs_error=ours[1],
        covered=sum(r.covered for r in rows), workloads=len(rows),
        max_share=max(shares), median_share=statistics.median(shares),
        proportional_median_abs_error=prop[0], proportional_max_abs_error=prop[1],
        first_epoch_median_abs_error=first[0], first_epoch_max_abs_error=first[1],
        median_floor=statistics.median(floors) if floors else None,
        max_floor=max(floors) if floors else None,
        **_energy_summary(rows),
    )


def _energy_summary(rows: Sequence[AccuracyRow]) -> dict:
    errors = [abs(r.energy_error) for r in rows if r.energy_error is not None]
    if not errors:
        return {}
    return {"energy_median_abs_error": statistics.median(errors),
            "energy_max_abs_error": max(errors),
            "energy_covered": sum(bool(r.energy_covered) for r in rows),
            "energy_workloads": len(errors)}
