"""The command line: the only place that parses arguments, prints and exits.

    greenlove demo [--out DIR]           predict a built-in CNN training, write DIR/greenlove.json
    greenlove show FILE                  print a saved report
    greenlove report FILE -o OUT.html    render a saved report as a self-contained HTML page
    greenlove validate [--quick]         the accuracy benchmark on the built-in workloads
    greenlove overhead                   what the power sampler costs a training step
    greenlove gpus                       the GPU spec table, with sources
    greenlove clouds                     the cloud offers (Crusoe first), with sources
    greenlove validate --speedup         leave-one-out check of the speed-up methods
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from ._version import __version__
from .errors import GreenloveError


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
                          help="full runs per workload, to measure the machine's floor "
                               "(default 2, or 1 with --quick)")
    validate.add_argument("--workloads", nargs="+", default=None, help="names (default: all)")
    validate.add_argument("--json", type=Path, default=None, help="also write rows as JSON")
    validate.add_argument("--markdown", type=Path, default=None, help="also write a Markdown table")
    validate.add_argument("--speedup", action="store_true",
                          help="instead: leave-one-out check of the GPU speed-up methods on the "
                               "published throughput ratios (seconds, no training)")

    gpus = commands.add_parser("gpus", help="the GPU spec table, with sources")
    gpus.add_argument("--file", type=Path, default=None, help="your own gpus.csv instead")
    clouds = commands.add_parser("clouds", help="the cloud GPU offers, Crusoe first, with sources")
    clouds.add_argument("--file", type=Path, default=None, help="your own cloud_offers.csv instead")
    clouds.add_argument("--provider", default=None, help="only this provider")

    overhead = commands.add_parser("overhead", help="step time with the power sampler on vs off")
    overhead.add_argument("--pairs", type=_positive_int, default=100, help="ABBA block pairs")
    overhead.add_argument("--steps", type=_positive_int, default=100, help="steps per block")
    overhead.add_argument("--interval", type=_positive_float, default=None,
                          help="sampler interval in seconds (default: greenlove's default)")
    return parser


def _overhead(args: argparse.Namespace, console: Console) -> int:
    from .measure.power_sampler import DEFAULT_INTERVAL_S
    from .validate.overhead import measure_overhead

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
    path = load_report(args.file).save_html(output)
    console.print(f"wrote {path}")
    _maybe_open(args, path)
    return 0


def _show(args: argparse.Namespace, console: Console) -> int:
    from .render import renderable
    from .report import load as load_report

    console.print(renderable(load_report(args.file)))
    return 0


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
    from .validate.accuracy import run_accuracy, summarise
    from .validate.table import markdown, rich_table, summary_lines

    if args.speedup:
        return _speedup_check(console)
    if not console.is_terminal:
        console = Console(highlight=False, width=170)  # the table is wide; logs do not wrap
    scale = "tiny" if args.tiny else "quick" if args.quick else "full"
    repeat = args.repeat or (2 if scale == "full" else 1)
    console.print(f"greenlove validate: scale {scale}, {repeat} full run(s) per workload")

    def on_row(row) -> None:
        console.print(f"  {row.workload:<12} predicted {row.predicted_s:8.1f} s   actual "
                      f"{row.actual_s:8.1f} s   error {row.error:+.1%}")

    rows = run_accuracy(args.workloads, scale=scale, repeat=repeat, on_row=on_row)
    summary = summarise(rows)
    console.print(rich_table(rows))
    for line in summary_lines(summary):
        console.print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(rows, summary) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=120)  # logs and pipes: the tables need room
    handlers = {"demo": _demo, "show": _show, "validate": _validate, "overhead": _overhead,
                "gpus": _gpus, "clouds": _clouds, "report": _report}
    try:
        return handlers[args.command](args, console)
    except (GreenloveError, FileNotFoundError, ValueError) as error:
        Console(stderr=True, highlight=False).print(f"greenlove: error: {error}")
        return 2
    except KeyboardInterrupt:
        Console(stderr=True).print("greenlove: interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
