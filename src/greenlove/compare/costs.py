"""Money and CO2 from a predicted energy: pure arithmetic on intervals.

The price ($/kWh), PUE and carbon intensity (gCO2e/kWh) are taken as exact: the interval carried
through is the energy prediction's, scaled. Their own uncertainty (a tariff that changes over the
day, a grid mix that changes by the hour, a yearly average applied to one run) is not in the
interval; the report shows each figure with its source instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..data.tables import Equivalence
from ..model import Interval

if TYPE_CHECKING:
    from .site import ResolvedSite


def cost_usd(energy_kwh: Interval, site: ResolvedSite) -> Interval | None:
    """Electricity cost in USD: energy (kWh, at the wall) x ``site.usd_per_kwh``.

    None when the site has no price (``price_method == "unknown"``): the cost is omitted, not
    guessed. The price is taken as exact; low/high/confidence are the energy's, scaled. PUE is not
    applied: the user pays for the machine's energy (a data centre's overhead is in its price).
    """
    if site.usd_per_kwh is None:
        return None
    return energy_kwh.scaled(site.usd_per_kwh)


def co2_kg(energy_kwh: Interval, g_co2_per_kwh: float, pue: float) -> Interval:
    """Emissions in kg CO2e: energy (kWh) x PUE x intensity (gCO2e/kWh) / 1000.

    Location-based: the grid's average intensity, not a supplier's renewable claim. Intensity and
    PUE are taken as exact; low/high/confidence are the energy's, scaled.
    """
    if not (math.isfinite(pue) and pue >= 1):
        raise ValueError(f"pue must be >= 1 (got {pue!r})")
    if not (math.isfinite(g_co2_per_kwh) and g_co2_per_kwh >= 0):
        raise ValueError(f"g_co2_per_kwh must be >= 0 (got {g_co2_per_kwh!r})")
    return energy_kwh.scaled(pue * g_co2_per_kwh / 1000.0)


def equivalences(co2_kg: Interval | float,
                 table: Iterable[Equivalence]) -> list[tuple[str, float, str, str]]:
    """(name, amount, unit, source) per row of ``table`` (``load_equivalences()``): how many
    ``unit`` emit as much as the point estimate of ``co2_kg`` (kg CO2e). Rows <= 0 are skipped."""
    kg = co2_kg.point if isinstance(co2_kg, Interval) else float(co2_kg)
    return [(item.name, kg / item.kg_co2_per_unit, item.unit, item.source)
            for item in table if item.kg_co2_per_unit > 0]
