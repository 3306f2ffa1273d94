"""Assembling the Report from a finished benchmark: each stage's result and warnings, in order.

The stages return what they found (the time and energy predictions, the comparison, each with
its warnings); this module alone decides the order in which the user reads them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from .._version import __version__
from ..history import Calibration, calibration_for
from ..measure import EpochRecord, training_device_kind
from ..measure.compile_watch import SETTLING_EXTRA
from ..measure.environment import describe_environment
from ..measure.load import MachineLoad
from ..model import Interval, TimePrediction, time_assumptions
from ..model.time import widened_for_load
from ..render.format import duration
from ..report import Report
from ..result import FitSummary, Measurements, Prediction, RunPlan
from ..sample import LoaderShape, Schedule
from .compare import CompareRun
from .energy import EnergyRun
from .options import Settings
from .restore import restore_warnings

OVER_BUDGET_SAID = 0.01
"""A budget overrun is said when it is at least this much (a rounding's worth is not news)."""


@dataclass(frozen=True)
class Outcome:
    """What the harness ends with: its settings, the loader's shape, the schedule (and the
    budget it owns), every timed epoch, and how the loop ended."""

    settings: Settings
    shape: LoaderShape
    schedule: Schedule
    records: tuple[EpochRecord, ...]
    wall_s: float
    interrupted: bool
    extras_s: dict[str, float]
    load: MachineLoad | None = None     # the rest of the machine during the benchmark
    compile_reasons: tuple[str, ...] = ()   # torch.compile's recompile and graph-break reasons
    compile_source: str = ""                # where the compile figures came from
    compile_backend_s: float = 0.0          # of the compiling, what a compile-cache hit skips
    compile_cache_writes: int = 0           # graphs the compiling wrote to torch's caches

    @property
    def compile_s(self) -> float:
        """torch.compile's compiling inside the timed epochs."""
        return sum(r.compile_s for r in self.records)

    @property
    def settle_s(self) -> float:
        """The untimed wait for the compiler's worker processes after compiling."""
        return self.extras_s.get(SETTLING_EXTRA, 0.0)


def _compile_sentences(outcome: Outcome) -> list[str]:
    """torch.compile during the benchmark: its compiling booked apart, recompiles said."""
    records = outcome.records
    compile_s, settle = outcome.compile_s, outcome.settle_s
    recompiles = sum(r.recompiles for r in records)
    said = []
    fresh = _fresh_compile(outcome)
    if fresh is not None:
        epochs = sum(1 for r in records if r.compile_s > 0)
        said.append(
            f"torch.compile compiled for {duration(compile_s)} during the benchmark (in "
            f"{epochs} epoch{'s' if epochs != 1 else ''}; from {outcome.compile_source}). It is "
            "booked apart, not charged to the budget or to the epochs: the prediction is the run "
            "in this process, which has compiled already; a run in a fresh process compiles "
            f"again (prediction.fresh_process_s): {fresh[2]}."
            + (f" After compiling, the benchmark waited {duration(settle)} for the compiler's "
               "worker processes to go quiet before timing on." if settle > 0 else ""))
    if recompiles:
        reasons = "; ".join(outcome.compile_reasons[:3])
        said.append(
            f"torch.compile recompiled {recompiles} time{'s' if recompiles != 1 else ''} during "
            f"the benchmark ({reasons}). A recompile the real run does not need (a batch shape it "
            "never has) makes the benchmark slower, not the run; one it needs each epoch would "
            "make the run slower than predicted.")
    return said


def _harness_warnings(outcome: Outcome, budget_s: float) -> tuple[list[str], list[str]]:
    """The harness's own warnings: (those that lead the report, those after the prediction's)."""
    records, schedule = outcome.records, outcome.schedule
    first: list[str] = []
    then: list[str] = []
    if outcome.interrupted:
        first.append("The benchmark loop was left early: the prediction uses only the "
                     f"{len(records)} epochs timed before that.")
    if schedule.whole_epochs:
        then.append(f"The data set has only {outcome.shape.full_batches} batches per epoch, too "
                    "few to sample: whole epochs were timed instead.")
    over = outcome.wall_s / budget_s - 1 if budget_s > 0 else math.inf
    if (schedule.over_budget and over > OVER_BUDGET_SAID) or over > 0.1:
        then.append(
            f"The benchmark took {duration(outcome.wall_s)}, {over:.0%} more than its "
            f"{duration(budget_s)} budget: that is the least it needs to time three sample "
            "sizes with this data."
        )
    then += _compile_sentences(outcome)
    then += restore_warnings(outcome.settings.restore)
    drawn_less = [r for r in records if r.batches_drawn < r.sample_batches]
    if drawn_less:
        r = drawn_less[0]
        then.append(
            f"train_epoch stopped early: it drew {r.batches_drawn} of the {r.sample_batches} "
            "batches offered. greenlove assumes an epoch goes over the whole loader; if yours "
            "stops after a fixed number of steps, the prediction overstates the full run."
        )
    return first, then


def _fit_summary(prediction: TimePrediction) -> FitSummary:
    fit, trend, split = prediction.fit, prediction.trend, prediction.split
    return FitSummary(
        method=prediction.method,
        intercept_s=prediction.fixed_s, per_batch_s=prediction.per_batch_s,
        covariance=fit.covariance if split is None else (
            (split.outside_var, 0.0), (0.0, split.per_batch_var)),
        noise_rel=fit.noise_rel, dof=fit.dof,
        line_intercept_s=fit.intercept_s, line_per_batch_s=fit.slope_s,
        steady_epochs=fit.n, lack_of_fit_p=fit.lack_of_fit_p,
        trend_rel_per_s=trend.slope_rel_per_s if trend else None,
        trend_p=trend.p_value if trend else None,
        variance_parts_s2=prediction.variance_parts_s2,
        autocorrelation_inflation=prediction.autocorrelation_inflation,
    )


def _corrected(prediction: TimePrediction, calibration: Calibration) -> TimePrediction:
    """The time prediction with the record's bias correction applied (README, "The machine's
    record"): the run and epoch intervals times (1 + bias_rel); the fit and its parts as fitted."""
    if calibration.bias_rel == 0.0:
        return prediction
    factor = 1.0 + calibration.bias_rel
    return replace(prediction, time_s=prediction.time_s.scaled(factor),
                   epoch_s=prediction.epoch_s.scaled(factor))


def _history_warnings(calibration: Calibration) -> tuple[str, ...]:
    if calibration.bias_rel == 0.0:
        return ()
    direction = "slower" if calibration.bias_rel > 0 else "faster"
    return (f"{calibration.runs} earlier runs on this machine ran {direction} than predicted: "
            f"the time is corrected by {calibration.bias_rel:+.1%} (`greenlove history` shows "
            "them; history=False turns this off).",)


def _fresh_compile(outcome: Outcome) -> tuple[float, float, str] | None:
    """What a fresh process pays to compile again: (likely s, at most s, what that rests on);
    None when nothing was compiled. Where the benchmark's compiling wrote graphs to torch's
    compile caches, a fresh process finds them and skips the Inductor part; else (a cold cache,
    or caches off) it pays all of it, which is also the most it can pay."""
    compile_s = outcome.compile_s
    if compile_s <= 0:
        return None
    full = compile_s + outcome.settle_s
    if outcome.compile_cache_writes <= 0:
        return full, full, (f"a cold compile cache (the benchmark wrote none to torch's caches): "
                            f"the compiling again, {duration(full)}")
    added = max(compile_s - outcome.compile_backend_s, 0.0)
    return added, full, (
        f"the compile cache as the benchmark left it: {outcome.compile_cache_writes} graphs "
        f"written (torch's FX graph / AOT autograd cache counters), so a fresh process is taken "
        f"to skip the Inductor compile ({duration(outcome.compile_backend_s)}) and pay the rest "
        f"({duration(added)}); up to {duration(full)} with a cold cache")


def _fresh_process(time_s: Interval, outcome: Outcome) -> tuple[Interval | None, str]:
    """The run in a fresh process, which compiles again (see :func:`_fresh_compile`): its low
    end is this process's run (a cache hit can make compiling short), its high end adds the
    whole compile; and what that rests on."""
    fresh = _fresh_compile(outcome)
    if fresh is None:
        return None, ""
    added, full, basis = fresh
    return Interval(time_s.point + added, time_s.low, time_s.high + full,
                    time_s.confidence), basis


def assemble_report(outcome: Outcome, *, predict: Callable[..., TimePrediction],
                    energy: EnergyRun, compare: CompareRun) -> Report:
    """The Report: the time prediction, then energy, then the comparison built on both."""
    settings, shape, schedule, records = (outcome.settings, outcome.shape, outcome.schedule,
                                          list(outcome.records))
    device_kind = training_device_kind(settings.model)
    calibration, record_warnings = calibration_for(settings.history, device_kind)
    drift_rel = calibration.drift_rel
    prediction = _corrected(predict(records, drift_rel), calibration)
    load = outcome.load
    if load is not None and load.busy:
        prediction = widened_for_load(prediction, load.other_share + load.steal_share)
    budget = schedule.budget
    budget_s = budget.value_s if budget.value_s is not None else outcome.wall_s
    leading, harness = _harness_warnings(outcome, budget_s)
    energy_measured, energy_predicted, energy_warnings = energy.results(
        records, prediction, full_batches=shape.full_batches, epochs=settings.epochs,
        confidence=settings.confidence, drift_rel=drift_rel)
    comparison = compare.comparison(prediction, energy_predicted)
    if load is not None and load.busy:
        leading.append(load.sentence())
    warnings = (*leading, *_history_warnings(calibration), *prediction.warnings, *harness,
                *energy_warnings, *comparison.warnings, *record_warnings)
    fresh, fresh_basis = _fresh_process(prediction.time_s, outcome)
    return Report(
        plan=RunPlan(
            epochs=settings.epochs, batches_per_epoch=shape.full_batches,
            dataset_size=shape.dataset_size, batch_size=shape.batch_size,
            loader_kind=shape.kind, num_workers=shape.num_workers,
            persistent_workers=shape.persistent_workers, size_source=shape.size_source,
        ),
        benchmark=Measurements(
            wall_s=outcome.wall_s, budget_s=budget_s, budget_automatic=budget.automatic,
            budget_rule=budget.rule,
            stop_reason=schedule.stop_reason or ("left early" if outcome.interrupted
                                                 else "it finished"),
            seed=settings.seed, warmup_epochs=settings.warmup_epochs,
            confidence=settings.confidence, epochs=outcome.records, roles=prediction.roles,
            energy=energy_measured, extras_s=dict(outcome.extras_s),
            load=None if load is None else load.to_dict(),
        ),
        prediction=Prediction(
            time_s=prediction.time_s, epoch_s=prediction.epoch_s, warmup_s=prediction.warmup_s,
            fit=_fit_summary(prediction), energy=energy_predicted,
            cost_usd=comparison.cost_usd, co2_kg=comparison.co2_kg,
            compile_s=prediction.compile_s,
            fresh_process_s=fresh, fresh_process_basis=fresh_basis,
        ),
        assumptions={**time_assumptions(device_kind), **calibration.assumptions(),
                     **energy.assumptions(),
                     **comparison.assumptions},
        warnings=warnings,
        environment=describe_environment(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        greenlove_version=__version__,
        clouds=comparison.offers,
        comparison=comparison.section,
    )
