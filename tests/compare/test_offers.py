"""compare_offer, compare_clouds and rankings on hand-made rows: every expected number is worked
out by hand in tests/compare/rows.py; thin data (no throughput rows, no TDP) is labelled."""


from __future__ import annotations

import math
from dataclasses import replace

import pytest

from greenlove.compare.assumptions import GPU_LOAD_FRACTION, HOST_SHARE, SCALING_EFFICIENCY
from greenlove.compare.offers import (
    DEFAULT_PUE_PROVIDER,
    compare_clouds,
    rankings,
)
from greenlove.data.tables import (
    load_pue,
)
from greenlove.model import Interval
from tests.compare.rows import (
    BASELINE,
    CARBON,
    CPU,
    PUBLISHED,
    PUE_TABLE,
    ROOFLINE,
    SITES,
    TARGET,
    USER,
    approx_interval,
    local_run,
    offer,
    provider_site,
    run_offer,
    spec,
)

# --- 1. compare_offer -------------------------------------------------------------------------

def test_time_interval_spans_every_speedup_estimate_and_cost_is_hours_times_price() -> None:
    e = run_offer(offer("Prov", "Target GPU", price=2.0, spot=0.8))
    assert [s.method for s in e.speedups] == ["user-measured", "published-ratio", "roofline",
                                              "tflops-bandwidth-baseline"]
    assert [s.value for s in e.speedups] == pytest.approx([USER, PUBLISHED, ROOFLINE, BASELINE])
    assert e.speedup == USER and e.speedup_method == "user-measured"
    # Point: 3600 / 4 = 900 s; low: 3000 / max(8.0) = 375 s; high: 4200 / min(4.0) = 1050 s.
    approx_interval(e.time_s, 900.0, 375.0, 1050.0)
    assert e.gpu_hours == pytest.approx(0.25)
    approx_interval(e.cost_usd, 0.25 * 2.0, 375 / 3600 * 2.0, 1050 / 3600 * 2.0)
    approx_interval(e.cost_spot_usd, 0.25 * 0.8, 375 / 3600 * 0.8, 1050 / 3600 * 0.8)
    assert e.price_source == "test price Prov" and e.as_of == "2026-02-02"
    assert e.gpus == 1 and e.gpu == "Target GPU" and e.provider == "Prov" and e.region == "r1"


def test_energy_is_tdp_times_load_times_host_share_times_pue() -> None:
    e = run_offer(offer("Prov", "Target GPU"))
    kw = 700 * GPU_LOAD_FRACTION * (1 + HOST_SHARE) * 1.2 / 1000     # 700 x 0.8 x 1.82 x 1.2 W
    assert kw == pytest.approx(1.22304)
    approx_interval(e.energy_kwh, 0.25 * kw, 375 / 3600 * kw, 1050 / 3600 * kw)
    assert "80% of TDP (assumed)" in e.energy_method and "PUE 1.2" in e.energy_method
    assert e.pue == 1.2 and e.pue_source == "Prov: Prov report"
    # Location-based CO2 on the offer's own zone ZZ (400 g/kWh); PUE is already in the energy.
    approx_interval(e.co2_kg, 0.25 * kw * 0.4, 375 / 3600 * kw * 0.4, 1050 / 3600 * kw * 0.4)
    assert e.co2_method.startswith("location-based: ZZ grid, 400 g/kWh (2023)")
    assert e.co2_by_site == ()
    assert e.notes == ()


