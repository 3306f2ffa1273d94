"""The benchmark's result: what was planned, what was measured, what is predicted (frozen)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..measure.timing import EpochRecord
from ..model.energy import EnergyMeasurement, EnergyPrediction
from ..model.time import Interval


@dataclass(frozen=True)
class RunPlan:
    """The full run the user asked about."""

    epochs: int
    batches_per_epoch: int
    dataset_size: int | None
    batch_size: int | None
    loader_kind: str
    num_workers: int
    persistent_workers: bool
    size_source: str = "len(loader)"


@dataclass(frozen=True)
class Measurements:
    """The benchmark as run: every timed epoch, raw, with the role the model gave it."""

    wall_s: float
    budget_s: float
    budget_automatic: bool
    budget_rule: str
    stop_reason: str
    seed: int
    warmup_epochs: int | str
    confidence: float
    epochs: tuple[EpochRecord, ...]
    roles: tuple[str, ...]
    energy: EnergyMeasurement | None = None   # None: energy was not measured (energy=False)
    extras_s: Mapping[str, float] = field(default_factory=dict)  # untimed work, within wall_s


@dataclass(frozen=True)
class FitSummary:
    """The model epoch_s = intercept_s + per_batch_s * batches and its uncertainty.

    ``method`` says how it was estimated: "batch-split" (per-batch rate from batch deliveries
    inside epochs, the rest per epoch) or "epoch-line" (a line through the sample sizes' epoch
    times); ``line_*`` always hold the line, as a cross-check.
    """

    method: str
    intercept_s: float
    per_batch_s: float
    covariance: tuple[tuple[float, float], tuple[float, float]]
    noise_rel: float
    dof: int
    steady_epochs: int
    lack_of_fit_p: float | None
    trend_rel_per_s: float | None
    trend_p: float | None
    variance_parts_s2: Mapping[str, float]
    line_intercept_s: float | None = None
    line_per_batch_s: float | None = None
    autocorrelation_inflation: float = 1.0


@dataclass(frozen=True)
class Prediction:
    time_s: Interval
    epoch_s: Interval
    warmup_s: float
    fit: FitSummary
    energy: EnergyPrediction | None = None
    cost_usd: Interval | None = None      # local electricity cost (None: energy or price unknown)
    co2_kg: Interval | None = None        # local emissions, location-based


@dataclass(frozen=True)
class Report:
    """What greenlove learnt: ``print(report)`` summarises, ``report.save(path)`` writes JSON."""

    plan: RunPlan
    benchmark: Measurements
    prediction: Prediction
    assumptions: Mapping[str, Mapping[str, Any]]
    warnings: tuple[str, ...]
    environment: Mapping[str, Any]
    created_at: str
    greenlove_version: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    clouds: tuple[Mapping[str, Any], ...] = ()       # one entry per cloud offer (JSON form)
    comparison: Mapping[str, Any] = field(default_factory=dict)  # local device, workload, rankings

    def cloud_rows(self, limit: int) -> list[Mapping[str, Any]]:
        """The offers to show: every Crusoe offer (table order), then the cheapest others, up to
        ``limit`` rows in all; the rest stay in the JSON."""
        crusoe = [o for o in self.clouds if o["provider"].startswith("Crusoe")]
        others = sorted((o for o in self.clouds if not o["provider"].startswith("Crusoe")),
                        key=lambda o: (o.get("cost_usd") or {}).get("point", math.inf))
        return crusoe + others[:max(limit - len(crusoe), 0)]

    def to_dict(self) -> dict[str, Any]:
        from .schema import report_to_dict

        return report_to_dict(self)

    def save(self, path: str | Path) -> Path:
        """Write the report as JSON (schema_version 1) and return the path written."""
        from .schema import save_report

        return save_report(self, path)

    def save_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML dashboard (no scripts, nothing loaded from elsewhere)."""
        from ..render.html import save_html

        return save_html(self, path)

    def summary(self, *, width: int = 120) -> str:
        from ..render.summary import render_text

        return render_text(self, width=width)

    def __str__(self) -> str:
        return self.summary()
