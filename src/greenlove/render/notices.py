"""Warnings in tiers: what can change the answer is said first; a fallback that only qualifies
one figure (an estimated meter, a guessed zone, a table price) is folded into one short line
under that figure. Pure: it reads the report's warnings, never measures.

The report keeps warnings as sentences (the JSON contract); the tier comes from the fallback
each sentence reports, recognised by the start greenlove's own stages give it (the rules below).
A sentence no rule knows is put in the first tier: it is never hidden because it is new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..result import ReportData

ANSWER = "answer"
FIGURE = "figure"

_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^(?P<what>.+?) energy: (?P<wanted>\S+) unavailable"), "energy",
     "{what} energy estimated, not metered ({wanted} unavailable)"),
    (re.compile(r"^Only \d+ steady epochs had every device's energy"), "energy",
     "energy fitted from few epochs"),
    (re.compile(r"^Zone (?P<zone>\S+) guessed from the system time zone"), "co2",
     "zone {zone} guessed from the time zone"),
    (re.compile(r"^Zone unknown"), "co2", "zone unknown: the world's average grid used"),
    (re.compile(r"^No carbon intensity for (?P<zone>\S+): (?P<what>.+?) used"), "co2",
     "no grid figure for {zone}: {what}"),
    (re.compile(r"^Electricity Maps"), "co2", "live grid figure unavailable: table value used"),
    (re.compile(r"^No electricity price for (?P<zone>\S+): (?P<what>[^;.]+)"), "cost",
     "no price for {zone}: {what}"),
    (re.compile(r"^This run is on a CPU: the speed-ups"), "clouds",
     "speed-ups from a CPU to a GPU are rough"),
    (re.compile(r"is not in greenlove's GPU table"), "clouds",
     "this GPU is not in the spec table"),
)

SPEEDUP_FIGURE = "clouds"
"""The figure whose caveats become the answer's when the verdict is to move: the speed-ups
then decide it."""


@dataclass(frozen=True)
class Notice:
    """One warning: its full sentence, its tier (ANSWER or FIGURE), the figure it qualifies
    ("energy", "cost", "co2", "clouds"; None for the answer's) and its one-line short form."""

    text: str
    tier: str
    figure: str | None
    short: str


def classify(text: str, moving: bool = False) -> Notice:
    """The tier of one warning sentence; ``moving``: the verdict is to move, so the speed-ups'
    caveats change the answer."""
    for pattern, figure, short in _RULES:
        match = pattern.search(text)
        if match:
            tier = ANSWER if moving and figure == SPEEDUP_FIGURE else FIGURE
            return Notice(text, tier, figure, short.format(**match.groupdict()))
    return Notice(text, ANSWER, None, text)


def notices(report: ReportData, action: str | None = None) -> tuple[Notice, ...]:
    """Every warning of the report once, in its tier, in the report's order; ``action`` the
    verdict's ("move" makes the speed-ups' caveats part of the answer)."""
    seen: set[str] = set()
    out = []
    for text in report.warnings:
        if text in seen:
            continue
        seen.add(text)
        out.append(classify(text, moving=action == "move"))
    return tuple(out)


def first(found: tuple[Notice, ...]) -> tuple[Notice, ...]:
    """The warnings that can change the answer."""
    return tuple(n for n in found if n.tier == ANSWER)


def under(found: tuple[Notice, ...], figure: str) -> tuple[Notice, ...]:
    """The folded warnings of one figure."""
    return tuple(n for n in found if n.tier == FIGURE and n.figure == figure)


def energy_basis(report: ReportData) -> str:
    """How the energy figure was got, in a few words: 'metered (nvml, rapl)', 'estimated, not
    metered (tdp-estimate, ram-estimate)' or 'metered (nvml) and estimated (ram-estimate)';
    the energy model's method where no device is listed."""
    measured = report.benchmark.energy if report.benchmark is not None else None
    devices = measured.devices if measured is not None else ()
    methods = list(dict.fromkeys(d.method for d in devices))
    estimated = [m for m in methods if "estimate" in m]
    metered = [m for m in methods if m not in estimated]
    if not methods:
        pred = report.prediction
        return pred.energy.method if pred is not None and pred.energy is not None else "not measured"
    if not metered:
        return f"estimated, not metered ({', '.join(estimated)})"
    if not estimated:
        return f"metered ({', '.join(metered)})"
    return f"metered ({', '.join(metered)}) and estimated ({', '.join(estimated)})"
