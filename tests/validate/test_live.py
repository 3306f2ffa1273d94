"""The live forecast's checkpoints: which point is read, its error, coverage and the naive
extrapolation, and their summary."""

from __future__ import annotations

import pytest

from greenlove.validate.live import (
    LIVE_FRACTIONS,
    first_point_at,
    live_points,
    point_at,
    summarise_live,
)

from .rows import forecast, live

POINTS = (
    forecast(4.0, 0.05, 90.0, 70.0, 110.0),
    forecast(9.0, 0.099, 95.0, 80.0, 110.0),
    forecast(11.0, 0.101, 104.0, 98.0, 110.0),     # first at >= 10%
    forecast(12.0, 0.12, 103.0, 101.0, 105.0),
    forecast(24.0, 0.25, 101.0, 99.0, 103.0),     # exactly 25%
    forecast(52.0, 0.52, 100.5, 100.2, 100.8),    # first at >= 50%: misses 100 (above it)
    forecast(100.0, 1.0, 100.0, 100.0, 100.0),
)


def test_first_point_at_is_the_first_reaching_the_fraction() -> None:
    assert first_point_at(POINTS, 0.10) is POINTS[2]
    assert first_point_at(POINTS, 0.25) is POINTS[4]
    assert first_point_at(POINTS, 0.50) is POINTS[5]
    assert first_point_at(POINTS, 1.0) is POINTS[6]
    assert first_point_at(POINTS[:4], 0.25) is None
    assert first_point_at((), 0.10) is None


def test_live_points_error_coverage_and_naive() -> None:
    points = live_points(POINTS, 100.0, run=1)
    assert [p.fraction for p in points] == list(LIVE_FRACTIONS)
    ten, quarter, half = points
    assert (ten.run, ten.done, ten.at_s, ten.point_s) == (1, 0.101, 11.0, 104.0)
    assert ten.error == pytest.approx(0.04)
    assert ten.covered
    assert ten.naive_s == pytest.approx(11.0 / 0.101)
    assert ten.naive_error == pytest.approx(11.0 / 0.101 / 100.0 - 1)
    assert quarter.error == pytest.approx(0.01) and quarter.covered
    assert quarter.naive_error == pytest.approx(24.0 / 0.25 / 100 - 1)
    assert half.error == pytest.approx(0.005) and not half.covered
    assert point_at(points, 0.25, run=1) is quarter
    assert point_at(points, 0.25, run=0) is None
    data = ten.to_dict()
    assert data["error"] == pytest.approx(0.04) and data["covered"] is True
    assert data["naive_s"] == pytest.approx(ten.naive_s)


def test_a_run_that_never_reached_a_checkpoint_has_no_point_for_it() -> None:
    points = live_points(POINTS[:5], 100.0)
    assert [p.fraction for p in points] == [0.10, 0.25]


def test_summary_medians_and_coverage_over_every_run() -> None:
    points = [
        # run 0 of one workload, run 1 of it, run 0 of another: three runs, 9 checkpoints
        live(0, 0.10, 101.0), live(0, 0.25, 100.5), live(0, 0.50, 100.0),
        live(1, 0.10, 97.0), live(1, 0.25, 99.0), live(1, 0.50, 100.4, low_s=100.1),
        live(0, 0.10, 110.0, at_s=12.0), live(0, 0.25, 102.0), live(0, 0.50, 99.0),
    ]
    summary = summarise_live(points)
    assert summary.runs == 3 and summary.points == 9
    ten, quarter, half = summary.figures
    assert ten.median_abs_error == pytest.approx(0.03)          # |+1%|, |-3%|, |+10%|
    assert quarter.median_abs_error == pytest.approx(0.01)      # 0.5%, 1%, 2%
    assert half.median_abs_error == pytest.approx(0.004)        # 0%, 0.4%, 1%
    # naive at exactly the fraction of a 100 s run is exact, but for the one read at 12 s
    assert ten.naive_median_abs_error == pytest.approx(0.0)
    assert max(abs(p.naive_error) for p in points) == pytest.approx(0.2)
    # covered: every point's interval is +-2 s around it, so those within 2% hold 100 s, and
    # the one whose low was raised to 100.1 does not
    assert summary.covered == 6
    assert summary.coverage == pytest.approx(6 / 9)
    assert (ten.target, quarter.target, half.target) == (0.02, None, 0.01)
    assert (ten.covered, quarter.covered, half.covered) == (1, 3, 2)


def test_summary_of_nothing() -> None:
    summary = summarise_live([])
    assert summary.figures == () and summary.points == 0 and summary.coverage is None
