"""Where the run happens: electricity zone, price, PUE and carbon intensity, with their sources.

:class:`Site` is what the user passes (every field optional, each one an override);
:func:`resolve_site` turns it into a :class:`ResolvedSite` where every number carries its source
and how it was chosen ("given", "table", a labelled fallback). Everything is offline except the
live carbon intensity from Electricity Maps, fetched only when the user passes a key.

Fallbacks, in order (each one leaves a warning on the result):

* zone: given; else guessed from the system's IANA time zone through ``zone1970.tab`` (country
  only, labelled a guess); else "WORLD".
* price ($/kWh): given; else the zone's row; else its country's row ("US-CA" -> "US"); else the
  price table's "WORLD" row where it has one; else unknown (``usd_per_kwh`` None): the cost is then
  omitted, never invented.
* PUE: given; else the PUE table's "local" row (1.0: a machine of your own, no data-centre
  overhead).
* carbon intensity (gCO2e/kWh): given; else live from Electricity Maps when a key is given (any
  failure falls back to the tables); else the zone's row; else its country's row; else "WORLD".
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import statistics
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..data.tables import (
    CarbonIntensity,
    ElectricityPrice,
    Pue,
    closest_zones,
    load_carbon,
    load_prices,
    load_pue,
)
from ..errors import GreenloveError

WORLD = "WORLD"
LOCAL_PROVIDER = "local"
DEFAULT_PUE = 1.0
"""A machine of your own: no data-centre cooling or power-conversion overhead is added."""

ZONE_TAB = Path("/usr/share/zoneinfo/zone1970.tab")
ELECTRICITY_MAPS_URL = "https://api.electricitymap.org/v3/carbon-intensity/latest?zone={zone}"
ELECTRICITY_MAPS_TIMEOUT_S = 10.0

ZONE_GIVEN, ZONE_GUESSED, ZONE_WORLD = "given", "guessed-from-time-zone", "world-average"
METHOD_GIVEN, METHOD_TABLE, METHOD_COUNTRY = "given", "table", "table-country"
METHOD_WORLD, METHOD_UNKNOWN, METHOD_LIVE = "world-average", "unknown", "electricity-maps-live"

_Row = TypeVar("_Row")
Table = Iterable[_Row] | Mapping[str, _Row]
"""A reference table: the loader's rows, or a mapping whose values are rows."""

Fetch = Callable[[str, Mapping[str, str]], bytes]
"""(url, headers) -> response body. Injected in tests; the default uses urllib."""


class SiteError(GreenloveError, ValueError):
    """The site's options are invalid or name a zone no table knows."""


@dataclass(frozen=True)
class Site:
    """Where the run happens. Every field is optional; a number given here overrides the tables.

    ``zone``: an electricity zone as the tables name it ("DE", "US-CA", "CA-QC", "WORLD"; case is
    ignored). ``usd_per_kwh``: electricity price. ``pue``: power usage effectiveness of the
    building (>= 1). ``g_co2_per_kwh``: grid carbon intensity. ``electricity_maps_key``: an
    Electricity Maps API token; only with it is the network used (live intensity for the zone).
    """

    zone: str | None = None
    usd_per_kwh: float | None = None
    pue: float | None = None
    g_co2_per_kwh: float | None = None
    electricity_maps_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.zone is not None and (not isinstance(self.zone, str) or not self.zone.strip()):
            raise SiteError(f"site.zone must be a non-empty string (got {self.zone!r})")
        _check_number("site.usd_per_kwh", self.usd_per_kwh, minimum=0.0, inclusive=False)
        _check_number("site.pue", self.pue, minimum=1.0, inclusive=True)
        _check_number("site.g_co2_per_kwh", self.g_co2_per_kwh, minimum=0.0, inclusive=True)
        key = self.electricity_maps_key
        if key is not None and (not isinstance(key, str) or not key.strip()):
            raise SiteError("site.electricity_maps_key must be a non-empty string")


