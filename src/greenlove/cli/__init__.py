"""The command line: the only place that parses arguments, prints and exits (the parser and
main here; the commands in files.py, tables.py and bench.py).

    greenlove demo [--out DIR]           predict a built-in CNN training, write DIR/greenlove.json
    greenlove show FILE [--full]         print a saved report (--full: all of it)
    greenlove report FILE -o OUT.html    render a saved report as a self-contained HTML page
    greenlove report A B [...] -o OUT    compare saved reports side by side (time, energy, cost)
    greenlove card FILE [-o OUT.png]     a saved report as a 1200x630 card to share (.svg or .png)
    greenlove validate [--quick]         the accuracy benchmark on the built-in workloads
    greenlove overhead [--track]         what the power sampler (or tracking) costs a step
    greenlove gpus                       the GPU spec table, with sources
    greenlove clouds                     the cloud offers (Crusoe first), with sources
    greenlove validate --speedup         leave-one-out check of the speed-up methods
    greenlove history [--folder DIR]     this machine's record of predicted vs actual runs
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console

from .._version import __version__
from ..errors import GreenloveError
from ..render.format import plain
from .bench import overhead_command, validate_command
from .files import card_command, demo_command, report_command, show_command
from .tables import clouds_command, gpus_command, history_command


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
    demo.add_argument("--epochs", type=_positive_int, default=30,
                      help="epochs of the full run to predict (default 30)")
    demo.add_argument("--copies", type=_positive_int, default=20,
                      help="how many noisy copies of the 1,797 digits to train on (default 20)")
    demo.add_argument("--budget", type=_positive_float, default=None,
                      help="benchmark budget in seconds (default: automatic)")
    demo.add_argument("--zone", default=None,
                      help="electricity zone of this machine, as the tables name it (DE, US-CA, "
                           "...; default: guessed from the time zone)")
    demo.add_argument("--price", type=_positive_float, default=None,
                      help="electricity price in USD/kWh (default: the zone's table value)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                      help="where the demo trains (default auto: the GPU when there is one, "
                           "as your run would; cpu forces the CPU)")
    demo.add_argument("--verify", action="store_true",
                      help="then train the full run, tracked with the live forecast, and print "
                           "predicted vs actual")
    demo.add_argument("--open", action="store_true", help="open report.html in a browser afterwards")

    report = commands.add_parser("report", help="render a saved JSON report as HTML, or "
                                 "compare two or more side by side")
    report.add_argument("files", type=Path, nargs="+", metavar="FILE",
                        help="a greenlove JSON report; two or more: compared side by side, "
                             "each against the first")
    report.add_argument("-o", "--output", type=Path, default=None,
                        help="HTML file to write (default: next to FILE, .html; for two or more "
                             "files: compare.html in the current folder)")
    report.add_argument("--open", action="store_true", help="open it in a browser afterwards")

    show = commands.add_parser("show", help="print a saved report: the answer first, in about "
                               "30 lines")
    show.add_argument("file", type=Path, help="a greenlove JSON report")
    show.add_argument("--full", action="store_true",
                      help="print all of it: power sources, samples, every table, the method and "
                           "every warning in full")

    card = commands.add_parser("card", help="a 1200x630 summary card of a saved report, to "
                               "share in a chat or a paper")
    card.add_argument("file", type=Path, help="a greenlove JSON report")
    card.add_argument("-o", "--output", type=Path, default=None,
                      help="OUT.svg (works everywhere) or OUT.png (needs cairosvg or a headless "
                           "Chromium on PATH); default: next to FILE, .svg")

    validate = commands.add_parser("validate", help="accuracy benchmark: predict, then train fully")
    validate.add_argument("--quick", action="store_true",
                          help="short full runs (~20 s each) instead of 1-3 minutes")
    validate.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    validate.add_argument("--repeat", type=_positive_int, default=None,
                          help="tracked full runs per workload (default 2, or 1 with --quick): "
                               "2 adds pass 2, predicted with the drift learnt from the other "
                               "workloads' pass-1 runs, whose run is also the repeat that "
                               "measures the machine's floor")
    validate.add_argument("--workloads", nargs="+", default=None,
                          help="names (default: all, the framework workloads lightning, hf, ddp "
                               "and compiled included where installed)")
    validate.add_argument("--no-frameworks", action="store_true",
                          help="leave out the framework workloads (lightning, hf, ddp, compiled)")
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
    clouds.add_argument("--provider", default=None,
                        help="only this provider (case ignored; a prefix is enough: crus)")

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


PIPED_WIDTH = 100
"""The width of what greenlove prints into a pipe or a log when COLUMNS does not say one."""

MIN_WIDTH = 40
"""A COLUMNS below this is taken for a mistake: the tables need room."""


def piped_width(environ: Mapping[str, str]) -> int:
    """The width to print at when not on a terminal: COLUMNS where it is set to a whole number
    of at least MIN_WIDTH, else PIPED_WIDTH (rich alone would take 80)."""
    try:
        width = int(environ.get("COLUMNS", ""))
    except ValueError:
        return PIPED_WIDTH
    return width if width >= MIN_WIDTH else PIPED_WIDTH


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)    # a terminal: its width (rich reads COLUMNS first)
    if not console.is_terminal:
        console = Console(highlight=False, width=piped_width(os.environ))
    handlers = {"demo": demo_command, "show": show_command, "validate": validate_command,
                "overhead": overhead_command, "gpus": gpus_command, "clouds": clouds_command,
                "card": card_command,
                "report": report_command, "history": history_command}
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
