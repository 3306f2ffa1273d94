"""The terminal summary of a Report (rich tables; plain text when not on a terminal)."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .format import duration, energy, percent, power
from .result import Report


def _prediction_table(report: Report) -> Table:
    pred, plan = report.prediction, report.plan
    conf = f"{pred.time_s.confidence:.0%}"
    table = Table(title="Predicted full run", title_justify="left", show_edge=False)
    table.add_column("quantity")
    table.add_column("point", justify="right")
    table.add_column(f"{conf} interval", justify="right")
    t = pred.time_s
    table.add_row(f"wall time, {plan.epochs} epochs", duration(t.point),
                  f"{duration(t.low)} – {duration(t.high)}")
    e = pred.epoch_s
    table.add_row(f"one epoch ({plan.batches_per_epoch} batches)", duration(e.point),
                  f"{duration(e.low)} – {duration(e.high)}")
    table.add_row("one-off warm-up (added once)", duration(pred.warmup_s), "")
    if pred.energy is not None:
        en = pred.energy.energy_kwh
        table.add_row(f"energy, {plan.epochs} epochs ({pred.energy.method})", energy(en.point),
                      f"{energy(en.low)} – {energy(en.high)}")
    return table


def _energy_table(report: Report) -> Table | None:
    measured = report.benchmark.energy
    if measured is None:
        return None
    table = Table(title="Power sources", title_justify="left", show_edge=False)
    table.add_column("device")
    table.add_column("method")
    table.add_column("mean power", justify="right")
    table.add_column("idle", justify="right")
    table.add_column("predicted energy", justify="right")
    predicted = {d.name: d for d in report.prediction.energy.devices} \
        if report.prediction.energy else {}
    for device in measured.devices:
        share = predicted.get(device.name)
        table.add_row(device.name, device.method, power(device.mean_power_w),
                      power(device.idle_power_w),
                      energy(share.energy_kwh) if share else "not measured")
    return table


def _energy_facts(report: Report) -> list[str]:
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


def _measured_table(report: Report) -> Table:
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
        table.add_row(str(batches), str(bench.epochs[idx[0]].sample_size), str(len(idx)),
                      duration(times[len(times) // 2]), ", ".join(roles))
    return table


def _facts(report: Report) -> Text:
    bench, plan, fit = report.benchmark, report.plan, report.prediction.fit
    share = bench.wall_s / report.prediction.time_s.point if report.prediction.time_s.point else 0
    size = f"{plan.dataset_size} items, " if plan.dataset_size is not None else ""
    budget = ("automatic: " + bench.budget_rule) if bench.budget_automatic else "budget_s"
    lines = [
        f"Full run: {plan.epochs} epochs of {size}{plan.batches_per_epoch} batches "
        f"(batch size {plan.batch_size}, {plan.num_workers} loader workers).",
        f"Benchmark: {len(bench.epochs)} timed epochs in {duration(bench.wall_s)} "
        f"({percent(share)} of the predicted run); budget {duration(bench.budget_s)} "
        f"({budget}); stopped because {bench.stop_reason or 'it finished'}.",
        f"Model ({fit.method}): epoch = {duration(fit.intercept_s)} + "
        f"{fit.per_batch_s * 1e3:.3f} ms x batches (from {fit.steady_epochs} steady epochs; "
        f"epoch-to-epoch noise {percent(fit.noise_rel)}).",
    ]
    lines += _energy_facts(report)
    return Text("\n".join(lines))


def renderable(report: Report) -> Panel:
    parts: list = [_prediction_table(report), Text(""), _measured_table(report), Text("")]
    energy_table = _energy_table(report)
    if energy_table is not None:
        parts += [energy_table, Text("")]
    parts.append(_facts(report))
    if report.warnings:
        parts.append(Text(""))
        for warning in report.warnings:
            parts.append(Text("! " + warning, style="bold yellow"))
    title = f"greenlove {report.greenlove_version}: predicted {duration(report.prediction.time_s.point)}"
    return Panel(Group(*parts), title=title, title_align="left")


def render_text(report: Report, *, width: int = 100) -> str:
    """The summary as plain text (no colour codes), for print(report) and logs."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      highlight=False)
    console.print(renderable(report))
    return buffer.getvalue().rstrip()
