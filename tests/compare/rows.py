"""Hand-made GpuSpec, CloudOffer, CarbonIntensity, Pue and ProviderSite rows, a local GPU and a
target GPU whose speed-ups are worked out by hand, and an interval check, for the compare tests."""


from __future__ import annotations

import pytest

from greenlove.compare.offers import (
    DEFAULT_PUE_PROVIDER,
    LocalRun,
    compare_offer,
)
from greenlove.data.tables import (
    CarbonIntensity,
    CloudOffer,
    GpuSpec,
    ProviderSite,
    Pue,
    ThroughputRatio,
)
from greenlove.measure.local_device import LocalDevice
from greenlove.measure.workload_profile import WorkloadProfile
from greenlove.model import Interval

METHODS = {"user-measured", "fitted-model", "published-ratio", "roofline", "tflops-bandwidth-baseline"}


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
