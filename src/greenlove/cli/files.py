"""The commands that make, show and render a report: demo, show, report, card."""

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
    card = report.save_card(args.out / "card.svg")
    console.print(renderable(report, file=path))
    console.print(f"wrote {path}, {html} and {card} (the 1200x630 card to share)", markup=False)
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

    if len(args.files) > 1:
        return _compare_command(args, console)
    source = args.files[0]
    output = args.output or source.with_suffix(".html")
    if output.resolve() == source.resolve():
        raise GreenloveError(f"the page would overwrite its input {source}; name another "
                             "output with -o")
    report = load_report(source)
    path = _rendered(source, lambda: report.save_html(output))
    console.print(f"wrote {path}", markup=False)
    _maybe_open(args, path)
    return 0


def _labels(paths: list[Path]) -> list[str]:
    """The file names where they tell the files apart, else the paths as given (two runs'
    out/greenlove.json); the same file given twice is numbered."""
    names = [p.name for p in paths]
    labels = names if len(set(names)) == len(names) else [str(p) for p in paths]
    seen: dict[str, int] = {}
    numbered = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        numbered.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return numbered


def _compare_command(args: argparse.Namespace, console: Console) -> int:
    """Two or more saved reports side by side: the page, and the answer and table here."""
    from rich.text import Text

    from ..render.compare import check_report, compare_reports, save_compare_html
    from ..render.format import plain
    from ..report import load as load_report

    output = args.output or Path("compare.html")
    for source in args.files:
        if output.resolve() == source.resolve():
            raise GreenloveError(f"the page would overwrite its input {source}; name another "
                                 "output with -o")
    reports = [load_report(source) for source in args.files]
    for source, report in zip(args.files, reports):
        _rendered(source, lambda r=report: check_report(r))
    labels = _labels(list(args.files))
    comparison = compare_reports(reports, labels)
    for line in comparison.answer:
        console.print(Text(plain(line), style="bold"))
    console.print(_comparison_table(comparison))
    for line in comparison.notes:
        console.print(Text(plain(line), style="yellow"))
    path = save_compare_html(reports, labels, output)
    console.print(f"wrote {path}", markup=False)
    _maybe_open(args, path)
    return 0


def _comparison_table(comparison: Any) -> Any:
    """The comparison's cells as a rich table, one column per report; plain text only (a file
    name or a device name is never read as markup or control characters)."""
    from rich.table import Table
    from rich.text import Text

    from ..render.format import plain

    table = Table(show_edge=False, show_lines=False, title_justify="left")
    table.add_column("")
    for label in comparison.labels:
        table.add_column(Text(plain(label)), overflow="fold")
    for i, section in enumerate(comparison.sections):
        if i:
            table.add_section()
        table.add_row(Text(plain(section.title), style="bold"))
        for row in section.rows:
            table.add_row(Text(plain(row.label)), *(
                Text(plain("\n".join(part for part in (cell.text, cell.detail, cell.change)
                                      if part))) for cell in row.cells))
    return table


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


def card_command(args: argparse.Namespace, console: Console) -> int:
    from ..report import load as load_report

    output = args.output or args.file.with_suffix(".svg")
    if output.resolve() == args.file.resolve():
        raise GreenloveError(f"the card would overwrite its input {args.file}; name another "
                             "output with -o")
    report = load_report(args.file)
    path = _rendered(args.file, lambda: report.save_card(output))
    console.print(f"wrote {path}", markup=False)
    return 0
