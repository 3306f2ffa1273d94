"""The commands that print greenlove's tables: gpus, clouds, and this machine's history."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from ..render.format import plain


def gpus_command(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from ..data.tables import load_gpus

    def num(value: float | None) -> str:
        return "—" if value is None else f"{value:g}"

    specs = load_gpus(args.file)
    table = Table(title=f"{len(specs)} GPUs (TFLOPS dense; empty: no source gave it)", title_justify="left")
    for column in ("GPU", "memory GB", "bandwidth GB/s", "FP32", "TF32", "FP16", "BF16", "TDP W",
                   "year", "source"):
        table.add_column(column, justify="left" if column in ("GPU", "source") else "right")
    sources: dict[str, int] = {}
    for g in specs:
        number = sources.setdefault(g.source, len(sources) + 1)
        table.add_row(g.name, num(g.memory_gb), num(g.memory_bandwidth_gbs), num(g.fp32_tflops),
                      num(g.tf32_tflops_dense), num(g.fp16_tflops_dense), num(g.bf16_tflops_dense),
                      num(g.tdp_w), num(g.release_year), f"[{number}] {g.as_of}")
    console.print(table)
    _print_sources(console, sources)
    return 0


def _print_sources(console: Console, sources: dict[str, int]) -> None:
    console.print("Sources:")
    for source, number in sources.items():
        console.print(f"  [{number}] {source}", markup=False)


def clouds_command(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from ..data.tables import load_offers

    wanted = None if args.provider is None else args.provider.strip().lower()
    offers = [o for o in load_offers(args.file)
              if wanted is None or o.provider.lower().startswith(wanted)]
    if wanted is not None and not offers:
        known = sorted({o.provider for o in load_offers(args.file)})
        raise ValueError(f"--provider {args.provider!r} matches no provider; known: "
                         f"{', '.join(known)}")
    table = Table(title=f"{len(offers)} cloud GPU offers, $ per GPU-hour (empty: no published price)",
                  title_justify="left")
    for column in ("provider", "GPU", "GPUs", "on demand", "spot", "region", "grid zone", "source"):
        table.add_column(column, justify="right" if column in ("GPUs", "on demand", "spot") else "left")
    sources: dict[str, int] = {}
    for o in offers:
        number = sources.setdefault(o.source, len(sources) + 1)
        table.add_row(o.provider, o.gpu, "—" if o.gpus_per_instance is None else str(o.gpus_per_instance),
                      "—" if o.usd_per_gpu_hour is None else f"{o.usd_per_gpu_hour:.2f}",
                      "—" if o.usd_per_gpu_hour_spot is None else f"{o.usd_per_gpu_hour_spot:.2f}",
                      o.region[:40], o.zone or "—", f"[{number}] {o.as_of}")
    console.print(table)
    _print_sources(console, sources)
    return 0


def history_command(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from ..history import (
        history_file,
        history_folder,
        machine_fingerprint,
        machine_record,
        read_history,
        same_machine,
    )
    from ..render.format import duration, percent, span

    folder = args.folder or history_folder()
    path = history_file(folder)
    entries, warnings = read_history(folder)
    for warning in warnings:
        Console(stderr=True, highlight=False).print(f"greenlove: warning: {warning}",
                                                    markup=False, soft_wrap=True)
    if not entries:
        console.print(f"No run recorded yet in {path} (greenlove.track adds one line per run).",
                      markup=False, soft_wrap=True)
        return 0
    console.print(f"greenlove history: folder {folder}", markup=False, soft_wrap=True)
    console.print(f"  file {path}: {len(entries)} run(s) recorded", markup=False, soft_wrap=True)
    here = machine_fingerprint()
    record = machine_record(entries, here)
    table = Table(title="This machine's record", title_justify="left")
    for column in ("training on", "runs completed / all", "used", "median |error|", "covered",
                   "bias correction", "drift (1 sd)"):
        table.add_column(column, justify="left" if column == "training on" else "right")
    for kind in record.kinds:
        c = kind.calibration
        _plain_row(
            table, kind.device_kind, f"{kind.completed} / {kind.recorded}", str(c.runs),
            "—" if c.median_abs_error_rel is None else percent(c.median_abs_error_rel),
            "—" if c.coverage is None else f"{c.coverage[0]} of {c.coverage[1]}",
            "none" if c.bias_rel == 0 else f"{c.bias_rel:+.1%}",
            f"{percent(c.drift_rel)} ({c.method})")
    console.print(table)
    for kind in record.kinds:
        console.print(plain(f"  drift on {kind.device_kind}: {kind.calibration.source}"),
                      markup=False, soft_wrap=True)
    if record.other_machines:
        console.print(f"  {record.other_machines} run(s) from other machines are not used here.",
                      soft_wrap=True)
    if args.all:
        runs = Table(title="Every recorded run", title_justify="left")
        for column in ("date (UTC)", "machine", "workload", "training on", "predicted",
                       "interval", "actual", "error", "covered"):
            runs.add_column(column, no_wrap=True, justify="right"
                            if column in ("predicted", "actual", "error") else "left")
        for e in entries:
            predicted = e.predicted_s
            error = e.error_rel
            _plain_row(
                runs, e.date[:16].replace("T", " "), "this" if same_machine(e.fingerprint, here)
                else "other", e.workload or "—", e.device_kind,
                "—" if predicted is None else duration(predicted.point), span(predicted, duration),
                duration(e.actual_s) + ("" if e.completed else " (stopped)"),
                "—" if error is None else f"{error:+.1%}",
                {True: "yes", False: "no", None: "—"}[e.covered])
        wide = console if console.is_terminal else Console(highlight=False, width=170)
        wide.print(runs)
    return 0


def _plain_row(table: Any, *cells: str) -> None:
    """A table row from a file: plain text, no rich markup, no control characters."""
    from rich.text import Text

    table.add_row(*(Text(plain(cell)) for cell in cells))
