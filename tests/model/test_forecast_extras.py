"""Extras (validation, checkpoints, evaluations every N steps) kept out of the step rate and
forecast per kind; ``max_steps`` ending a run inside an epoch."""

from __future__ import annotations

import pytest

from greenlove.measure.steps import StepLog
from greenlove.model.extras import ONE_EXTRA_SD_REL
from greenlove.model.forecast import Prior, forecast_run


def steps(log: StepLog, clock, n: int, step_s: float) -> None:
    for _ in range(n):
        log.step()
        clock.advance(step_s)


def validation(log: StepLog, clock, seconds: float, kind: str = "validation") -> None:
    log.begin_extra(kind)
    clock.advance(seconds)
    log.end_extra()


def test_a_validation_each_epoch_is_kept_out_of_the_step_rate_and_forecast_on_its_own(clock):
    log = StepLog(clock)
    for _ in range(3):
        steps(log, clock, 100, 0.01)
        validation(log, clock, 0.5)
        log.end_epoch()
    f = forecast_run(log.snapshot(), epochs=10, steps_per_epoch=100, prior=None,
                     drift_rel=0.12, expected_extras={"validation": 10})
    assert f.per_step_s == pytest.approx(0.01)
    assert f.per_epoch_s == pytest.approx(0.01)            # the last step only: no validation
    assert f.extras_remaining_s == pytest.approx(7 * 0.5)
    assert f.time_s.point == pytest.approx(10 * (1.0 + 0.5), rel=1e-9)
    assert f.extras_per_epoch_s == pytest.approx(0.5)


def test_an_evaluation_between_two_steps_does_not_slow_the_step_rate(clock):
    log = StepLog(clock)
    for i in range(1, 201):
        log.step()
        clock.advance(0.01)
        if i % 50 == 0:
            validation(log, clock, 2.0, "evaluation")
    snap = log.snapshot()
    assert [e.kind for e in snap.extras] == ["evaluation"]
    assert snap.extras[0].count == 4 and snap.extras[0].total_s == pytest.approx(8.0)
    # 400 steps planned in one epoch, evaluation every 50: 4 more to come.
    f = forecast_run(snap, epochs=1, steps_per_epoch=400, prior=None, drift_rel=0.12,
                     expected_extras={"evaluation": 8})
    assert f.per_step_s == pytest.approx(0.01)
    assert f.extras_remaining_s == pytest.approx(4 * 2.0)
    # Without the schedule, the rate per step so far says the same (4 per 200 steps).
    g = forecast_run(snap, epochs=1, steps_per_epoch=400, prior=None, drift_rel=0.12)
    assert g.extras_remaining_s == pytest.approx(f.extras_remaining_s)


def test_an_expected_extra_not_seen_yet_is_said_and_not_counted(clock):
    log = StepLog(clock)
    steps(log, clock, 60, 0.01)
    f = forecast_run(log.snapshot(), epochs=2, steps_per_epoch=100, prior=None,
                     drift_rel=0.12, expected_extras={"validation": 2})
    assert "validation expected but not seen yet" in f.basis
    assert f.extras_remaining_s == 0.0


def test_a_dry_runs_prior_gives_an_unseen_extra_its_duration(clock):
    log = StepLog(clock)
    steps(log, clock, 60, 0.01)
    prior = Prior(0.01, 0.0, 0.01, 0.0, extras_s={"validation": 0.5})
    f = forecast_run(log.snapshot(), epochs=2, steps_per_epoch=100, prior=prior,
                     drift_rel=0.12, expected_extras={"validation": 2})
    assert f.extras_remaining_s == pytest.approx(1.0)
    assert "not seen" not in f.basis


def test_an_extra_in_progress_owes_only_the_rest_of_its_typical_duration(clock):
    log = StepLog(clock)
    steps(log, clock, 100, 0.01)
    validation(log, clock, 0.5)
    log.end_epoch()
    steps(log, clock, 100, 0.01)
    validation(log, clock, 0.5)
    log.end_epoch()
    steps(log, clock, 100, 0.01)
    log.begin_extra("validation")
    clock.advance(0.2)
    f = forecast_run(log.snapshot(), epochs=3, steps_per_epoch=100, prior=None,
                     drift_rel=0.12, expected_extras={"validation": 3})
    assert f.extras_remaining_s == pytest.approx(0.3)


