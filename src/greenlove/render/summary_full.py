"""The complete terminal form (``greenlove show --full``): every table (prediction, samples, power
sources, cloud offers by group), the method, and every warning in full, the ones that can
change the answer first."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..result import ReportData
from .facts import site_facts
from .format import (
    duration,
    energy,
    epoch_model,
    mass,
    money,
    percent,
    plain,
    power,
    ratio,
    ratio_span,
    si,
    span,
)
from .groups import OfferGroup, group_offers, has_band
from .notices import Notice, notices
from .offers import cloud_rows
from .terminal import (
    Prose,
    answer_warnings,
    folded,
    offer_block,
    plan_line,
    real_run,
    row,
    title,
    world_line,
)
from .tracked import dry_run_sentences, is_dry_run
from .verdict import verdict


def _notes(table: Table, found: tuple[Notice, ...], figure: str) -> None:
    """The folded warnings of one figure as rows under it."""
    for note in folded(found, figure, indent=2):
        row(table, note.plain, "", "", style="dim")


def _prediction_table(report: ReportData, found: tuple[Notice, ...]) -> Table:
    pred, plan = report.prediction, report.plan
    conf = f"{pred.time_s.confidence:.0%}"
    table = Table(title="Predicted full run", title_justify="left", show_edge=False)
    table.add_column("quantity")
    table.add_column("point", justify="right", no_wrap=True)
    table.add_column(f"{conf} interval", justify="right", no_wrap=True)
    t = pred.time_s
    row(table, f"wall time, {plan.epochs} epochs", duration(t.point), span(t, duration))
    e = pred.epoch_s
    row(table, f"one epoch ({plan.batches_per_epoch} batches)", duration(e.point),
        span(e, duration))
    row(table, "one-off warm-up (added once)", duration(pred.warmup_s), "")
    if pred.fresh_process_s is not None:
        f = pred.fresh_process_s
        row(table, f"torch.compile in the benchmark (booked apart; {duration(pred.compile_s)})",
            "", "")
        row(table, f"wall time in a fresh process (compiles again), {plan.epochs} epochs",
            duration(f.point), span(f, duration))
    if pred.energy is not None:
        en = pred.energy.energy_kwh
        row(table, f"energy, {plan.epochs} epochs ({pred.energy.method})", energy(en.point),
            span(en, energy))
        _notes(table, found, "energy")
    site = site_facts(report)
    if pred.cost_usd is not None:
        row(table, f"electricity cost (at {site.price}, {site.price_method})",
            money(pred.cost_usd.point),
            span(pred.cost_usd, money))
        _notes(table, found, "cost")
    if pred.co2_kg is not None:
        row(table, f"CO2e ({site.zone} grid, {site.grid}, {site.zone_method})",
            mass(pred.co2_kg.point),
            span(pred.co2_kg, mass))
        _notes(table, found, "co2")
    return table


_SHORT = {"user-measured": "(yours)", "fitted-model": "(fitted)", "published-ratio": "(published)",
          "roofline": "(roofline)",
          "tflops-bandwidth-baseline": "(0.7/0.3)"}


def _speedup_cell(o, label: bool = True) -> str:
    """The offer's speed-up, its 95% interval where it has one, and (``label``) its method's short
    label."""
    band = o.get("speedup_interval") or {}
    spread = f" ({ratio_span(band['low'], band['high'], sep='-', unit='')})" \
        if has_band(o) and band["high"] > band["low"] else ""
    method = _SHORT.get(o['speedup_method'], '') if label else ""
    return f"{o['speedup']:.3g}x{spread} {method}".rstrip()


CLOUD_ROWS = 12


def _cloud_table(report: ReportData, groups: Sequence[OfferGroup]) -> Table | None:
    """Today's rows (every Crusoe offer, then the cheapest others) under the group each is in:
    a header row per group of alike speed-ups, fastest group first."""
    offers = list(report.clouds)
    if not offers:
        return None
    local = report.comparison.get("local", {}).get("device", {})
    shown = cloud_rows(report, CLOUD_ROWS)
    methods = {o.get("speedup_method") for o in shown}
    one = next(iter(methods)) if len(methods) == 1 else None      # said once, in the title
    said = f"speed-ups {_SHORT.get(one, one).strip('()')}, " if one else ""
    table = Table(title=Text(plain(f"The same run on cloud GPUs ({said}vs "
                                   f"{local.get('name', 'this device')}, "
                                   f"{local.get('method', '?')}); alike speed-ups grouped, "
                                   "Crusoe first; CO2e location-based, claimed: as the provider claims")),
                  title_justify="left", show_edge=False)
    table.add_column("offer", overflow="fold", min_width=16)
    for column in ("speed-up", "time (95%)", "cost", "spot", "CO2e", "claimed"):
        table.add_column(column, justify="right", no_wrap=True)
    for group in groups:
        members = [o for o in shown if any(o is m for m in group.offers)]
        if not members:
            continue
        if table.rows:
            table.add_section()
        alike = f"{group.size} alike" if group.size > 1 else "alone"
        row(table, f"{alike}: {span(group.speedups, ratio, '–')}", "",
            span(group.times, duration, "–"), "", "", "", "", style="bold")
        for o in members:
            t, c, spot, co2 = o["time_s"], o["cost_usd"], o["cost_spot_usd"], o["co2_kg"]
            row(table,
                f"{o['provider']}: {o['gpu']}", _speedup_cell(o, label=one is None),
                f"{duration(t['point'])} ({span(t, duration, '–')})",
                money(c["point"]) if c else "no price", money(spot["point"]) if spot else "—",
                mass(co2["point"]) if co2 else "—",
                "—" if o["co2_claimed_kg"] is None else mass(o["co2_claimed_kg"]))
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
    table.add_column("mean power", justify="right", no_wrap=True)
    table.add_column("idle", justify="right", no_wrap=True)
    table.add_column("predicted energy", justify="right", no_wrap=True)
    predicted = {d.name: d for d in report.prediction.energy.devices} \
        if report.prediction is not None and report.prediction.energy else {}
    for device in measured.devices:
        share = predicted.get(device.name)
        row(table, device.name, device.method, power(device.mean_power_w),
            power(device.idle_power_w), energy(share.energy_kwh) if share else "not measured")
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
    table.add_column("median epoch", justify="right", no_wrap=True)
    table.add_column("not steady", justify="left")
    sizes: dict[int, list[int]] = {}
    for i, record in enumerate(bench.epochs):
        sizes.setdefault(record.sample_batches, []).append(i)
    for batches in sorted(sizes):
        idx = sizes[batches]
        times = sorted(bench.epochs[i].epoch_s for i in idx)
        roles = [bench.roles[i] for i in idx if bench.roles[i] != "steady"]
        row(table, str(batches), str(bench.epochs[idx[0]].sample_size), str(len(idx)),
            duration(times[len(times) // 2]), ", ".join(roles))
    return table


def _facts(report: ReportData) -> list[str]:
    bench, fit = report.benchmark, report.prediction.fit
    share = bench.wall_s / report.prediction.time_s.point if report.prediction.time_s.point else 0
    budget = ("automatic: " + bench.budget_rule) if bench.budget_automatic else "budget_s"
    lines = [
        plan_line(report),
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
    return lines


def full_renderable(report: ReportData) -> Panel:
    """Everything, in the order of the answer: the verdict and the warnings that can change it,
    then the figures (their fallbacks folded under them), the evidence, the offers, the method,
    and every folded warning again in full."""
    parts: list = []
    dry = is_dry_run(report)
    answer = verdict(report) if report.actual is None or dry else None
    found = notices(report, answer.action if answer is not None else None)
    if answer is not None:
        parts += [Prose(answer.text, style="bold"), Text("")]
    warned = answer_warnings(found)
    if warned:
        parts += [*warned, Text("")]
    if dry:
        parts += [*(Prose(s) for s in dry_run_sentences(report)), Text("")]
    elif report.actual is not None:
        parts += [*real_run(report), Text("")]
    if report.prediction is not None and report.benchmark is not None:
        parts += [_prediction_table(report, found), Text("")]
        if not dry:
            parts += [_measured_table(report), Text("")]
    energy_table = _energy_table(report)
    if energy_table is not None:
        parts += [energy_table, Text("")]
    groups = group_offers(report.clouds)
    block = offer_block(report, groups, found)
    if block:
        parts += [*block, Text("")]
    cloud_table = _cloud_table(report, groups)
    if cloud_table is not None:
        parts += [cloud_table, Text("")]
    if dry:
        fit = report.prediction.fit
        parts.append(Prose(
            f"Model (dry run): epoch = {report.plan.batches_per_epoch - 1} x "
            f"{si(fit.per_batch_s, 's')} per step + {duration(max(fit.intercept_s, 0.0))} per "
            "epoch outside the steps, plus the extras at their own rate."))
    elif report.prediction is not None and report.benchmark is not None:
        parts += [Prose(text) for text in _facts(report)]
    else:
        parts.append(Prose(plan_line(report)))
    rest = [n for n in found if n.tier != "answer"]
    if rest:
        parts.append(Text(""))
        parts += [Prose(f"· {n.text}", style="yellow") for n in rest]
    return Panel(Group(*parts), title=Text(plain(title(report))), title_align="left")
