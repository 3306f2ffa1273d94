"""The compare stage: every cloud offer against the local run, and its wiring into estimate().

compare_offer / compare_clouds / rankings / build_comparison run on hand-made GpuSpec, CloudOffer,
CarbonIntensity, Pue and ProviderSite rows (or small CSV files written to tmp_path) and every
expected number is worked out by hand below. The estimate() tests run on the FakeClock with a
described local device, so nothing here measures this machine.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, fields, replace

import pytest
import torch
from torch import nn

import greenlove
from greenlove.compare.comparison import CloudOptions, build_comparison
from greenlove.compare.offers import (
    DEFAULT_PUE_PROVIDER,
    GPU_LOAD_FRACTION,
    HOST_SHARE,
    SCALING_EFFICIENCY,
    LocalRun,
    compare_clouds,
    compare_offer,
    rankings,
)
from greenlove.compare.site import Site, SiteError, resolve_site
from greenlove.data.tables import (
    CarbonIntensity,
    CloudOffer,
    GpuSpec,
    ProviderSite,
    Pue,
    ThroughputRatio,
    load_carbon,
    load_prices,
    load_provider_sites,
    load_pue,
)
from greenlove.measure.local_device import LocalDevice
from greenlove.measure.workload_profile import WorkloadProfile
from greenlove.model import Interval
from tests.fakes.training import (
    SimulatedEpoch,
    fake_clouds,
    fake_energy,
    fake_instruments,
    make_loader,
    make_model,
)
from tests.fakes.training import estimate_on_fake_clock as _estimate

METHODS = {"user-measured", "published-ratio", "roofline", "tflops-bandwidth-baseline"}


# --- hand-made rows ---------------------------------------------------------------------------

def spec(name: str, *, fp32: float | None = 10.0, bw: float | None = 500.0,
         tdp: float | None = 250.0) -> GpuSpec:
    return GpuSpec(name=name, vendor="V", architecture="arch", segment="datacenter", memory_gb=80,
                   memory_bandwidth_gbs=bw, fp32_tflops=fp32, tf32_tflops_dense=None,
                   fp16_tflops_dense=None, bf16_tflops_dense=None, tdp_w=tdp, release_year=2024,
                   source=f"test spec {name}", as_of="2026-01-01")


def offer(provider: str, gpu: str, *, price: float | None = 2.0, spot: float | None = None,
          zone: str = "ZZ", region: str = "r1") -> CloudOffer:
    return CloudOffer(provider=provider, gpu=gpu, gpus_per_instance=8, usd_per_gpu_hour=price,
                      usd_per_gpu_hour_spot=spot, region=region, zone=zone,
                      source=f"test price {provider}", as_of="2026-02-02", notes="")


def carbon_row(zone: str, g: float) -> CarbonIntensity:
    return CarbonIntensity(zone=zone, name=f"zone {zone}", g_co2_per_kwh=g, year=2023, source="test grid")


def provider_site(provider: str, zone: str, claimed: float | None) -> ProviderSite:
    return ProviderSite(provider=provider, region=f"{zone.lower()}-1", location=f"site in {zone}",
                        zone=zone, claim=f"{provider}: 100% renewable (market-based)",
                        claimed_g_co2_per_kwh=claimed, source="test claim", as_of="2026-03-03")


# Local: 10 TFLOPS fp32, 500 GB/s, 250 W. Target: 80 TFLOPS, 2000 GB/s, 700 W.
LOCAL_SPEC = spec("Local GPU", fp32=10.0, bw=500.0, tdp=250.0)
TARGET = spec("Target GPU", fp32=80.0, bw=2000.0, tdp=700.0)
LOCAL_GPU = LocalDevice(name="Local GPU", kind="gpu", spec=LOCAL_SPEC, achieved_tflops=None,
                        achieved_bandwidth_gbs=None, method="spec-table", source="spec row 'Local GPU'")
CPU = LocalDevice(name="CPU: test", kind="cpu", spec=None, achieved_tflops=0.5,
                  achieved_bandwidth_gbs=20.0, method="measured-cpu-standin", source="test")
# Published: the target trains 5.0x as fast as the local GPU (the table's baseline) on a conv task.
RATIOS = (ThroughputRatio(task="resnet50", family="conv", precision="fp32", gpu="Target GPU",
                          baseline_gpu="Local GPU", relative_throughput=5.0, source="test table",
                          as_of="2022-01-01"),)
# 1e12 FLOP and 1e9 B per step: compute-bound on both, so roofline = 80 / 10 = 8.0.
PROFILE = WorkloadProfile(flops_per_step=1e12, bytes_per_step=1e9, precision="fp32", family="conv",
                          family_source="given")
CARBON = {r.zone: r for r in (carbon_row("ZZ", 400.0), carbon_row("LO", 100.0), carbon_row("HI", 500.0),
                              carbon_row("WORLD", 480.0))}
PUE_TABLE = {
    "Prov": Pue(provider="Prov", pue=1.2, year=2024, source="Prov report"),
    "NoPue": Pue(provider="NoPue", pue=None, year=None, source="none published"),
    DEFAULT_PUE_PROVIDER: Pue(provider=DEFAULT_PUE_PROVIDER, pue=1.5, year=2024, source="survey 2024"),
}
SITES = (provider_site("Claimer", "LO", 0.0), provider_site("Claimer", "HI", 0.0))
LOCAL_TIME = Interval(3600.0, 3000.0, 4200.0, 0.95)

# Speed-ups of TARGET over LOCAL_SPEC, by hand:
USER = 4.0
PUBLISHED = 5.0
ROOFLINE = 80.0 / 10.0                          # compute-bound on both; the 0.8 fraction cancels
BASELINE = 0.7 * (80.0 / 10.0) + 0.3 * (2000.0 / 500.0)   # 5.6 + 1.2 = 6.8


def local_run(device: LocalDevice = LOCAL_GPU, *, gpu_power_w: float | None = None) -> LocalRun:
    return LocalRun(device=device, time_s=LOCAL_TIME, energy_kwh=None, cost_usd=None, co2_kg=None,
                    gpu_power_w=gpu_power_w)


def run_offer(o: CloudOffer, target: GpuSpec = TARGET, *, local: LocalRun | None = None, gpus: int = 1,
              profile: WorkloadProfile | None = PROFILE, ratios=RATIOS, user_speedup: float | None = USER,
              pue_table=None, sites=SITES):
    return compare_offer(o, target, local or local_run(), gpus=gpus, profile=profile, ratios=ratios,
                         carbon=CARBON, pue_table=PUE_TABLE if pue_table is None else pue_table,
                         sites=sites, user_speedup=user_speedup)


def approx_interval(value: Interval | None, point: float, low: float, high: float,
                    confidence: float = 0.95) -> None:
    assert value is not None
    assert (value.point, value.low, value.high) == pytest.approx((point, low, high), rel=1e-9)
    assert value.confidence == confidence


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


# --- CSV files for build_comparison ---------------------------------------------------------------

def _write_csv(path, cls, rows) -> str:
    names = [f.name for f in fields(cls)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            values = asdict(row)
            writer.writerow(["" if values[n] is None else values[n] for n in names])
    return str(path)


@pytest.fixture
def tables(tmp_path) -> dict[str, str]:
    """Offers for real providers and zones (shipped carbon, PUE and sites), on hand-made GPUs."""
    offers = (offer("Crusoe Cloud", "Target GPU", price=3.0, zone=""),
              offer("AWS", "Target GPU", price=2.0, spot=1.0, zone="DE"),
              offer("AWS", "No TDP GPU", price=1.0, zone="DE"),
              offer("AWS", "Mystery GPU", price=1.0, zone="DE"))
    specs = (LOCAL_SPEC, TARGET, spec("No TDP GPU", fp32=100.0, bw=1000.0, tdp=None))
    return {
        "offers": _write_csv(tmp_path / "offers.csv", CloudOffer, offers),
        "gpus_table": _write_csv(tmp_path / "gpus.csv", GpuSpec, specs),
        "throughput": _write_csv(tmp_path / "throughput.csv", ThroughputRatio, RATIOS),
    }


SITE = Site(zone="DE", usd_per_kwh=0.3, pue=1.2, g_co2_per_kwh=300.0)
ENERGY = Interval(2.0, 1.5, 2.5, 0.95)


def _build(tables, *, options=True, device=LOCAL_GPU, profile=PROFILE, **kwargs):
    opts = CloudOptions(device=device, **tables, **kwargs) if options else None
    return build_comparison(time_s=LOCAL_TIME, energy_kwh=ENERGY, site=resolve_site(SITE),
                            device=device, profile=profile, gpu_power_w=None, options=opts)


# --- 4. build_comparison -----------------------------------------------------------------------

def test_local_cost_and_co2_from_a_fully_given_site(tables) -> None:
    comparison = _build(tables)
    # 2.0 kWh (1.5-2.5) x 0.3 USD/kWh; CO2: 2.0 kWh x PUE 1.2 x 300 g/kWh = 0.72 kg.
    approx_interval(comparison.cost_usd, 0.6, 0.45, 0.75)
    approx_interval(comparison.co2_kg, 0.72, 0.54, 0.9)
    local = comparison.section["local"]
    assert local["cost_usd"]["point"] == pytest.approx(0.6)
    assert local["co2_kg"]["point"] == pytest.approx(0.72)
    assert local["device"]["name"] == "Local GPU" and local["device"]["spec"] == "Local GPU"
    assert comparison.section["workload"]["flops_per_step"] == 1e12
    for name in ("site_zone", "site_electricity_price", "site_pue", "site_carbon_intensity",
                 "cloud_gpu_load_fraction", "cloud_host_share"):
        assert name in comparison.assumptions, name
    assert comparison.assumptions["site_pue"]["value"] == 1.2
    assert comparison.assumptions["site_electricity_price"]["value"] == 0.3
    assert comparison.assumptions["site_carbon_intensity"]["value"] == 300.0
    for name, entry in comparison.assumptions.items():
        assert isinstance(entry.get("source"), str) and entry["source"].strip(), name
    assert any(name.startswith("site_") for name in comparison.assumptions)
    assert any(name.startswith("cloud_") for name in comparison.assumptions)
    assert comparison.section["equivalences"]


def test_offers_follow_the_json_contract_and_every_speedup_has_a_method(tables) -> None:
    comparison = _build(tables, speedups={"Target GPU": USER})
    offers = comparison.offers
    assert [(o["provider"], o["gpu"]) for o in offers] == [("Crusoe Cloud", "Target GPU"),
                                                            ("AWS", "Target GPU"), ("AWS", "No TDP GPU")]
    for o in offers:
        assert {"provider", "gpu", "time_s", "cost_usd", "co2_kg", "speedup", "speedup_method"} <= set(o)
        assert o["speedup_method"] in METHODS
        assert o["speedups"] and all(s["method"] in METHODS and s["source"] for s in o["speedups"])
        assert o["speedups"][0]["method"] == o["speedup_method"]
    json.dumps({**comparison.section, "clouds": list(comparison.offers)},
               allow_nan=False)   # plain JSON, no NaN anywhere

    aws = offers[1]
    assert aws["speedup_method"] == "user-measured" and aws["speedup"] == USER
    assert aws["time_s"] == {"point": 900.0, "low": pytest.approx(375.0), "high": pytest.approx(1050.0),
                             "confidence": 0.95}
    assert aws["cost_usd"]["point"] == pytest.approx(0.5)
    assert aws["cost_spot_usd"]["point"] == pytest.approx(0.25)
    de = {r.zone: r for r in load_carbon()}["DE"].g_co2_per_kwh
    aws_pue = {p.provider: p for p in load_pue()}["AWS"].pue
    energy = 0.25 * 700 * GPU_LOAD_FRACTION * (1 + HOST_SHARE) * aws_pue / 1000
    assert aws["pue"] == aws_pue and aws["energy_kwh"]["point"] == pytest.approx(energy)
    assert aws["co2_kg"]["point"] == pytest.approx(energy * de / 1000)
    assert aws["co2_claimed_kg"] is None
    # Local 0.6 USD and 0.72 kg minus the cloud's; local 3600 s minus 900 s.
    assert aws["saving_vs_local"] == pytest.approx({"time_s": 2700.0, "cost_usd": 0.6 - 0.5,
                                                    "co2_kg": 0.72 - energy * de / 1000})

    crusoe = offers[0]
    carbon = {r.zone: r.g_co2_per_kwh for r in load_carbon()}
    zones = {s.zone for s in load_provider_sites() if s.provider == "Crusoe Cloud" and s.zone in carbon}
    assert len(zones) >= 2 and set(crusoe["co2_by_site_kg"]) == zones
    assert crusoe["co2_kg"]["point"] == pytest.approx(max(crusoe["co2_by_site_kg"].values()))
    assert crusoe["co2_claimed_kg"] == 0.0 and "Crusoe Cloud claims" in crusoe["co2_claim"]
    assert "industry average" in crusoe["pue_source"]

    no_tdp = offers[2]
    assert no_tdp["energy_kwh"] is None and no_tdp["co2_kg"] is None
    assert no_tdp["cost_usd"]["point"] > 0
    assert any("no TDP" in note for note in no_tdp["notes"])
    assert no_tdp["saving_vs_local"]["co2_kg"] is None
    # Crusoe's worst site (US-TX) x the industry-average PUE is above DE x AWS's PUE; the no-TDP
    # offer has no CO2 and is left out.
    assert crusoe["co2_kg"]["point"] > aws["co2_kg"]["point"]
    # No TDP GPU: roofline 100 / 10 = 10x -> 360 s at 1.0 USD/GPU-h = 0.1 USD; AWS 0.5; Crusoe 0.75.
    assert no_tdp["speedup_method"] == "roofline" and no_tdp["time_s"]["point"] == pytest.approx(360.0)
    assert comparison.section["rankings"] == {"fastest": [2, 0, 1], "cheapest": [2, 1, 0],
                                              "lowest_co2": [1, 0]}


def test_no_options_or_no_device_gives_no_offers_but_keeps_local_cost_and_co2(tables) -> None:
    for comparison in (_build(tables, options=False), _build(tables, device=None)):
        assert not comparison.offers and "rankings" not in comparison.section
        approx_interval(comparison.cost_usd, 0.6, 0.45, 0.75)
        approx_interval(comparison.co2_kg, 0.72, 0.54, 0.9)
        assert not any(name.startswith("cloud_") for name in comparison.assumptions)
        assert "site_zone" in comparison.assumptions


def test_cpu_standin_is_warned_about(tables) -> None:
    comparison = _build(tables, device=CPU, profile=None)
    assert any("This run is on a CPU" in w for w in comparison.warnings)
    assert all(o["speedup_method"] == "tflops-bandwidth-baseline" for o in comparison.offers)
    assert comparison.section["workload"] is None


# --- 5. through greenlove.estimate -------------------------------------------------------------------

def test_estimate_with_a_site_prices_the_run_and_lists_the_clouds(clock, tmp_path) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01, noise_rel=0.02, seed=1)
    report = _estimate(clock, epoch, make_loader(), budget_s=8.0, site=greenlove.Site(zone="DE"))
    pred = report.prediction
    energy = pred.energy.energy_kwh
    de_g = {r.zone: r for r in load_carbon()}["DE"].g_co2_per_kwh
    de_usd = {r.zone: r for r in load_prices()}["DE"].usd_per_kwh
    for value in (pred.cost_usd, pred.co2_kg):
        assert value is not None and value.low <= value.point <= value.high
    # Local PUE 1.0 (the "local" row), DE grid from the shipped table.
    approx_interval(pred.co2_kg, energy.point * 1.0 * de_g / 1000, energy.low * de_g / 1000,
                    energy.high * de_g / 1000, energy.confidence)
    approx_interval(pred.cost_usd, energy.point * de_usd, energy.low * de_usd, energy.high * de_usd,
                    energy.confidence)
    assert report.assumptions["site_zone"]["value"] == "DE"
    assert report.assumptions["site_pue"]["value"] == 1.0

    data = report.to_dict()
    clouds = data["clouds"]
    assert isinstance(clouds, list) and clouds
    assert clouds[0]["provider"] == "Crusoe Cloud"
    assert all(entry.get("speedup_method") in METHODS for entry in clouds)
    assert data["comparison"]["local"]["device"]["name"] == "CPU: fake"
    # No model in restore=: no profiled step, said so.
    assert data["comparison"]["workload"] is None
    assert any("No torch.nn.Module in restore" in w for w in report.warnings)

    assert greenlove.load(report.save(tmp_path / "report.json")) == report
    assert "Crusoe Cloud" in str(report)


def _real_epoch(clock, model, optimizer, after_loop=lambda: None, stop_after_step=lambda: False):
    """train_epoch that really trains, costs 10 ms a batch + 100 ms on the fake clock, and runs
    ``after_loop`` after its loop; it leaves the loop when ``stop_after_step()`` is true."""
    def train_epoch(loader) -> None:
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            clock.advance(0.01)
            if stop_after_step():
                break
        after_loop()
        clock.advance(0.1)

    return train_epoch


def test_estimate_profiles_one_real_step_and_restores_the_model(clock) -> None:
    model, optimizer = make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    after_each_call: list[dict[str, torch.Tensor]] = []
    train_epoch = _real_epoch(clock, model, optimizer, after_loop=lambda: after_each_call.append(
        {k: v.clone() for k, v in model.state_dict().items()}))

    report = _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                       restore=(model, optimizer))
    workload = report.comparison["workload"]
    assert workload is not None and workload["flops_per_step"] > 0
    assert workload["precision"] == "fp32" and workload["family"] == "other"
    # The first step of the first timed epoch was profiled: no epoch of its own.
    assert [r.profiled for r in report.benchmark.epochs][:2] == [True, False]
    assert sum(r.profiled for r in report.benchmark.epochs) == 1
    assert "profiled step" not in report.benchmark.extras_s
    assert len(after_each_call) == len(report.benchmark.epochs)
    # The profile lets the roofline in beside the baseline.
    assert any(s["method"] == "roofline" for o in report.clouds for s in o["speedups"])
    # The profiled epoch did train the model ...
    assert any(not torch.equal(after_each_call[0][k], before[k]) for k in before)
    # ... yet every parameter is back, and the optimizer holds no state from the benchmark.
    after = model.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert optimizer.state_dict()["state"] == {}


@pytest.mark.parametrize("how", ["raises", "breaks"])
def test_a_first_step_that_raises_or_breaks_leaves_no_profiler_behind(clock, how) -> None:
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

    model, optimizer = make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def stop_after_step() -> bool:
        if how == "raises":
            raise RuntimeError("boom")
        return True

    train_epoch = _real_epoch(clock, model, optimizer, stop_after_step=stop_after_step)
    if how == "raises":
        with pytest.raises(RuntimeError, match="boom"):
            _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                      restore=(model, optimizer))
    else:
        report = _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                           restore=(model, optimizer))
        assert report.comparison["workload"]["flops_per_step"] > 0
    assert _get_current_dispatch_mode_stack() == []      # FLOP and op counters left
    assert all(not m._forward_hooks for m in model.modules())
    assert all(torch.equal(model.state_dict()[k], before[k]) for k in before)


def test_only_the_step_is_profiled_not_the_work_after_the_loop(clock) -> None:
    """A validation-like matmul after the loop must not count as FLOPs of the training step."""
    model, optimizer = make_model()   # Linear(1, 4) -> ReLU -> Linear(4, 3), batches of 10
    big = torch.ones(64, 64)
    # 2 x 64^3 FLOP after the loop: far more than the step
    train_epoch = _real_epoch(clock, model, optimizer, after_loop=lambda: big @ big)

    report = _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                       restore=(model, optimizer))
    flops = report.comparison["workload"]["flops_per_step"]
    # forward 2*b*(1*4 + 4*3) and backward twice that (the first layer's input needs no grad:
    # FlopCounterMode counts what autograd runs), b = 10
    assert 0 < flops < 2 * 64**3
    forward = 2 * 10 * (1 * 4 + 4 * 3)
    assert forward <= flops <= 3 * forward

# --- 6. bad input names the argument ------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"gpus": 0}, "clouds.gpus must be an int >= 1"),
    ({"gpus": True}, "clouds.gpus must be an int >= 1"),
    ({"precision": "fp8"}, "clouds.precision must be one of"),
    ({"family": "gan"}, "clouds.family must be one of"),
    ({"speedups": {"H100 SXM": -1}}, r"clouds.speedups\['H100 SXM'\] must be a number > 0"),
    ({"speedups": {"H100 SXM": math.nan}}, r"clouds.speedups\['H100 SXM'\] must be a number > 0"),
])
def test_bad_cloud_options_name_the_argument(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        CloudOptions(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"clouds": "yes"}, "clouds must be"),
    ({"site": "DE"}, "site must be"),
])
def test_bad_clouds_or_site_type_is_refused_before_any_epoch(clock, kwargs, message) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.1, per_batch_s=0.01)
    with pytest.raises(TypeError, match=message):
        _estimate(clock, epoch, make_loader(), budget_s=5.0, **kwargs)
    assert epoch.calls == 0


def test_unknown_zone_is_a_site_error_raised_before_any_epoch(clock) -> None:
    # Site() checks only the zone's form; the tables are consulted by resolve_site, which the
    # Benchmark calls when it is built: an unknown zone fails before the benchmark spends its budget.
    model, optimizer = make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    epoch = SimulatedEpoch(clock, fixed_s=0.1, per_batch_s=0.01)
    with pytest.raises(SiteError, match="site.zone 'Atlantis' is not a known electricity zone"):
        greenlove.Benchmark(make_loader(), epochs=20, budget_s=5.0, progress=False,
                            instruments=fake_instruments(clock), energy=fake_energy(clock),
                            clouds=fake_clouds(), site=Site(zone="Atlantis"), restore=(model, optimizer))
    # estimate() surfaces the same error before calling train_epoch; it is a greenlove error.
    with pytest.raises(greenlove.GreenloveError, match="'Atlantis'"):
        _estimate(clock, epoch, make_loader(), budget_s=5.0, site=Site(zone="Atlantis"),
                  restore=(model, optimizer))
    assert epoch.calls == 0
    assert all(torch.equal(model.state_dict()[k], before[k]) for k in before)
    # "Atlantis" resembles no zone, so no list; a near miss lists the close matches.
    with pytest.raises(SiteError, match=r"closest: .*\bDE\b"):
        _estimate(clock, epoch, make_loader(), budget_s=5.0, site=Site(zone="DEU"))
    assert epoch.calls == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"pue": 0.9}, "site.pue must be >= 1"),
    ({"usd_per_kwh": 0}, "site.usd_per_kwh must be > 0"),
])
def test_bad_site_numbers_name_the_argument(kwargs, message) -> None:
    with pytest.raises(SiteError, match=message):
        Site(**kwargs)
