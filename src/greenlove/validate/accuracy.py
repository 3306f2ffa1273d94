"""The accuracy benchmark: predict each built-in workload, train it fully, compare.

For every workload (pass 1): greenlove's prediction (automatic budget, an empty history: the
default drift), then the full training tracked with ``greenlove.track`` (the ground truth: its
time, energy and live forecasts). With two or more full runs per workload, pass 2 predicts each
workload again with the drift learnt from the other workloads' pass-1 runs (leave one out,
:mod:`.calibration`) and tracks a second full run, which is also the repeat that measures the
machine's floor (how far two identical runs differ). On the same measurements, the older
methods: proportional scaling of the largest sample (the method greenlove started from), first
full epoch x epochs (Carbontracker's), and, at 10/25/50% of each run, elapsed / done
(:mod:`.live`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from ..model import proportional_prediction
from ..run import estimate
from .calibration import (
    CalibrationSummary,
    EnergyVsActual,
    Pass2,
    PredictedVsActual,
    ValidateFolders,
    drift_used,
    pass_figures,
    second_pass,
    validate_folders,
)
from .full_run import tracked_run
from .live import LivePoint, LiveSummary, live_points, point_at, summarise_live
from .workloads import WORKLOADS, Workload, get_workload


@dataclass(frozen=True)
class AccuracyRow(PredictedVsActual, EnergyVsActual):
    """One workload's prediction against its measured full run (seconds)."""

    workload: str
    family: str
    epochs: int
    batches_per_epoch: int
    predicted_s: float
    low_s: float
    high_s: float
    actual_s: float                       # the tracker's time of the pass-1 full run
    repeat_actual_s: tuple[float, ...]    # further full runs (pass 2 first), for the floor
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
    drift_rel: float | None = None        # the drift term pass 1's prediction used
    timer_s: float | None = None          # perf_counter around pass 1's epoch loop (cross-check)
    live: tuple[LivePoint, ...] = ()      # the live forecast at 10/25/50% of every full run
    track_warnings: tuple[str, ...] = ()  # what tracking the full runs warned about
    pass2: Pass2 | None = None            # leave-one-out calibrated prediction vs 2nd full run

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
    def timer_gap(self) -> float | None:
        """The tracker's run time against the perf_counter timer's: tracker / timer - 1."""
        return None if not self.timer_s else self.actual_s / self.timer_s - 1

    @property
    def floor(self) -> float | None:
        """Largest relative difference between repeated full runs (None without repeats)."""
        if not self.repeat_actual_s:
            return None
        runs = (self.actual_s, *self.repeat_actual_s)
        return (max(runs) - min(runs)) / statistics.fmean(runs)

    def live_at(self, fraction: float, run: int = 0) -> LivePoint | None:
        """The live forecast checkpoint ``fraction`` of full run ``run`` (0: pass 1)."""
        return point_at(self.live, fraction, run)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(error=self.error, covered=self.covered, share=self.share,
                    proportional_error=self.proportional_error,
                    first_epoch_error=self.first_epoch_error, floor=self.floor,
                    energy_error=self.energy_error, energy_covered=self.energy_covered,
                    half_width=self.half_width, timer_gap=self.timer_gap,
                    live=[p.to_dict() for p in self.live],
                    pass2=None if self.pass2 is None else self.pass2.to_dict())
        return data


def measure_workload(workload: Workload, *, folders: ValidateFolders, seed: int = 0,
                     scale: str = "full") -> AccuracyRow:
    """Pass 1: predict with an empty history, then train fully (tracked) in the same process,
    as a user would."""
    setup = workload.build(seed, scale)
    start = time.perf_counter()
    report = estimate(setup.train_epoch, setup.loader, epochs=setup.epochs,
                      restore=setup.restore, seed=seed, progress=False, history=folders.empty)
    benchmark_s = time.perf_counter() - start
    # Ground truth: the same objects, restored by greenlove, trained for the whole run under
    # track(), whose meters are of the same kind as the benchmark's.
    run = tracked_run(setup, report, history=folders.pass1, name=workload.name)
    bench = report.benchmark
    pred = report.prediction.time_s
    return AccuracyRow(
        workload=workload.name, family=workload.family, epochs=setup.epochs,
        batches_per_epoch=report.plan.batches_per_epoch,
        predicted_s=pred.point, low_s=pred.low, high_s=pred.high, actual_s=run.actual_s,
        repeat_actual_s=(), actual_epoch_s=run.epoch_s, benchmark_s=benchmark_s,
        proportional_s=proportional_prediction(bench.epochs, bench.roles,
                                               full_batches=report.plan.batches_per_epoch,
                                               epochs=setup.epochs),
        first_epoch_s=run.epoch_s[0] * setup.epochs,
        warnings=report.warnings,
        method=report.prediction.fit.method,
        noise_rel=report.prediction.fit.noise_rel,
        **_energy_fields(report, run.energy_kwh),
        drift_rel=drift_used(report.assumptions)[0], timer_s=run.timer_s,
        live=live_points(run.forecasts, run.actual_s, run=0), track_warnings=run.warnings,
    )


