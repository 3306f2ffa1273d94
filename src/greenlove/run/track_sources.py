"""A tracked run's energy and prices: the power sampler over the whole run, and the site's
price and carbon intensity that turn its kWh into USD and kg CO2e."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..compare.site import Site, resolve_site
from ..measure.devices.discover import meters_for
from ..measure.energy_options import EnergyOptions
from ..measure.power_sampler import DeviceTrace, PowerSampler
from ..measure.timing import Clock

POWER_BLOCKS = 10
"""The run so far is cut into this many equal time blocks for the power's spread."""


class MeteredRun:
    """``energy`` None: no energy is metered (the forecast has time only)."""

    def __init__(self, energy: EnergyOptions | None, site: Site | None, clock: Clock, *,
                 report_assumptions: Mapping[str, Any] | None = None) -> None:
        self._options, self._site, self._clock = energy, site, clock
        self._report_assumptions = report_assumptions or {}
        self._sampler: PowerSampler | None = None
        self._traces: tuple[DeviceTrace, ...] = ()
        self.notes: tuple[str, ...] = ()           # fallbacks and site guesses, in words
        self.assumptions: dict[str, dict[str, Any]] = {}
        self.usd_per_kwh: float | None = None
        self.kg_co2_per_kwh: float | None = None

    def start(self) -> None:
        """Discover the meters, start the sampler, and settle the site's figures (the sampler
        shares the run's clock: windows are read against it)."""
        self._settle_site()
        if self._options is None:
            return
        found = meters_for(self._options.meters)
        self.notes = (*self.notes, *found.fallbacks)
        if found.meters:
            self._sampler = PowerSampler(found.meters, interval_s=self._options.interval_s,
                                         clock=self._clock).start()

    def _settle_site(self) -> None:
        given = {k[len("site_"):]: v for k, v in self._report_assumptions.items()
                 if k.startswith("site_") and isinstance(v, Mapping)}
        if self._site is None and "carbon_intensity" in given and "pue" in given:
            # The pre-flight's figures, so that predicted and actual use the same ones.
            self.assumptions = {f"site_{k}": dict(v) for k, v in given.items()}
            price = given.get("electricity_price", {}).get("value")
            self.usd_per_kwh = None if price is None else float(price)
            self.kg_co2_per_kwh = (float(given["carbon_intensity"]["value"])
                                   * float(given["pue"]["value"]) / 1000.0)
            return
        resolved = resolve_site(self._site)
        self.assumptions = {f"site_{k}": v for k, v in resolved.assumptions().items()}
        self.usd_per_kwh = resolved.usd_per_kwh
        self.kg_co2_per_kwh = resolved.g_co2_per_kwh * resolved.pue / 1000.0
        self.notes = (*self.notes, *resolved.warnings)

    def stop(self) -> None:
        """Stop the sampler and keep its traces (idempotent)."""
        if self._sampler is not None:
            self._sampler.stop()
            self._traces = self._sampler.traces()
            self._sampler = None

    def sample_now(self) -> None:
        """Read every meter once on this thread (runs without a background thread: tests)."""
        if self._sampler is not None:
            self._sampler.sample_once()

    def traces(self) -> tuple[DeviceTrace, ...]:
        return self._sampler.traces() if self._sampler is not None else self._traces

    def energy_so_far(self, start_s: float, now_s: float) -> tuple[float | None, list[float]]:
        """(joules from ``start_s`` to ``now_s`` over every meter, or None when none is read;
        the mean power (W) in POWER_BLOCKS equal time blocks of that window)."""
        traces = [t for t in self.traces() if len(t.times_s) >= 2]
        if not traces:
            return None, []
        end = min(now_s, min(t.times_s[-1] for t in traces))
        begin = max(start_s, max(t.times_s[0] for t in traces))
        if end <= begin:
            return (0.0 if self._options is not None else None), []
        edges = np.linspace(begin, end, POWER_BLOCKS + 1)
        energy = np.zeros_like(edges)
        for trace in traces:
            energy += np.interp(edges, trace.times_s, trace.energy_j)
        power = [float(p) for p in np.diff(energy) / np.diff(edges) if math.isfinite(p)]
        joules = float(energy[-1] - energy[0])
        # The part of the window before the first reading or after the last one: at mean power.
        covered = end - begin
        window = now_s - start_s
        if covered > 0 and window > covered:
            joules *= window / covered
        return joules, power
