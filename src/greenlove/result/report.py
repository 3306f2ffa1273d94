"""The benchmark's result: what was planned, what was measured, what is predicted (frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..measure.timing import EpochRecord
from ..model import Interval
from ..model.energy import EnergyMeasurement, EnergyPrediction
from .actual import Actual, Check, ForecastPoint


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
    load: Mapping[str, Any] | None = None   # the rest of the machine meanwhile (None: not seen)


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
    compile_s: float = 0.0                # torch.compile's compiling in the benchmark, booked
    #                                       apart: time_s is the run in this process, compiled
    fresh_process_s: Interval | None = None   # the run in a fresh process: time_s plus the
    #                                           compiling again (None: nothing was compiled)
    fresh_process_basis: str = ""             # what fresh_process_s rests on (the cache state)


@dataclass(frozen=True)
class ReportData:
    """What greenlove learnt, as data (no I/O, no rendering): what was planned, measured and
    predicted, the cloud comparison, assumptions and warnings; for a tracked run also what
    really happened (``actual``), the live forecasts and the pre-flight ``check``. Users hold
    it as a :class:`greenlove.Report`, which adds the JSON, HTML and terminal forms.

    ``benchmark`` and ``prediction`` are None only for a run tracked without a pre-flight
    estimate (``greenlove.track(epochs=...)``)."""

    plan: RunPlan
    benchmark: Measurements | None
    prediction: Prediction | None
    assumptions: Mapping[str, Mapping[str, Any]]
    warnings: tuple[str, ...]
    environment: Mapping[str, Any]
    created_at: str
    greenlove_version: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    clouds: tuple[Mapping[str, Any], ...] = ()       # one entry per cloud offer (JSON form)
    comparison: Mapping[str, Any] = field(default_factory=dict)  # local device, workload, rankings
    actual: Actual | None = None                     # a tracked run: what really happened
    forecasts: tuple[ForecastPoint, ...] = ()        # a tracked run: its live forecasts
    check: Check | None = None                       # pre-flight prediction vs the actual run

    @property
    def tracked(self) -> bool:
        """True for the result of a tracked run (``greenlove.track``)."""
        return self.actual is not None
