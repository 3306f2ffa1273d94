"""Site resolution (zone, price, PUE, carbon intensity) and the cost / CO2 arithmetic."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from greenlove.compare.costs import co2_kg, cost_usd, equivalences
from greenlove.compare.site import (
    ResolvedSite,
    Site,
    SiteError,
    country_of_time_zone,
    resolve_site,
    system_time_zone,
)
from greenlove.data.tables import CarbonIntensity, ElectricityPrice, Equivalence, Pue
from greenlove.errors import GreenloveError
from greenlove.model import Interval

CARBON = {
    zone: CarbonIntensity(zone=zone, name=name, g_co2_per_kwh=g, year=2023, source=f"test-carbon-{zone}")
    for zone, name, g in [("DE", "Germany", 380.0), ("DK", "Denmark", 150.0), ("FR", "France", 56.0),
                          ("US", "United States", 370.0), ("US-CA", "California", 200.0),
                          ("WORLD", "World average", 480.0)]
}
PRICES = {
    zone: ElectricityPrice(zone=zone, usd_per_kwh=usd, year=2024, source=f"test-price-{zone}")
    for zone, usd in [("DE", 0.40), ("DK", 0.35), ("FR", 0.25), ("US", 0.17)]
}
PUES = {"local": Pue(provider="local", pue=1.0, year=2024, source="test-pue-local")}
TAB_TEXT = ("# tz zone table for tests\n"
            "DE,DK,NO,SE,SJ\t+5230+01322\tEurope/Berlin\n"
            "FR,MC\t+4852+00220\tEurope/Paris\n"
            "XK\t+4240+02110\tEurope/Nowhere\n")


def never_fetch(url: str, headers) -> bytes:
    pytest.fail(f"network call without an Electricity Maps key: {url}")


def resolve(site: Site | None, **kwargs) -> ResolvedSite:
    options = {"carbon": CARBON, "prices": PRICES, "pue": PUES, "tz_name": "Etc/UTC",
               "zone_tab": Path("/nonexistent/zone1970.tab"), "fetch": never_fetch}
    options.update(kwargs)
    return resolve_site(site, **options)


@pytest.fixture
def zone_tab(tmp_path: Path) -> Path:
    path = tmp_path / "zone1970.tab"
    path.write_text(TAB_TEXT)
    return path


# --- validation -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"zone": ""}, "site.zone"),
    ({"zone": "   "}, "site.zone"),
    ({"zone": 49}, "site.zone"),
    ({"usd_per_kwh": 0}, "site.usd_per_kwh must be > 0"),
    ({"usd_per_kwh": -0.2}, "site.usd_per_kwh must be > 0"),
    ({"usd_per_kwh": math.nan}, "site.usd_per_kwh"),
    ({"usd_per_kwh": True}, "site.usd_per_kwh"),
    ({"pue": 0.9}, "site.pue must be >= 1"),
    ({"pue": math.inf}, "site.pue"),
    ({"g_co2_per_kwh": -1.0}, "site.g_co2_per_kwh must be >= 0"),
    ({"electricity_maps_key": ""}, "site.electricity_maps_key"),
])
def test_invalid_site_names_the_argument(kwargs, message):
    with pytest.raises(SiteError, match=message.replace(".", r"\.")):
        Site(**kwargs)


def test_site_error_is_a_greenlove_value_error():
    assert issubclass(SiteError, GreenloveError)
    assert issubclass(SiteError, ValueError)


def test_boundary_values_are_accepted_and_key_is_not_shown():
    site = Site(pue=1.0, g_co2_per_kwh=0.0, usd_per_kwh=1e-6, electricity_maps_key="secret-token")
    assert "secret-token" not in repr(site)


# --- zone -----------------------------------------------------------------------------------------

def test_unknown_zone_lists_close_matches():
    with pytest.raises(SiteError, match="site.zone") as caught:
        resolve(Site(zone="DX"))
    assert "'DX'" in str(caught.value)
    assert "DE" in str(caught.value) or "DK" in str(caught.value)


def test_zone_is_matched_ignoring_case():
    resolved = resolve(Site(zone="us-ca"))
    assert (resolved.zone, resolved.zone_name, resolved.zone_method) == ("US-CA", "California", "given")


def test_zone_guessed_from_time_zone_is_labelled(zone_tab):
    resolved = resolve(None, tz_name="Europe/Berlin", zone_tab=zone_tab)
    assert resolved.zone == "DE"     # first country of the shared zone
    assert resolved.zone_method == "guessed-from-time-zone"
    assert "Europe/Berlin" in resolved.zone_source
    assert any("guessed" in w for w in resolved.warnings)
    assert resolved.g_co2_per_kwh == 380.0 and resolved.carbon_method == "table"
    assert resolved.usd_per_kwh == 0.40 and resolved.price_method == "table"


@pytest.mark.parametrize("tz_name", ["Etc/UTC", "Europe/Nowhere", ""])
def test_no_guess_uses_the_world_average_labelled(zone_tab, tz_name):
    # Etc/UTC: not in the tab; Europe/Nowhere: a country no table knows; "": no time zone at all
    resolved = resolve(Site(), tz_name=tz_name, zone_tab=zone_tab)
    assert resolved.zone == "WORLD" and resolved.zone_method == "world-average"
    assert resolved.g_co2_per_kwh == 480.0
    assert any("world average" in w for w in resolved.warnings)
    assert resolved.price_method == "table-median"
    assert resolved.usd_per_kwh == statistics.median(r.usd_per_kwh for r in PRICES.values())


def test_zone_tab_falls_back_to_zone_tab(tmp_path):
    (tmp_path / "zone.tab").write_text("FR\t+4852+00220\tEurope/Paris\n")
    assert country_of_time_zone("Europe/Paris", tmp_path / "zone1970.tab") == "FR"
    assert country_of_time_zone("Europe/Rome", tmp_path / "zone1970.tab") is None


def test_system_time_zone_reads_env_then_etc(tmp_path):
    assert system_time_zone({"TZ": ":Europe/Paris"}, tmp_path) == "Europe/Paris"
    assert system_time_zone({"TZ": "/usr/share/zoneinfo/Asia/Tokyo"}, tmp_path) == "Asia/Tokyo"
    assert system_time_zone({}, tmp_path) is None
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/America/New_York")
    assert system_time_zone({}, tmp_path) == "America/New_York"
    (tmp_path / "timezone").write_text("Europe/Berlin\n")
    assert system_time_zone({"TZ": "CET-1CEST"}, tmp_path) == "Europe/Berlin"


# --- price and PUE --------------------------------------------------------------------------------

def test_us_state_price_falls_back_to_us():
    resolved = resolve(Site(zone="US-CA"))
    assert resolved.usd_per_kwh == 0.17 and resolved.price_method == "table-country"
    assert "test-price-US" in resolved.usd_per_kwh_source
    assert resolved.g_co2_per_kwh == 200.0 and resolved.carbon_method == "table"
    assert any("US's national price" in w for w in resolved.warnings)


def test_price_world_row_is_used_only_when_the_table_has_one():
    prices = {**PRICES, "WORLD": ElectricityPrice("WORLD", 0.15, 2024, "test-price-world")}
    resolved = resolve(Site(zone="WORLD"), prices=prices)
    assert resolved.usd_per_kwh == 0.15 and resolved.price_method == "table"
    carbon = {**CARBON, "XK": CarbonIntensity("XK", "Kosovo", 700.0, 2023, "test")}
    resolved = resolve(Site(zone="XK"), carbon=carbon, prices=prices)
    assert resolved.usd_per_kwh == 0.15 and resolved.price_method == "world-average"
    resolved = resolve(Site(zone="XK"), carbon=carbon, prices={})
    assert resolved.usd_per_kwh is None and resolved.price_method == "unknown"
    assert any("cost omitted" in w for w in resolved.warnings)


def test_pue_defaults_to_local_row_and_can_be_given():
    assert resolve(Site(zone="DE")).pue == 1.0
    assert resolve(Site(zone="DE")).pue_source.startswith("local")
    assert resolve(Site(zone="DE"), pue={}).pue == 1.0
    given = resolve(Site(zone="DE", pue=1.3, usd_per_kwh=0.1, g_co2_per_kwh=12.0))
    assert (given.pue, given.usd_per_kwh, given.g_co2_per_kwh) == (1.3, 0.1, 12.0)
    assert given.pue_method == given.price_method == given.carbon_method == "given"
    assert given.warnings == ()


def test_pue_row_without_a_value_falls_back_to_the_default():
    resolved = resolve(Site(zone="DE"), pue=(Pue("local", None, None, "no figure"),))
    assert (resolved.pue, resolved.pue_method) == (1.0, "default")


def test_tables_as_loader_rows_and_the_shipped_tables():
    rows = resolve(Site(zone="US-CA"), carbon=tuple(CARBON.values()), prices=tuple(PRICES.values()),
                   pue=tuple(PUES.values()))
    assert rows == resolve(Site(zone="US-CA"))
    shipped = resolve_site(Site(zone="DE"), fetch=never_fetch)   # package data, still offline
    assert shipped.zone == "DE" and shipped.carbon_method == "table" and shipped.pue == 1.0
    assert shipped.usd_per_kwh is not None and shipped.price_method == "table"


def test_assumptions_name_value_unit_source():
    assumptions = resolve(Site(zone="FR")).assumptions()
    assert set(assumptions) == {"zone", "electricity_price", "pue", "carbon_intensity"}
    assert assumptions["carbon_intensity"]["value"] == 56.0
    assert assumptions["carbon_intensity"]["unit"] == "gCO2e/kWh"
    assert "test-carbon-FR" in assumptions["carbon_intensity"]["source"]
    assert assumptions["electricity_price"]["unit"] == "USD/kWh"
    assert all({"value", "unit", "source"} <= set(entry) for entry in assumptions.values())


# --- live carbon intensity ------------------------------------------------------------------------

def test_live_intensity_with_a_key():
    calls = []

    def fake_fetch(url, headers):
        calls.append((url, dict(headers)))
        return json.dumps({"zone": "DE", "carbonIntensity": 123,
                           "datetime": "2026-05-01T10:00:00.000Z"}).encode()

    resolved = resolve(Site(zone="DE", electricity_maps_key="tok"), fetch=fake_fetch)
    assert resolved.g_co2_per_kwh == 123.0 and resolved.carbon_method == "electricity-maps-live"
    assert "2026-05-01T10:00:00.000Z" in resolved.g_co2_per_kwh_source
    [(url, headers)] = calls
    assert url == "https://api.electricitymap.org/v3/carbon-intensity/latest?zone=DE"
    assert headers == {"auth-token": "tok"}


@pytest.mark.parametrize("failure", [OSError("connection refused"), RuntimeError("odd"), b"not json",
                                     b'{"error": "zone not found"}', b'{"carbonIntensity": null}'])
def test_live_failure_falls_back_to_the_table_with_a_warning(failure):
    def failing_fetch(url, headers):
        if isinstance(failure, Exception):
            raise failure
        return failure

    resolved = resolve(Site(zone="DE", electricity_maps_key="tok"), fetch=failing_fetch)
    assert resolved.g_co2_per_kwh == 380.0 and resolved.carbon_method == "table"
    assert any("Electricity Maps" in w and "table value used" in w for w in resolved.warnings)
    assert not any("tok" in w for w in resolved.warnings)


def test_no_network_without_a_key(monkeypatch, zone_tab):
    def no_urlopen(*args, **kwargs):
        pytest.fail("urlopen called without an Electricity Maps key")

    monkeypatch.setattr("urllib.request.urlopen", no_urlopen)
    for site in [None, Site(), Site(zone="DE"), Site(zone="US-CA", pue=1.2)]:
        resolve(site, fetch=never_fetch, zone_tab=zone_tab)
    resolve(Site(zone="DE"), fetch=None)   # the default fetcher is not reached either


def test_given_intensity_wins_over_live():
    resolved = resolve(Site(zone="DE", g_co2_per_kwh=10.0, electricity_maps_key="tok"))
    assert resolved.g_co2_per_kwh == 10.0 and resolved.carbon_method == "given"


# --- cost and CO2 ---------------------------------------------------------------------------------

ENERGY_KWH = Interval(point=10.0, low=8.0, high=13.0, confidence=0.9)


def test_cost_is_energy_times_price_with_the_interval():
    cost = cost_usd(ENERGY_KWH, resolve(Site(zone="FR", pue=1.5)))   # 0.25 $/kWh; PUE not billed
    assert cost is not None
    assert (cost.point, cost.low, cost.high, cost.confidence) == pytest.approx((2.5, 2.0, 3.25, 0.9))


def test_cost_is_none_when_the_price_is_unknown():
    assert cost_usd(ENERGY_KWH, resolve(Site(zone="WORLD"), prices={})) is None


def test_co2_is_energy_times_pue_times_intensity():
    co2 = co2_kg(ENERGY_KWH, g_co2_per_kwh=400.0, pue=1.5)   # 10 kWh * 1.5 * 0.4 kg/kWh
    assert (co2.point, co2.low, co2.high, co2.confidence) == pytest.approx((6.0, 4.8, 7.8, 0.9))
    assert co2_kg(ENERGY_KWH, g_co2_per_kwh=0.0, pue=1.0).high == 0.0
    with pytest.raises(ValueError, match="pue"):
        co2_kg(ENERGY_KWH, g_co2_per_kwh=400.0, pue=0.5)


def test_equivalences_divide_the_point_estimate():
    table = [Equivalence("car_km", 0.2, "km driven", "test-source", "2026-01-01"),
             Equivalence("broken row", 0.0, "x", "ignored", "2026-01-01")]
    assert equivalences(Interval(6.0, 4.8, 7.8, 0.9), table) == [
        ("car_km", pytest.approx(30.0), "km driven", "test-source")]
    assert equivalences(1.0, table)[0][1] == pytest.approx(5.0)
