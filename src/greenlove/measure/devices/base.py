"""One meter interface for every power source (Zeus-style): GPUs, CPU packages, memory.

A meter is read from the sampler's background thread. Each read returns either a cumulative
energy counter (joules since some origin) or an instantaneous power (watts); the sampler turns
both into a cumulative energy series. Every meter carries a ``method`` label that says how its
figures were obtained ("nvml-energy-counter", "rapl", "tdp-estimate", ...), so no figure is
ever shown without its provenance. Vendor errors are translated to :class:`MeterError` here,
at the boundary; the measuring code never branches on vendor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ...errors import GreenloveError

KIND_GPU, KIND_CPU, KIND_RAM = "gpu", "cpu", "ram"


class MeterError(GreenloveError, RuntimeError):
    """A meter could not be opened or read (vendor error translated at the boundary)."""


@dataclass(frozen=True)
class MeterReading:
    """One reading: exactly one of ``energy_j`` (cumulative, joules) or ``power_w`` (watts)."""

    energy_j: float | None = None
    power_w: float | None = None

    def __post_init__(self) -> None:
        values = [v for v in (self.energy_j, self.power_w) if v is not None]
        if len(values) != 1:
            raise ValueError("a MeterReading holds exactly one of energy_j and power_w")
        if not math.isfinite(values[0]) or values[0] < 0:
            raise MeterError(f"a meter returned {values[0]!r}: readings must be finite and >= 0")


@runtime_checkable
class Meter(Protocol):
    """What the sampler needs from a power source.

    ``name``: the device as a user knows it ("GPU 0: NVIDIA H100 80GB HBM3").
    ``kind``: "gpu", "cpu" or "ram".
    ``method``: how it is measured (a short label shown next to every figure).
    ``note``: one sentence on the method's limits, or "" (e.g. "1-second averaged power").
    ``read()``: one reading; raises :class:`MeterError` when the device cannot be read.
    ``close()``: release the vendor library (idempotent).
    """

    name: str
    kind: str
    method: str
    note: str

    def read(self) -> MeterReading: ...

    def close(self) -> None: ...


class NullMeter:
    """The null object: a device that is known to be there but cannot be measured.

    It never returns a reading, so it contributes no energy; the report lists it with its
    reason instead of silently counting it as 0 J.
    """

    method = "not-measured"

    def __init__(self, name: str, kind: str, reason: str) -> None:
        self.name, self.kind, self.note = name, kind, reason

    def read(self) -> MeterReading:
        raise MeterError(f"{self.name} is not measured: {self.note}")

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class Fallback:
    """A measurement greenlove wanted but could not make, and what it did instead (for the
    report's warnings): ``wanted`` "rapl", ``reason`` why not, ``instead`` the label used."""

    kind: str
    wanted: str
    reason: str
    instead: str
    fix: str = ""

    def message(self) -> str:
        label = self.kind.upper() if " " not in self.kind else self.kind   # "CPU and RAM"
        text = f"{label} energy: {self.wanted} unavailable ({self.reason}); using {self.instead}."
        return f"{text} {self.fix}" if self.fix else text
