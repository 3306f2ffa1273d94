"""Limits on a tracked run (time, energy, money, CO2) and when the forecast says they are crossed.

The rule (README, "Track the real run"): a limit is *expected to be crossed* when the forecast's
point for the whole run is above it; it is *certain to be crossed* when what the run has already
spent reaches it, or when even the low end of the forecast's interval is above it. The first
warns (once per limit); with ``on_limit="stop"`` the second turns ``run.should_stop`` true.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model.forecast import Forecast
from ..model.interval import Interval
from ..render.format import duration, energy, mass, money

ON_LIMIT = ("warn", "stop")


@dataclass(frozen=True)
class Limits:
    """Caps on the whole run: wall seconds, kWh, USD (electricity), kg CO2e. None: no cap."""

    max_s: float | None = None
    max_kwh: float | None = None
    max_usd: float | None = None
    max_co2_kg: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_s", "max_kwh", "max_usd", "max_co2_kg"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Limits({name}=...) must be a number or None, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"Limits({name}=...) must be a finite number > 0, got {value!r}")

    def items(self) -> list[tuple[str, float]]:
        return [(name, float(getattr(self, name)))
                for name in ("max_s", "max_kwh", "max_usd", "max_co2_kg")
                if getattr(self, name) is not None]


def check_on_limit(on_limit: object) -> str:
    if not isinstance(on_limit, str) or on_limit not in ON_LIMIT:
        raise ValueError(f'on_limit must be "warn" or "stop", got {on_limit!r}')
    return on_limit


@dataclass(frozen=True)
class LimitCheck:
    """One limit against the forecast now."""

    name: str
    limit: float
    unit: str
    spent: float | None              # already spent (None: not measured)
    forecast: Interval | None        # the whole run (None: not forecast yet)
    expected: bool                   # the point is above the limit (or spent reached it)
    certain: bool                    # spent reached it, or the low end is above it

    def sentence(self) -> str:
        what = {"max_s": "time", "max_kwh": "energy", "max_usd": "electricity cost",
                "max_co2_kg": "CO2e"}[self.name]
        limit = _amount(self.limit, self.unit)
        if self.spent is not None and self.spent >= self.limit:
            spent = _amount(self.spent, self.unit)
            return f"The run's {what} has reached its limit of {limit} ({spent} so far)."
        assert self.forecast is not None
        f = self.forecast
        level = ("even the low end of the forecast is above it" if self.certain
                 else "the forecast's point is above it")
        return (f"The run's {what} is forecast at {_amount(f.point, self.unit)} "
                f"({_amount(f.low, self.unit)} – {_amount(f.high, self.unit)}), over its limit "
                f"of {limit}: {level}.")


_UNITS = {"max_s": "s", "max_kwh": "kWh", "max_usd": "USD", "max_co2_kg": "kg CO2e"}


def _amount(value: float, unit: str) -> str:
    if unit == "s":
        return duration(value)
    if unit == "kWh":
        return energy(value)
    if unit == "USD":
        return money(value)
    return f"{mass(value)} CO2e"


def check_limits(forecast: Forecast, limits: Limits) -> list[LimitCheck]:
    """Every limit against ``forecast`` (pure)."""
    checks = []
    for name, limit in limits.items():
        spent, whole = {
            "max_s": (forecast.elapsed_s, forecast.time_s),
            "max_kwh": (forecast.energy_so_far_kwh, forecast.energy_kwh),
            "max_usd": (forecast.cost_so_far_usd, forecast.cost_usd),
            "max_co2_kg": (forecast.co2_so_far_kg, forecast.co2_kg),
        }[name]
        reached = spent is not None and spent >= limit
        expected = reached or (whole is not None and whole.point > limit)
        certain = reached or (whole is not None and whole.low > limit)
        checks.append(LimitCheck(name, limit, _UNITS[name], spent, whole, expected, certain))
    return checks
