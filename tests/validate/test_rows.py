"""An accuracy row's new fields: live checkpoints, pass 2, the timer cross-check, to_dict; and
the tracking-overhead measurement's shape (no timing asserted)."""

from __future__ import annotations

import json

import pytest

from greenlove.validate.accuracy import summarise
from greenlove.validate.track_overhead import (
    TrackOverheadResult,
    forecast_cost_s,
    measure_track_overhead,
)

from .rows import live, pass2, row


def test_row_to_dict_carries_live_points_pass_2_and_the_timer_gap() -> None:
    r = row(actual=100.0, timer_s=99.5, live_points=(live(0, 0.10, 103.0), live(1, 0.10, 99.0)),
            second=pass2(100.0, 90.0, 110.0, 101.0), repeats=(101.0,))
    assert r.live_at(0.10) is r.live[0] and r.live_at(0.10, run=1) is r.live[1]
    assert r.live_at(0.25) is None
    assert r.timer_gap == pytest.approx(100 / 99.5 - 1)
    assert r.floor == pytest.approx(1 / 100.5)
    data = json.loads(json.dumps(r.to_dict()))
    assert data["live"][0]["error"] == pytest.approx(0.03) and data["live"][0]["covered"] is False
    assert data["live"][1]["naive_error"] == pytest.approx(0.0)
    assert data["pass2"]["covered"] is True and data["pass2"]["half_width"] == pytest.approx(0.1)
    assert data["half_width"] == pytest.approx(0.2) and data["timer_gap"] == pytest.approx(r.timer_gap)
    assert row().to_dict()["pass2"] is None


def test_summary_timer_gap_is_the_worst_row() -> None:
    summary = summarise([row("a", actual=100.0, timer_s=99.99), row("b", actual=50.0, timer_s=49.9)])
    assert summary.max_timer_gap == pytest.approx(50 / 49.9 - 1)
    assert summary.max_timer_gap_s == pytest.approx(0.1)
    assert summary.live is not None and summary.live.points == 0


def test_track_overhead_measures_pairs_and_a_full_log_forecast() -> None:
    result = measure_track_overhead(pairs=2, steps_per_block=5)
    assert len(result.ratios) == 2 and all(r > 0 for r in result.ratios)
    assert result.steps_per_block == 5 and result.step_off_s > 0 and result.step_on_s > 0
    low, high = result.ratio_ci()
    assert low <= result.ratio <= high
    assert result.forecast_s > 0 and result.marks == 4096
    assert result.forecast_duty == pytest.approx(result.forecast_s / 1.0)
    assert result.start_end_s > 0 and result.verdict in ("met", "MISSED", "unresolved")


def test_overhead_verdict_reads_the_whole_interval() -> None:
    def result(ratios):
        return TrackOverheadResult(step_off_s=0.002, step_on_s=0.002, ratios=tuple(ratios),
                                   steps_per_block=100, forecast_s=0.001, marks=4096)

    assert result([1.0 + k * 1e-4 for k in range(-20, 20)]).verdict == "met"
    assert result([1.01 + k * 1e-4 for k in range(-20, 20)]).verdict == "MISSED"
    assert result([1.0 + k * 1e-3 for k in range(-20, 20)]).verdict == "unresolved"


def test_forecast_cost_on_a_full_log() -> None:
    seconds, marks = forecast_cost_s(calls=3)
    assert seconds > 0 and marks == 4096
