"""Compare: the same run on every cloud GPU offer, in time, money, energy and CO2 (pure).

For each offer: time = local predicted time / speed-up. Where the speed-up used has a measured
interval (the fitted model's leave-one-out band), the time interval combines the local time's and
the speed-up's relative half-widths in quadrature (log scale, independent errors); otherwise it
spans every speed-up estimate available but the 0.7/0.3 baseline, labelled as not measured; GPU-hours;
cost on demand and spot; energy = GPU power under load x time x (1 + host share) x the
provider's PUE; CO2 location-based (the data centre's grid) and, separately, as the provider
claims. Every figure names its method and source; constants are module-level with sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..data.tables import CarbonIntensity, CloudOffer, GpuSpec, ProviderSite, Pue, ThroughputRatio
from ..measure.local_device import LocalDevice
from ..measure.workload_profile import WorkloadProfile
from ..model import Interval
from .assumptions import GPU_LOAD_FRACTION, HOST_SHARE, SCALING_EFFICIENCY
from .speedup import Speedup, speedups_for
from .speedup_model import FittedSpeedups, prepare

DEFAULT_PUE_PROVIDER = "industry average"


@dataclass(frozen=True)
class LocalRun:
    """What the run costs here (from the prediction and the site)."""

    device: LocalDevice
    time_s: Interval
    energy_kwh: Interval | None
    cost_usd: Interval | None
    co2_kg: Interval | None
    gpu_power_w: float | None       # measured mean power of the local GPU(s), if any
    step_s: float | None = None     # measured time of one batch here (the time model's slope)
    devices: int = 1                # local devices training in parallel (a distributed job's)


@dataclass(frozen=True)
class CloudEstimate:
    provider: str
    gpu: str
    gpus: int
    region: str
    speedup: float                      # of the instance over the local device
    speedup_method: str
    speedups: tuple[Speedup, ...]       # every estimate, the one used first
    time_s: Interval
    gpu_hours: float
    cost_usd: Interval | None           # on demand; None: no published price
    cost_spot_usd: Interval | None
    energy_kwh: Interval
    energy_method: str
    pue: float
    pue_source: str
    co2_kg: Interval | None             # location-based: the data centre's grid (worst site)
    co2_by_site: tuple[tuple[str, float], ...]   # (site zone, kg) where the region is not fixed
    co2_method: str
    co2_claimed_kg: float | None        # as the provider claims (market-based), None: no claim
    co2_claim: str
    price_source: str
    as_of: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    speedup_low: float | None = None    # interval of the speed-up used (None: none measured)
    speedup_high: float | None = None
    speedup_interval: str = ""          # how that interval was measured, or why there is none

    def saving(self, local: LocalRun) -> dict[str, float | None]:
        """Local minus cloud, point values (positive: the cloud is better)."""
        return {
            "time_s": local.time_s.point - self.time_s.point,
            "cost_usd": (local.cost_usd.point - self.cost_usd.point)
            if local.cost_usd is not None and self.cost_usd is not None else None,
            "co2_kg": (local.co2_kg.point - self.co2_kg.point)
            if local.co2_kg is not None and self.co2_kg is not None else None,
        }


def _interval(point: float, low: float, high: float, confidence: float) -> Interval:
    return Interval(point, min(low, point), max(high, point), confidence)


def _combined(t: Interval, speedup: float, speedup_low: float, speedup_high: float) -> Interval:
    """Local time over the speed-up: relative half-widths (log scale) added in quadrature, each
    side apart (a slower target, high speed-up side, pairs with the local high time)."""
    point = t.point / speedup
    down = math.hypot(math.log(t.point / t.low) if t.low > 0 else math.inf,
                      math.log(speedup_high / speedup))
    up = math.hypot(math.log(t.high / t.point) if t.point > 0 else math.inf,
                    math.log(speedup / speedup_low))
    return _interval(point, point * math.exp(-down), point * math.exp(up), t.confidence)


def _pue_for(provider: str, pue_table: Mapping[str, Pue]) -> tuple[float, str]:
    row = pue_table.get(provider)
    if row is not None and row.pue is not None:
        return row.pue, f"{provider}: {row.source}"
    default = pue_table.get(DEFAULT_PUE_PROVIDER)
    if default is None or default.pue is None:
        return 1.0, "no PUE known: 1.0 assumed"
    why = "no PUE published by the provider" if row is not None else "provider's PUE not in the table"
    return default.pue, f"{why}; industry average used: {default.source}"


def compare_offer(offer: CloudOffer, spec: GpuSpec, local: LocalRun, *, gpus: int,
                  profile: WorkloadProfile | None, ratios: Sequence[ThroughputRatio],
                  carbon: Mapping[str, CarbonIntensity], pue_table: Mapping[str, Pue],
                  sites: Sequence[ProviderSite], user_speedup: float | None = None,
                  fitted: FittedSpeedups | None = None) -> CloudEstimate | None:
    """One offer against the local run; None when no speed-up can be estimated at all."""
    estimates = speedups_for(local.device, spec, profile=profile, ratios=ratios,
                             user_speedup=user_speedup, local_step_s=local.step_s, fitted=fitted)
    if not estimates:
        return None
    # The speed-ups compare one GPU with one local device; a local run already spread over
    # several devices has had its own share of the multi-GPU scaling.
    scale = (1 + SCALING_EFFICIENCY * (gpus - 1)) / (1 + SCALING_EFFICIENCY * (local.devices - 1))
    # The 0.7/0.3 baseline is shown for comparison; it widens the interval only when it is the
    # only estimate (its leave-one-out error is three times the roofline's).
    spanning = [e for e in estimates if e.method != "tflops-bandwidth-baseline"] or list(estimates)
    values = [e.value * scale for e in spanning]
    used = estimates[0]
    chosen = used.value * scale
    t = local.time_s
    if used.low is not None and used.high is not None:
        time_s = _combined(t, chosen, used.low * scale, used.high * scale)
        speedup_interval = used.interval
    else:
        time_s = _interval(t.point / chosen, t.low / max(values), t.high / min(values), t.confidence)
        speedup_interval = ("user's own figure, taken as exact" if used.method == "user-measured"
                            else "no measured interval for this method: the time interval spans "
                                 "the methods' estimates")
    gpu_hours = time_s.point / 3600 * gpus
    hours = time_s.scaled(gpus / 3600)
    cost = hours.scaled(offer.usd_per_gpu_hour) if offer.usd_per_gpu_hour else None
    spot = hours.scaled(offer.usd_per_gpu_hour_spot) if offer.usd_per_gpu_hour_spot else None

    load = GPU_LOAD_FRACTION
    energy_method = f"{GPU_LOAD_FRACTION:.0%} of TDP (assumed)"
    if local.gpu_power_w and local.device.spec is not None and local.device.spec.tdp_w:
        load = min(local.gpu_power_w / local.device.spec.tdp_w, 1.0)
        energy_method = f"{load:.0%} of TDP (the local GPU's measured share)"
    pue, pue_source = _pue_for(offer.provider, pue_table)
    notes: list[str] = []
    if spec.tdp_w is None:
        energy = Interval(float("nan"), float("nan"), float("nan"), t.confidence)
        notes.append(f"{spec.name} has no TDP in the spec table: energy unknown")
    else:
        kw = spec.tdp_w * load * (1 + HOST_SHARE) * pue / 1000
        energy = hours.scaled(kw)
        energy_method += f" x (1 + {HOST_SHARE} host) x PUE {pue:g}"

    zones = [offer.zone] if offer.zone else [s.zone for s in sites if s.provider == offer.provider]
    known = [(z, carbon[z]) for z in zones if z in carbon]
    co2_by_site: tuple[tuple[str, float], ...] = ()
    if known and energy.point == energy.point:
        worst_zone, worst = max(known, key=lambda item: item[1].g_co2_per_kwh)
        co2 = energy.scaled(worst.g_co2_per_kwh / 1000)
        if len(known) > 1:
            co2_by_site = tuple((z, energy.point * row.g_co2_per_kwh / 1000) for z, row in known)
            co2_method = (f"location-based, region not fixed: the highest of {len(known)} sites' grids "
                          f"({worst_zone}, {worst.g_co2_per_kwh:g} g/kWh, {worst.year})")
        else:
            co2_method = f"location-based: {worst_zone} grid, {worst.g_co2_per_kwh:g} g/kWh ({worst.year})"
    elif "WORLD" in carbon and energy.point == energy.point:
        world = carbon["WORLD"]
        co2 = energy.scaled(world.g_co2_per_kwh / 1000)
        co2_method = f"location unknown: world average grid, {world.g_co2_per_kwh:g} g/kWh ({world.year})"
    else:
        co2, co2_method = None, "no carbon intensity known"

    claims = [s for s in sites if s.provider == offer.provider and s.claimed_g_co2_per_kwh is not None
              and (not offer.zone or s.zone == offer.zone)]
    claimed_kg = claim = None
    if claims and energy.point == energy.point:
        site = max(claims, key=lambda s: s.claimed_g_co2_per_kwh)
        g = site.claimed_g_co2_per_kwh
        claimed_kg = energy.point * g / 1000
        claim = (f"as {offer.provider} claims ({g:g} g/kWh, market-based): {site.claim} "
                 f"[{site.source}]")
    return CloudEstimate(
        provider=offer.provider, gpu=spec.name, gpus=gpus, region=offer.region,
        speedup=chosen, speedup_method=estimates[0].method, speedups=estimates,
        time_s=time_s, gpu_hours=gpu_hours, cost_usd=cost, cost_spot_usd=spot,
        energy_kwh=energy, energy_method=energy_method, pue=pue, pue_source=pue_source,
        co2_kg=co2, co2_by_site=co2_by_site, co2_method=co2_method, co2_claimed_kg=claimed_kg,
        co2_claim=claim or "no claim recorded", price_source=offer.source, as_of=offer.as_of,
        notes=tuple(notes), speedup_low=None if used.low is None else used.low * scale,
        speedup_high=None if used.high is None else used.high * scale,
        speedup_interval=speedup_interval,
    )


def compare_clouds(local: LocalRun, offers: Sequence[CloudOffer], specs: Sequence[GpuSpec], *,
                   gpus: int = 1, profile: WorkloadProfile | None,
                   ratios: Sequence[ThroughputRatio], carbon: Sequence[CarbonIntensity],
                   pue_table: Sequence[Pue], sites: Sequence[ProviderSite],
                   user_speedups: Mapping[str, float] | None = None,
                   providers: Sequence[str] | None = None) -> tuple[CloudEstimate, ...]:
    """Every offer with a spec row, in table order (Crusoe first); offers without a speed-up are
    left out."""
    by_name = {s.name: s for s in specs}
    carbon_by_zone = {c.zone: c for c in carbon}
    pue_by_provider = {p.provider: p for p in pue_table}
    fitted = prepare(ratios, specs) if local.device.spec is not None else None
    out = []
    for offer in _one_per_gpu(offers):
        if providers is not None and offer.provider not in providers:
            continue
        spec = by_name.get(offer.gpu)
        if spec is None:
            continue
        estimate = compare_offer(offer, spec, local, gpus=gpus, profile=profile, ratios=ratios,
                                 carbon=carbon_by_zone, pue_table=pue_by_provider, sites=sites,
                                 user_speedup=(user_speedups or {}).get(spec.name), fitted=fitted)
        if estimate is not None:
            out.append(estimate)
    return tuple(out)


def _one_per_gpu(offers: Sequence[CloudOffer]) -> list[CloudOffer]:
    """One offer per provider and GPU (several instance sizes are listed): the lowest price per
    GPU-hour, in the table's order."""
    best: dict[tuple[str, str], CloudOffer] = {}
    for offer in offers:
        key = (offer.provider, offer.gpu)
        current = best.get(key)
        price = offer.usd_per_gpu_hour if offer.usd_per_gpu_hour is not None else float("inf")
        if current is None or price < (current.usd_per_gpu_hour if current.usd_per_gpu_hour
                                       is not None else float("inf")):
            best[key] = offer
    kept = {id(o) for o in best.values()}
    return [o for o in offers if id(o) in kept]


def rankings(estimates: Sequence[CloudEstimate]) -> dict[str, list[int]]:
    """Indices of the estimates ordered fastest, cheapest (on demand) and lowest CO2."""
    def order(key) -> list[int]:
        pairs = [(key(e), i) for i, e in enumerate(estimates) if key(e) is not None]
        return [i for _, i in sorted(pairs)]

    return {
        "fastest": order(lambda e: e.time_s.point),
        "cheapest": order(lambda e: e.cost_usd.point if e.cost_usd else None),
        "lowest_co2": order(lambda e: e.co2_kg.point if e.co2_kg else None),
    }

