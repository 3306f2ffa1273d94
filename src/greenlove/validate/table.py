"""Presentation of the accuracy benchmark: rich tables for the terminal, Markdown for docs.

Two tables, each readable at 170 columns: the pre-flight prediction (pass 1) against its full
run, with the older methods and energy; then tracking and calibration: the live forecast at
10/25/50% of the pass-1 run, and pass 2 (drift learnt from the other workloads) against its own
full run. The summary lines hold what spans the rows, with the targets beside the figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from rich import box
from rich.table import Table

from ..render.format import number, percent, span
from .accuracy import AccuracyRow, AccuracySummary
from .calibration import COVERAGE_TARGET, HALF_WIDTH_TARGET, CalibrationSummary
from .frameworks import FrameworkRow
from .live import LIVE_COVERAGE_TARGET, LIVE_FRACTIONS, LiveSummary
from .track_overhead import OVERHEAD_TARGET, STEP_TARGET_S, TrackOverheadResult

# A header's line breaks keep its column as narrow as its figures (Markdown joins the lines).
_HEADERS = ("workload", "epochs", "predicted\n(s)", "95% interval\n(s)", "actual\n(s)", "error",
            "covered", "benchmark\nshare", "proportional\nerr", "first-epoch\nerr",
            "energy pred\n(Wh)", "energy\nactual (Wh)", "energy\nerr", "energy\ncovered")

_FRACTIONS = "/".join(f"{f:.0%}" for f in LIVE_FRACTIONS)

_TRACK_HEADERS = ("workload", f"live err\n{_FRACTIONS}", "live\ncovered", "pass 2\npredicted (s)",
                  "pass 2\ninterval (s)", "pass 2\nactual (s)", "pass 2\nerr", "pass 2\ncovered",
                  "half-width\npass 1 -> 2", "pass 2 drift\n(1 sd)", "pass 2\nbias", "repeat\ndiff")


def _wh(kwh: float | None) -> str:
    return "—" if kwh is None else f"{kwh * 1e3:.3g}"


def _span(low: float | None, high: float | None, fmt=number) -> str:
    return span((low, high), fmt, sep="–")


def _yes(flag: bool | None) -> str:
    return {None: "—", True: "yes", False: "NO"}[flag]


def _cells(row: AccuracyRow) -> tuple[str, ...]:
    return (
        row.workload, str(row.epochs), number(row.predicted_s),
        _span(row.low_s, row.high_s), number(row.actual_s),
        f"{row.error:+.1%}", _yes(row.covered), percent(row.share),
        f"{row.proportional_error:+.1%}", f"{row.first_epoch_error:+.1%}",
        "—" if row.predicted_kwh is None else
        f"{_wh(row.predicted_kwh)} ({_span(row.low_kwh, row.high_kwh, _wh)})",
        _wh(row.actual_kwh),
        "—" if row.energy_error is None else f"{row.energy_error:+.1%}",
        _yes(row.energy_covered),
    )


def _framework_cells(row: FrameworkRow) -> tuple[str, ...]:
    """A framework workload in the accuracy table: its prediction's own columns, and "—"
    where a column is the benchmark's (the proportional and first-epoch baselines)."""
    return (
        f"{row.workload} ({row.method})", str(row.epochs), number(row.predicted_s),
        _span(row.low_s, row.high_s), number(row.actual_s), f"{row.error:+.1%}",
        _yes(row.covered), percent(row.benchmark_share), "—", "—",
        "—" if row.predicted_kwh is None else
        f"{_wh(row.predicted_kwh)} ({_span(row.low_kwh, row.high_kwh, _wh)})",
        _wh(row.actual_kwh),
        "—" if row.energy_error is None else f"{row.energy_error:+.1%}",
        _yes(row.energy_covered),
    )


def framework_lines(rows: Sequence[FrameworkRow]) -> list[str]:
    """The framework workloads' figures in one line (none when none ran)."""
    if not rows:
        return []
    errors = sorted(abs(r.error) for r in rows)
    return [f"frameworks ({', '.join(r.workload for r in rows)}): median |error| "
            f"{statistics.median(errors):.1%}, worst {errors[-1]:.1%}; covered "
            f"{sum(r.covered for r in rows)} of {len(rows)}; prediction's share of the run "
            f"{', '.join(percent(r.benchmark_share) for r in rows)}"]


