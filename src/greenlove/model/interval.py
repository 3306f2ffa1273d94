"""An estimate with its interval: point, low, high at a stated confidence (one unit throughout)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Interval:
    point: float
    low: float
    high: float
    confidence: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interval:
        """The inverse of :meth:`to_dict` (the JSON form)."""
        return cls(float(data["point"]), float(data["low"]), float(data["high"]),
                   float(data["confidence"]))

    def to_dict(self) -> dict[str, float]:
        return {"point": self.point, "low": self.low, "high": self.high,
                "confidence": self.confidence}

    def scaled(self, factor: float) -> Interval:
        """This interval times an exact factor >= 0 (a unit change, a price): same confidence."""
        if not (math.isfinite(factor) and factor >= 0):
            raise ValueError(f"factor must be a finite number >= 0 (got {factor!r})")
        return Interval(self.point * factor, self.low * factor, self.high * factor, self.confidence)