def _check_number(name: str, value: object, *, minimum: float, inclusive: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SiteError(f"{name} must be a finite number (got {value!r})")
    if value < minimum or (not inclusive and value == minimum):
        raise SiteError(f"{name} must be {'>=' if inclusive else '>'} {minimum:g} (got {value!r})")


@dataclass(frozen=True)
class ResolvedSite:
    """The site with every figure chosen and labelled: value, source and method for each."""

    zone: str
    zone_name: str
    zone_method: str              # given | guessed-from-time-zone | world-average
    zone_source: str
    usd_per_kwh: float | None     # None: no price known, cost is omitted
    usd_per_kwh_source: str
    price_method: str             # given | table | table-country | world-average | unknown
    pue: float
    pue_source: str
    pue_method: str               # given | table | default
    g_co2_per_kwh: float
    g_co2_per_kwh_source: str
    carbon_method: str            # given | electricity-maps-live | table | table-country | world-average
    warnings: tuple[str, ...] = ()

    def assumptions(self) -> dict[str, dict[str, Any]]:
        """The figures behind cost and CO2, each {"value", "unit", "source", "method"}, for reports."""
        return {
            "zone": {"value": self.zone, "unit": None, "method": self.zone_method,
                     "source": f"{self.zone_name}; {self.zone_source}"},
            "electricity_price": {"value": self.usd_per_kwh, "unit": "USD/kWh",
                                  "method": self.price_method, "source": self.usd_per_kwh_source},
            "pue": {"value": self.pue, "unit": "ratio", "method": self.pue_method,
                    "source": self.pue_source},
            "carbon_intensity": {"value": self.g_co2_per_kwh, "unit": "gCO2e/kWh",
                                 "method": self.carbon_method, "source": self.g_co2_per_kwh_source},
        }


def resolve_site(site: Site | None, *, carbon: Table[CarbonIntensity] | None = None,
                 prices: Table[ElectricityPrice] | None = None, pue: Table[Pue] | None = None,
                 tz_name: str | None = None, zone_tab: Path = ZONE_TAB,
                 fetch: Fetch | None = None) -> ResolvedSite:
    """Choose zone, price, PUE and intensity for ``site``; tables default to the package's.

    Each table is the loader's rows (``load_carbon()``, ...) or a mapping whose values are rows.

    ``tz_name`` (an IANA name such as "Europe/Berlin") replaces the system time zone when no zone
    is given. ``fetch`` replaces the HTTP GET to Electricity Maps; it is called only when
    ``site.electricity_maps_key`` is set. Raises :class:`SiteError` for a zone no table knows.
    """
    site = site if site is not None else Site()
    carbon_rows = _by_key(carbon if carbon is not None else load_carbon(), "zone")
    price_rows = _by_key(prices if prices is not None else load_prices(), "zone")
    pue_rows = _by_key(pue if pue is not None else load_pue(), "provider")
    warnings: list[str] = []

    zone, zone_method, zone_source = _resolve_zone(site, carbon_rows, price_rows, tz_name, zone_tab,
                                                   warnings)
    zone_name = carbon_rows[zone].name if zone in carbon_rows else zone
    price, price_source, price_method = _resolve_price(site, zone, price_rows, warnings)
    pue_value, pue_source, pue_method = _resolve_pue(site, pue_rows)
    intensity, intensity_source, carbon_method = _resolve_intensity(site, zone, carbon_rows, fetch,
                                                                    warnings)
    return ResolvedSite(zone=zone, zone_name=zone_name, zone_method=zone_method, zone_source=zone_source,
                        usd_per_kwh=price, usd_per_kwh_source=price_source, price_method=price_method,
                        pue=pue_value, pue_source=pue_source, pue_method=pue_method,
                        g_co2_per_kwh=intensity, g_co2_per_kwh_source=intensity_source,
                        carbon_method=carbon_method, warnings=tuple(warnings))


def _by_key(table: Table[_Row], key: str) -> dict[str, _Row]:
    rows = table.values() if isinstance(table, Mapping) else table
    return {getattr(row, key): row for row in rows}


# --- zone -----------------------------------------------------------------------------------------

def _lookup(zone: str, *tables: Mapping[str, object]) -> str | None:
    """The zone as the tables spell it (exact first, then ignoring case), or None."""
    for table in tables:
        if zone in table:
            return zone
    folded = zone.casefold()
    for table in tables:
        for key in table:
            if key.casefold() == folded:
                return key
    return None


def _country_of(zone: str) -> str | None:
    """"US-CA" -> "US", "CA-QC" -> "CA"; None for a zone that is not a subdivision."""
    head, sep, _ = zone.partition("-")
    return head if sep and len(head) == 2 and head.isalpha() else None


def _resolve_zone(site: Site, carbon: Mapping[str, CarbonIntensity],
                  prices: Mapping[str, ElectricityPrice], tz_name: str | None, zone_tab: Path,
                  warnings: list[str]) -> tuple[str, str, str]:
    if site.zone is not None:
        wanted = site.zone.strip()
        found = _lookup(wanted, carbon, prices)
        if found is None:
            rows = [*carbon.values(), *(row for zone, row in prices.items() if zone not in carbon)]
            suggestions = closest_zones(wanted, rows)
            hint = f"; closest: {', '.join(suggestions)}" if suggestions else ""
            raise SiteError(f"site.zone {wanted!r} is not a known electricity zone{hint}")
        return found, ZONE_GIVEN, "given by the user"
    tz = tz_name if tz_name is not None else system_time_zone()
    country = country_of_time_zone(tz, zone_tab) if tz else None
    found = _lookup(country, carbon) if country else None
    if found is not None:
        warnings.append(f"Zone {found} guessed from the system time zone {tz}; pass Site(zone=...) "
                        "to set it (greenlove demo --zone).")
        return found, ZONE_GUESSED, f"guessed from time zone {tz} ({zone_tab.name})"
    if WORLD not in carbon:
        raise SiteError("no zone given, none could be guessed, and the carbon table has no WORLD row")
    why = f"time zone {tz!r} maps to no known zone" if tz else "no system time zone found"
    warnings.append(f"Zone unknown ({why}): world average used; pass Site(zone=...) to set it "
                    "(greenlove demo --zone).")
    return WORLD, ZONE_WORLD, f"world average ({why})"


def system_time_zone(environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")) -> str | None:
    """The system's IANA time zone name, offline: $TZ, else /etc/timezone, else /etc/localtime."""
    env = os.environ if environ is None else environ
    candidates = [env.get("TZ", "")]
    with contextlib.suppress(OSError):
        candidates.append((etc / "timezone").read_text().strip())
    with contextlib.suppress(OSError):
        candidates.append(os.readlink(etc / "localtime"))
    for raw in candidates:
        name = raw.strip().lstrip(":")
        if "zoneinfo/" in name:
            name = name.split("zoneinfo/", 1)[1]
        if name and "/" in name and not name.startswith("/"):
            return name
    return None


def country_of_time_zone(tz_name: str, zone_tab: Path = ZONE_TAB) -> str | None:
    """ISO 3166 country code for an IANA time zone from zone1970.tab (or zone.tab), else None.

    zone1970.tab lists several countries for a shared zone ("DE,DK,NO,SE,SJ  Europe/Berlin"); the
    first is taken. A missing file falls back to zone.tab next to it.
    """
    for path in (zone_tab, zone_tab.with_name("zone.tab")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("#"):
                continue
            columns = line.split("\t")
            if len(columns) >= 3 and columns[2].strip() == tz_name:
                return columns[0].split(",")[0].strip() or None
        return None
    return None


# --- price and PUE --------------------------------------------------------------------------------

def _resolve_price(site: Site, zone: str, prices: Mapping[str, ElectricityPrice],
                   warnings: list[str]) -> tuple[float | None, str, str]:
    if site.usd_per_kwh is not None:
        return float(site.usd_per_kwh), "given by the user", METHOD_GIVEN
    row = prices.get(zone)
    if row is not None:
        return row.usd_per_kwh, _row_source(row), METHOD_TABLE
    country = _country_of(zone)
    if country is not None and country in prices:
        row = prices[country]
        warnings.append(f"No electricity price for {zone}: {country}'s national price used.")
        return row.usd_per_kwh, f"{country} national price: {_row_source(row)}", METHOD_COUNTRY
    if WORLD in prices:
        row = prices[WORLD]
        warnings.append(f"No electricity price for {zone}: world figure used; pass "
                        "Site(usd_per_kwh=...) for yours.")
        return row.usd_per_kwh, f"world figure: {_row_source(row)}", METHOD_WORLD
    if prices:
        median = statistics.median(row.usd_per_kwh for row in prices.values())
        warnings.append(f"No electricity price for {zone}: the median of the {len(prices)} countries' "
                        "prices used; pass Site(usd_per_kwh=...) for yours (greenlove demo --price).")
        return median, (f"median of the {len(prices)} countries in greenlove's price table "
                        f"({next(iter(prices.values())).source})"), "table-median"
    warnings.append(f"No electricity price for {zone}: cost omitted; pass Site(usd_per_kwh=...) "
                    "(greenlove demo --price).")
    return None, "no price known for this zone", METHOD_UNKNOWN


def _resolve_pue(site: Site, pue_table: Mapping[str, Pue]) -> tuple[float, str, str]:
    if site.pue is not None:
        return float(site.pue), "given by the user", METHOD_GIVEN
    row = pue_table.get(LOCAL_PROVIDER)
    if row is not None and row.pue is not None:
        year = f" ({row.year})" if row.year is not None else ""
        return row.pue, f"{row.provider}: {row.source}{year}", METHOD_TABLE
    return DEFAULT_PUE, "assumed: a machine of your own, no data-centre overhead", "default"


def _row_source(row: ElectricityPrice | CarbonIntensity) -> str:
    return f"{row.source} ({row.year})"


# --- carbon intensity -----------------------------------------------------------------------------

def _resolve_intensity(site: Site, zone: str, carbon: Mapping[str, CarbonIntensity],
                       fetch: Fetch | None, warnings: list[str]) -> tuple[float, str, str]:
    if site.g_co2_per_kwh is not None:
        return float(site.g_co2_per_kwh), "given by the user", METHOD_GIVEN
    if site.electricity_maps_key is not None:
        if zone == WORLD:
            warnings.append("Electricity Maps needs a zone: table value used; pass Site(zone=...).")
        else:
            try:
                value, moment = fetch_live_intensity(zone, site.electricity_maps_key, fetch)
            except Exception as exc:  # a live figure is optional: any failure falls back, labelled
                warnings.append(f"Electricity Maps live intensity for {zone} failed "
                                f"({type(exc).__name__}: {exc}): table value used.")
            else:
                return value, f"Electricity Maps, live, {moment}", METHOD_LIVE
    if zone in carbon:
        return carbon[zone].g_co2_per_kwh, _row_source(carbon[zone]), METHOD_TABLE
    country = _country_of(zone)
    if country is not None and country in carbon:
        row = carbon[country]
        warnings.append(f"No carbon intensity for {zone}: {country}'s national average used.")
        return row.g_co2_per_kwh, f"{country} national average: {_row_source(row)}", METHOD_COUNTRY
    if WORLD not in carbon:
        raise SiteError(f"no carbon intensity for {zone} and the carbon table has no WORLD row")
    warnings.append(f"No carbon intensity for {zone}: world average used.")
    return carbon[WORLD].g_co2_per_kwh, f"world average: {_row_source(carbon[WORLD])}", METHOD_WORLD


def fetch_live_intensity(zone: str, key: str, fetch: Fetch | None = None) -> tuple[float, str]:
    """Latest gCO2e/kWh for ``zone`` from Electricity Maps and the moment it is for.

    Raises on any network, HTTP or format problem; :func:`resolve_site` turns that into a
    labelled fallback.
    """
    url = ELECTRICITY_MAPS_URL.format(zone=urllib.parse.quote(zone, safe=""))
    body = (fetch or _urllib_fetch)(url, {"auth-token": key})
    payload = json.loads(body)
    value = payload["carbonIntensity"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"carbonIntensity is not a non-negative number: {value!r}")
    return float(value), str(payload.get("datetime", "time not given"))


def _urllib_fetch(url: str, headers: Mapping[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=dict(headers))
    with urllib.request.urlopen(request, timeout=ELECTRICITY_MAPS_TIMEOUT_S) as response:
        return response.read()
