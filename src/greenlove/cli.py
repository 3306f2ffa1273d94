"""The command line: the only place that parses arguments, prints and exits.

    greenlove demo [--out DIR]           predict a built-in CNN training, write DIR/greenlove.json
    greenlove show FILE                  print a saved report
    greenlove report FILE -o OUT.html    render a saved report as a self-contained HTML page
    greenlove validate [--quick]         the accuracy benchmark on the built-in workloads
    greenlove overhead [--track]         what the power sampler (or tracking) costs a step
    greenlove gpus                       the GPU spec table, with sources
    greenlove clouds                     the cloud offers (Crusoe first), with sources
    greenlove validate --speedup         leave-one-out check of the speed-up methods
    greenlove history [--folder DIR]     this machine's record of predicted vs actual runs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from ._version import __version__
from .errors import GreenloveError, SchemaError
from .render.format import plain


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenlove", description="Predict what a PyTorch training run will cost.")
    parser.add_argument("--version", action="version", version=f"greenlove {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="predict a built-in CNN training on digits")
    demo.add_argument("--out", type=Path, default=Path("greenlove-out"),
                      help="folder for greenlove.json (default: ./greenlove-out)")
    demo.add_argument("--epochs", type=_positive_int, default=30)
    demo.add_argument("--copies", type=_positive_int, default=20,
                      help="how many noisy copies of the 1,797 digits to train on (default 20)")
    demo.add_argument("--budget", type=_positive_float, default=None,
                      help="benchmark budget in seconds (default: automatic)")
    demo.add_argument("--no-progress", action="store_true")
    demo.add_argument("--open", action="store_true", help="open report.html in a browser afterwards")

    report = commands.add_parser("report", help="render a saved JSON report as HTML")
    report.add_argument("file", type=Path)
    report.add_argument("-o", "--output", type=Path, default=None,
                        help="HTML file to write (default: next to FILE, .html)")
    report.add_argument("--open", action="store_true", help="open it in a browser afterwards")

    show = commands.add_parser("show", help="print a saved report")
    show.add_argument("file", type=Path)

    validate = commands.add_parser("validate", help="accuracy benchmark: predict, then train fully")
    validate.add_argument("--quick", action="store_true",
                          help="short full runs (~20 s each) instead of 1-3 minutes")
    validate.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    validate.add_argument("--repeat", type=_positive_int, default=None,
                          help="tracked full runs per workload (default 2, or 1 with --quick): "
                               "2 adds pass 2, predicted with the drift learnt from the other "
                               "workloads' pass-1 runs, whose run is also the repeat that "
                               "measures the machine's floor")
    validate.add_argument("--workloads", nargs="+", default=None, help="names (default: all)")
    validate.add_argument("--json", type=Path, default=None, help="also write rows as JSON")
    validate.add_argument("--markdown", type=Path, default=None, help="also write a Markdown table")
    validate.add_argument("--speedup", action="store_true",
                          help="instead: leave-one-out check of the GPU speed-up methods on the "
                               "published throughput ratios (seconds, no training)")
    validate.add_argument("--history-folder", type=Path, default=None,
                          help="a new or empty folder for validate's own run history (default: "
                               "a new temporary folder; never your greenlove history)")
    validate.add_argument("--no-overhead", action="store_true",
                          help="skip the short measurement of what tracking costs a step")

    gpus = commands.add_parser("gpus", help="the GPU spec table, with sources")
    gpus.add_argument("--file", type=Path, default=None, help="your own gpus.csv instead")
    clouds = commands.add_parser("clouds", help="the cloud GPU offers, Crusoe first, with sources")
    clouds.add_argument("--file", type=Path, default=None, help="your own cloud_offers.csv instead")
    clouds.add_argument("--provider", default=None, help="only this provider")

    history = commands.add_parser("history",
                                  help="this machine's record of predicted vs actual runs")
    history.add_argument("--folder", type=Path, default=None,
                         help="the history folder (default: $GREENLOVE_HOME or the user's data "
                              "folder)")
    history.add_argument("--all", action="store_true", help="also list every recorded run")

    overhead = commands.add_parser("overhead", help="step time with the power sampler (or "
                                   "--track: tracking) on vs off")
    overhead.add_argument("--pairs", type=_positive_int, default=100, help="ABBA block pairs")
    overhead.add_argument("--steps", type=_positive_int, default=100, help="steps per block")
    overhead.add_argument("--interval", type=_positive_float, default=None,
                          help="sampler interval in seconds (default: greenlove's default)")
    overhead.add_argument("--track", action="store_true",
                          help="instead: step time under greenlove.track's run.watch vs a "
                               "plain loop")
    return parser


def _overhead(args: argparse.Namespace, console: Console) -> int:
    from .measure.power_sampler import DEFAULT_INTERVAL_S
    from .validate.overhead import measure_overhead

    if args.track:
        return _track_overhead(args, console)
    interval = args.interval or DEFAULT_INTERVAL_S
    console.print(f"greenlove overhead: {args.pairs} ABBA block pairs of {args.steps} training "
                  f"steps, sampler interval {interval * 1e3:.0f} ms")
    result = measure_overhead(pairs=args.pairs, steps_per_block=args.steps, interval_s=interval)
    for meter in result.meters:
        console.print(f"  meter: {meter}")
    low, high = result.ratio_iqr
    ci_low, ci_high = result.ratio_ci()
    console.print(f"  step time, sampler off: {result.step_off_s * 1e3:.3f} ms (median of blocks)")
    console.print(f"  step time, sampler on:  {result.step_on_s * 1e3:.3f} ms")
    console.print(f"  on/off ratio: {result.ratio:.4f} (median of {len(result.ratios)} pairs; "
                  f"IQR {low:.4f} - {high:.4f}) = {result.ratio - 1:+.2%} step time")
    console.print(f"  95% interval of the median ratio: {ci_low:.4f} - {ci_high:.4f}")
    console.print(f"  one reading of every meter: {result.read_s * 1e6:.0f} us, i.e. the sampler "
                  f"thread is busy {result.duty:.3%} of the time at this interval")
    return 0


def _track_overhead(args: argparse.Namespace, console: Console) -> int:
    from .validate.table import overhead_lines
    from .validate.track_overhead import measure_track_overhead

    console.print(f"greenlove overhead --track: {args.pairs} ABBA block pairs of {args.steps} "
                  "training steps, a plain loop vs run.watch inside track() (energy off)",
                  soft_wrap=True)
    result = measure_track_overhead(pairs=args.pairs, steps_per_block=args.steps)
    console.print(f"  step time, plain loop: {result.step_off_s * 1e3:.3f} ms (median of blocks)")
    console.print(f"  step time, tracked:    {result.step_on_s * 1e3:.3f} ms")
    for line in overhead_lines(result):
        console.print("  " + line, markup=False, soft_wrap=True)
    return 0


def _demo(args: argparse.Namespace, console: Console) -> int:
    from .demo import build_demo
    from .run import estimate

    run = build_demo(copies=args.copies, epochs=args.epochs)
    console.print(f"greenlove demo: a CNN on {len(run.loader.dataset)} digit images, "
                  f"{run.epochs} epochs; benchmarking on a sample ...")
    report = estimate(run.train_epoch, run.loader, epochs=run.epochs,
                      restore=(run.model, run.optimizer), budget_s=args.budget,
                      progress=not args.no_progress)
    from .render import renderable

    console.print(renderable(report))
    path = report.save(args.out / "greenlove.json")
    html = report.save_html(args.out / "report.html")
    console.print(f"wrote {path} and {html}")
    _maybe_open(args, html)
    return 0


def _maybe_open(args: argparse.Namespace, path: Path) -> None:
    if getattr(args, "open", False):  # only on request: greenlove never opens a browser by itself
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _report(args: argparse.Namespace, console: Console) -> int:
    from .report import load as load_report

    output = args.output or args.file.with_suffix(".html")
    if output.resolve() == args.file.resolve():
        raise GreenloveError(f"the page would overwrite its input {args.file}; name another "
                             "output with -o")
    report = load_report(args.file)
    path = _rendered(args.file, lambda: report.save_html(output))
    console.print(f"wrote {path}", markup=False)
    _maybe_open(args, path)
    return 0


def _show(args: argparse.Namespace, console: Console) -> int:
    from .render import renderable
    from .report import load as load_report

    report = load_report(args.file)
    console.print(_rendered(args.file, lambda: renderable(report)))
    return 0


def _rendered(source: Path, render: Any) -> Any:
    """``render()``; a section of a loaded file that the renderers cannot read is the file's
    fault and is said as such (the loader checked the sections' shapes, not every field)."""
    try:
        return render()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise SchemaError(f"{source} holds a section greenlove cannot show ({error!r})") \
            from error


def _gpus(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from .data.tables import load_gpus

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


def _clouds(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from .data.tables import load_offers

    offers = [o for o in load_offers(args.file)
              if args.provider is None or o.provider.lower() == args.provider.lower()]
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


def _history(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from .history import (
        history_file,
        history_folder,
        machine_fingerprint,
        machine_record,
        read_history,
        same_machine,
    )
    from .render.format import duration, percent, span

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


def _speedup_check(console: Console) -> int:
    from .data.tables import load_gpus, load_throughput
    from .validate.speedup_accuracy import leave_one_out, summarise

    rows = leave_one_out(load_gpus(), load_throughput())
    summary = summarise(rows)
    console.print(f"greenlove validate --speedup: {len(rows)} published GPU-pair ratios "
                  "(Lambda Labs PyTorch training benchmarks), each left out in turn")
    console.print(f"  {summary.compared_rows} of them predictable by both methods from specs alone, "
                  f"over {summary.tasks} task/precision groups and {summary.pairs} GPU pairs")
    for label, method in (("(c) roofline, task intensity fitted on the other pairs",
                           summary.roofline),
                          ("(d) 0.7 x TFLOPS ratio + 0.3 x bandwidth ratio", summary.baseline)):
        console.print(f"  {label}: median |error| {method.median_abs_error:.1%}, worst "
                      f"{method.worst_abs_error:.1%} ({method.worst_case})")
    return 0


def _validate(args: argparse.Namespace, console: Console) -> int:
    from .render.format import number
    from .validate.accuracy import run_accuracy, summarise
    from .validate.calibration import validate_folders
    from .validate.table import (
        markdown,
        overhead_lines,
        rich_table,
        rich_tracking_table,
        summary_lines,
    )

    if args.speedup:
        return _speedup_check(console)
    if not console.is_terminal:
        console = Console(highlight=False, width=170)  # the table is wide; logs do not wrap
    scale = "tiny" if args.tiny else "quick" if args.quick else "full"
    repeat = args.repeat or (2 if scale == "full" else 1)
    folders = validate_folders(args.history_folder)
    passes = "pass 1 (default drift), then pass 2 (drift from the other workloads)" \
        if repeat >= 2 else "one pass (default drift)"
    console.print(f"greenlove validate: scale {scale}, {repeat} tracked full run(s) per workload, "
                  f"{passes}", markup=False, soft_wrap=True)
    console.print(f"  validate's own history: {folders.root} (not your greenlove history)",
                  markup=False, soft_wrap=True)

    def on_row(row, stage: int) -> None:
        if stage == 1:
            live = row.live_at(0.10)
            console.print(f"  pass 1 {row.workload:<12} predicted {number(row.predicted_s):>7} s"
                          f"   actual {number(row.actual_s):>7} s   error {row.error:+.1%}   "
                          f"covered {'yes' if row.covered else 'NO'}   live at 10% "
                          + ("—" if live is None else f"{live.error:+.1%}"), markup=False)
        elif row.pass2 is not None:
            p2 = row.pass2
            console.print(f"  pass 2 {row.workload:<12} predicted {number(p2.predicted_s):>7} s"
                          f"   actual {number(p2.actual_s):>7} s   error {p2.error:+.1%}   "
                          f"covered {'yes' if p2.covered else 'NO'}   drift "
                          f"{(p2.drift_rel or 0):.1%} ({p2.drift_method})", markup=False)

    rows = run_accuracy(args.workloads, scale=scale, repeat=repeat, folders=folders,
                        on_row=on_row)
    summary = summarise(rows)
    overhead = None
    if not args.no_overhead:
        from .validate.track_overhead import measure_track_overhead

        overhead = measure_track_overhead(pairs=40, steps_per_block=100)
    console.print(rich_table(rows))
    console.print(rich_tracking_table(rows))
    lines = summary_lines(summary) + ([] if overhead is None else overhead_lines(overhead))
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(rows, summary, overhead) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)  # logs and pipes: the tables need room
    handlers = {"demo": _demo, "show": _show, "validate": _validate, "overhead": _overhead,
                "gpus": _gpus, "clouds": _clouds, "report": _report, "history": _history}
    try:
        return handlers[args.command](args, console)
    except (GreenloveError, OSError, ValueError, RecursionError) as error:
        message = str(error) or type(error).__name__
        if isinstance(error, OSError) and error.filename and str(error.filename) not in message:
            message = f"{error.filename}: {message}"
        Console(stderr=True, highlight=False).print(f"greenlove: error: {plain(message)}",
                                                    markup=False)
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print("greenlove: interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
