"""The shareable card: a 1200 x 630 SVG that reads on its own in a chat or a paper (what was run,
the answer, the headline figures with their intervals, the offer the answer names), and a PNG of
it where a renderer is present.

Laid out here, drawn by templates/card.svg.j2 (autoescaped). SVG does not wrap text, so every
line is wrapped or cut with an ellipsis here (textfit.py), at an upper bound of its width in the
card's fonts; the PNG comes from raster.py.
Rendering never computes statistics: every figure comes from the report.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._files import write_bytes_atomic, write_text_atomic
from ..errors import GreenloveError
from ..model import Interval
from ..result import ReportData
from .facts import created_text, device_name
from .format import duration, energy, mass, money, number, span
from .groups import offer_name
from .html import PALETTE, template_environment
from .notices import energy_basis
from .raster import PNG_SIGNATURE, Renderer, find_renderer
from .textfit import NBSP, clean, text_width, truncate, wrap
from .tracked import NOT_MEASURED, comparisons, is_dry_run, outcome
from .verdict import Verdict, verdict

WIDTH, HEIGHT = 1200, 630
MARGIN = 48
INNER = WIDTH - 2 * MARGIN
FONT = "'DejaVu Sans', 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
INK, MUTED, LINE, PAPER, PANEL = "#1d2321", "#5b6562", "#d9ddd9", "#f7f7f4", "#ffffff"


@dataclass(frozen=True)
class Line:
    """One <text> element, at (x, y) in its box: y the baseline."""

    x: float
    y: float
    text: str
    size: float
    bold: bool = False
    fill: str = INK
    anchor: str = "start"


@dataclass(frozen=True)
class Box:
    """A rectangle of the card with the lines it holds (coordinates relative to it)."""

    name: str
    x: float
    y: float
    width: float
    height: float
    lines: tuple[Line, ...]
    fill: str = "none"
    stroke: str = "none"
    accent: str | None = None     # a bar down the left edge


@dataclass(frozen=True)
class Para:
    """A paragraph for :func:`_stack`: wrapped to the box's width, at most ``max_lines``."""

    text: str
    size: float
    bold: bool = False
    fill: str = INK
    max_lines: int = 1
    gap: float = 0.0        # extra space above it, px


LEADING = 1.3
PAD = 22.0


