"""The report's facts in the words every renderer (page, terminal, comparison, card) shares:
the device, the date, and where the run happens (the electricity price and the grid, each with
how it was chosen). Read from the report; nothing looked up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..result import ReportData
from .format import number


@dataclass(frozen=True)
class SiteFacts:
    """'0.141 USD/kWh' (table-median), zone 'DE' (given by the user), '381 g/kWh'."""

    price: str
    price_method: str
    zone: str
    zone_method: str
    grid: str


def site_facts(report: ReportData) -> SiteFacts:
    price = report.assumptions.get("site_electricity_price", {})
    zone = report.assumptions.get("site_zone", {})
    grid = report.assumptions.get("site_carbon_intensity", {})
    return SiteFacts(price=f"{number(price.get('value', 0))} USD/kWh",
                     price_method=str(price.get("method", "?")),
                     zone=str(zone.get("value", "?")), zone_method=str(zone.get("method", "?")),
                     grid=f"{number(grid.get('value', 0))} g/kWh")


def created_text(report: ReportData) -> str:
    """When the report was made, '2026-12-02 03:51 UTC' (the stored text where it is no date)."""
    try:
        return datetime.fromisoformat(report.created_at).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return report.created_at or "unknown date"


def device_name(report: ReportData, missing: str = "this machine") -> str:
    """The device the run was measured on: the cloud comparison's name for it, else the
    environment's."""
    local = report.comparison.get("local") or {}
    name = (local.get("device") or {}).get("name") if isinstance(local, dict) else None
    return str(name or report.environment.get("device") or missing)
