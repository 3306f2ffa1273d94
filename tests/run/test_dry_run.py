"""The dry run on the fake clock: when it stops, what its Report predicts, what it writes."""

from __future__ import annotations

import html
import json
import math

import pytest

import greenlove
from greenlove.model.forecast import Forecast
from greenlove.run.dry_run import (
    TIGHT_REL,
    DryRunBudget,
    check_budget_s,
    dry_run_stop,
    unseen_extras,
)
from greenlove.run.track_result import DRY_RUN_JSON, RESULT_JSON
from tests.fakes.training import make_loader, track_on_fake_clock


def start(clock, report=None, **kwargs) -> greenlove.Run:
    return track_on_fake_clock(clock, report, **kwargs)


def train(run, clock, loader, epochs, *, step_s=0.01, validation_s=0.3, stop=True):
    """Epochs of ``loader`` with a validation after each; the loop obeys should_stop."""
    for _ in range(epochs):
        for _batch in run.watch(loader):
            clock.advance(step_s)
        with run.extra("validation"):
            clock.advance(validation_s)
        run.epoch_end()
        if stop and run.should_stop:
            return


def forecast(*, elapsed=10.0, whole=100.0, estimate_sd=1.0, blocks=10, steps=500) -> Forecast:
    from greenlove.model import Interval
    return Forecast(done=0.1, elapsed_s=elapsed, steps_done=steps, epochs_done=1,
                    remaining_s=Interval(whole - elapsed, 0, 0, 0.95),
                    time_s=Interval(whole, whole * 0.8, whole * 1.2, 0.95), energy_kwh=None,
                    cost_usd=None, co2_kg=None, energy_so_far_kwh=None, cost_so_far_usd=None,
                    co2_so_far_kg=None, per_step_s=0.01, per_epoch_s=0.0, prior_weight=0.0,
                    wander_rel=0.12, basis="", estimate_sd_s=estimate_sd, rate_blocks=blocks)


def test_the_rule_stops_when_the_estimates_are_tight_and_the_extras_seen():
    auto = DryRunBudget(None)
    tight = forecast(estimate_sd=TIGHT_REL * 100 / 1.96 * 0.9)
    assert "within" in dry_run_stop(tight, auto, ())
    assert dry_run_stop(tight, auto, ("validation",)) is None          # waits for it
    assert dry_run_stop(forecast(estimate_sd=10.0, elapsed=3.0), auto, ()) is None
    assert dry_run_stop(forecast(blocks=2, estimate_sd=0.1, elapsed=3.0), auto, ()) is None
    # The automatic budget: 4% of the forecast whole run (100 s: 4 s).
    assert "automatic budget" in dry_run_stop(forecast(estimate_sd=10.0, elapsed=4.5), auto, ())
    # A given budget is never exceeded, seen or not.
    given = dry_run_stop(forecast(estimate_sd=10.0, elapsed=5.0), DryRunBudget(5.0),
                         ("validation",))
    assert given == "dry run: budget_s (5 s) spent; validation not seen yet"
    assert unseen_extras({"validation": 3, "checkpoint": 0}, {}) == ("validation",)
    assert unseen_extras({"validation": 3}, {"validation": 1}) == ()


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "10", True])
def test_a_bad_budget_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="budget_s"):
        check_budget_s(bad)


def test_budget_s_without_a_dry_run_and_a_non_bool_dry_run_are_refused(clock):
    with pytest.raises(ValueError, match="budget_s is the dry run's budget"):
        start(clock, epochs=3, budget_s=5)
    with pytest.raises(TypeError, match="dry_run"):
        start(clock, epochs=3, dry_run="yes")
    with pytest.raises(ValueError, match="max_steps"):
        start(clock, epochs=3, max_steps=0)


