"""The compare stage wired together: local cost and CO2, and every cloud offer, as report data.

``CloudOptions`` is what the user passes as ``clouds=``; ``build_comparison`` turns the time and
energy predictions, the resolved site, the local device and the workload profile into the
report's ``cost_usd``/``co2_kg`` and its JSON-ready ``clouds`` section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..data.tables import load_carbon, load_equivalences, load_gpus, load_offers, load_pue, load_throughput
from ..measure.local_device import LocalDevice
from ..measure.workload_profile import FAMILIES, PRECISIONS, WorkloadProfile
from ..model.time import Interval
from ..run.options import check_switch
from .costs import co2_kg, cost_usd, equivalences
from .offers import (
    GPU_LOAD_FRACTION,
    GPU_LOAD_SOURCE,
    HOST_SHARE,
    HOST_SHARE_SOURCE,
    SCALING_EFFICIENCY,
    SCALING_SOURCE,
    CloudEstimate,
    LocalRun,
    compare_clouds,
    load_provider_sites,
    rankings,
)
from .site import ResolvedSite
from .speedup import (
    ACHIEVABLE_BANDWIDTH_FRACTION,
    ACHIEVABLE_COMPUTE_FRACTION,
    BASELINE_BANDWIDTH_WEIGHT,
    BASELINE_TFLOPS_WEIGHT,
)


@dataclass(frozen=True)
class CloudOptions:
    """``estimate(..., clouds=CloudOptions(gpus=8, speedups={"H100 SXM": 9.5}))``.

    ``providers``: only these (default: every provider in the table, Crusoe first).
    ``gpus``: GPUs per instance to price (default 1; more with a stated scaling assumption).
    ``speedups``: speed-ups of ONE such GPU over your device that you measured, by GPU spec name
    (`greenlove gpus` lists the names; method "user-measured"); ``gpus`` > 1 scales them too.
    ``precision``/``family``: override what is detected from the model.
    ``offers``/``gpus_table``/``throughput``: your own CSV files instead of the shipped tables.
    ``device``: describe the local device yourself (skips its identification and, on a CPU, the
    1 s measurement that stands in for a spec).
    """

    providers: Sequence[str] | None = None
    gpus: int = 1
    speedups: Mapping[str, float] = field(default_factory=dict)
    precision: str | None = None
    family: str | None = None
    offers: str | None = None
    gpus_table: str | None = None
    throughput: str | None = None
    device: LocalDevice | None = None

    def __post_init__(self) -> None:
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 1:
            raise ValueError(f"clouds.gpus must be an int >= 1, got {self.gpus!r}")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(f"clouds.precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.family is not None and self.family not in FAMILIES:
            raise ValueError(f"clouds.family must be one of {FAMILIES}, got {self.family!r}")
        for name, value in dict(self.speedups).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError(f"clouds.speedups[{name!r}] must be a number > 0, got {value!r}")
        object.__setattr__(self, "speedups", dict(self.speedups))
        if self.providers is not None:
            object.__setattr__(self, "providers", tuple(self.providers))


def check_clouds(clouds: Any) -> CloudOptions | None:
    """``clouds``: None or True (compare with defaults), False (do not), or CloudOptions."""
    return check_switch(clouds, CloudOptions, "clouds")


@dataclass(frozen=True)
class Comparison:
    cost_usd: Interval | None
    co2_kg: Interval | None
    section: dict[str, Any]              # the JSON "clouds" section (offers, local, rankings)
    assumptions: dict[str, dict[str, Any]]
    warnings: tuple[str, ...]


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
        "speedups": [{"value": s.value, "method": s.method, "detail": s.detail, "source": s.source}
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
                     step_s: float | None = None) -> Comparison:
    warnings = list(site.warnings)
    local_cost = cost_usd(energy_kwh, site) if energy_kwh is not None else None
    local_co2 = co2_kg(energy_kwh, site.g_co2_per_kwh, site.pue) if energy_kwh is not None else None
    assumptions = {f"site_{k}": v for k, v in site.assumptions().items()}
    section: dict[str, Any] = {}
    if local_co2 is not None:
        section["equivalences"] = [
            {"name": name, "amount": amount, "unit": unit, "source": source}
            for name, amount, unit, source in equivalences(local_co2, load_equivalences())
        ]
    if options is None or device is None:
        return Comparison(local_cost, local_co2, section, assumptions, tuple(warnings))
    specs = load_gpus(options.gpus_table)
    offers = load_offers(options.offers)
    local = LocalRun(device=device, time_s=time_s, energy_kwh=energy_kwh, cost_usd=local_cost,
                     co2_kg=local_co2, gpu_power_w=gpu_power_w, step_s=step_s)
    estimates = compare_clouds(
        local, offers, specs, gpus=options.gpus, profile=profile,
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
    section.update({
        "local": {"device": _device_dict(device), "time_s": _interval(time_s),
                  "energy_kwh": _interval(energy_kwh), "cost_usd": _interval(local_cost),
                  "co2_kg": _interval(local_co2)},
        "workload": None if profile is None else {
            "flops_per_step": profile.flops_per_step, "bytes_per_step": profile.bytes_per_step,
            "precision": profile.precision, "family": profile.family,
            "family_source": profile.family_source, "bytes_detail": profile.bytes_detail,
            "ops_per_step": profile.ops_per_step},
        "offers": [_estimate_dict(e, local) for e in estimates],
        "rankings": rankings(estimates),
    })
    assumptions.update({
        "cloud_gpu_load_fraction": {"value": GPU_LOAD_FRACTION, "unit": "fraction of TDP",
                                    "source": GPU_LOAD_SOURCE},
        "cloud_host_share": {"value": HOST_SHARE, "unit": "fraction of GPU power",
                             "source": HOST_SHARE_SOURCE},
        "multi_gpu_scaling_efficiency": {"value": SCALING_EFFICIENCY, "unit": "per extra GPU",
                                         "source": SCALING_SOURCE},
        "roofline_compute_fraction": {"value": ACHIEVABLE_COMPUTE_FRACTION, "unit": "of peak TFLOPS",
                                      "source": "greenlove speedup.py: measured max matmul / dense spec "
                                                "(ml-engineering accelerator table), A100-H100-B200"},
        "roofline_bandwidth_fraction": {"value": ACHIEVABLE_BANDWIDTH_FRACTION,
                                        "unit": "of peak bandwidth", "source": "greenlove assumption"},
        "baseline_speedup_weights": {"value": [BASELINE_TFLOPS_WEIGHT, BASELINE_BANDWIDTH_WEIGHT],
                                     "unit": "TFLOPS ratio, bandwidth ratio",
                                     "source": "the method greenlove started from (DESIGN.md)"},
    })
    return Comparison(local_cost, local_co2, section, assumptions, tuple(warnings))