def test_measured_local_gpu_power_replaces_the_assumed_load() -> None:
    # 150 W measured on a 250 W TDP local GPU: the target is assumed to run at 60% of its TDP.
    e = run_offer(offer("Prov", "Target GPU"), local=local_run(gpu_power_w=150.0))
    kw = 700 * 0.6 * (1 + HOST_SHARE) * 1.2 / 1000
    assert e.energy_kwh.point == pytest.approx(0.25 * kw)
    assert "60% of TDP (the local GPU's measured share)" in e.energy_method
    # More than the TDP is capped at 100%.
    capped = run_offer(offer("Prov", "Target GPU"), local=local_run(gpu_power_w=400.0))
    assert capped.energy_kwh.point == pytest.approx(0.25 * 700 * 1.0 * (1 + HOST_SHARE) * 1.2 / 1000)
    # A CPU stand-in has no spec TDP: the measured power cannot be turned into a share.
    cpu = run_offer(offer("Prov", "Target GPU"), local=local_run(CPU, gpu_power_w=150.0),
                    profile=None, user_speedup=USER)
    assert "assumed" in cpu.energy_method


def test_region_not_fixed_uses_the_highest_grid_and_lists_every_site() -> None:
    e = run_offer(offer("Claimer", "Target GPU", zone=""))
    # Claimer is not in the PUE table: the industry average row (1.5) is used.
    assert e.pue == 1.5
    kw = 700 * GPU_LOAD_FRACTION * (1 + HOST_SHARE) * 1.5 / 1000
    energy = 0.25 * kw
    assert e.energy_kwh.point == pytest.approx(energy)
    # Sites in LO (100 g/kWh) and HI (500 g/kWh): the worst one, HI, gives the figure.
    approx_interval(e.co2_kg, energy * 0.5, 375 / 3600 * kw * 0.5, 1050 / 3600 * kw * 0.5)
    assert dict(e.co2_by_site) == pytest.approx({"LO": energy * 0.1, "HI": energy * 0.5})
    assert "highest of 2 sites" in e.co2_method and "HI" in e.co2_method
    # The provider claims 0 g/kWh (market-based): shown apart, with the claim's text.
    assert e.co2_claimed_kg == 0.0
    assert "as Claimer claims" in e.co2_claim and "market-based" in e.co2_claim
    assert "test claim" in e.co2_claim


def test_one_known_site_and_no_site_at_all() -> None:
    one = run_offer(offer("Claimer", "Target GPU", zone=""), sites=(provider_site("Claimer", "LO", None),))
    assert one.co2_kg.point == pytest.approx(one.energy_kwh.point * 0.1)
    assert one.co2_by_site == () and one.co2_method.startswith("location-based: LO grid")
    # No claimed figure on the only site: no claim.
    assert one.co2_claimed_kg is None and one.co2_claim == "no claim recorded"
    # No zone and no site: the WORLD row, labelled as such.
    world = run_offer(offer("Nowhere", "Target GPU", zone=""), sites=())
    assert world.co2_kg.point == pytest.approx(world.energy_kwh.point * 0.48)
    assert world.co2_method.startswith("location unknown: world average grid, 480 g/kWh")


def test_no_claim_gives_none_and_no_price_gives_no_cost() -> None:
    e = run_offer(offer("Prov", "Target GPU", price=None, spot=None))
    assert e.co2_claimed_kg is None and e.co2_claim == "no claim recorded"
    assert e.cost_usd is None and e.cost_spot_usd is None
    assert e.energy_kwh.point > 0 and e.co2_kg is not None


def test_pue_provider_row_empty_row_and_unknown_provider() -> None:
    assert run_offer(offer("Prov", "Target GPU")).pue == 1.2
    empty = run_offer(offer("NoPue", "Target GPU"))
    assert empty.pue == 1.5
    assert empty.pue_source == "no PUE published by the provider; industry average used: survey 2024"
    unknown = run_offer(offer("Unknown Cloud", "Target GPU"))
    assert unknown.pue == 1.5
    assert unknown.pue_source.startswith("provider's PUE not in the table; industry average used")
    # Without an industry average row: 1.0, said so.
    bare = run_offer(offer("Unknown Cloud", "Target GPU"), pue_table={"Prov": PUE_TABLE["Prov"]})
    assert bare.pue == 1.0 and bare.pue_source == "no PUE known: 1.0 assumed"


