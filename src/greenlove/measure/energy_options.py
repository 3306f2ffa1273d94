"""How the benchmark measures energy: a small options object passed as ``energy=``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .devices.base import Meter
from .power_sampler import DEFAULT_INTERVAL_S

DEFAULT_IDLE_S = 0.5
"""Idle baseline before the first epoch; at most IDLE_BUDGET_SHARE of a budget the user gives."""
IDLE_BUDGET_SHARE = 0.1

MIN_INTERVAL_S = 0.01
"""The sampler's shortest interval: RAPL updates every ~1 ms and NVML power every 20-100 ms, so
faster reading learns nothing and keeps a core busy."""


@dataclass(frozen=True)
class EnergyOptions:
    """``estimate(..., energy=EnergyOptions(interval_s=0.05))``; ``energy=False`` measures none.

    ``interval_s``: seconds between meter readings on the sampler thread.
    ``idle_s``: seconds of idle reading before the benchmark (0: no idle baseline).
    ``meters``: the meters to read instead of those discovered on this machine.
    """

    interval_s: float = DEFAULT_INTERVAL_S
    idle_s: float = DEFAULT_IDLE_S
    meters: Sequence[Meter] | None = None

    def __post_init__(self) -> None:
        for name in ("interval_s", "idle_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"energy.{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"energy.{name} must be a finite number of seconds, got {value!r}")
        if self.interval_s < MIN_INTERVAL_S:
            raise ValueError(f"energy.interval_s must be at least {MIN_INTERVAL_S} s (a faster "
                             f"sampler would busy a core), got {self.interval_s}")
        if self.idle_s < 0:
            raise ValueError(f"energy.idle_s must be >= 0 seconds, got {self.idle_s}")
        if self.meters is not None:
            for meter in self.meters:
                if not all(hasattr(meter, a) for a in ("name", "kind", "method", "note", "read")):
                    raise TypeError(f"energy.meters holds {meter!r}, which is not a Meter "
                                    "(name, kind, method, note, read(), close())")
            object.__setattr__(self, "meters", tuple(self.meters))
