"""The HTML dashboard: one self-contained file (inline CSS and SVG, no JavaScript, nothing loaded
from outside), rendered with Jinja2 and autoescaping from a report.

Rendering never computes statistics: every figure comes from the report (or its JSON form);
charts.py only turns them into coordinates.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .._files import write_text_atomic
from ..result import ReportData
from .charts import convergence_chart, power_chart
from .co2 import co2_story
from .evidence import epoch_chart, epoch_split
from .facts import created_text, site_facts
from .format import (
    duration,
    energy,
    epoch_model,
    mass,
    money,
    number,
    percent,
    power,
    ratio,
    si,
    span,
    value,
)
from .groups import alike_sentence, group_offers
from .notes import Notes
from .notices import Notice, energy_basis, first, notices, under
from .page_offers import cloud_section
from .tracked import (
    check_sentences,
    comparisons,
    dry_run_sentences,
    forecast_sentences,
    is_dry_run,
    progress_rows,
)
from .verdict import verdict

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
"""Okabe-Ito: distinguishable with the common colour-vision deficiencies."""



@functools.cache
def template_environment() -> Environment:
    """The one Jinja environment of the page, the comparison and the card: the package's
    templates, autoescaped, with the formatters as filters (made once, templates compiled once)."""
    env = Environment(loader=PackageLoader("greenlove", "render/templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(duration=duration, energy=energy, money=money, mass=mass, power=power,
                       percent=percent, number=number, si=si, value=value, ratio=ratio)
    env.globals.update(epoch_model=epoch_model)
    return env


_FIGURE_OF_CARD = {"Time": "time", "Energy": "energy", "Electricity cost": "cost", "CO2e": "co2"}


def _headline(report: ReportData, found: tuple[Notice, ...], notes: Notes) -> list[dict[str, Any]]:
    """The headline cards: point, interval, how it was made, and under each the fallbacks that
    qualify it (folded) and, for CO2e, the equivalence that fits and the greenest's saving."""
    pred = report.prediction
    if pred is None:
        return []
    site = site_facts(report)
    cards: list[dict[str, Any]] = [{"label": "Time", "point": duration(pred.time_s.point),
              "interval": span(pred.time_s, duration),
              "note": f"{report.plan.epochs} epochs" + (
                  f"; in a fresh process (compiles again): {duration(pred.fresh_process_s.point)}"
                  f" ({span(pred.fresh_process_s, duration)})"
                  if pred.fresh_process_s is not None else "")}]
    if pred.energy is not None:
        e = pred.energy.energy_kwh
        cards.append({"label": "Energy", "point": energy(e.point),
                      "interval": span(e, energy),
                      "note": f"{energy_basis(report)}; {pred.energy.method}"})
    if pred.cost_usd is not None:
        c = pred.cost_usd
        cards.append({"label": "Electricity cost", "point": money(c.point),
                      "interval": span(c, money),
                      "note": f"at {site.price} ({site.price_method})"})
    if pred.co2_kg is not None:
        c = pred.co2_kg
        story = co2_story(report)
        extra = []
        if story is not None and story.equivalent is not None:
            extra.append({"text": story.equivalent.text,
                          "ref": notes.cite(story.equivalent.source)})
        if story is not None and story.saving:
            extra.append({"text": story.saving, "ref": None})
        cards.append({"label": "CO2e", "point": mass(c.point),
                      "interval": span(c, mass),
                      "note": f"location-based: {site.zone} grid, {site.grid}",
                      "extra": extra})
    for card in cards:
        card["folded"] = under(found, _FIGURE_OF_CARD[card["label"]])
    return cards


def _assumptions(report: ReportData, notes: Notes) -> list[dict[str, Any]]:
    """The constants, each value read as a number and its source a numbered note."""
    return [{"name": name, "value": value(a.get("value")), "unit": a.get("unit") or "",
             "method": a.get("method") or "", "ref": notes.cite(a.get("source") or "no source")}
            for name, a in sorted(report.assumptions.items())]


INDEX = (("verdict", "The answer"), ("actual", "Predicted vs actual"), ("headline", "Figures"),
         ("warnings", "Warnings"), ("clouds", "Here or cloud"), ("evidence", "Evidence"),
         ("power", "Power"), ("preflight", "Benchmark"), ("assumptions", "Assumptions"),
         ("method", "Method"), ("environment", "Environment"), ("notes", "Sources"))