def _track_cells(row: AccuracyRow) -> tuple[str, ...]:
    live = [row.live_at(f) for f in LIVE_FRACTIONS]
    p2 = row.pass2
    found = [p for p in live if p is not None]
    drift = "—"
    if p2 is not None and p2.drift_rel is not None:
        runs = f"{p2.history_runs} run" + ("" if p2.history_runs == 1 else "s")
        drift = percent(p2.drift_rel) + (f" ({runs})" if p2.drift_method == "history"
                                         else f" ({p2.drift_method or '?'})")
    return (
        row.workload,
        "/".join("—" if p is None else f"{p.error * 100:+.1f}" for p in live) + "%",
        f"{sum(p.covered for p in found)} of {len(found)}" if found else "—",
        "—" if p2 is None else number(p2.predicted_s),
        "—" if p2 is None else _span(p2.low_s, p2.high_s),
        "—" if p2 is None else number(p2.actual_s),
        "—" if p2 is None else f"{p2.error:+.1%}",
        "—" if p2 is None else _yes(p2.covered),
        percent(row.half_width) + ("" if p2 is None else f" -> {percent(p2.half_width)}"),
        drift,
        "—" if p2 is None else "none" if not p2.bias_rel else f"{p2.bias_rel:+.1%}",
        "—" if row.floor is None else percent(row.floor),
    )


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True)
    for header in headers:
        table.add_column(header, justify="left" if header == "workload" else "right",
                         no_wrap=True)
    for cells in rows:
        table.add_row(*cells)
    return table


def rich_table(rows: Sequence[AccuracyRow],
               frameworks: Sequence[FrameworkRow] = ()) -> Table:
    """The pre-flight prediction (pass 1) against its tracked full run; the framework
    workloads' predictions (dry run, estimate in a DDP job) against theirs below."""
    return _table("greenlove accuracy benchmark", _HEADERS,
                  [*(_cells(r) for r in rows), *(_framework_cells(r) for r in frameworks)])


def rich_tracking_table(rows: Sequence[AccuracyRow]) -> Table:
    """The live forecast of the pass-1 run, and pass 2 against its own full run."""
    title = f"live forecast at {_FRACTIONS} of the pass-1 run" + (
        "; pass 2: drift from the other workloads' pass-1 runs"
        if any(r.pass2 is not None for r in rows) else "; no pass 2 (one full run each)")
    return _table(title, _TRACK_HEADERS, [_track_cells(r) for r in rows])


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def live_lines(live: LiveSummary) -> list[str]:
    if not live.points:
        return []
    ours = ", ".join(
        f"{f.fraction:.0%} {percent(f.median_abs_error)}"
        + ("" if f.target is None else f" (target <= {percent(f.target, 0)}: "
           f"{_met(f.median_abs_error <= f.target)})") for f in live.figures)
    naive = ", ".join(f"{f.fraction:.0%} {percent(f.naive_median_abs_error)}"
                      for f in live.figures)
    coverage = live.coverage or 0.0
    return [
        f"live forecast:    median |error| at {ours}; interval covered {live.covered} of "
        f"{live.points} checkpoints, {percent(coverage, 0)} (target >= "
        f"{percent(LIVE_COVERAGE_TARGET, 0)}: {_met(coverage >= LIVE_COVERAGE_TARGET)}), over "
        f"{live.runs} tracked full runs",
        f"elapsed / done:   median |error| at {naive} (the same checkpoints)",
    ]


