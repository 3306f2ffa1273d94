"""Pieces both terminal forms share (the short summary and ``--full``): prose whose intervals
never break across lines, lines fitted to the width they get, the title, the tracked run, the
warnings in their tiers and the offers said in groups and rankings. Layout only: every figure
comes from the report."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..result import ReportData
from .format import duration, mass, money, plain, ratio, span
from .groups import OfferGroup, Ranked, alike_sentence, offer_name, point_of, rankings
from .notices import Notice, first, under
from .tracked import check_sentences, comparisons, forecast_sentences, progress_rows

_GLUE = "\ue000"
"""Stands for a space inside an interval while rich wraps a paragraph (rich breaks at any
whitespace, U+00A0 included); put back before the line is shown."""

_QUANTITY = (r"(?:< )?[$\u2212]?\d[\d.,]*(?: ?(?:[A-Za-zµ¢%]+))?"
             r"(?: \d[\d.,]* [A-Za-zµ]+)?")
_INTERVAL = re.compile(rf"(?:{_QUANTITY} – {_QUANTITY}|up to {_QUANTITY})")
"""'1 min 34 s – 2 min 33 s', '0.421 Wh – 0.681 Wh', 'up to 3.4 s': as format.span writes them."""


_UNIT_GAP = re.compile(r"(?<=\d) (?=(?:[kMGTPmµn]?(?:Wh|W|g|s|B|FLOP)|min|h|d|t|kg|USD)\b)")
_QUANTITY_GAPS = re.compile(r"(?<=\d min) (?=\d\d s\b)|(?<=\d h) (?=\d\d min\b)"
                            r"|(?<=\d d) (?=\d{1,2} h\b)|(?<=<) (?=\d)")
"""The spaces between a number and its unit ('0.2 Wh'), inside a duration ('5 min 20 s') and
after '<' ('< 0.01¢'): glued as well."""


def unbroken(text: str) -> str:
    """``text`` with the spaces inside each interval, and between a number and its unit, glued
    (see Prose)."""
    text = _INTERVAL.sub(lambda m: m.group(0).replace(" ", _GLUE), text)
    return _UNIT_GAP.sub(_GLUE, _QUANTITY_GAPS.sub(_GLUE, text))


class Prose:
    """A paragraph of plain text (no markup, no control characters) wrapped at the width it is
    given, never inside an interval: '1 min 34 s – 2 min 33 s' stays on one line."""

    def __init__(self, text: str, style: str = "", indent: int = 0) -> None:
        self.text = plain(text).replace(_GLUE, "\ufffd")
        self.style = style
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(options.max_width - self.indent, 1)
        lines = Text(unbroken(self.text), style=self.style).wrap(console, width)
        for line in lines:
            yield Text(" " * self.indent + line.plain.replace(_GLUE, " "), style=self.style,
                       no_wrap=True, overflow="ellipsis")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        words = unbroken(self.text).split()
        return Measurement(min(max((len(w) for w in words), default=1) + self.indent,
                               options.max_width),
                           min(len(self.text) + self.indent, options.max_width))


class Fitted:
    """One line made for the width it gets (``make(width)``), cut with an ellipsis beyond it."""

    def __init__(self, make: Callable[[int], str], style: str = "") -> None:
        self.make = make
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(plain(self.make(options.max_width)), style=self.style, no_wrap=True,
                   overflow="ellipsis")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


def line(text: str, style: str = "") -> Text:
    """One line of plain text that is cut with an ellipsis, never wrapped."""
    return Text(plain(text), style=style, no_wrap=True, overflow="ellipsis")


def row(table: Table, *cells: str, style: str = "") -> None:
    """A row of plain text: no rich markup and no control characters, whatever a file or the
    machine put in a name or a note."""
    table.add_row(*(Text(plain(cell)) for cell in cells), style=style or None)


def title(report: ReportData) -> str:
    version = f"greenlove {report.greenlove_version}"
    predicted = f"predicted {duration(report.prediction.time_s.point)}" if report.prediction else ""
    if report.actual is None:
        return f"{version}: {predicted}"
    if report.actual.dry_run:
        return f"{version}: dry run of {duration(report.actual.time_s)}, {predicted} for the fit"
    took = f"took {duration(report.actual.time_s)}"
    if not report.actual.completed:
        took = f"stopped after {duration(report.actual.time_s)}"
    return f"{version}: {took}" + (f", {predicted}" if predicted else ", no pre-flight estimate")


def world_line(report: ReportData) -> str | None:
    """One line on the distributed job the report comes from, or None for one process."""
    world = report.environment.get("world")
    if not isinstance(world, dict) or not isinstance(world.get("size"), int) or world["size"] < 2:
        return None
    nodes, per_node = world.get("nodes", "?"), world.get("ranks_per_node", "?")
    return (f"Distributed job: {world['size']} ranks on {nodes} node{'s' if nodes != 1 else ''} "
            f"({per_node} per node); epoch times are the slowest rank's, energy sums every "
            "rank's GPU and each node's CPU and memory once.")


def plan_line(report: ReportData) -> str:
    plan = report.plan
    size = f"{plan.dataset_size} items, " if plan.dataset_size is not None else ""
    return (f"Full run: {plan.epochs} epochs of {size}{plan.batches_per_epoch} batches "
            f"(batch size {plan.batch_size}, {plan.num_workers} loader workers).")


# -- warnings in tiers ------------------------------------------------------------------------

def answer_warnings(found: tuple[Notice, ...]) -> list:
    """The warnings that can change the answer, each said in full."""
    return [Prose("! " + n.text, style="bold yellow") for n in first(found)]


FIGURE_LABEL = {"energy": "energy", "cost": "cost", "co2": "CO2e", "clouds": "clouds"}


def folded(found: tuple[Notice, ...], figure: str, indent: int = 4, labelled: bool = False) -> list:
    """The folded warnings of one figure, one short line each (``labelled``: the figure named,
    where the lines stand together rather than under their figure)."""
    label = f"{FIGURE_LABEL.get(figure, figure)}: " if labelled else ""
    return [line(" " * indent + "· " + label + n.short, style="dim") for n in under(found, figure)]


def unplaced(found: tuple[Notice, ...], placed: Sequence[str]) -> list:
    """Folded warnings whose figure is not on screen: still said, one short line each."""
    return [line("  · " + n.short, style="dim") for n in found
            if n.tier != "answer" and n.figure not in placed]


# -- the tracked run --------------------------------------------------------------------------

def real_run(report: ReportData, notes: Sequence[Any] = ()) -> list:
    """The tracked run: what it really took against what was predicted (``notes``, the folded
    warnings of its figures, under the table), and its forecasts."""
    preflight = report.prediction is not None
    table = Table(title="The real run", title_justify="left", show_edge=False)
    table.add_column("quantity")
    table.add_column("actual", justify="right", no_wrap=True)
    if preflight:
        conf = f"{report.prediction.time_s.confidence:.0%}"
        table.add_column("predicted", justify="right", no_wrap=True)
        table.add_column(f"{conf} interval", justify="right", no_wrap=True)
        table.add_column("error")
    for compared in comparisons(report):
        cells = (compared.predicted, compared.interval, compared.verdict) if preflight else ()
        row(table, compared.label, compared.actual, *cells)
    progress = "; ".join(f"{label}: {value}" for label, value in progress_rows(report.actual))
    sentences = [progress[0].upper() + progress[1:] + "."]
    sentences += check_sentences(report) + forecast_sentences(report)
    return [table, *notes, Text(""), *(Prose(s) for s in sentences)]


# -- the offers, alike said once --------------------------------------------------------------

MAX_GROUPS = 3
"""Groups of alike offers named in the summary; the slower rest in one line."""


def _cost(offer: Mapping[str, Any] | None) -> str:
    cost = point_of((offer or {}).get("cost_usd"))
    return money(cost) if cost is not None else "no price"


def _crusoe_best(group: OfferGroup) -> str:
    """'Crusoe Cloud A40 0.25¢' where the group's cheapest is not Crusoe's but Crusoe has one."""
    best = group.crusoe_best
    return "" if best is None else f"{offer_name(best)} {_cost(best)}"


def group_line(group: OfferGroup) -> str:
    """'any of these 59 offers on 20 GPUs: 12.2x–12.4x, 10.0 s; cheapest RunPod ... 0.095¢;
    Crusoe: Crusoe Cloud A40 0.25¢'."""
    speed = span(group.speedups, ratio, "–")
    took = span(group.times, duration, "–")
    if group.size == 1:
        offer = group.offers[0]
        return f"{offer_name(offer)}: {speed}, {took}; {_cost(offer)}"
    gpus = len(group.gpus)
    pick = (f"cheapest {offer_name(group.cheapest)} {_cost(group.cheapest)}"
            if group.cheapest is not None else "none has a published price")
    crusoe = _crusoe_best(group)
    return (f"any of these {group.size} offers on {gpus} GPU{'s' if gpus != 1 else ''}: "
            f"{speed}, {took}; {pick}" + (f"; Crusoe: {crusoe}" if crusoe else ""))


