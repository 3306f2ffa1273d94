"""The commands that measure greenlove itself: validate, validate --speedup, overhead."""

from __future__ import annotations

import argparse
import json

from rich.console import Console


def overhead_command(args: argparse.Namespace, console: Console) -> int:
    from ..measure.power_sampler import DEFAULT_INTERVAL_S
    from ..validate.overhead import measure_overhead

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
    from ..validate.table import overhead_lines
    from ..validate.track_overhead import measure_track_overhead

    console.print(f"greenlove overhead --track: {args.pairs} ABBA block pairs of {args.steps} "
                  "training steps, a plain loop vs run.watch inside track() (energy off)",
                  soft_wrap=True)
    result = measure_track_overhead(pairs=args.pairs, steps_per_block=args.steps)
    console.print(f"  step time, plain loop: {result.step_off_s * 1e3:.3f} ms (median of blocks)")
    console.print(f"  step time, tracked:    {result.step_on_s * 1e3:.3f} ms")
    for line in overhead_lines(result):
        console.print("  " + line, markup=False, soft_wrap=True)
    return 0


def _speedup_check(console: Console) -> int:
    from ..data.tables import load_gpus, load_throughput
    from ..validate.speedup_accuracy import CELL, check_speedups

    check = check_speedups(load_gpus(), load_throughput())
    say = lambda text: console.print(text, markup=False, soft_wrap=True)  # noqa: E731
    say(f"greenlove validate --speedup: {check.rows} published GPU-pair throughput ratios (Lambda Labs "
        f"PyTorch training benchmarks, tables of 2022-07-06 and {check.data_as_of}), each predicted "
        "with its cell held out and with its GPU held out")
    say(f"  error = |predicted / published - 1| on the {check.common_rows} ratios every method predicts; "
        "cover = share inside a 95% band built from the other GPUs' residuals (nested leave-one-out)")
    header = f"  {'method':<50} {'case':<14} {'rows':>5} {'median':>7} {'p90':>7} {'worst':>7} {'cover':>6}"

    def line(label: str, case: str, e) -> str:
        return (f"  {label:<50} {case:<14} {e.rows:>5} {e.median:>7.1%} {e.p90:>7.1%} {e.worst:>7.1%} "
                f"{e.coverage_95:>6.1%}")

    say(header)
    for m in check.methods:
        say(line(m.method + (" (used)" if m.method == "fitted model" else ""), m.case, m.overall))
    say("  fitted model by family and precision:")
    for m in check.methods:
        if m.method == "fitted model":
            for family, precision, e in m.by_group:
                say(line(f"    {family} {precision}", m.case, e))
    say("  the fitted model's candidates (chosen: moderate shrinkage), on all rows each predicts:")
    for m in check.candidates:
        if m.own_rows.rows:
            say(line(f"    {m.method}", m.case, m.own_rows))
        else:
            say(f"    {m.method:<46} {m.case:<14}     0   (a GPU without rows cannot be predicted)")
    worst = {m.case: m.overall.worst_case for m in check.methods if m.method == "fitted model"}
    say(f"  fitted model's worst: {worst.get(CELL, '')}")
    for row in check.flagged:
        say(f"  flagged, not fitted or scored: {row.task} {row.precision} {row.gpu} vs {row.baseline_gpu} "
            f"({row.relative_throughput:g}, {row.as_of}): {row.flag.split(':')[0]}")
    return 0


def validate_command(args: argparse.Namespace, console: Console) -> int:
    from ..render.format import number
    from ..validate.accuracy import run_accuracy, summarise
    from ..validate.calibration import validate_folders
    from ..validate.frameworks import CHECK_MODULES, run_framework_checks
    from ..validate.table import (
        framework_lines,
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

    named = args.workloads or []
    framework_names = [n for n in named if n in CHECK_MODULES] if named else \
        ([] if args.no_frameworks else list(CHECK_MODULES))
    builtin = [n for n in named if n not in CHECK_MODULES]
    rows = run_accuracy(builtin or None, scale=scale, repeat=repeat, folders=folders,
                        on_row=on_row) if builtin or not named else []

    def on_framework(row) -> None:
        console.print(f"  {row.workload:<9} ({row.method}) predicted {number(row.predicted_s):>7} s"
                      f"   actual {number(row.actual_s):>7} s   error {row.error:+.1%}   "
                      f"covered {'yes' if row.covered else 'NO'}   prediction took "
                      f"{row.benchmark_share:.1%} of the run", markup=False)

    def on_skip(name: str, why: str) -> None:
        console.print(f"  {name}: skipped ({why})", markup=False, soft_wrap=True)

    frameworks = run_framework_checks(framework_names, scale=scale, on_row=on_framework,
                                      on_skip=on_skip)
    if not rows:
        console.print(rich_table(rows, frameworks))
        for line in framework_lines(frameworks):
            console.print(line, markup=False, soft_wrap=True)
        return 0
    summary = summarise(rows)
    overhead = None
    if not args.no_overhead:
        from ..validate.track_overhead import measure_track_overhead

        overhead = measure_track_overhead(pairs=40, steps_per_block=100)
    console.print(rich_table(rows, frameworks))
    console.print(rich_tracking_table(rows))
    lines = summary_lines(summary) + framework_lines(frameworks) \
        + ([] if overhead is None else overhead_lines(overhead))
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([*(r.to_dict() for r in rows),
                                         *(r.to_dict() for r in frameworks)], indent=2) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(rows, summary, overhead, frameworks) + "\n")
    return 0
