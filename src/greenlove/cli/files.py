"""The commands that make, show and render a report: demo, show, report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import GreenloveError, SchemaError


def demo_command(args: argparse.Namespace, console: Console) -> int:
    from ..demo import build_demo
    from ..run import estimate

    run = build_demo(copies=args.copies, epochs=args.epochs, device=args.device)
    device = next(run.model.parameters()).device
    console.print(f"greenlove demo: a CNN on {len(run.loader.dataset)} digit images, "
                  f"{run.epochs} epochs on {device.type}; benchmarking on a sample ...")
    from ..compare import Site

    site = Site(zone=args.zone, usd_per_kwh=args.price) \
        if args.zone is not None or args.price is not None else None
    report = estimate(run.train_epoch, run.loader, epochs=run.epochs,
                      restore=(run.model, run.optimizer), budget_s=args.budget,
                      progress=not args.no_progress, site=site)
    from ..render import renderable

    path = report.save(args.out / "greenlove.json")
    html = report.save_html(args.out / "report.html")
    console.print(renderable(report, file=path))
    console.print(f"wrote {path} and {html}", markup=False)
    if args.verify:
        _verify(run, report, args, console)
    _maybe_open(args, html)
    return 0


def _verify(run, report, args: argparse.Namespace, console: Console) -> None:
    """The demo proves itself: the full run, tracked against the prediction just made."""
    from ..render import renderable
    from ..run import track

    console.print(f"greenlove demo --verify: training the full run ({run.epochs} epochs), "
                  "tracked against the prediction ...")
    with track(report, out=args.out, history=False, progress=not args.no_progress,
               name="greenlove demo") as tracked:
        for _ in range(run.epochs):
            run.train_epoch(tracked.watch(run.loader))
            tracked.epoch_end()
    console.print(renderable(tracked.result, file=args.out / "greenlove-run.json"))
    check = tracked.result.check
    if check is not None:
        console.print(f"predicted {check.predicted_s.point:.1f} s "
                      f"({check.predicted_s.low:.1f}-{check.predicted_s.high:.1f} s), actual "
                      f"{check.actual_s:.1f} s: error {check.error_rel:+.1%}, "
                      f"{'inside' if check.covered else 'OUTSIDE'} the interval; wrote "
                      f"{args.out / 'greenlove-run.json'}", markup=False)


def _maybe_open(args: argparse.Namespace, path: Path) -> None:
    if getattr(args, "open", False):  # only on request: greenlove never opens a browser by itself
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def report_command(args: argparse.Namespace, console: Console) -> int:
    from ..report import load as load_report

    output = args.output or args.file.with_suffix(".html")
    if output.resolve() == args.file.resolve():
        raise GreenloveError(f"the page would overwrite its input {args.file}; name another "
                             "output with -o")
    report = load_report(args.file)
    path = _rendered(args.file, lambda: report.save_html(output))
    console.print(f"wrote {path}", markup=False)
    _maybe_open(args, path)
    return 0


def show_command(args: argparse.Namespace, console: Console) -> int:
    from ..render import renderable
    from ..report import load as load_report

    report = load_report(args.file)
    full = getattr(args, "full", False)
    console.print(_rendered(args.file, lambda: renderable(report, full, file=args.file)))
    return 0


def _rendered(source: Path, render: Any) -> Any:
    """``render()``; a section of a loaded file that the renderers cannot read is the file's
    fault and is said as such (the loader checked the sections' shapes, not every field)."""
    try:
        return render()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise SchemaError(f"{source} holds a section greenlove cannot show ({error!r})") \
            from error