def group_lines(groups: Sequence[OfferGroup]) -> list[str]:
    """The fastest groups, one sentence each (the first as the 'GPU size does not matter'
    sentence when it is so), and the slower rest in one line."""
    lines = []
    alike = alike_sentence(groups)
    for index, group in enumerate(groups[:MAX_GROUPS]):
        if index == 0 and alike is not None:
            crusoe = _crusoe_best(group)
            lines.append(alike + (f" Crusoe's cheapest of them: {crusoe}." if crusoe else ""))
        else:
            lines.append(group_line(group))
    rest = groups[MAX_GROUPS:]
    if rest:
        offers = sum(g.size for g in rest)
        lines.append(f"and {len(rest)} slower group{'s' if len(rest) != 1 else ''} "
                     f"({offers} offer{'s' if offers != 1 else ''}): greenlove show --full")
    return lines


RANK_LABELS = {"fastest": "fastest:", "cheapest": "cheapest:", "lowest_co2": "lowest CO2e:"}
RANK_FORMATS: dict[str, Callable[[float], str]] = {"fastest": duration, "cheapest": money,
                                                    "lowest_co2": mass}


def _entry(entry: Ranked, fmt: Callable[[float], str]) -> str:
    place = f"={entry.place}" if entry.tied else str(entry.place)
    return f"{place} {entry.name} {fmt(entry.value)}"


