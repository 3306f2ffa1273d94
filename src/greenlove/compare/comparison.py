"""The compare stage wired together: local cost and CO2, and every cloud offer, as report data.

``build_comparison`` turns the time and energy predictions, the resolved site, the local device
and the workload profile into a :class:`Comparison`: the report's ``cost_usd``/``co2_kg``, its
``clouds`` (the offers) and its ``comparison`` section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..data.tables import (
    load_carbon,
    load_equivalences,
    load_gpus,
    load_offers,
    load_provider_sites,
    load_pue,
    load_throughput,
)
from ..measure.local_device import LocalDevice
from ..measure.workload_profile import WorkloadProfile
from ..model import Interval
from .assumptions import cloud_assumptions
from .costs import co2_kg, cost_usd, equivalences
from .offers import (
    CloudEstimate,
    LocalRun,
    compare_clouds,
    rankings,
)
from .options import CloudOptions
from .site import ResolvedSite


@dataclass(frozen=True)
class Comparison:
    """The compare stage's result: the local run's cost and CO2, and (with the cloud comparison
    on) the local device, the profiled workload, every offer and the rankings, in JSON form."""

    cost_usd: Interval | None                  # local electricity cost (None: no energy or price)
    co2_kg: Interval | None                    # local emissions, location-based
    assumptions: dict[str, dict[str, Any]]
    warnings: tuple[str, ...]
    equivalences: tuple[dict[str, Any], ...] | None = None   # None: no local CO2 figure
    offers: tuple[dict[str, Any], ...] = ()    # the report's "clouds": one entry per offer
    local: dict[str, Any] | None = None        # the local device and run
    workload: dict[str, Any] | None = None     # the profiled training step
    rankings: dict[str, Any] | None = None

    @property
    def section(self) -> dict[str, Any]:
        """The report's "comparison" section: everything but the offers (absent parts left out)."""
        section: dict[str, Any] = {}
        if self.equivalences is not None:
            section["equivalences"] = list(self.equivalences)
        if self.local is not None:
            section.update(local=self.local, workload=self.workload, rankings=self.rankings)
        return section


def _interval(value: Interval | None) -> dict[str, float] | None:
    if value is None or not math.isfinite(value.point):
        return None
    return value.to_dict()


def _device_dict(device: LocalDevice) -> dict[str, Any]:
    return {"name": device.name, "kind": device.kind, "method": device.method,
            "op_overhead_s": device.op_overhead_s,
            "spec": device.spec.name if device.spec else None,
            "achieved_tflops": device.achieved_tflops,
            "achieved_bandwidth_gbs": device.achieved_bandwidth_gbs, "source": device.source}


def _estimate_dict(e: CloudEstimate, local: LocalRun) -> dict[str, Any]:
    return {
        "provider": e.provider, "gpu": e.gpu, "gpus": e.gpus, "region": e.region,
        "speedup": e.speedup, "speedup_method": e.speedup_method,
        "speedup_interval": {"low": e.speedup_low, "high": e.speedup_high,
                             "confidence": e.speedups[0].confidence, "method": e.speedup_interval},
        "speedups": [{"value": s.value, "method": s.method, "detail": s.detail, "source": s.source,
                      "low": s.low, "high": s.high, "interval": s.interval}
                     for s in e.speedups],
        "time_s": _interval(e.time_s), "gpu_hours": e.gpu_hours,
        "cost_usd": _interval(e.cost_usd), "cost_spot_usd": _interval(e.cost_spot_usd),
        "energy_kwh": _interval(e.energy_kwh), "energy_method": e.energy_method,
        "pue": e.pue, "pue_source": e.pue_source,
        "co2_kg": _interval(e.co2_kg), "co2_method": e.co2_method,
        "co2_by_site_kg": dict(e.co2_by_site),
        "co2_claimed_kg": e.co2_claimed_kg, "co2_claim": e.co2_claim,
        "price_source": e.price_source, "as_of": e.as_of, "notes": list(e.notes),
        "saving_vs_local": e.saving(local),
    }


def build_comparison(*, time_s: Interval, energy_kwh: Interval | None, site: ResolvedSite,
                     device: LocalDevice | None, profile: WorkloadProfile | None,
                     gpu_power_w: float | None, options: CloudOptions | None,
                     step_s: float | None = None, local_devices: int = 1) -> Comparison:
    warnings = list(site.warnings)
    local_cost = cost_usd(energy_kwh, site) if energy_kwh is not None else None
    local_co2 = co2_kg(energy_kwh, site.g_co2_per_kwh, site.pue) if energy_kwh is not None else None
    assumptions = {f"site_{k}": v for k, v in site.assumptions().items()}
    equivalent: tuple[dict[str, Any], ...] | None = None
    if local_co2 is not None:
        equivalent = tuple(
            {"name": name, "amount": amount, "unit": unit, "source": source}
            for name, amount, unit, source in equivalences(local_co2, load_equivalences()))
    if options is None or device is None:
        return Comparison(local_cost, local_co2, assumptions, tuple(warnings), equivalent)
    specs = load_gpus(options.gpus_table)
    offers = load_offers(options.offers)
    local = LocalRun(device=device, time_s=time_s, energy_kwh=energy_kwh, cost_usd=local_cost,
                     co2_kg=local_co2, gpu_power_w=gpu_power_w, step_s=step_s,
                     devices=local_devices)
    estimates = compare_clouds(
        local, offers, specs, gpus=options.gpus or 1, profile=profile,
        ratios=load_throughput(options.throughput), carbon=load_carbon(), pue_table=load_pue(),
        sites=load_provider_sites(), user_speedups=options.speedups, providers=options.providers,
    )
    names = {s.name for s in specs}
    unknown = sorted(set(options.speedups) - names)
    if unknown:
        warnings.append(f"clouds.speedups names GPUs that are not in the spec table, so they were not "
                        f"used: {', '.join(unknown)} (`greenlove gpus` lists the names).")
    if options.providers is not None:
        known = {o.provider for o in offers}
        missing = sorted(set(options.providers) - known)
        if missing:
            warnings.append(f"clouds.providers names providers with no offer in the table: "
                            f"{', '.join(missing)} (`greenlove clouds` lists them).")
    if device.method == "measured-cpu-standin":
        warnings.append(
            "This run is on a CPU: the speed-ups to cloud GPUs compare the step measured here with "
            "each GPU's specification plus the host's per-op dispatch time (this CPU: "
            f"{device.achieved_tflops or 0:.3g} TFLOPS matmul, {device.achieved_bandwidth_gbs or 0:.3g} "
            "GB/s copy); expect them to be rough (data loading does not speed up with the GPU)."
        )
    if device.method == "unknown-gpu":
        warnings.append(f"{device.name} is not in greenlove's GPU table: {device.source}.")
    local_section = {"device": _device_dict(device), "time_s": _interval(time_s),
                     "energy_kwh": _interval(energy_kwh), "cost_usd": _interval(local_cost),
                     "co2_kg": _interval(local_co2)}
    workload = None if profile is None else {
        "flops_per_step": profile.flops_per_step, "bytes_per_step": profile.bytes_per_step,
        "precision": profile.precision, "family": profile.family,
        "family_source": profile.family_source, "bytes_detail": profile.bytes_detail,
        "ops_per_step": profile.ops_per_step}
    assumptions.update(cloud_assumptions())
    return Comparison(local_cost, local_co2, assumptions, tuple(warnings), equivalent,
                      offers=tuple(_estimate_dict(e, local) for e in estimates), local=local_section,
                      workload=workload, rankings=rankings(estimates))
