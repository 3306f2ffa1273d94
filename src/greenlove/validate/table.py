"""Presentation of the accuracy benchmark: a rich table for the terminal, Markdown for docs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from ..render.format import percent, span
from .accuracy import AccuracyRow, AccuracySummary

_HEADERS = ("workload", "epochs", "predicted (s)", "95% interval (s)", "actual (s)", "error",
            "covered", "benchmark share", "proportional err", "first-epoch err", "repeat diff",
            "energy pred (Wh)", "energy actual (Wh)", "energy err", "energy covered")


def _wh(kwh: float | None) -> str:
    return "—" if kwh is None else f"{kwh * 1e3:.3g}"


def _s(seconds: float) -> str:
    return f"{seconds:.1f}"


def _cells(row: AccuracyRow) -> tuple[str, ...]:
    return (
        row.workload, str(row.epochs), f"{row.predicted_s:.1f}",
        span((row.low_s, row.high_s), _s), f"{row.actual_s:.1f}",
        f"{row.error:+.1%}", "yes" if row.covered else "NO", percent(row.share),
        f"{row.proportional_error:+.1%}", f"{row.first_epoch_error:+.1%}",
        "—" if row.floor is None else percent(row.floor),
        "—" if row.predicted_kwh is None else
        f"{_wh(row.predicted_kwh)} ({span((row.low_kwh, row.high_kwh), _wh)})",
        _wh(row.actual_kwh),
        "—" if row.energy_error is None else f"{row.energy_error:+.1%}",
        {None: "—", True: "yes", False: "NO"}[row.energy_covered],
    )


def rich_table(rows: Sequence[AccuracyRow]) -> Table:
    table = Table(title="greenlove accuracy benchmark", title_justify="left")
    for header in _HEADERS:
        table.add_column(header, justify="left" if header == "workload" else "right")
    for row in rows:
        table.add_row(*_cells(row))
    return table


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
    return lines


def markdown(rows: Sequence[AccuracyRow], summary: AccuracySummary) -> str:
    lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    lines.append("")
    lines += [line.rstrip() for line in summary_lines(summary)]
    return "\n".join(lines)