def ranking_line(label: str, ranked: Sequence[Ranked], fmt: Callable[[float], str],
                 width: int) -> str:
    """'cheapest: 1 here < 0.01¢ · 2 RunPod ... 0.095¢ · =3 ...' in ``width`` characters: as
    many places as fit, then how many are left out, and this machine's place always."""
    here = [e for e in ranked if e.here]

    def compose(shown: int, say_tied: bool = True) -> str:
        parts = [_entry(e, fmt) for e in ranked[:shown]]
        rest = ranked[shown:]
        skipped = [e for e in rest if not e.here]
        if skipped:
            last = ranked[shown - 1].place
            tied = say_tied and all(e.place == last for e in skipped)
            parts.append(f"… {len(skipped)} more" + (f" tied at {last}" if tied else ""))
        parts += [_entry(e, fmt) for e in here if e in rest]
        return f"{label} " + " · ".join(parts)

    for shown in range(len(ranked), 0, -1):
        for say_tied in (True, False):
            text = compose(shown, say_tied)
            if len(text) <= width:
                return text
    return compose(1, False)


def offer_block(report: ReportData, groups: Sequence[OfferGroup],
                found: tuple[Notice, ...], said_in_groups: bool = True) -> list:
    """The offers in a few lines: which compare, the groups (``said_in_groups``), and the three
    rankings."""
    offers = list(report.clouds)
    if not offers:
        return []
    local = report.comparison.get("local", {}).get("device", {})
    gpus = {g for group in groups for g in group.gpus}
    parts: list = [Prose(f"The same run on {len(offers)} cloud offers ({len(gpus)} GPUs; speed-ups "
                         f"vs {local.get('name', 'this device')}, {local.get('method', '?')}):",
                         style="bold")]
    parts += folded(found, "clouds", indent=2)
    if said_in_groups:
        parts += [Prose(text, indent=2) for text in group_lines(groups)]
    ranked = rankings(report, limit=len(offers) + 1)    # all: the line says how many are left
    size = max(len(label) for label in RANK_LABELS.values())
    for kind, label in RANK_LABELS.items():
        if ranked.get(kind):
            parts.append(Fitted(lambda width, k=kind, lab=label: ranking_line(
                "  " + lab.ljust(size), ranked[k], RANK_FORMATS[k], width)))
    return parts
