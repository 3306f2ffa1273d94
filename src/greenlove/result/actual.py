"""What a tracked run really did, how its forecast moved, and the pre-flight check (frozen).

A tracked run's Report carries these beside (or, with no pre-flight, instead of) the benchmark's
prediction: ``actual`` (what was measured over the whole run), ``forecasts`` (the live forecast
of the whole run's time as the run went on) and ``check`` (the pre-flight prediction's error
against the actual run, where one was made and the run completed).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Interval


@dataclass(frozen=True)
class ActualExtra:
    """One kind of work beside the steps (validation, checkpoint ...) in the run (s)."""

    kind: str
    count: int
    total_s: float


@dataclass(frozen=True)
class Actual:
    """The real run, measured (seconds, kWh, USD, kg CO2e; None where not measured)."""

    time_s: float
    epochs_done: int
    steps_done: int
    completed: bool              # every planned epoch was done
    stop_reason: str             # "completed", "limit: ...", "stopped early", "exception: ..."
    epochs_planned: int
    steps_per_epoch: int
    energy_kwh: float | None = None
    cost_usd: float | None = None
    co2_kg: float | None = None
    started_at: str = ""         # ISO 8601, UTC
    epoch_s: tuple[float, ...] = ()   # each completed epoch's wall time, boundary to boundary
    extras: tuple[ActualExtra, ...] = ()   # validation passes, checkpoint saves ... (their time
    #                                        is within the epochs')
    dry_run: bool = False        # a dry run: the fit's start, run to predict the whole fit


@dataclass(frozen=True)
class ForecastPoint:
    """The live forecast of the whole run at one moment of it."""

    at_s: float                  # seconds since the run began
    done: float                  # fraction of the planned steps done, 0..1
    time_s: Interval             # the whole run's wall time, as forecast then
    energy_kwh: Interval | None = None


@dataclass(frozen=True)
class Check:
    """The pre-flight prediction against the completed run."""

    predicted_s: Interval
    actual_s: float
    error_rel: float             # predicted point / actual - 1 (positive: predicted too long)
    covered: bool                # the interval held the actual time
    energy_error_rel: float | None = None
    energy_covered: bool | None = None
