"""The terminal summary of a ReportData (rich tables; plain text when not on a terminal)."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..result import ReportData
from .format import duration, energy, epoch_model, mass, money, percent, plain, power, si, span
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


def _row(table: Table, *cells: str) -> None:
    """A row of plain text: no rich markup and no control characters, whatever a file or the
    machine put in a name or a note."""
    table.add_row(*(Text(plain(cell)) for cell in cells))


def _prediction_table(report: ReportData) -> Table:
    pred, plan = report.prediction, report.plan
    conf = f"{pred.time_s.confidence:.0%}"
    table = Table(title="Predicted full run", title_justify="left", show_edge=False)
    table.add_column("quantity")
    table.add_column("point", justify="right")
    table.add_column(f"{conf} interval", justify="right")
    t = pred.time_s
    _row(table, f"wall time, {plan.epochs} epochs", duration(t.point),
                  span(t, duration))
    e = pred.epoch_s
    _row(table, f"one epoch ({plan.batches_per_epoch} batches)", duration(e.point),
                  span(e, duration))
    _row(table, "one-off warm-up (added once)", duration(pred.warmup_s), "")
    if pred.fresh_process_s is not None:
        f = pred.fresh_process_s
        _row(table, f"torch.compile in the benchmark (booked apart; {duration(pred.compile_s)})",
             "", "")
        _row(table, f"wall time in a fresh process (compiles again), {plan.epochs} epochs",
             duration(f.point), span(f, duration))
    if pred.energy is not None:
        en = pred.energy.energy_kwh
        _row(table, f"energy, {plan.epochs} epochs ({pred.energy.method})", energy(en.point),
                      span(en, energy))
    site = report.assumptions
    if pred.cost_usd is not None:
        price = site.get("site_electricity_price", {})
        _row(table, f"electricity cost (at {price.get('value', 0):.3g} USD/kWh, "
                      f"{price.get('method', '?')})", money(pred.cost_usd.point),
                      span(pred.cost_usd, money))
    if pred.co2_kg is not None:
        zone = site.get("site_zone", {})
        grid = site.get("site_carbon_intensity", {})
        _row(table, f"CO2e ({zone.get('value', '?')} grid, {grid.get('value', 0):.0f} g/kWh, "
                      f"{zone.get('method', '?')})", mass(pred.co2_kg.point),
                      span(pred.co2_kg, mass))
    return table


def _speedup_cell(o) -> str:
    """The offer's speed-up, its 95% interval where it has one, and its method's short label."""
    band = o.get("speedup_interval") or {}
    low, high = band.get("low"), band.get("high")
    spread = f" ({low:.3g}-{high:.3g})" if low is not None and high is not None \
        and high > low else ""
    return f"{o['speedup']:.3g}x{spread} {_SHORT.get(o['speedup_method'], '')}".rstrip()


CLOUD_ROWS = 12
_SHORT = {"user-measured": "(yours)", "fitted-model": "(fitted)", "published-ratio": "(published)",
          "roofline": "(roofline)",
          "tflops-bandwidth-baseline": "(0.7/0.3)"}


def _cloud_table(report: ReportData) -> Table | None:
    offers = list(report.clouds)
    if not offers:
        return None
    local = report.comparison.get("local", {}).get("device", {})
    table = Table(title=Text(plain(f"The same run on cloud GPUs (vs "
                                   f"{local.get('name', 'this device')}, "
                                   f"{local.get('method', '?')}); Crusoe first")),
                  title_justify="left", show_edge=False)
    for column in ("offer", "speed-up", "time (95%)", "cost", "spot", "CO2e grid", "claimed"):
        table.add_column(column, justify="left" if column == "offer" else "right")
    shown = cloud_rows(report, CLOUD_ROWS)
    for o in shown:
        t, c, spot, co2 = o["time_s"], o["cost_usd"], o["cost_spot_usd"], o["co2_kg"]
        _row(table,
            f"{o['provider']}: {o['gpu']}", _speedup_cell(o),
            f"{duration(t['point'])} ({span(t, duration, '–')})",
            money(c["point"]) if c else "no price", money(spot["point"]) if spot else "—",
            mass(co2["point"]) if co2 else "—",
            "—" if o["co2_claimed_kg"] is None else mass(o["co2_claimed_kg"]),
        )
    if len(shown) < len(offers):
        table.caption = (f"{len(offers) - len(shown)} more offers (cheapest shown) in the JSON; "
                         "`greenlove clouds` lists every offer and its source.")
    return table


def _energy_table(report: ReportData) -> Table | None:
    measured = report.benchmark.energy if report.benchmark is not None else None
    if measured is None:
        return None
    table = Table(title="Power sources", title_justify="left", show_edge=False)
    table.add_column("device")
    table.add_column("method")
    table.add_column("mean power", justify="right")
    table.add_column("idle", justify="right")
    table.add_column("predicted energy", justify="right")
    predicted = {d.name: d for d in report.prediction.energy.devices} \
        if report.prediction is not None and report.prediction.energy else {}
    for device in measured.devices:
        share = predicted.get(device.name)
        _row(table, device.name, device.method, power(device.mean_power_w),
                      power(device.idle_power_w),
                      energy(share.energy_kwh) if share else "not measured")
    return table


def _energy_facts(report: ReportData) -> list[str]:
    pred = report.prediction.energy
    if pred is None:
        return []
    lines = [f"Energy: mean draw {power(pred.mean_power_w)} while training."]
    if pred.idle_share is not None:
        lines[0] += (f" Idle draw {power(pred.idle_power_w)}: {percent(pred.idle_share, 0)} of the "
                     "predicted energy is what the machine would draw doing nothing.")
    notes = {d.method: d.note for d in report.benchmark.energy.devices if d.note} \
        if report.benchmark.energy else {}
    lines += [f"{method}: {note}" for method, note in notes.items()]
    return lines


def _measured_table(report: ReportData) -> Table:
    bench = report.benchmark
    table = Table(title="What was measured", title_justify="left", show_edge=False)
    table.add_column("sample (batches)", justify="right")
    table.add_column("items", justify="right")
    table.add_column("epochs", justify="right")
    table.add_column("median epoch", justify="right")
    table.add_column("not steady", justify="left")
    sizes: dict[int, list[int]] = {}
    for i, record in enumerate(bench.epochs):
        sizes.setdefault(record.sample_batches, []).append(i)
    for batches in sorted(sizes):
        idx = sizes[batches]
        times = sorted(bench.epochs[i].epoch_s for i in idx)
        roles = [bench.roles[i] for i in idx if bench.roles[i] != "steady"]
        _row(table, str(batches), str(bench.epochs[idx[0]].sample_size), str(len(idx)),
                      duration(times[len(times) // 2]), ", ".join(roles))
    return table


def world_line(report: ReportData) -> str | None:
    """One line on the distributed job the report comes from, or None for one process."""
    world = report.environment.get("world")
    if not isinstance(world, dict) or not isinstance(world.get("size"), int) or world["size"] < 2:
        return None
    nodes, per_node = world.get("nodes", "?"), world.get("ranks_per_node", "?")
    return (f"Distributed job: {world['size']} ranks on {nodes} node{'s' if nodes != 1 else ''} "
            f"({per_node} per node); epoch times are the slowest rank's, energy sums every "
            "rank's GPU and each node's CPU and memory once.")


def _facts(report: ReportData) -> Text:
    bench, plan, fit = report.benchmark, report.plan, report.prediction.fit
    share = bench.wall_s / report.prediction.time_s.point if report.prediction.time_s.point else 0
    size = f"{plan.dataset_size} items, " if plan.dataset_size is not None else ""
    budget = ("automatic: " + bench.budget_rule) if bench.budget_automatic else "budget_s"
    lines = [
        f"Full run: {plan.epochs} epochs of {size}{plan.batches_per_epoch} batches "
        f"(batch size {plan.batch_size}, {plan.num_workers} loader workers).",
        f"Benchmark: {len(bench.epochs)} timed epochs in {duration(bench.wall_s)} "
        f"({percent(share)} of the predicted run); budget {duration(bench.budget_s)} "
        f"({budget}); stopped because {bench.stop_reason or 'it finished'}."
        + (" Beyond the timed epochs: " + ", ".join(f"{name} {duration(v)}" for name, v in
                                                     bench.extras_s.items()) + "."
           if bench.extras_s else ""),
        f"Model ({fit.method}): {epoch_model(fit.intercept_s, fit.per_batch_s)} (from "
        f"{fit.steady_epochs} steady epochs; epoch-to-epoch noise {percent(fit.noise_rel)}).",
    ]
    lines += _energy_facts(report)
    world = world_line(report)
    if world is not None:
        lines.append(world)
    return Text(plain("\n".join(lines)))


def _real_run(report: ReportData) -> list:
    """The tracked run: what it really took against what was predicted, and its forecasts."""
    preflight = report.prediction is not None
    table = Table(title="The real run", title_justify="left", show_edge=False)
    table.add_column("quantity")
    table.add_column("actual", justify="right")
    if preflight:
        conf = f"{report.prediction.time_s.confidence:.0%}"
        table.add_column("predicted", justify="right")
        table.add_column(f"{conf} interval", justify="right")
        table.add_column("error")
    for row in comparisons(report):
        cells = (row.predicted, row.interval, row.verdict) if preflight else ()
        _row(table, row.label, row.actual, *cells)
    progress = "; ".join(f"{label}: {value}" for label, value in progress_rows(report.actual))
    lines = [progress[0].upper() + progress[1:] + "."]
    lines += check_sentences(report) + forecast_sentences(report)
    return [table, Text(""), Text(plain("\n".join(lines)))]


def _plan_line(report: ReportData) -> Text:
    plan = report.plan
    size = f"{plan.dataset_size} items, " if plan.dataset_size is not None else ""
    return Text(f"Full run: {plan.epochs} epochs of {size}{plan.batches_per_epoch} batches "
                f"(batch size {plan.batch_size}, {plan.num_workers} loader workers).")


def _title(report: ReportData) -> str:
    version = f"greenlove {report.greenlove_version}"
    predicted = f"predicted {duration(report.prediction.time_s.point)}" if report.prediction else ""
    if report.actual is None:
        return f"{version}: {predicted}"
    if report.actual.dry_run:
        return f"{version}: dry run of {duration(report.actual.time_s)}, {predicted} for the fit"
    took = f"took {duration(report.actual.time_s)}"
    if not report.actual.completed:
        took = f"stopped after {duration(report.actual.time_s)}"
    return f"{version}: {took}" + (f", {predicted}" if predicted else ", no pre-flight estimate")


def renderable(report: ReportData) -> Panel:
    parts: list = []
    answer = verdict(report) if report.actual is None or is_dry_run(report) else None
    if answer is not None:
        parts += [Text(plain(answer.text), style="bold"), Text("")]
    dry = is_dry_run(report)
    if dry:
        parts += [Text(plain("\n".join(dry_run_sentences(report)))), Text("")]
    elif report.actual is not None:
        parts += [*_real_run(report), Text("")]
    if report.prediction is not None and report.benchmark is not None:
        parts += [_prediction_table(report), Text("")]
        if not dry:
            parts += [_measured_table(report), Text("")]
    energy_table = _energy_table(report)
    if energy_table is not None:
        parts += [energy_table, Text("")]
    cloud_table = _cloud_table(report)
    if cloud_table is not None:
        parts += [cloud_table, Text("")]
    if dry:
        fit = report.prediction.fit
        parts.append(Text(plain(
            f"Model (dry run): epoch = {report.plan.batches_per_epoch - 1} x "
            f"{si(fit.per_batch_s, 's')} per step + {duration(max(fit.intercept_s, 0.0))} per "
            "epoch outside the steps, plus the extras at their own rate.")))
    elif report.prediction is not None and report.benchmark is not None:
        parts.append(_facts(report))
    else:
        parts.append(_plan_line(report))
    if report.warnings:
        parts.append(Text(""))
        for warning in report.warnings:
            parts.append(Text("! " + plain(warning), style="bold yellow"))
    return Panel(Group(*parts), title=Text(plain(_title(report))), title_align="left")


def render_text(report: ReportData, *, width: int = 120) -> str:
    """The summary as plain text (no colour codes), for print(report) and logs."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      highlight=False)
    console.print(renderable(report))
    return buffer.getvalue().rstrip()