def _stack(paras: Sequence[Para], width: float, height: float, *, x: float = PAD,
           top: float = 12.0) -> tuple[Line, ...]:
    """Lines of ``paras`` one under the other from ``top``; a paragraph gets the lines that fit
    above the box's bottom edge (its last one cut with an ellipsis), none once the box is
    full."""
    lines: list[Line] = []
    y = top
    for para in paras:
        if not para.text:
            continue
        y += para.gap
        room = int((height - 8 - y - para.size * 0.25) // (para.size * LEADING))
        if room < 1:
            break
        for text in wrap(para.text, para.size, width - x - PAD, bold=para.bold,
                         max_lines=min(para.max_lines, room)):
            lines.append(Line(x, y + para.size, text, para.size, para.bold, para.fill))
            y += para.size * LEADING
    return tuple(lines)


def _centred(lines: tuple[Line, ...], height: float) -> tuple[Line, ...]:
    """``lines`` moved down to sit in the middle of a box ``height`` px tall."""
    if not lines:
        return lines
    top = lines[0].y - lines[0].size
    bottom = lines[-1].y + 0.25 * lines[-1].size
    shift = max((height - (bottom - top)) / 2 - top, 0.0)
    return tuple(dataclasses.replace(line, y=round(line.y + shift, 1)) for line in lines)


def _fitting_size(text: str, width: float, sizes: Sequence[float]) -> float:
    """The largest of ``sizes`` at which bold ``text`` fits ``width`` (else the smallest)."""
    return next((s for s in sizes if text_width(text, s, bold=True) <= width), sizes[-1])


def _conf(report: ReportData) -> str:
    pred = report.prediction
    return f"{pred.time_s.confidence:.0%}" if pred is not None else "95%"


def _what_was_run(report: ReportData) -> str:
    plan = report.plan
    return f"{plan.epochs:,} epochs of {plan.batches_per_epoch:,} batches on {device_name(report)}"


def _tracked_run(report: ReportData) -> bool:
    return report.actual is not None and not is_dry_run(report)


def _verdict(report: ReportData) -> Verdict | None:
    """Where to run it, for a pre-flight report (a tracked run's card says how it went)."""
    return verdict(report) if not _tracked_run(report) else None


def _answer(report: ReportData, found: Verdict | None) -> tuple[str, str, str, str]:
    """The top box: its label, headline, the line under it, and the accent colour."""
    if not _tracked_run(report):
        if found is None:
            return "The answer", "No prediction in this report", "", PALETTE[0]
        short = found.short or (found.headline,)
        reason = short[1] if len(short) > 1 else ""
        colour = PALETTE[2] if found.action == "move" else PALETTE[0]
        return "Where to run it", short[0], reason, colour
    actual, check = report.actual, report.check
    took = duration(actual.time_s)
    if report.prediction is None:
        return ("What the run cost", f"Took {took} ({actual.epochs_done:,} of "
                f"{actual.epochs_planned:,} epochs, {outcome(actual)})",
                "Not estimated before the run: tracked with a forecast from its own first "
                "steps", PALETTE[0])
    if check is None:
        return ("Predicted vs actual", f"Took {took}, predicted {duration(report.prediction.time_s.point)}",
                f"{outcome(actual).capitalize()}: the prediction of the whole run is not "
                "checked", PALETTE[0])
    time_check = comparisons(report)[0]
    reason = (f"The prediction was {time_check.verdict} ({_conf(report)}: "
              f"{span(check.predicted_s, duration)})")
    return ("Predicted vs actual", f"Took {took}, predicted {duration(check.predicted_s.point)}",
            reason, PALETTE[2] if check.covered else PALETTE[3])


@dataclass(frozen=True)
class Figure:
    label: str
    point: str
    interval: str
    note: str
    extra: str = ""      # a tracked run: how the prediction did


def _glued(span_text: str) -> str:
    """'18.7 s – 30.3 s' with each figure glued to its unit: a line may break at the dash only."""
    return span_text.replace(" ", NBSP).replace(f"{NBSP}–{NBSP}", " – ")


def _interval_text(report: ReportData, value: Interval | None, fmt: Callable[[float], str]) -> str:
    """'95%: 18.7 s – 30.3 s', each figure glued to its unit."""
    return f"{_conf(report)}: {_glued(span(value, fmt))}" if value is not None else ""


def _figures(report: ReportData) -> list[Figure]:
    """Time, energy, electricity cost and CO2e, each with its interval (missing ones say so)."""
    if _tracked_run(report):
        return [Figure(c.label.capitalize() if c.label != "CO2e" else c.label,
                       c.actual, f"predicted {c.predicted}" if c.interval else c.predicted,
                       f"{_conf(report)}: {_glued(c.interval)}" if c.interval else "",
                       c.verdict)
                for c in comparisons(report)]
    pred = report.prediction
    if pred is None:
        return []
    time_note = f"{report.plan.epochs:,} epochs" + (
        f"; {duration(pred.fresh_process_s.point)} in a fresh process (compiles again)"
        if pred.fresh_process_s is not None else "")
    figures = [Figure("Time", duration(pred.time_s.point),
                      _interval_text(report, pred.time_s, duration), time_note)]
    if pred.energy is not None:
        e = pred.energy.energy_kwh
        figures.append(Figure("Energy", energy(e.point), _interval_text(report, e, energy),
                              energy_basis(report)))
    else:
        figures.append(Figure("Energy", NOT_MEASURED, "",
                              "energy was not measured for this report"))
    price = report.assumptions.get("site_electricity_price") or {}
    if pred.cost_usd is not None:
        at = f"at {money(price['value'])}/kWh" if isinstance(price.get("value"), (int, float)) \
            else "at the site's price"
        figures.append(Figure("Electricity cost", money(pred.cost_usd.point),
                              _interval_text(report, pred.cost_usd, money),
                              f"{at} ({price.get('method', 'table')})"))
    else:
        figures.append(Figure("Electricity cost", "not estimated", "",
                              "needs the energy, which was not measured" if pred.energy is None
                              else "no electricity price for this site"))
    if pred.co2_kg is not None:
        zone = (report.assumptions.get("site_zone") or {}).get("value", "?")
        grid = (report.assumptions.get("site_carbon_intensity") or {}).get("value")
        at = f" at {number(grid)} g/kWh" if isinstance(grid, (int, float)) else ""
        figures.append(Figure("CO2e", mass(pred.co2_kg.point),
                              _interval_text(report, pred.co2_kg, mass),
                              f"location-based: {zone} grid{at}"))
    else:
        figures.append(Figure("CO2e", "not estimated", "",
                              "needs the energy, which was not measured" if pred.energy is None
                              else "no grid intensity for this site"))
    return figures


def _offer_lines(report: ReportData, found: Verdict | None) -> tuple[str, str]:
    """The bottom box: the offer the verdict names (else the fastest), its time and cost; for
    a tracked run, how the real run ended and the verdict for the next one."""
    if _tracked_run(report):
        return _real_run_lines(report)
    offer, role = (found.offer, found.offer_role) if found is not None else (None, "")
    if offer is None and report.clouds:
        offer = max(report.clouds, key=lambda o: o.get("speedup") or 0.0)
        role = f"the fastest of {len(report.clouds)} cloud offers"
    if offer is None:
        return ("No cloud comparison in this report", "it was turned off, or the report predates it")
    head = f"{role[:1].upper()}{role[1:]}: {offer_name(offer)}, " \
           f"{offer.get('speedup', 0):.3g}x faster than here"
    time_s, cost = offer.get("time_s"), offer.get("cost_usd")
    figures = [f"time {duration(time_s['point'])} ({_conf(report)}: {span(time_s, duration)})"
               if time_s else "time not estimated",
               f"cost {money(cost['point'])} ({span(cost, money)})" if cost
               else "no published price"]
    return head, " · ".join(figures)


def _real_run_lines(report: ReportData) -> tuple[str, str]:
    actual = report.actual
    head = (f"The real run: {outcome(actual)}, {actual.epochs_done:,} of "
            f"{actual.epochs_planned:,} epochs ({actual.steps_done:,} steps)")
    if report.prediction is None:
        return head, "No cloud comparison: the run was tracked without a pre-flight estimate"
    if not report.clouds:
        return head, "No cloud comparison in this report"
    found = verdict(report)
    return head, "For the next run: " + "; ".join(found.short or (found.headline,))


def _footer(report: ReportData) -> str:
    bench, actual = report.benchmark, report.actual
    conf = _conf(report)
    if is_dry_run(report):
        text = (f"Predicted by greenlove from a dry run of {actual.steps_done:,} steps in the "
                f"training loop, {conf} intervals")
    elif bench is not None and report.prediction is not None:
        text = (f"Predicted by greenlove from {len(bench.epochs)} timed epochs on samples, "
                f"{conf} intervals")
    else:
        text = "Tracked by greenlove; not estimated before the run"
    if report.warnings:
        count = len(report.warnings)
        text += f" · {count} warning{'s' if count > 1 else ''} in the full report"
    return text


TILE_GAP = 16
ANSWER_H = 168
TILES_Y, TILES_H = 306, 192
POINT_SIZES = (34, 30, 26, 22, 18)
HEADLINE_SIZES = (42, 38, 34)     # on one line where it fits at one of these,
HEADLINE_TWO_LINES = 30           # else in two lines at this size


def card_boxes(report: ReportData) -> tuple[Box, ...]:
    """The card's layout: every box with its lines, wrapped and cut to fit."""
    found = _verdict(report)
    boxes = []

    title = f"greenlove {report.greenlove_version}"
    date = created_text(report)
    date_w = min(text_width(date, 18), 360)
    header = (Line(0, 34, truncate(clean(title), 30, INNER - date_w - 24, bold=True), 30, True),
              Line(INNER, 34, truncate(clean(date), 18, 360), 18, fill=MUTED, anchor="end"),
              Line(0, 68, truncate(clean(_what_was_run(report)), 20, INNER), 20, fill=MUTED))
    boxes.append(Box("header", MARGIN, 28, INNER, 80, header))

    label, headline, reason, colour = _answer(report, found)
    room = INNER - 2 * PAD - 14
    size = next((s for s in HEADLINE_SIZES if text_width(headline, s, bold=True) <= room),
                HEADLINE_TWO_LINES)
    answer = _stack([Para(label, 17, True, MUTED),
                     Para(headline, size, True, INK, max_lines=2, gap=4),
                     Para(reason, 21, False, INK, max_lines=2, gap=4)],
                    INNER, ANSWER_H, x=PAD + 14)
    boxes.append(Box("answer", MARGIN, 120, INNER, ANSWER_H, _centred(answer, ANSWER_H), PANEL,
                     LINE, colour))

    figures = _figures(report)
    tile_w = (INNER - TILE_GAP * 3) / 4
    for i, fig in enumerate(figures[:4]):
        inner = tile_w - 2 * PAD
        size = _fitting_size(fig.point, inner, POINT_SIZES)
        lines = _stack([Para(fig.label, 16, True, MUTED),
                        Para(fig.point, size, True, INK, gap=4),
                        Para(fig.interval, 16, False, INK, max_lines=2, gap=2),
                        Para(fig.note, 14, False, MUTED, max_lines=2, gap=4),
                        Para(fig.extra, 14, True, INK, max_lines=2, gap=2)],
                       tile_w, TILES_H, top=10)
        boxes.append(Box(f"figure-{i}", MARGIN + i * (tile_w + TILE_GAP), TILES_Y, tile_w,
                         TILES_H, lines, PANEL, LINE))
    if not figures:
        boxes.append(Box("figures", MARGIN, TILES_Y, INNER, TILES_H,
                         _stack([Para("No figures: this report holds no prediction", 20)],
                                INNER, TILES_H, top=20), PANEL, LINE))

    head, detail = _offer_lines(report, found)
    offer = _stack([Para(head, 19, True, INK), Para(detail, 16, False, INK, gap=2)],
                   INNER, 76, top=8)
    boxes.append(Box("offer", MARGIN, 512, INNER, 76, offer, PANEL, LINE))

    footer = (Line(0, 19, truncate(clean(_footer(report)), 15, INNER), 15, fill=MUTED),)
    boxes.append(Box("footer", MARGIN, 596, INNER, 28, footer))
    return tuple(boxes)


def _description(report: ReportData, found: Verdict | None) -> str:
    """The card's text alternative: its words in full, untruncated where they were cut."""
    parts = [f"greenlove {report.greenlove_version}, {created_text(report)}: "
             f"{_what_was_run(report)}."]
    label, headline, reason, _ = _answer(report, found)
    parts.append(found.text if found is not None else f"{label}: {headline}. {reason}.")
    for fig in _figures(report):
        parts.append(f"{fig.label}: {fig.point}" + (f" ({fig.interval})" if fig.interval else "")
                     + (f", {fig.note}" if fig.note else "")
                     + (f", {fig.extra}" if fig.extra else "") + ".")
    head, detail = _offer_lines(report, found)
    parts.append(f"{head}" + (f": {detail}" if detail else "") + ".")
    parts.append(_footer(report) + ".")
    return clean(" ".join(parts)).replace(NBSP, " ")


def render_card_svg(report: ReportData) -> str:
    """The card as one standalone SVG document (no fonts, images or scripts from anywhere)."""
    found = _verdict(report)
    _, headline, _, _ = _answer(report, found)
    return template_environment().get_template("card.svg.j2").render(
        width=WIDTH, height=HEIGHT, font=FONT, paper=PAPER, boxes=card_boxes(report),
        title=clean(f"greenlove: {headline}"), description=_description(report, found),
        accent_top=PALETTE[2])


def save_card(report: ReportData, path: str | os.PathLike[str], *,
              renderer: Renderer | None = None) -> Path:
    """Write the card to ``path`` atomically: ``.svg`` as it is, ``.png`` rendered by
    ``renderer`` (default: :func:`find_renderer`); never a half-written file. Without a
    renderer a PNG is refused with a GreenloveError: the .svg works everywhere."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".svg", ".png"):
        given = target.suffix or "a name without a suffix"
        raise GreenloveError(f"a card is written as .svg or .png, not {given} ({target})")
    svg = render_card_svg(report)
    if suffix == ".svg":
        return write_text_atomic(target, svg)
    renderer = renderer if renderer is not None else find_renderer(WIDTH, HEIGHT)
    if renderer is None:
        raise GreenloveError(f"no renderer was found for {target.name} (neither cairosvg nor "
                             "a headless Chromium on PATH); write the card as .svg instead: "
                             "the .svg works everywhere")
    png = renderer(svg)
    if not isinstance(png, bytes) or not png.startswith(PNG_SIGNATURE):
        raise GreenloveError("the renderer gave no PNG image; nothing was written (the .svg "
                             "works everywhere)")
    return write_bytes_atomic(target, png)
