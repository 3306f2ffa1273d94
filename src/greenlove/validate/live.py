"""The live forecast checked at 10%, 25% and 50% of each tracked full run, beside the naive
extrapolation (elapsed / done) taken at the same moments.

A tracked run keeps its forecast of the whole run's time as it goes (``Report.forecasts``). At
each checkpoint fraction the first kept point whose done fraction reached it is read: its error
``point / actual - 1`` and whether its interval held the actual time. The naive extrapolation at
that point is ``at_s / done``: the elapsed time scaled up by the share of steps done.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..result import ForecastPoint

LIVE_FRACTIONS: tuple[float, ...] = (0.10, 0.25, 0.50)
"""The done fractions at which the live forecast is checked."""

LIVE_ERROR_TARGETS: dict[float, float] = {0.10: 0.02, 0.50: 0.01}
"""Target median |error| of the live forecast at a checkpoint (issue: <= 2% at 10%, <= 1% at 50%)."""

LIVE_COVERAGE_TARGET = 0.90
"""Target share of checkpoints whose forecast interval held the actual time."""


@dataclass(frozen=True)
class LivePoint:
    """The live forecast of one full run at one checkpoint, against that run's actual time."""

    run: int                 # which full run of the workload: 0 pass 1, 1 pass 2, 2... repeats
    fraction: float          # the checkpoint asked for (0.10, 0.25, 0.50)
    done: float              # the done fraction of the point read (>= fraction)
    at_s: float              # seconds since the run began
    point_s: float           # the whole run's time, as forecast then
    low_s: float
    high_s: float
    actual_s: float          # the run's measured time

    @property
    def error(self) -> float:
        return self.point_s / self.actual_s - 1

    @property
    def covered(self) -> bool:
        return self.low_s <= self.actual_s <= self.high_s

    @property
    def naive_s(self) -> float:
        """The elapsed time extrapolated by the done fraction: at_s / done."""
        return self.at_s / self.done

    @property
    def naive_error(self) -> float:
        return self.naive_s / self.actual_s - 1

    def to_dict(self) -> dict:
        return {"run": self.run, "fraction": self.fraction, "done": self.done,
                "at_s": self.at_s, "point_s": self.point_s, "low_s": self.low_s,
                "high_s": self.high_s, "actual_s": self.actual_s, "error": self.error,
                "covered": self.covered, "naive_s": self.naive_s,
                "naive_error": self.naive_error}


def first_point_at(forecasts: Iterable[ForecastPoint], fraction: float) -> ForecastPoint | None:
    """The first forecast point whose done fraction is >= ``fraction`` (None: never reached)."""
    for point in forecasts:
        if point.done >= fraction and point.done > 0:
            return point
    return None


def live_points(forecasts: Sequence[ForecastPoint], actual_s: float, *, run: int = 0,
                fractions: Sequence[float] = LIVE_FRACTIONS) -> tuple[LivePoint, ...]:
    """One :class:`LivePoint` per checkpoint the run reached (in ``fractions`` order)."""
    points = []
    for fraction in fractions:
        found = first_point_at(forecasts, fraction)
        if found is None:
            continue
        points.append(LivePoint(run=run, fraction=fraction, done=found.done, at_s=found.at_s,
                                point_s=found.time_s.point, low_s=found.time_s.low,
                                high_s=found.time_s.high, actual_s=actual_s))
    return tuple(points)


def point_at(points: Iterable[LivePoint], fraction: float, run: int = 0) -> LivePoint | None:
    """The checkpoint ``fraction`` of full run ``run`` among ``points`` (None: not there)."""
    return next((p for p in points if p.run == run and p.fraction == fraction), None)


@dataclass(frozen=True)
class LiveFigure:
    """One checkpoint over every tracked full run: median |error| of both methods."""

    fraction: float
    points: int
    median_abs_error: float
    naive_median_abs_error: float
    covered: int

    @property
    def target(self) -> float | None:
        return LIVE_ERROR_TARGETS.get(self.fraction)


@dataclass(frozen=True)
class LiveSummary:
    """The live forecast over every checkpoint of every tracked full run."""

    figures: tuple[LiveFigure, ...]
    covered: int             # checkpoints whose interval held the actual time
    points: int              # checkpoints in all
    runs: int                # tracked full runs behind them

    @property
    def coverage(self) -> float | None:
        return self.covered / self.points if self.points else None


def summarise_live(points: Iterable[LivePoint], *,
                   fractions: Sequence[float] = LIVE_FRACTIONS) -> LiveSummary:
    """Median |error| per checkpoint (live and naive), and coverage over all checkpoints;
    ``runs`` counts the runs that reached the first checkpoint."""
    points = tuple(points)
    figures = []
    for fraction in fractions:
        at = [p for p in points if p.fraction == fraction]
        if not at:
            continue
        figures.append(LiveFigure(
            fraction=fraction, points=len(at),
            median_abs_error=statistics.median(abs(p.error) for p in at),
            naive_median_abs_error=statistics.median(abs(p.naive_error) for p in at),
            covered=sum(p.covered for p in at)))
    runs = figures[0].points if figures else 0
    return LiveSummary(figures=tuple(figures), covered=sum(p.covered for p in points),
                       points=len(points), runs=runs)