"""The section index's entries (anchor, label); only those on the page are listed."""


def _tracked(report: ReportData) -> dict[str, Any] | None:
    """The real run's facts for the "Predicted vs actual" section (None: not a tracked run, or
    a dry run, which is a pre-flight)."""
    if report.actual is None or is_dry_run(report):
        return None
    check = report.check
    return {
        "comparisons": comparisons(report),
        "progress": progress_rows(report.actual),
        "checks": check_sentences(report),
        "covered": None if check is None else check.covered,
        "forecasts": forecast_sentences(report),
        "forecast_count": len(report.forecasts),
        "chart": convergence_chart(report),
    }


def _titles(report: ReportData) -> tuple[str, str]:
    """The page's <title> and its heading."""
    pred, actual, epochs = report.prediction, report.actual, report.plan.epochs
    if actual is None or is_dry_run(report):
        return (f"greenlove: {duration(pred.time_s.point)} predicted for {epochs} epochs",
                "What this training run will cost")
    took = duration(actual.time_s)
    title = f"greenlove: {epochs} epochs took {took}" if actual.completed else \
        f"greenlove: stopped after {took} ({actual.epochs_done} of {epochs} epochs)"
    if pred is not None:
        title += f", {duration(pred.time_s.point)} predicted"
    return title, "What this training run cost"


def _index(context: dict[str, Any]) -> list[tuple[str, str]]:
    """The section index: the sections this page has."""
    present = {"verdict": context["verdict"] is not None, "actual": context["tracked"] is not None,
               "headline": bool(context["cards"]), "warnings": bool(context["first_warnings"]),
               "evidence": context["preflight"], "power": context["preflight"],
               "preflight": not context["preflight"], "notes": bool(context["notes"])}
    return [(anchor, label) for anchor, label in INDEX if present.get(anchor, True)]


def render_html(report: ReportData) -> str:
    """The dashboard as one HTML string."""
    bench, pred = report.benchmark, report.prediction
    share = bench.wall_s / pred.time_s.point if bench and pred and pred.time_s.point else math.nan
    sizes: dict[int, list[tuple[int, float, str]]] = {}
    for record, role in zip(bench.epochs if bench else (), bench.roles if bench else ()):
        sizes.setdefault(record.sample_batches, []).append((record.order + 1, record.epoch_s, role))
    created = created_text(report)
    dry_run = is_dry_run(report)
    preflight = bench is not None and pred is not None and not dry_run
    page_title, heading = _titles(report)
    answer = verdict(report) if report.actual is None or dry_run else None
    found = notices(report, answer.action if answer is not None else None)
    notes = Notes()
    cards = _headline(report, found, notes)
    clouds = cloud_section(report, notes)
    groups = group_offers(report.clouds)
    first_warnings = first(found)
    context = {
        "r": report,
        "created": created,
        "page_title": page_title,
        "heading": heading,
        "preflight": preflight,
        "tracked": _tracked(report),
        "dry_run": dry_run_sentences(report) if dry_run else None,
        "verdict": answer,
        "cards": cards,
        "first_warnings": first_warnings,
        "folded_count": len(found) - len(first_warnings),
        "folded": {"clouds": under(found, "clouds")},
        "alike": alike_sentence(groups),
        "benchmark_share": share,
        "epoch_chart": epoch_chart(report) if preflight else None,
        "epoch_split": epoch_split(report) if preflight else None,
        "power_chart": power_chart(report) if preflight else None,
        "palette": PALETTE,
        "sizes": sorted(sizes.items()),
        "clouds": clouds,
        "workload": report.comparison.get("workload"),
        "assumptions": _assumptions(report, notes),
        "environment": sorted(report.environment.items()),
    }
    context["notes"] = notes.items
    context["index"] = _index(context)
    return template_environment().get_template("report.html.j2").render(**context)


def save_html(report: ReportData, path: str | Path) -> Path:
    """Write the page to ``path`` atomically (never a half-written file; see _files)."""
    return write_text_atomic(path, render_html(report))