def test_a_dry_run_stops_early_and_predicts_the_whole_run_it_then_checks(clock, tmp_path):
    loader = make_loader(2000, 10)              # 200 batches
    with start(clock, epochs=20, dry_run=True, out=tmp_path,
               history=tmp_path / "history") as run:
        run.expect_extra("validation", 20)
        train(run, clock, loader, 20)
    dry = run.result
    assert run.should_stop and run.stop_reason.startswith("dry run:")
    a = dry.actual
    assert a.dry_run and not a.completed and 1 <= a.epochs_done < 20
    assert a.extras[0].kind == "validation" and a.extras[0].count == a.epochs_done
    # Steady on the fake clock: the whole run is 20 x (200 x 10 ms + 300 ms).
    p = dry.prediction
    assert p.time_s.point == pytest.approx(20 * 2.3, rel=1e-6)
    assert p.time_s.low < p.time_s.point < p.time_s.high
    # The real run repeats the dry run's part: the wander covers the whole run, not the rest.
    assert (p.time_s.high - p.time_s.point) >= 1.959 * 0.12 * p.time_s.point
    assert p.fit.method == "dry run" and p.fit.per_batch_s == pytest.approx(0.01)
    assert dry.benchmark.stop_reason == run.stop_reason
    assert (tmp_path / DRY_RUN_JSON).exists() and not (tmp_path / RESULT_JSON).exists()
    assert not (tmp_path / "history").exists()          # a dry run is not a run of its own
    again = greenlove.load(tmp_path / DRY_RUN_JSON)
    assert again.actual == a and again.prediction.time_s == p.time_s
    assert "dry run" in dry.summary()
    json.dumps(dry.to_dict())

    # The real run with the dry run's report: its prior, and the check at the end.
    with start(clock, again) as real:
        first = real.forecast()
        assert first.time_s.point == pytest.approx(p.time_s.point, rel=0.02)
        train(real, clock, loader, 20, stop=False)
    check = real.result.check
    assert check is not None and check.covered
    assert check.error_rel == pytest.approx(0.0, abs=0.02)


def test_a_fit_shorter_than_the_dry_run_is_its_own_prediction(clock):
    loader = make_loader(100, 10)               # 10 batches: the rule never gets tight
    with start(clock, epochs=2, dry_run=True, budget_s=600) as run:
        train(run, clock, loader, 2)
    dry = run.result
    assert dry.actual.completed and dry.actual.dry_run
    assert dry.prediction.time_s.point == pytest.approx(dry.actual.time_s)


def test_a_dry_runs_page_is_a_pre_flight_not_a_stopped_run(clock, tmp_path):
    loader = make_loader(2000, 10)
    with start(clock, epochs=20, dry_run=True) as run:
        run.expect_extra("validation", 20)
        train(run, clock, loader, 20)
    path = run.result.save_html(tmp_path / "dry.html")
    page = html.unescape(path.read_text())
    assert "Dry run: the fit's first 200 steps" in page
    assert "Predicted vs actual" not in page and "stopped after" not in page
    text = run.result.summary()
    assert "dry run of 2.3 s, predicted 46.0 s for the fit" in text
    assert "validation 1 x 300 ms" in text


def test_a_wide_prediction_is_log_normal_never_clamped_at_zero():
    from dataclasses import replace

    from greenlove.run.dry_run import prediction_of
    wide = replace(forecast(estimate_sd=30.0), wander_rel=0.5, per_step_sd_s=0.001,
                   per_epoch_sd_s=0.0)
    t = prediction_of(wide, epochs=10, steps_per_epoch=100, confidence=0.95).time_s
    rel = (30.0**2 + 50.0**2) ** 0.5 / 100
    assert t.point == 100.0
    assert t.low == pytest.approx(100 * math.exp(-1.959964 * rel), rel=1e-5) and t.low > 0
    assert t.high == pytest.approx(100 * math.exp(1.959964 * rel), rel=1e-5)
    narrow = prediction_of(replace(wide, wander_rel=0.02, estimate_sd_s=1.0), epochs=10,
                           steps_per_epoch=100, confidence=0.95).time_s
    assert narrow.high - narrow.point == pytest.approx(narrow.point - narrow.low)
