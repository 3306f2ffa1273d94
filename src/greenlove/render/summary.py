"""The terminal summary of a ReportData: the answer first, in about 30 lines (the verdict, the
headline figures with their fallbacks folded under them, the warnings that can change the
answer, the offers in groups and rankings); ``full=True`` is everything (summary_full.py).
Plain text when not on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from ..result import ReportData
from .facts import site_facts
from .format import duration, energy, mass, money, percent, plain, span
from .groups import group_offers
from .notices import Notice, notices
from .summary_full import full_renderable
from .terminal import (
    Prose,
    answer_warnings,
    folded,
    line,
    offer_block,
    plan_line,
    real_run,
    title,
    unplaced,
    world_line,
)
from .tracked import dry_run_sentences, is_dry_run
from .verdict import verdict

FULL_HINT = "greenlove show --full {file} for everything (power sources, samples, every offer, method)"


def _headline_rows(report: ReportData) -> list[tuple[str, str, str, str, str | None]]:
    """(label, point, interval, note, figure) of each predicted quantity."""
    pred, site = report.prediction, site_facts(report)
    rows: list[tuple[str, str, str, str, str | None]] = [
        ("wall time", duration(pred.time_s.point), span(pred.time_s, duration), "", None)]
    if pred.fresh_process_s is not None:
        f = pred.fresh_process_s
        rows.append(("in a fresh process", duration(f.point), span(f, duration),
                     f"compiles again ({duration(pred.compile_s)} in the benchmark)", None))
    if pred.energy is not None:
        en = pred.energy.energy_kwh
        rows.append(("energy", energy(en.point), span(en, energy), "", "energy"))
    if pred.cost_usd is not None:
        rows.append(("electricity cost", money(pred.cost_usd.point), span(pred.cost_usd, money),
                     f"at {site.price}", "cost"))
    if pred.co2_kg is not None:
        rows.append(("CO2e", mass(pred.co2_kg.point), span(pred.co2_kg, mass),
                     f"{site.zone} grid, {site.grid}", "co2"))
    return rows


def _headline(report: ReportData, found: tuple[Notice, ...], dry: bool) -> tuple[list, list]:
    """The predicted figures, one line each with point and interval (never broken: a line too
    long for the screen is cut at its end, after the interval), each figure's folded warnings
    under it; and the figures placed."""
    pred, plan = report.prediction, report.plan
    rows = _headline_rows(report)
    conf = f"{pred.time_s.confidence:.0%}"
    parts: list = [line(f"Predicted full run ({plan.epochs} epochs of {plan.batches_per_epoch} "
                        f"batches): point and {conf} interval", style="bold")]
    label_w = max(len(r[0]) for r in rows)
    point_w = max(len(r[1]) for r in rows)
    span_w = max(len(r[2]) for r in rows)
    for label, point, interval, note, figure in rows:
        text = f"  {label:<{label_w}}  {point:>{point_w}}  {interval:<{span_w}}  {note}"
        parts.append(line(text.rstrip()))
        if figure is not None:
            parts += folded(found, figure)
    bench = report.benchmark
    if bench is not None and not dry and pred.time_s.point:
        parts.append(line(f"  from {len(bench.epochs)} timed epochs in {duration(bench.wall_s)} "
                          f"({percent(bench.wall_s / pred.time_s.point)} of the predicted run)",
                          style="dim"))
    return parts, [r[4] for r in rows if r[4] is not None]


def _tracked_notes(report: ReportData, found: tuple[Notice, ...]) -> tuple[list, list]:
    """The folded warnings of a tracked run's figures, under its table."""
    figures = ["energy", "cost", "co2"]
    notes = [note for figure in figures
             for note in folded(found, figure, indent=2, labelled=True)]
    return notes, figures


def short_renderable(report: ReportData, file: str | Path | None = None) -> Panel:
    parts: list = []
    dry = is_dry_run(report)
    answer = verdict(report) if report.actual is None or dry else None
    found = notices(report, answer.action if answer is not None else None)
    placed: list[str] = []
    if answer is not None:
        parts += [Prose(answer.text, style="bold"), Text("")]
    if dry:
        parts += [*(Prose(s) for s in dry_run_sentences(report)), Text("")]
    elif report.actual is not None:
        notes, placed = _tracked_notes(report, found)
        parts += [*real_run(report, notes), Text("")]
    if report.prediction is not None and (report.actual is None or dry):
        figures, placed = _headline(report, found, dry)
        parts += [*figures, Text("")]
    elif report.prediction is None:
        parts += [Prose(plan_line(report)), Text("")]
    world = world_line(report)
    if world is not None:
        parts += [Prose(world), Text("")]
    warned = answer_warnings(found)
    if warned:
        parts += [*warned, Text("")]
    groups = group_offers(report.clouds)
    # A finished run's answer is its table: the offers, for the next run, in their rankings only.
    block = offer_block(report, groups, found, said_in_groups=report.actual is None or dry)
    if block:
        placed.append("clouds")
        parts += [*block, Text("")]
    left = unplaced(found, placed)
    if left:
        parts += [*left, Text("")]
    parts.append(Prose(FULL_HINT.format(file=file if file is not None else "FILE"), style="dim"))
    return Panel(Group(*parts), title=Text(plain(title(report))), title_align="left")


def renderable(report: ReportData, full: bool = False, *, file: str | Path | None = None) -> Panel:
    """The summary (``full``: everything, see summary_full.py); ``file``: the JSON the report
    was read from or written to, named in the short form's pointer to the full one."""
    return full_renderable(report) if full else short_renderable(report, file)


def render_text(report: ReportData, *, width: int = 100, full: bool = False,
                file: str | Path | None = None) -> str:
    """The summary as plain text (no colour codes), for print(report) and logs."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      highlight=False)
    console.print(renderable(report, full, file=file))
    return buffer.getvalue().rstrip()