def _energy_fields(report, actual_kwh: float | None) -> dict:
    energy = report.prediction.energy
    if energy is None:
        return {}
    return {"predicted_kwh": energy.energy_kwh.point, "low_kwh": energy.energy_kwh.low,
            "high_kwh": energy.energy_kwh.high, "actual_kwh": actual_kwh,
            "energy_method": energy.method,
            "meter_methods": tuple(d.method for d in energy.devices)}


def with_second_pass(row: AccuracyRow, workload: Workload, *, folders: ValidateFolders,
                     seed: int = 0, scale: str = "full", repeat: int = 2) -> AccuracyRow:
    """The row with pass 2 (and ``repeat - 2`` further tracked runs) added."""
    pass2, runs = second_pass(workload, folders=folders, seed=seed, scale=scale, repeat=repeat)
    live = [p for i, run in enumerate(runs, start=1)
            for p in live_points(run.forecasts, run.actual_s, run=i)]
    said = tuple(dict.fromkeys(w for run in runs for w in run.warnings
                               if w not in row.track_warnings))
    return replace(row, pass2=pass2, repeat_actual_s=tuple(run.actual_s for run in runs),
                   live=(*row.live, *live), track_warnings=(*row.track_warnings, *said))


def run_accuracy(names: Sequence[str] | None = None, *, scale: str = "full", repeat: int = 1,
                 seed: int = 0, folders: ValidateFolders | None = None,
                 on_row: Callable[[AccuracyRow, int], None] | None = None) -> list[AccuracyRow]:
    """Pass 1 over every workload, then (``repeat`` >= 2) pass 2 over every workload, each
    full run tracked into ``folders`` (None: a new temporary folder). ``on_row(row, pass)``
    after each workload's pass."""
    workloads = [get_workload(n) for n in dict.fromkeys(names)] if names else list(WORKLOADS)
    folders = folders or validate_folders()
    rows = []
    for workload in workloads:
        row = measure_workload(workload, folders=folders, seed=seed, scale=scale)
        rows.append(row)
        if on_row is not None:
            on_row(row, 1)
    if repeat >= 2:
        for index, workload in enumerate(workloads):
            rows[index] = with_second_pass(rows[index], workload, folders=folders, seed=seed,
                                           scale=scale, repeat=repeat)
            if on_row is not None:
                on_row(rows[index], 2)
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
    live: LiveSummary | None = None               # the live forecast over every full run
    calibration: CalibrationSummary | None = None  # pass 1 vs pass 2 intervals
    max_timer_gap: float | None = None            # worst |tracker / perf_counter - 1|
    max_timer_gap_s: float | None = None          # worst |tracker - perf_counter|, s


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
        live=summarise_live(p for r in rows for p in r.live),
        calibration=_calibration_summary(rows),
        max_timer_gap=max((abs(r.timer_gap) for r in rows if r.timer_gap is not None),
                          default=None),
        max_timer_gap_s=max((abs(r.actual_s - r.timer_s) for r in rows if r.timer_s),
                            default=None),
    )


def _calibration_summary(rows: Sequence[AccuracyRow]) -> CalibrationSummary:
    pass1 = pass_figures([(r.predicted_s, r.low_s, r.high_s, r.actual_s) for r in rows])
    second = [r.pass2 for r in rows if r.pass2 is not None]
    pass2 = pass_figures([(p.predicted_s, p.low_s, p.high_s, p.actual_s) for p in second]) \
        if second else None
    return CalibrationSummary(pass1=pass1, pass2=pass2)


def _energy_summary(rows: Sequence[AccuracyRow]) -> dict:
    errors = [abs(r.energy_error) for r in rows if r.energy_error is not None]
    if not errors:
        return {}
    return {"energy_median_abs_error": statistics.median(errors),
            "energy_max_abs_error": max(errors),
            "energy_covered": sum(bool(r.energy_covered) for r in rows),
            "energy_workloads": len(errors)}
