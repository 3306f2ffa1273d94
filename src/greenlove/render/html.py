"""The HTML dashboard: one self-contained file (inline CSS and SVG, no JavaScript, nothing loaded
from outside), rendered with Jinja2 and autoescaping from a report.

Rendering never computes statistics: every figure comes from the report (or its JSON form);
charts.py only turns them into coordinates.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .._files import write_text_atomic
from ..result import ReportData
from .charts import bar_share, convergence_chart, power_chart
from .evidence import epoch_chart, epoch_split
from .format import duration, energy, mass, money, number, percent, power, span
from .offers import cloud_rows
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

CLOUD_ROWS = 16
RANKED = 5


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("greenlove", "render/templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(duration=duration, energy=energy, money=money, mass=mass, power=power,
                       percent=percent, number=number)
    return env


def _offers(report: ReportData) -> dict[str, Any]:
    offers = [dict(o) for o in report.clouds]
    shown = [dict(o) for o in cloud_rows(report, CLOUD_ROWS)]
    local = report.comparison.get("local", {})

    def largest(key: str) -> float:
        values = [(o.get(key) or {}).get("point") for o in shown] + [(local.get(key) or {}).get("point")]
        values = [v for v in values if v is not None and math.isfinite(v)]
        return max(values, default=0.0)

    scale = {k: largest(k) for k in ("time_s", "cost_usd", "co2_kg")}
    rows = []
    for o in shown:
        rows.append({
            **o,
            "bars": {k: bar_share((o.get(k) or {}).get("point"), scale[k]) for k in scale},
            "time_text": span(o.get("time_s"), duration),
            "cost_text": span(o.get("cost_usd"), money),
            "co2_text": span(o.get("co2_kg"), mass),
        })
    local_bars = {k: bar_share((local.get(k) or {}).get("point"), scale[k]) for k in scale}

    def top(kind: str) -> list[dict[str, Any]]:
        ranking = report.comparison.get("rankings", {}).get(kind, [])
        return [offers[i] for i in ranking[:RANKED] if i < len(offers)]

    return {"rows": rows, "hidden": len(offers) - len(shown), "local": local,
            "local_bars": local_bars, "fastest": top("fastest"), "cheapest": top("cheapest"),
            "lowest_co2": top("lowest_co2"), "count": len(offers)}


def _headline(report: ReportData) -> list[dict[str, str]]:
    pred = report.prediction
    if pred is None:
        return []
    cards = [{"label": "Time", "point": duration(pred.time_s.point),
              "interval": span(pred.time_s, duration),
              "note": f"{report.plan.epochs} epochs" + (
                  f"; in a fresh process (compiles again): {duration(pred.fresh_process_s.point)}"
                  f" ({span(pred.fresh_process_s, duration)})"
                  if pred.fresh_process_s is not None else "")}]
    if pred.energy is not None:
        e = pred.energy.energy_kwh
        cards.append({"label": "Energy", "point": energy(e.point),
                      "interval": span(e, energy), "note": pred.energy.method})
    if pred.cost_usd is not None:
        c = pred.cost_usd
        price = report.assumptions.get("site_electricity_price", {})
        cards.append({"label": "Electricity cost", "point": money(c.point),
                      "interval": span(c, money),
                      "note": f"at {price.get('value', 0):.3g} USD/kWh ({price.get('method', '?')})"})
    if pred.co2_kg is not None:
        c = pred.co2_kg
        zone = report.assumptions.get("site_zone", {})
        grid = report.assumptions.get("site_carbon_intensity", {})
        cards.append({"label": "CO2e", "point": mass(c.point),
                      "interval": span(c, mass),
                      "note": f"{zone.get('value', '?')} grid, {grid.get('value', 0):.0f} g/kWh"})
    return cards


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


def render_html(report: ReportData) -> str:
    """The dashboard as one HTML string."""
    bench, pred = report.benchmark, report.prediction
    share = bench.wall_s / pred.time_s.point if bench and pred and pred.time_s.point else math.nan
    sizes: dict[int, list[tuple[int, float, str]]] = {}
    for record, role in zip(bench.epochs if bench else (), bench.roles if bench else ()):
        sizes.setdefault(record.sample_batches, []).append((record.order + 1, record.epoch_s, role))
    try:
        created = datetime.fromisoformat(report.created_at).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        created = report.created_at or "unknown date"
    dry_run = is_dry_run(report)
    preflight = bench is not None and pred is not None and not dry_run
    page_title, heading = _titles(report)
    context = {
        "r": report,
        "created": created,
        "page_title": page_title,
        "heading": heading,
        "preflight": preflight,
        "tracked": _tracked(report),
        "dry_run": dry_run_sentences(report) if dry_run else None,
        "verdict": verdict(report) if report.actual is None or dry_run else None,
        "cards": _headline(report),
        "benchmark_share": share,
        "epoch_chart": epoch_chart(report) if preflight else None,
        "epoch_split": epoch_split(report) if preflight else None,
        "power_chart": power_chart(report) if preflight else None,
        "palette": PALETTE,
        "sizes": sorted(sizes.items()),
        "clouds": _offers(report),
        "equivalences": report.comparison.get("equivalences", []),
        "workload": report.comparison.get("workload"),
        "assumptions": sorted(report.assumptions.items()),
        "environment": sorted(report.environment.items()),
    }
    return _environment().get_template("report.html.j2").render(**context)


def save_html(report: ReportData, path: str | Path) -> Path:
    """Write the page to ``path`` atomically (never a half-written file; see _files)."""
    return write_text_atomic(path, render_html(report))
