"""CO2e that means something: the one everyday equivalence that fits the amount, and what the
greenest option would save when that is large enough to matter. Pure: it reads the report's
figures and the equivalence rows it carries (comparison.equivalences), never measures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..result import ReportData
from .format import mass, number
from .groups import rankings

PREFERENCE = ("smartphone_charge", "car_km", "tree_seedling_10y")
"""The equivalences in the order they are tried: the first whose count reads between 1 and
1,000 is used (a phone charge for grams, a km driven for kilograms, tree seedlings for tonnes)."""

MATTERS_KG = 0.1
"""A saving below this (100 g CO2e, under half a km driven) is not said: it would not change
anyone's choice."""


@dataclass(frozen=True)
class Equivalent:
    """'as much CO2e as 2.1 smartphone charges', with the row's source."""

    text: str
    source: str


def equivalent(kg: float, rows: Sequence[Mapping[str, Any]]) -> Equivalent | None:
    """The one equivalence that fits ``kg`` of CO2e (None: none in the report)."""
    if not math.isfinite(kg) or kg <= 0:
        return None
    by_name = {row.get("name"): row for row in rows if row.get("amount") is not None}
    known = [by_name[name] for name in PREFERENCE if name in by_name] or list(by_name.values())
    if not known:
        return None
    fitting = [row for row in known if 1 <= float(row["amount"]) < 1000]
    # none fits: too small for one of the smallest unit (a share of it), or too large for any
    smallest_first = float(known[0]["amount"]) < 1
    row = fitting[0] if fitting else known[0] if smallest_first else known[-1]
    amount = float(row["amount"])
    unit = str(row["unit"])
    text = f"{number(amount * 100)}% of one {unit}" if amount < 1 else f"{number(amount)} × {unit}"
    return Equivalent(f"as much CO2e as {text}", str(row.get("source", "")))


@dataclass(frozen=True)
class Co2Story:
    """The CO2e card's words: the equivalence, and the saving of the greenest option."""

    equivalent: Equivalent | None
    saving: str | None


def co2_story(report: ReportData) -> Co2Story | None:
    """None without a CO2e prediction."""
    pred = report.prediction
    if pred is None or pred.co2_kg is None:
        return None
    rows = report.comparison.get("equivalences", []) or []
    found = equivalent(pred.co2_kg.point, rows)
    greenest = rankings(report, limit=1).get("lowest_co2", [])
    saving = None
    if greenest:
        best = greenest[0]
        if best.here:
            saving = "This machine is already the lowest-CO2e option (location-based)."
        else:
            saved = pred.co2_kg.point - best.value
            if saved >= MATTERS_KG:
                saving = (f"The lowest-CO2e option, {best.name}, would emit {mass(best.value)}: "
                          f"{mass(saved)} less (location-based).")
    return Co2Story(found, saving)
