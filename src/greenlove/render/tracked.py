"""The facts of a tracked run as words and numbers with units, shared by the summary and the page.

Nothing here computes a statistic: the actual figures, the live forecasts and the pre-flight
check all come from the report; these functions only choose words for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..model import Interval
from ..result import Actual, ForecastPoint, ReportData
from .format import duration, energy, mass, money, percent, span

NOT_MEASURED = "not measured"
NOT_ESTIMATED = "not estimated before the run"


@dataclass(frozen=True)
class Comparison:
    """One quantity of the run, predicted before it (where it was) against what it really was."""

    label: str
    predicted: str          # "1 min 04 s", or NOT_ESTIMATED
    interval: str           # "49.0 s – 1 min 19 s", or "" without a prediction
    actual: str             # "1 min 01 s", or NOT_MEASURED
    verdict: str = ""       # "4.9% long, inside the interval", where the report checked it
    covered: bool | None = None   # the interval held the actual value (None: not checked)


def outcome(actual: Actual) -> str:
    """'completed' or 'stopped: <reason>'."""
    if actual.completed:
        return "completed"
    reason = actual.stop_reason if actual.stop_reason and actual.stop_reason != "completed" \
        else "before the last planned epoch"
    return f"stopped: {reason}"


def progress_rows(actual: Actual) -> list[tuple[str, str]]:
    """Epochs and steps done of planned, the outcome, when it began, and its epochs' times."""
    rows = [("epochs done", f"{actual.epochs_done:,} of {actual.epochs_planned:,} planned")]
    if actual.steps_per_epoch > 0:
        planned = actual.epochs_planned * actual.steps_per_epoch
        rows.append(("steps done", f"{actual.steps_done:,} of {planned:,} planned "
                                   f"({actual.steps_per_epoch:,} per epoch)"))
    else:
        rows.append(("steps done", f"{actual.steps_done:,}"))
    rows.append(("outcome", outcome(actual)))
    if actual.epoch_s:
        rows.append(("epoch wall time (fastest – slowest)",
                     span((min(actual.epoch_s), max(actual.epoch_s)), duration)))
    if actual.started_at:
        rows.append(("started", actual.started_at))
    return rows


def _verdict(error_rel: float | None, covered: bool | None, over: str, under: str) -> str:
    if error_rel is None:
        return ""
    words = f"{percent(abs(error_rel))} {over if error_rel >= 0 else under}"
    if covered is not None:
        words += ", inside the interval" if covered else ", outside the interval"
    return words


def comparisons(report: ReportData) -> list[Comparison]:
    """Time, energy, electricity cost and CO2e: predicted (point and interval) against actual."""
    actual, pred, check = report.actual, report.prediction, report.check
    if actual is None:
        return []

    def measured(value: float | None, fmt: Callable[[float], str]) -> str:
        return NOT_MEASURED if value is None else fmt(value)

    def predicted(interval: Interval | None, fmt: Callable[[float], str]) -> tuple[str, str]:
        if interval is None:
            return (NOT_ESTIMATED if pred is None else "not predicted"), ""
        return fmt(interval.point), span(interval, fmt)

    time_interval = check.predicted_s if check else (pred.time_s if pred is not None else None)
    energy_interval = pred.energy.energy_kwh if pred is not None and pred.energy else None
    return [
        Comparison("wall time", *predicted(time_interval, duration), duration(actual.time_s),
                   _verdict(check.error_rel, check.covered, "long", "short") if check else "",
                   check.covered if check else None),
        Comparison("energy", *predicted(energy_interval, energy),
                   measured(actual.energy_kwh, energy),
                   _verdict(check.energy_error_rel, check.energy_covered, "high", "low")
                   if check else "", check.energy_covered if check else None),
        Comparison("electricity cost", *predicted(pred.cost_usd if pred else None, money),
                   measured(actual.cost_usd, money)),
        Comparison("CO2e", *predicted(pred.co2_kg if pred else None, mass),
                   measured(actual.co2_kg, mass)),
    ]


def is_dry_run(report: ReportData) -> bool:
    """A dry run's Report: a pre-flight made in the training loop itself."""
    return report.actual is not None and report.actual.dry_run and report.prediction is not None


