"""What the user asks of the cloud comparison: ``clouds=CloudOptions(...)``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..measure.local_device import LocalDevice
from ..measure.workload_profile import FAMILIES, PRECISIONS


@dataclass(frozen=True)
class CloudOptions:
    """``estimate(..., clouds=CloudOptions(gpus=8, speedups={"H100 SXM": 9.5}))``.

    ``providers``: only these, a name or a list of names (default: every provider in the
    table, Crusoe first).
    ``gpus``: GPUs per instance to price (default None: as many as the run uses, 1 outside a
    distributed job and its world size inside one; more with a stated scaling assumption).
    ``speedups``: speed-ups of ONE such GPU over your device that you measured, by GPU spec name
    (`greenlove gpus` lists the names; method "user-measured"); ``gpus`` > 1 scales them too.
    ``precision``/``family``: override what is detected from the model.
    ``offers``/``gpus_table``/``throughput``: your own CSV files instead of the shipped tables.
    ``device``: describe the local device yourself (skips its identification and, on a CPU, the
    1 s measurement that stands in for a spec).
    """

    providers: Sequence[str] | None = None
    gpus: int | None = None
    speedups: Mapping[str, float] = field(default_factory=dict)
    precision: str | None = None
    family: str | None = None
    offers: str | None = None
    gpus_table: str | None = None
    throughput: str | None = None
    device: LocalDevice | None = None

    def __post_init__(self) -> None:
        if self.gpus is not None and (isinstance(self.gpus, bool) or not isinstance(self.gpus, int)
                                      or self.gpus < 1):
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
            providers = (self.providers,) if isinstance(self.providers, str) else self.providers
            if not all(isinstance(p, str) and p.strip() for p in providers):
                raise TypeError(f"clouds.providers must be provider names, got {self.providers!r}")
            object.__setattr__(self, "providers", tuple(providers))
