"""A tracked run's plan (its arguments checked), and its end: the Report with ``actual`` and
``check``, the history line, and the files in ``out``."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._version import __version__
from ..history import (
    HistoryEntry,
    append_entry,
    calibration_for,
    check_history,
    estimated_sd_rel,
    machine_fingerprint,
    terms_used,
)
from ..measure import EnergyOptions, Instruments, training_device_kind
from ..measure.environment import describe_environment
from ..measure.ranks import World
from ..measure.steps import StepSnapshot
from ..model.energy import J_PER_KWH
from ..model.forecast import Forecast, Prior
from ..report import Report
from ..result import Actual, ActualExtra, Check, ForecastPoint, Measurements, ReportData, RunPlan
from .dry_run import DryRunBudget, check_budget_s, prediction_of
from .limits import Limits
from .options import (
    check_epochs,
    check_instruments,
    check_site,
    check_steps_per_epoch,
    check_switch,
)
from .track_sources import MeteredRun

RESULT_JSON = "greenlove-run.json"
RESULT_HTML = "greenlove-run.html"
DRY_RUN_JSON = "greenlove-dry-run.json"
DRY_RUN_HTML = "greenlove-dry-run.html"


@dataclass(frozen=True)
class TrackPlan:
    """What ``track()`` was asked, checked, and what the forecast starts from."""

    report: ReportData | None
    epochs: int
    steps_per_epoch: int | None
    limits: Limits | None
    on_limit: str
    out: Path | None
    history: Path | None
    progress: bool
    site: Any
    energy: EnergyOptions | None
    name: str | None
    instruments: Instruments
    prior: Prior | None
    drift_rel: float
    drift_source: str
    confidence: float
    device_kind: str
    warnings: tuple[str, ...]
    max_steps: int | None = None
    dry_run: DryRunBudget | None = None      # None: a real run


@dataclass(frozen=True)
class RunEnd:
    """How the tracked run ended (or where it is, for a partial result)."""

    snapshot: StepSnapshot
    end_s: float
    completed: bool
    stop_reason: str
    steps_per_epoch: int | None
    started_at: str
    mismatch: str | None
    dry_forecast: Forecast | None = None     # a dry run: the forecast its stop rested on


def plan_from(report: Any, *, epochs: Any, steps_per_epoch: Any, limits: Any, on_limit: str,
              out: Any, history: Any, progress: Any, site: Any, energy: Any, name: Any,
              instruments: Any, max_steps: Any = None, dry_run: Any = False,
              budget_s: Any = None) -> TrackPlan:
    """Check ``track()``'s arguments (errors name the argument) and settle the forecast's prior."""
    if report is not None and not isinstance(report, ReportData):
        raise TypeError(f"report must be a greenlove.Report (from estimate or greenlove.load) or "
                        f"None, got {type(report).__name__}")
    if report is not None and report.prediction is None:
        raise ValueError("report holds no pre-flight prediction (it is the result of a run "
                         "tracked without one): pass the Report that estimate() returned")
    if report is None and epochs is None:
        raise TypeError("track() needs the pre-flight report (track(report)) or the run's "
                        "length (track(epochs=...))")
    warnings: list[str] = []
    planned = check_epochs(epochs) if epochs is not None else report.plan.epochs
    if report is not None and planned != report.plan.epochs:
        warnings.append(f"This run plans {planned} epochs; the pre-flight report predicted "
                        f"{report.plan.epochs}. The forecast uses {planned}; the pre-flight "
                        "check is skipped.")
    steps = check_steps_per_epoch(steps_per_epoch)
    if steps is None and report is not None:
        steps = report.plan.batches_per_epoch
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)
                                  or max_steps < 1):
        raise ValueError(f"max_steps must be an int >= 1 or None, got {max_steps!r}")
    if not isinstance(dry_run, bool):
        raise TypeError(f"dry_run must be True or False, got {dry_run!r}")
    budget = DryRunBudget(check_budget_s(budget_s)) if dry_run else None
    if budget_s is not None and not dry_run:
        raise ValueError("budget_s is the dry run's budget: pass it with dry_run=True")
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"limits must be greenlove.Limits(...) or None, got {limits!r}")
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a folder path or None, got {out!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {name!r}")
    folder = check_history(history)
    device_kind = training_device_kind(None)
    drift_rel, drift_source = _drift(report, folder, device_kind, warnings)
    confidence = report.benchmark.confidence if report is not None and report.benchmark else 0.95
    return TrackPlan(
        report=report, epochs=planned, steps_per_epoch=steps, limits=limits, on_limit=on_limit,
        out=None if out is None else Path(out), history=folder, progress=progress,
        site=check_site(site), energy=check_switch(energy, EnergyOptions, "energy"), name=name,
        instruments=check_instruments(instruments), prior=_prior(report), drift_rel=drift_rel,
        drift_source=drift_source, confidence=confidence, device_kind=device_kind,
        warnings=tuple(warnings), max_steps=max_steps, dry_run=budget,
    )


def _prior(report: ReportData | None) -> Prior | None:
    """The pre-flight's per-step and per-epoch costs, with their fitted uncertainty."""
    if report is None or report.prediction is None:
        return None
    fit = report.prediction.fit
    if not (fit.per_batch_s > 0 and math.isfinite(fit.intercept_s)):
        return None
    (var_a, _), (_, var_b) = fit.covariance
    extras: dict[str, float] = {}
    per_step: dict[str, float] = {}
    actual = report.actual
    if actual is not None and actual.dry_run:    # a dry run saw the extras
        seen = [e for e in actual.extras if e.count > 0]
        extras = {e.kind: e.total_s / e.count for e in seen}
        if actual.steps_done > 0:
            per_step = {e.kind: e.count / actual.steps_done for e in seen}
    return Prior(per_step_s=fit.per_batch_s, per_step_sd_s=math.sqrt(max(var_b, 0.0)),
                 per_epoch_s=fit.intercept_s, per_epoch_sd_s=math.sqrt(max(var_a, 0.0)),
                 extras_s=extras, extras_per_step=per_step)