def dry_run_sentences(report: ReportData) -> list[str]:
    """A dry run: what part of the fit it ran, why it stopped, what it saw besides steps."""
    a, bench, pred = report.actual, report.benchmark, report.prediction
    share = a.time_s / pred.time_s.point if pred.time_s.point else 0.0
    extras = ", ".join(f"{e.kind} {e.count} x {duration(e.total_s / e.count)}"
                       for e in a.extras if e.count)
    budget = bench.budget_rule if bench is not None else "unknown"
    epochs = f"{a.epochs_done} whole epoch{'' if a.epochs_done == 1 else 's'}"
    reason = a.stop_reason.removeprefix("dry run: ")
    return [
        f"Dry run: the fit's first {a.steps_done} steps ({epochs} of {a.steps_per_epoch} steps) "
        f"in {duration(a.time_s)} ({percent(share)} of the predicted fit); budget {budget}; "
        f"stopped because {reason}.",
        "Seen beside the steps: " + (extras or "nothing (no validation or checkpoint)") + ".",
        "A dry run's training is not kept (the framework callbacks put the model, optimizer "
        "and RNG states back): start the real fit with a fresh trainer.",
    ]


def check_sentences(report: ReportData) -> list[str]:
    """'predicted 1 min 04 s (95%: 49.0 s – 1 min 19 s), took 1 min 01 s: 4.9% long, inside the
    interval', and the same for energy where it was predicted, measured and checked; else why
    there is no check."""
    actual, pred, check = report.actual, report.prediction, report.check
    if actual is None:
        return []
    if pred is None:
        return [f"Not estimated before the run: greenlove.track(epochs={actual.epochs_planned}) "
                "forecast it from the run's own first steps."]
    if check is None:
        ran = (f"the run completed in {duration(actual.time_s)}, but this report holds no check"
               if actual.completed else
               f"the run stopped after {duration(actual.time_s)} "
               f"({outcome(actual).removeprefix('stopped: ')}), so the prediction is not checked")
        return [f"Predicted {duration(pred.time_s.point)} ({_conf(pred.time_s)}: "
                f"{span(pred.time_s, duration)}) for the whole run; {ran}."]
    lines = [f"Time: predicted {duration(check.predicted_s.point)} ({_conf(check.predicted_s)}: "
             f"{span(check.predicted_s, duration)}), took {duration(check.actual_s)}: "
             f"{_verdict(check.error_rel, check.covered, 'long', 'short')}."]
    if pred.energy is not None and actual.energy_kwh is not None \
            and check.energy_error_rel is not None:
        e = pred.energy.energy_kwh
        lines.append(f"Energy: predicted {energy(e.point)} ({_conf(e)}: {span(e, energy)}), used "
                     f"{energy(actual.energy_kwh)}: "
                     f"{_verdict(check.energy_error_rel, check.energy_covered, 'high', 'low')}.")
    return lines


def forecast_sentence(point: ForecastPoint, *, last: bool = True) -> str:
    """'Last live forecast, at 45.0% done (1 min 03 s in): the whole run 2 min 10 s (95%: ...).'"""
    which = "Last live forecast" if last else "First live forecast"
    text = (f"{which}, at {percent(point.done)} done ({duration(point.at_s)} in): the whole run "
            f"{duration(point.time_s.point)} ({_conf(point.time_s)}: {span(point.time_s, duration)})")
    if point.energy_kwh is not None:
        text += f", {energy(point.energy_kwh.point)} ({span(point.energy_kwh, energy)})"
    return text + "."


def forecast_sentences(report: ReportData) -> list[str]:
    """The first and last live forecasts (one sentence where there was only one; none: said)."""
    if not report.forecasts:
        return ["No live forecast was recorded during the run."]
    if len(report.forecasts) == 1:
        return [forecast_sentence(report.forecasts[0]).replace("Last live", "The only live")]
    return [forecast_sentence(report.forecasts[0], last=False),
            forecast_sentence(report.forecasts[-1])]


def _conf(interval: Interval) -> str:
    return f"{interval.confidence:.0%}"