def calibration_lines(calibration: CalibrationSummary) -> list[str]:
    p1, p2 = calibration.pass1, calibration.pass2
    lines = [f"pass 1 interval:  default drift: median half-width {percent(p1.median_half_width)}, "
             f"covered {p1.covered} of {p1.workloads}"]
    if p2 is not None:
        wanted, of = COVERAGE_TARGET
        scaled = "" if p2.workloads == of else f", {wanted} of {of} scaled"
        lines.append(
            f"pass 2 interval:  drift from the other workloads' pass-1 runs: median half-width "
            f"{percent(p2.median_half_width)}, covered {p2.covered} of {p2.workloads}, median "
            f"|error| {percent(p2.median_abs_error)} (target: half-width <= "
            f"{percent(HALF_WIDTH_TARGET, 0)} with >= {calibration.covered_target} of "
            f"{p2.workloads} covered{scaled}: {_met(bool(calibration.met))})")
    return lines


def summary_lines(summary: AccuracySummary) -> list[str]:
    lines = [
        f"greenlove:        median |error| {percent(summary.median_abs_error)}, worst "
        f"{percent(summary.max_abs_error)}; interval covered {summary.covered}/"
        f"{summary.workloads}; benchmark share median {percent(summary.median_share)}, worst "
        f"{percent(summary.max_share)}",
        f"proportional:     median |error| {percent(summary.proportional_median_abs_error)}, "
        f"worst {percent(summary.proportional_max_abs_error)}",
        f"first epoch x E:  median |error| {percent(summary.first_epoch_median_abs_error)}, "
        f"worst {percent(summary.first_epoch_max_abs_error)} (costs one full epoch)",
    ]
    if summary.live is not None:
        lines += live_lines(summary.live)
    if summary.calibration is not None:
        lines += calibration_lines(summary.calibration)
    if summary.median_floor is not None:
        lines.append(
            f"machine floor:    two full runs of the same training differed by "
            f"{percent(summary.median_floor)} (median), {percent(summary.max_floor or 0)} (worst)"
        )
    if summary.energy_workloads:
        lines.append(
            f"energy:           median |error| {percent(summary.energy_median_abs_error or 0)}, "
            f"worst {percent(summary.energy_max_abs_error or 0)}; interval covered "
            f"{summary.energy_covered}/{summary.energy_workloads} (against the same meters "
            "read through the full run)"
        )
    if summary.max_timer_gap is not None:
        lines.append(f"ground truth:     the tracker's run time and a perf_counter timer around "
                     f"the same epoch loop differ by at most {percent(summary.max_timer_gap, 2)} "
                     f"({(summary.max_timer_gap_s or 0) * 1e3:.0f} ms: tracking's start and end)")
    return lines


def overhead_lines(result: TrackOverheadResult) -> list[str]:
    low, high = result.ratio_ci()
    return [
        f"tracking cost:    on/off step time {result.ratio:.4f} (median of {len(result.ratios)} "
        f"ABBA pairs of {result.steps_per_block} steps; 95% interval {low:.4f} - {high:.4f}) = "
        f"{result.overhead:+.2%} of a {result.step_off_s * 1e3:.2f} ms step (target <= "
        f"{percent(OVERHEAD_TARGET)} of a {STEP_TARGET_S * 1e3:.0f} ms step: "
        f"{result.verdict})",
        f"tracker thread:   one forecast on a full step log ({result.marks} marks) takes "
        f"{result.forecast_s * 1e3:.2f} ms, once a second: {percent(result.forecast_duty, 2)} "
        f"of one core; track() and close() take {result.start_end_s * 1e3:.1f} ms once per "
        "run (energy off)",
    ]


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    flat = [header.replace("\n", " ") for header in headers]
    return (["| " + " | ".join(flat) + " |", "|" + "---|" * len(flat)]
            + ["| " + " | ".join(cells) + " |" for cells in rows])


def markdown(rows: Sequence[AccuracyRow], summary: AccuracySummary,
             overhead: TrackOverheadResult | None = None,
             frameworks: Sequence[FrameworkRow] = ()) -> str:
    lines = _markdown_table(_HEADERS, [*(_cells(r) for r in rows),
                                       *(_framework_cells(r) for r in frameworks)])
    lines.append("")
    lines += _markdown_table(_TRACK_HEADERS, [_track_cells(r) for r in rows])
    lines.append("")
    lines += [line.rstrip() for line in summary_lines(summary)]
    lines += framework_lines(frameworks)
    if overhead is not None:
        lines += overhead_lines(overhead)
    return "\n".join(lines)