def _drift(report: ReportData | None, folder: Path | None, device_kind: str,
           warnings: list[str]) -> tuple[float, str]:
    """The drift term the pre-flight used, else the machine's history, else the default."""
    if report is not None:
        entry = report.assumptions.get("drift_rel")
        if isinstance(entry, dict) and isinstance(entry.get("value"), (int, float)):
            return float(entry["value"]), str(entry.get("source", ""))
    calibration, read_warnings = calibration_for(folder, device_kind)
    warnings.extend(read_warnings)
    return calibration.drift_rel, calibration.source


def build_result(plan: TrackPlan, end: RunEnd, metered: MeteredRun,
                 forecasts: tuple[ForecastPoint, ...], warnings: tuple[str, ...]) -> Report:
    """The Report of the run: the pre-flight's with ``actual`` and ``check`` added, or a new
    one holding only what the run measured."""
    snap = end.snapshot
    time_s = end.end_s - snap.start_s
    joules, _ = metered.energy_so_far(snap.start_s, end.end_s)
    kwh = None if joules is None else joules / J_PER_KWH
    steps = end.steps_per_epoch or 0
    actual = Actual(
        time_s=time_s, epochs_done=len(snap.epochs), steps_done=snap.steps,
        completed=end.completed, stop_reason=end.stop_reason, epochs_planned=plan.epochs,
        steps_per_epoch=steps, energy_kwh=kwh,
        cost_usd=None if kwh is None or metered.usd_per_kwh is None else kwh * metered.usd_per_kwh,
        co2_kg=None if kwh is None or metered.kg_co2_per_kwh is None
        else kwh * metered.kg_co2_per_kwh,
        started_at=end.started_at, epoch_s=tuple(e.period_s for e in snap.epochs),
        extras=tuple(ActualExtra(e.kind, e.count, e.total_s) for e in snap.extras),
        dry_run=plan.dry_run is not None,
    )
    notes = tuple(n for n in metered.notes if n not in warnings)
    report = plan.report
    if plan.dry_run is not None and end.dry_forecast is not None and steps:
        return _dry_run_report(plan, end, actual, metered, forecasts, (*warnings, *notes))
    if report is None:
        return _own_report(plan, steps, metered, actual=actual, forecasts=forecasts,
                           warnings=(*warnings, *notes), kind="tracked run",
                           size_source="the tracked run")
    check = None
    comparable = end.completed and end.mismatch is None and plan.epochs == report.plan.epochs
    if comparable and report.prediction is not None and time_s > 0:
        predicted = report.prediction.time_s
        energy = report.prediction.energy
        check = Check(
            predicted_s=predicted, actual_s=time_s, error_rel=predicted.point / time_s - 1,
            covered=predicted.low <= time_s <= predicted.high,
            energy_error_rel=None if energy is None or not kwh
            else energy.energy_kwh.point / kwh - 1,
            energy_covered=None if energy is None or kwh is None
            else energy.energy_kwh.low <= kwh <= energy.energy_kwh.high,
        )
    if not isinstance(report, Report):
        report = Report(**{f.name: getattr(report, f.name) for f in dataclasses.fields(report)})
    return dataclasses.replace(report, actual=actual, forecasts=forecasts, check=check,
                               warnings=(*report.warnings, *warnings, *notes))


