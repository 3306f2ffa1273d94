"""Saved reports side by side ("before and after I changed the batch size"): what each ran,
its predicted and actual time, energy, cost and CO2e, the answer on where to run, and each
report's change against the first, as already formatted cells for the page and the terminal.

Pure, and no statistics: every figure is a report's own; a change is the ratio of two reports'
points. A figure a report lacks (an old schema, no energy, no pre-flight) is "—" with why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._files import write_text_atomic
from ..model import Interval
from ..result import ReportData
from .facts import created_text, device_name
from .format import duration, energy, mass, money, number, percent, span
from .groups import offer_name
from .html import template_environment
from .tracked import comparisons, is_dry_run, outcome
from .verdict import MAX_COST_RATIO, verdict

MISSING = "—"
NOT_ESTIMATED = "not estimated before the run"
NOT_MEASURED = "energy not measured"


@dataclass(frozen=True)
class Cell:
    """One report's entry in a row: the figure, what qualifies it (its interval, or why it is
    missing), and its change against the first report ("" in the first column)."""

    text: str
    detail: str = ""
    change: str = ""


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class RunComparison:
    """Two or more reports side by side, every string already formatted."""

    labels: tuple[str, ...]             # one per report, in the order given (the first: the base)
    answer: tuple[str, ...]             # "b.json is 38% faster than a.json: ..."
    notes: tuple[str, ...]              # "The plans differ ...": not a before and after
    sections: tuple[Section, ...]
    verdicts: tuple[tuple[str, str], ...]   # (label, where to run, in words)


@dataclass(frozen=True)
class _Figures:
    """One report's figures: cells, and the points the changes are ratios of (None: missing)."""

    cells: dict[str, Cell]
    points: dict[str, float | None]
    basis: str                          # "measured" (a completed tracked run) or "predicted"
    verdict: str


def _finite(value: float | None) -> float | None:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _predicted(interval: Interval | None, fmt: Callable[[float], str],
               reason: str) -> tuple[Cell, float | None]:
    if interval is None:
        return Cell(MISSING, reason), None
    return (Cell(fmt(interval.point), f"{interval.confidence:.0%}: {span(interval, fmt)}"),
            _finite(interval.point))


def _kind(report: ReportData) -> str:
    if report.actual is None:
        return "pre-flight estimate"
    if is_dry_run(report):
        return "dry run (the fit's first steps)"
    return "tracked run" + (" and its pre-flight" if report.prediction is not None
                            else ", no pre-flight")


def _plan_cells(report: ReportData) -> dict[str, Cell]:
    plan = report.plan
    workers = f"{plan.num_workers:,}" + (", persistent" if plan.persistent_workers else "")
    return {
        "kind": Cell(_kind(report)),
        "epochs": Cell(f"{plan.epochs:,}"),
        "batches": Cell(f"{plan.batches_per_epoch:,}"),
        "batch_size": Cell(f"{plan.batch_size:,}") if plan.batch_size is not None
        else Cell(MISSING, "not known (a batch sampler or iterable loader)"),
        "dataset": Cell(f"{plan.dataset_size:,} items") if plan.dataset_size is not None
        else Cell(MISSING, "not known (an iterable dataset)"),
        "workers": Cell(workers),
        "device": Cell(device_name(report, "unknown")),
        "version": Cell(report.greenlove_version or "unknown"),
        "date": Cell(created_text(report)),
    }


def _prediction_cells(report: ReportData) -> tuple[dict[str, Cell], dict[str, float | None]]:
    pred = report.prediction
    if pred is None:
        cells = {k: Cell(MISSING, NOT_ESTIMATED) for k in ("time", "energy", "cost", "co2")}
        return cells, dict.fromkeys(cells)
    energy_interval = pred.energy.energy_kwh if pred.energy is not None else None
    no_energy = energy_interval is None
    figures = {
        "time": _predicted(pred.time_s, duration, ""),
        "energy": _predicted(energy_interval, energy, NOT_MEASURED),
        "cost": _predicted(pred.cost_usd, money,
                           NOT_MEASURED if no_energy else "no electricity price"),
        "co2": _predicted(pred.co2_kg, mass,
                          NOT_MEASURED if no_energy else "no grid carbon intensity"),
    }
    return {k: c for k, (c, _) in figures.items()}, {k: p for k, (_, p) in figures.items()}