def test_one_occurrence_has_a_stated_spread_and_later_ones_their_own(clock):
    log = StepLog(clock)
    steps(log, clock, 100, 0.01)
    validation(log, clock, 1.0)
    snap = log.snapshot()
    one = snap.extras[0]
    assert one.typical_s == 1.0 and one.sd_s is None
    for seconds in (0.4, 0.6, 0.5):     # the first held a warm-up; later ones are typical
        validation(log, clock, seconds)
    more = log.snapshot().extras[0]
    assert more.count == 4 and more.typical_s == pytest.approx(0.5)
    assert more.sd_s == pytest.approx(0.1)
    assert ONE_EXTRA_SD_REL > 0


def test_max_steps_ends_the_run_inside_an_epoch(clock):
    log = StepLog(clock)
    steps(log, clock, 100, 0.01)
    log.end_epoch()
    steps(log, clock, 20, 0.01)
    f = forecast_run(log.snapshot(), epochs=3, steps_per_epoch=100, prior=None,
                     drift_rel=0.12, max_steps=150)
    assert f.done == pytest.approx(120 / 150)
    # 30 more steps in this epoch, then its end; no third epoch.
    assert f.remaining_s.point == pytest.approx(30 * 0.01 + f.per_epoch_s - 0.01, abs=1e-6)
    steps(log, clock, 30, 0.01)
    log.end_epoch()
    done = forecast_run(log.snapshot(), epochs=3, steps_per_epoch=100, prior=None,
                        drift_rel=0.12, max_steps=150)
    assert done.done == 1.0 and done.remaining_s.point == 0.0


def test_the_estimates_own_sd_is_apart_from_the_wander(clock):
    log = StepLog(clock)
    for _ in range(2):
        steps(log, clock, 200, 0.01)
        log.end_epoch()
    f = forecast_run(log.snapshot(), epochs=10, steps_per_epoch=200, prior=None,
                     drift_rel=0.12)
    half = f.time_s.high - f.time_s.point
    assert f.estimate_sd_s is not None and 1.96 * f.estimate_sd_s < half
    assert f.rate_blocks >= 3 and f.per_step_sd_s is not None


def test_without_a_schedule_a_validation_after_each_epoch_is_forecast_per_epoch(clock):
    log = StepLog(clock)
    for _ in range(2):
        steps(log, clock, 100, 0.01)
        log.end_epoch(provisional=True)          # the watched loop ends ...
        validation(log, clock, 0.5)              # ... its validation belongs to its epoch
        log.end_epoch()
    steps(log, clock, 40, 0.01)                  # epoch 3 of 4, mid-loop
    f = forecast_run(log.snapshot(), epochs=4, steps_per_epoch=100, prior=None,
                     drift_rel=0.12)
    assert f.extras_remaining_s == pytest.approx(2 * 0.5)      # this epoch's and the last's
    steps(log, clock, 60, 0.01)
    log.end_epoch(provisional=True)
    validation(log, clock, 0.5)                  # epoch 3's, before its epoch_end()
    snap = log.snapshot()
    assert snap.extras[0].last_epoch == 2 and snap.extras[0].in_last_epoch == 1
    g = forecast_run(snap, epochs=4, steps_per_epoch=100, prior=None, drift_rel=0.12)
    assert g.extras_remaining_s == pytest.approx(0.5)          # only the last epoch's


def test_a_step_stamped_after_its_work_is_not_counted_twice_before_an_epoch_ends(clock):
    log = StepLog(clock)
    for _ in range(25):
        clock.advance(0.1)
        log.step()
    f = forecast_run(log.snapshot(), epochs=1, steps_per_epoch=50, prior=None, drift_rel=0.12)
    assert f.time_s.point == pytest.approx(5.0)