def _dry_run_report(plan: TrackPlan, end: RunEnd, actual: Actual, metered: MeteredRun,
                    forecasts: tuple[ForecastPoint, ...], warnings: tuple[str, ...]) -> Report:
    """A dry run's Report: a pre-flight (``benchmark`` says what the dry run did,
    ``prediction`` the whole run) with ``actual`` and ``forecasts`` of the dry run itself."""
    forecast = end.dry_forecast
    assert forecast is not None and plan.dry_run is not None
    steps = end.steps_per_epoch or 0
    limit = plan.dry_run.limit_s(forecast)
    benchmark = Measurements(
        wall_s=actual.time_s, budget_s=math.nan if limit is None else limit,
        budget_automatic=plan.dry_run.budget_s is None, budget_rule=plan.dry_run.rule,
        stop_reason=end.stop_reason, seed=0, warmup_epochs="dry run",
        confidence=plan.confidence, epochs=(), roles=(),
        extras_s={f"dry run: {e.kind}": e.total_s for e in actual.extras})
    prediction = prediction_of(forecast, epochs=plan.epochs, steps_per_epoch=steps,
                               confidence=plan.confidence)
    # What the forecast could not see (an epoch's end, an extra) is the user's to know.
    caveats = forecast.basis.split("; ")[1:]
    notes = [f"The dry run's prediction could not see everything: {'; '.join(caveats)}."] \
        if caveats else []
    return _own_report(plan, steps, metered, actual=actual, forecasts=forecasts,
                       warnings=(*notes, *warnings), kind="dry run",
                       size_source="the framework's schedule", benchmark=benchmark,
                       prediction=prediction)


def _own_report(plan: TrackPlan, steps: int, metered: MeteredRun, *, actual: Actual,
                forecasts: tuple[ForecastPoint, ...], warnings: tuple[str, ...], kind: str,
                size_source: str, benchmark: Measurements | None = None,
                prediction: Any = None) -> Report:
    """A Report made by the tracker itself (a run without a pre-flight, or a dry run)."""
    return Report(
        plan=RunPlan(epochs=plan.epochs, batches_per_epoch=steps, dataset_size=None,
                     batch_size=None, loader_kind=kind, num_workers=0,
                     persistent_workers=False, size_source=size_source),
        benchmark=benchmark, prediction=prediction,
        assumptions={"drift_rel": {"value": plan.drift_rel, "unit": "fraction (1 sd)",
                                   "source": plan.drift_source},
                     **metered.assumptions},
        warnings=warnings, environment=describe_environment(),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        greenlove_version=__version__, actual=actual, forecasts=forecasts,
    )


def record_history(plan: TrackPlan, result: Report) -> list[str]:
    """Append the run to the machine's history; returns the warnings (never raises OSError).
    A dry run is not a run of its own: it is not recorded."""
    if plan.history is None or result.actual is None or plan.dry_run is not None:
        return []
    actual, prediction = result.actual, result.prediction
    check_made = result.check is not None
    drift_used, bias_used = terms_used(result.assumptions)
    estimated = None
    if prediction is not None:
        estimated = estimated_sd_rel(prediction.fit.variance_parts_s2,
                                     prediction.time_s.point / (1 + bias_used))
    entry = HistoryEntry(
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        greenlove_version=__version__, fingerprint=machine_fingerprint(),
        device_kind=plan.device_kind, epochs=plan.epochs, steps_per_epoch=actual.steps_per_epoch,
        completed=actual.completed, actual_s=actual.time_s,
        predicted_s=prediction.time_s if check_made and prediction is not None else None,
        estimated_sd_rel=estimated if check_made else None,
        drift_rel_used=drift_used if check_made else None,
        bias_rel_used=bias_used if check_made else 0.0, workload=plan.name,
        predicted_kwh=prediction.energy.energy_kwh
        if check_made and prediction is not None and prediction.energy else None,
        actual_kwh=actual.energy_kwh,
    )
    try:
        append_entry(entry, plan.history)
    except OSError as error:
        return [f"The run could not be added to the history in {plan.history} ({error}); the "
                "next estimate on this machine will not learn from it."]
    return []


def save_outputs(plan: TrackPlan, result: Report, *, final: bool) -> list[str]:
    """Write the run's JSON (and, at the end, its HTML) to ``out``; returns the warnings."""
    if plan.out is None:
        return []
    json_name, html_name = (DRY_RUN_JSON, DRY_RUN_HTML) if plan.dry_run is not None \
        else (RESULT_JSON, RESULT_HTML)
    try:
        result.save(plan.out / json_name)
        if final:
            result.save_html(plan.out / html_name)
    except (OSError, ValueError) as error:
        return [f"The run's result could not be written to {plan.out} ({error}); the training "
                "goes on."]
    return []


def rank_plan(plan: TrackPlan, world: World) -> TrackPlan:
    """The plan on one rank of a distributed job: rank 0 keeps it (it meters its node, checks
    the limits, shows progress, writes ``out`` and the history); the other ranks count their
    steps and follow rank 0's ``should_stop``."""
    if not world.distributed:
        return plan
    if world.is_writer:
        if world.nodes == 1:
            return plan
        said = (f"This job runs on {world.nodes} nodes: the tracked energy is what rank 0 "
                "meters on its own node (its GPUs, CPU and memory), not the other nodes'.")
        return dataclasses.replace(plan, warnings=(*plan.warnings, said))
    return dataclasses.replace(plan, progress=False, out=None, history=None, limits=None,
                               energy=None, warnings=())