def _actual_cells(report: ReportData) -> tuple[dict[str, Cell], dict[str, float | None]]:
    """A completed tracked run's measured figures; its points are None for a run that stopped
    early or a dry run (part of a run is no figure to compare a whole run with)."""
    actual = report.actual
    keys = ("time", "energy", "cost", "co2")
    if actual is None or is_dry_run(report):
        reason = "not tracked" if actual is None else "a dry run, not the whole fit"
        return {k: Cell(MISSING, reason) for k in keys}, dict.fromkeys(keys)
    time_row, *others = comparisons(report)
    detail = (f"predicted {time_row.verdict}" if time_row.verdict else "") if actual.completed \
        else f"{outcome(actual)} ({actual.epochs_done:,} of {actual.epochs_planned:,} epochs)"
    cells = {"time": Cell(time_row.actual, detail)}
    for key, row in zip(keys[1:], others):
        measured = row.actual != "not measured"
        cells[key] = Cell(row.actual if measured else MISSING, "" if measured else "not measured")
    values = (actual.time_s, actual.energy_kwh, actual.cost_usd, actual.co2_kg)
    points = {k: _finite(v) if actual.completed else None for k, v in zip(keys, values)}
    return cells, points


def _best_offer(report: ReportData) -> tuple[Cell, str]:
    answer = verdict(report)
    if answer is None:
        return Cell(MISSING, NOT_ESTIMATED), NOT_ESTIMATED
    if answer.action == "here only":
        return Cell("no cloud comparison", "in this report"), answer.text
    if answer.action == "move":
        return Cell(f"move to {offer_name(answer.offer)}"), answer.text
    if answer.offer is not None and answer.offer_role == "the cheapest faster offer":
        return Cell("stay here", f"the cheapest faster offer, {offer_name(answer.offer)}, costs "
                                 f"over {MAX_COST_RATIO:g}x the run here"), answer.text
    return Cell("stay here"), answer.text


def _figures(report: ReportData) -> _Figures:
    """Everything the comparison shows of one report (ValueError, KeyError ... where a section
    of the report is not what the schema says)."""
    cells = _plan_cells(report)
    predicted, predicted_points = _prediction_cells(report)
    actual, actual_points = _actual_cells(report)
    offer, words = _best_offer(report)
    cells.update({f"pred_{k}": c for k, c in predicted.items()})
    cells.update({f"actual_{k}": c for k, c in actual.items()})
    cells["offer"] = offer
    points = {f"pred_{k}": p for k, p in predicted_points.items()}
    points.update({f"actual_{k}": p for k, p in actual_points.items()})
    basis = "measured" if points["actual_time"] is not None else "predicted"
    return _Figures(cells, points, basis, words)


def check_report(report: ReportData) -> None:
    """Raise (KeyError, TypeError, ValueError ...) where a report holds a section the comparison
    cannot read, so the caller can name the file at fault."""
    _figures(report)


def _change(point: float | None, base: float | None, base_label: str) -> str:
    """'-38% vs a.json': the ratio of the two points less one; 'n/a' where either is missing."""
    if point is None or base is None or base == 0:
        return f"n/a vs {base_label}"
    change = point / base - 1
    sign = "+" if change > 0 else ""
    digits = 0 if change == 0 or abs(change) >= 0.095 else 1
    return f"{sign}{percent(change, digits)} vs {base_label}"


_ROWS: tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...] = (
    ("What was run", (
        ("report", "kind", False), ("epochs", "epochs", False),
        ("batches per epoch", "batches", False), ("batch size", "batch_size", False),
        ("dataset size", "dataset", False), ("loader workers", "workers", False),
        ("device", "device", False), ("greenlove version", "version", False),
        ("date", "date", False))),
    ("Predicted before the run", (
        ("time", "pred_time", True), ("energy", "pred_energy", True),
        ("electricity cost", "pred_cost", True),
        ("CO2e (location-based)", "pred_co2", True))),
    ("The real run, measured", (
        ("time (error of the prediction)", "actual_time", True),
        ("energy", "actual_energy", True), ("electricity cost", "actual_cost", True),
        ("CO2e (location-based)", "actual_co2", True))),
    ("Where to run it", (("best cloud offer", "offer", False),)),
)
"""(section title, ((row label, figure key, shows a change), ...)); a section with nothing
in any column (no report tracked) is left out."""