def test_shipped_pue_table_crusoe_has_no_pue_so_the_industry_average_row_is_used() -> None:
    shipped = {p.provider: p for p in load_pue()}
    average = shipped[DEFAULT_PUE_PROVIDER].pue
    e = run_offer(offer("Crusoe Cloud", "Target GPU"), pue_table=shipped)
    assert shipped["Crusoe Cloud"].pue is None
    assert e.pue == average
    assert "no PUE published by the provider" in e.pue_source and "industry average" in e.pue_source


def test_multi_gpu_scales_the_speedup_and_the_gpu_hours() -> None:
    scale = 1 + SCALING_EFFICIENCY * 3                           # 3.7 for 4 GPUs
    e = run_offer(offer("Prov", "Target GPU", price=2.0), gpus=4)
    assert e.gpus == 4
    assert e.speedup == pytest.approx(USER * scale)              # 14.8
    assert [s.value for s in e.speedups] == pytest.approx([USER, PUBLISHED, ROOFLINE, BASELINE])
    point, low, high = 3600 / (USER * scale), 3000 / (ROOFLINE * scale), 4200 / (USER * scale)
    approx_interval(e.time_s, point, low, high)
    assert e.gpu_hours == pytest.approx(point / 3600 * 4)
    approx_interval(e.cost_usd, point / 3600 * 4 * 2.0, low / 3600 * 4 * 2.0, high / 3600 * 4 * 2.0)
    kw = 700 * GPU_LOAD_FRACTION * (1 + HOST_SHARE) * 1.2 / 1000
    assert e.energy_kwh.point == pytest.approx(point / 3600 * 4 * kw)


def test_a_local_run_over_several_devices_is_not_credited_their_scaling_twice() -> None:
    """A 2-GPU DDP job against 2-GPU instances: the per-GPU speed-up, twice the GPU-hours."""
    two = replace(local_run(), devices=2)
    same = run_offer(offer("Prov", "Target GPU", price=2.0), local=two, gpus=2)
    single = run_offer(offer("Prov", "Target GPU", price=2.0))
    assert same.speedup == pytest.approx(USER)
    approx_interval(same.time_s, single.time_s.point, single.time_s.low, single.time_s.high)
    assert same.gpu_hours == pytest.approx(2 * single.gpu_hours)
    eight = run_offer(offer("Prov", "Target GPU", price=2.0), local=two, gpus=8)
    assert eight.speedup == pytest.approx(USER * (1 + SCALING_EFFICIENCY * 7)
                                          / (1 + SCALING_EFFICIENCY))


# --- 2. compare_clouds and rankings -------------------------------------------------------------

OTHER = spec("Other GPU", fp32=20.0, bw=1000.0)


def _clouds(offers, *, providers=None, specs=(TARGET, OTHER)):
    return compare_clouds(local_run(), offers, specs, profile=None, ratios=(),
                          carbon=tuple(CARBON.values()), pue_table=tuple(PUE_TABLE.values()),
                          sites=SITES, user_speedups={"Target GPU": USER}, providers=providers)


def test_compare_clouds_keeps_table_order_skips_unknown_gpus_and_honours_providers() -> None:
    offers = (offer("Crusoe Cloud", "Target GPU", zone=""), offer("Prov", "Mystery GPU"),
              offer("Prov", "Other GPU"), offer("Claimer", "Target GPU", zone=""),
              offer("Prov", "Target GPU", price=None))
    found = _clouds(offers)
    assert [(e.provider, e.gpu) for e in found] == [("Crusoe Cloud", "Target GPU"), ("Prov", "Other GPU"),
                                                   ("Claimer", "Target GPU"), ("Prov", "Target GPU")]
    # The user's speed-up is used for the GPU it names only.
    assert [e.speedup_method for e in found] == ["user-measured", "tflops-bandwidth-baseline",
                                                 "user-measured", "user-measured"]
    assert found[1].speedup == pytest.approx(0.7 * 2.0 + 0.3 * 2.0)
    only = _clouds(offers, providers=["Prov"])
    assert [(e.provider, e.gpu) for e in only] == [("Prov", "Other GPU"), ("Prov", "Target GPU")]
    assert _clouds(offers, providers=[]) == ()