def _sections(figures: Sequence[_Figures], labels: Sequence[str]) -> tuple[Section, ...]:
    sections = []
    for title, rows in _ROWS:
        built = []
        for label, key, changes in rows:
            cells = []
            for i, fig in enumerate(figures):
                cell = fig.cells[key]
                if changes and i > 0:
                    cell = Cell(cell.text, cell.detail,
                                _change(fig.points[key], figures[0].points[key], labels[0]))
                cells.append(cell)
            built.append(Row(label, tuple(cells)))
        if any(c.text != MISSING for row in built for c in row.cells):
            sections.append(Section(title, tuple(built)))
    return tuple(sections)


def _pair(text: str, base_text: str, unit: str) -> str:
    """'9.1 s instead of 24.5 s'; '< 0.01¢ in both' where the two read alike."""
    return f"{text}{unit} in both" if text == base_text else f"{text} instead of {base_text}{unit}"


def _answer(figures: Sequence[_Figures], labels: Sequence[str]) -> tuple[str, ...]:
    """One sentence per report after the first: faster or slower than the first, by how much
    (a share of the first's time; "takes 2.5 times as long" from twice), with its cost and
    CO2e, each figure measured where the run was tracked, else predicted."""

    def basis(fig: _Figures, key: str) -> float | None:
        return fig.points[("actual_" if fig.basis == "measured" else "pred_") + key]

    base, base_label = figures[0], labels[0]
    sentences = []
    for fig, label in zip(figures[1:], labels[1:]):
        t, t0 = basis(fig, "time"), basis(base, "time")
        if t is None or t0 is None or t0 <= 0:
            sentences.append(f"{label} has no whole-run time to compare with {base_label}'s.")
            continue
        ratio = t / t0
        speed = ("is as fast as" if ratio == 1 else
                 f"is {percent(1 - ratio, 0)} faster than" if ratio < 1 else
                 f"is {percent(ratio - 1, 0)} slower than" if ratio < 2 else
                 f"takes {number(ratio)} times as long as")
        kinds = f"both {fig.basis}" if fig.basis == base.basis else \
            f"{fig.basis} against {base.basis}"
        text = f"{label} {speed} {base_label}: {_pair(duration(t), duration(t0), '')}"
        pairs = []
        for key, fmt, unit in (("cost", money, ""), ("co2", mass, " CO2e")):
            value, value0 = basis(fig, key), basis(base, key)
            if value is not None and value0 is not None:
                pairs.append(_pair(fmt(value), fmt(value0), unit))
        if pairs:
            text += ", for " + " and ".join(pairs)
        sentences.append(f"{text} ({kinds}).")
    return tuple(sentences)


def _notes(reports: Sequence[ReportData], labels: Sequence[str]) -> tuple[str, ...]:
    """One line where the plans differ in dataset size or epochs: different runs, not a
    before and after."""
    differ = []
    for name, unit, get in (("dataset size", " items", lambda p: p.dataset_size),
                            ("epochs", "", lambda p: p.epochs)):
        values = [get(r.plan) for r in reports]
        if len({v for v in values if v is not None}) > 1:
            differ.append(f"{name} " + " / ".join(
                "unknown" if v is None else f"{v:,}{unit}" for v in values))
    if not differ:
        return ()
    return (f"The plans differ ({'; '.join(differ)}, for {' / '.join(labels)}): this compares "
            "different runs, not a before and after of one.",)


def compare_reports(reports: Sequence[ReportData], labels: Sequence[str]) -> RunComparison:
    """Two or more reports side by side, the first the base every change is against."""
    if len(reports) < 2:
        raise ValueError(f"a comparison needs two or more reports, got {len(reports)}")
    if len(labels) != len(reports):
        raise ValueError(f"{len(labels)} labels for {len(reports)} reports")
    labels = tuple(str(label) for label in labels)
    figures = [_figures(r) for r in reports]
    return RunComparison(labels=labels, answer=_answer(figures, labels),
                         notes=_notes(reports, labels), sections=_sections(figures, labels),
                         verdicts=tuple(zip(labels, (f.verdict for f in figures))))


def render_compare_html(reports: Sequence[ReportData], labels: Sequence[str]) -> str:
    """The comparison as one self-contained HTML page (no scripts, nothing loaded)."""
    comparison = compare_reports(reports, labels)
    title = comparison.answer[0] if comparison.answer else "Reports compared"
    return template_environment().get_template("compare.html.j2").render(
        c=comparison, page_title=f"greenlove: {title}")


def save_compare_html(reports: Sequence[ReportData], labels: Sequence[str],
                      path: str | Path) -> Path:
    """Write the comparison page to ``path`` atomically (never a half-written file)."""
    return write_text_atomic(path, render_compare_html(reports, labels))