def test_compare_clouds_keeps_one_offer_per_provider_and_gpu_the_cheapest_in_place() -> None:
    offers = (offer("Prov", "Target GPU", price=3.0, region="big"), offer("Claimer", "Target GPU"),
              offer("Prov", "Target GPU", price=2.5, region="small"),
              offer("Prov", "Target GPU", price=None, region="quote"))
    found = _clouds(offers)
    assert [(e.provider, e.region) for e in found] == [("Claimer", "r1"), ("Prov", "small")]
    assert found[1].cost_usd.point == pytest.approx(0.25 * 2.5)


def test_compare_clouds_leaves_out_an_offer_with_no_speedup() -> None:
    blank = spec("Blank GPU", fp32=None, bw=None)
    found = _clouds((offer("Prov", "Blank GPU"), offer("Prov", "Target GPU")), specs=(blank, TARGET))
    assert [e.gpu for e in found] == ["Target GPU"]


def test_rankings_order_fastest_cheapest_lowest_co2_and_skip_none() -> None:
    base = run_offer(offer("Prov", "Target GPU"))
    a = replace(base, time_s=Interval(900, 800, 1000, 0.95), cost_usd=Interval(0.5, 0.4, 0.6, 0.95),
                co2_kg=Interval(0.12, 0.1, 0.14, 0.95))
    b = replace(base, time_s=Interval(300, 250, 350, 0.95), cost_usd=None,
                co2_kg=Interval(0.3, 0.2, 0.4, 0.95))
    c = replace(base, time_s=Interval(600, 500, 700, 0.95), cost_usd=Interval(0.2, 0.1, 0.3, 0.95),
                co2_kg=None)
    assert rankings([a, b, c]) == {"fastest": [1, 2, 0], "cheapest": [2, 0], "lowest_co2": [0, 1]}
    assert rankings([]) == {"fastest": [], "cheapest": [], "lowest_co2": []}


# --- 3. thin data ---------------------------------------------------------------------------------

def test_no_throughput_data_and_no_profile_leaves_only_the_baseline() -> None:
    e = run_offer(offer("Prov", "Target GPU"), profile=None, ratios=(), user_speedup=None)
    assert [s.method for s in e.speedups] == ["tflops-bandwidth-baseline"]
    assert e.speedup_method == "tflops-bandwidth-baseline"
    assert e.speedup == pytest.approx(BASELINE)
    approx_interval(e.time_s, 3600 / BASELINE, 3000 / BASELINE, 4200 / BASELINE)
    # On a CPU stand-in too: its measured 0.5 TFLOPS and 20 GB/s stand for it.
    cpu = run_offer(offer("Prov", "Target GPU"), local=local_run(CPU), profile=None, user_speedup=None)
    assert [s.method for s in cpu.speedups] == ["tflops-bandwidth-baseline"]
    assert cpu.speedup == pytest.approx(0.7 * 80 / 0.5 + 0.3 * 2000 / 20)      # 112 + 30 = 142


def test_a_gpu_with_no_tdp_has_unknown_energy_and_a_note() -> None:
    no_tdp = spec("No TDP GPU", fp32=80.0, bw=2000.0, tdp=None)
    e = run_offer(offer("Claimer", "No TDP GPU", zone=""), no_tdp, user_speedup=None, ratios=())
    assert math.isnan(e.energy_kwh.point)
    assert e.co2_kg is None and e.co2_method == "no carbon intensity known"
    assert e.co2_claimed_kg is None and e.co2_by_site == ()
    assert any("No TDP GPU has no TDP" in note for note in e.notes)
    assert e.cost_usd is not None and e.time_s.point > 0
    assert rankings([e])["lowest_co2"] == []
