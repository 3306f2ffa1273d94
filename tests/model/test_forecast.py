"""The live forecast: exact on a steady run, the pre-flight's weight fading, what it cannot know."""

from __future__ import annotations

import math

import pytest

from greenlove.measure.steps import StepLog
from greenlove.model.forecast import Prior, forecast_run, step_rate, wander
from tests.fakes.training import FakeClock


def run_epochs(log: StepLog, clock: FakeClock, epochs: int, steps: int, step_s: float,
               extra_s: float = 0.0, jitter=None) -> None:
    for epoch in range(epochs):
        clock.advance(extra_s / 2)          # loader start before the first batch
        for i in range(steps):
            log.step()
            clock.advance(step_s * (1 + (jitter(epoch, i) if jitter else 0.0)))
        clock.advance(extra_s / 2)          # validation after the loop
        log.end_epoch()


def test_a_steady_run_is_forecast_exactly_with_its_per_epoch_extra(clock):
    log = StepLog(clock)
    run_epochs(log, clock, 3, 100, 0.01, extra_s=0.4)
    f = forecast_run(log.snapshot(), epochs=10, steps_per_epoch=100, prior=None, drift_rel=0.12)
    epoch_s = 100 * 0.01 + 0.4
    assert f.time_s.point == pytest.approx(10 * epoch_s, rel=1e-9)
    assert f.remaining_s.point == pytest.approx(7 * epoch_s, rel=1e-9)
    assert f.per_step_s == pytest.approx(0.01)
    assert f.per_epoch_s == pytest.approx(0.4 + 0.01)     # the last step is outside the span
    assert f.done == pytest.approx(0.3)
    assert f.time_s.low < f.time_s.point < f.time_s.high
    assert f.basis == "the run's own steps"


def test_mid_epoch_the_forecast_counts_the_steps_left_and_the_epoch_extra(clock):
    log = StepLog(clock)
    run_epochs(log, clock, 2, 100, 0.01, extra_s=0.4)
    clock.advance(0.2)
    for _ in range(50):
        log.step()
        clock.advance(0.01)
    f = forecast_run(log.snapshot(), epochs=4, steps_per_epoch=100, prior=None, drift_rel=0.12)
    assert f.time_s.point == pytest.approx(4 * 1.4, rel=1e-6)


def test_without_steps_the_pre_flight_prior_is_the_forecast(clock):
    log = StepLog(clock)
    prior = Prior(per_step_s=0.02, per_step_sd_s=0.0, per_epoch_s=0.5, per_epoch_sd_s=0.0)
    f = forecast_run(log.snapshot(), epochs=10, steps_per_epoch=50, prior=prior, drift_rel=0.1)
    assert f.time_s.point == pytest.approx(10 * (49 * 0.02 + 0.5))
    assert f.prior_weight == 1.0
    half = f.time_s.high - f.time_s.point
    # Before any step: the pre-flight's own interval (its drift on the whole run), nothing added.
    assert half == pytest.approx(1.959964 * 0.1 * f.time_s.point, rel=1e-4)


def test_the_prior_fades_as_the_run_is_seen(clock):
    prior = Prior(per_step_s=0.02, per_step_sd_s=0.0, per_epoch_s=0.0, per_epoch_sd_s=0.0)
    log = StepLog(clock)
    weights = []
    for _ in range(4):
        for i in range(100):
            log.step()
            clock.advance(0.01 * (1 + 0.05 * math.sin(i)))
        weights.append(forecast_run(log.snapshot(), epochs=20, steps_per_epoch=1000,
                                    prior=prior, drift_rel=0.12).prior_weight)
    assert 0 < weights[-1] < weights[0] < 1
    assert weights[-1] < 0.01
    f = forecast_run(log.snapshot(), epochs=20, steps_per_epoch=1000, prior=prior, drift_rel=0.12)
    assert f.per_step_s == pytest.approx(0.01, rel=0.02)


def test_without_a_prior_or_a_length_it_says_what_it_cannot_know(clock):
    log = StepLog(clock)
    f = forecast_run(log.snapshot(), epochs=3, steps_per_epoch=None, prior=None, drift_rel=0.1)
    assert f.time_s is None and "steps per epoch unknown" in f.basis
    f = forecast_run(log.snapshot(), epochs=3, steps_per_epoch=10, prior=None, drift_rel=0.1)
    assert f.time_s is None and f.basis == "too few steps yet"
    for _ in range(5):
        log.step()
        clock.advance(0.1)
    f = forecast_run(log.snapshot(), epochs=3, steps_per_epoch=10, prior=None, drift_rel=0.1)
    assert "unseen until an epoch ends" in f.basis


def test_a_finished_run_has_nothing_left(clock):
    log = StepLog(clock)
    run_epochs(log, clock, 2, 10, 0.1)
    f = forecast_run(log.snapshot(), epochs=2, steps_per_epoch=10, prior=None, drift_rel=0.1)
    assert f.done == 1.0 and f.remaining_s.point == 0.0 and f.basis == "the run is complete"


def test_energy_so_far_and_forecast_at_constant_power(clock):
    log = StepLog(clock)
    run_epochs(log, clock, 2, 100, 0.01)
    elapsed = log.snapshot().elapsed_s
    f = forecast_run(log.snapshot(), epochs=4, steps_per_epoch=100, prior=None, drift_rel=0.1,
                     energy_so_far_j=50.0 * elapsed, power_w=[50.0] * 10, usd_per_kwh=0.3,
                     kg_co2_per_kwh=0.4)
    assert f.energy_kwh.point == pytest.approx(50.0 * f.time_s.point / 3.6e6)
    assert f.cost_usd.point == pytest.approx(f.energy_kwh.point * 0.3)
    assert f.co2_so_far_kg == pytest.approx(50.0 * elapsed / 3.6e6 * 0.4)


def test_block_spread_measures_a_noisy_speed_and_the_wander_is_at_least_the_drift(clock):
    log = StepLog(clock)
    run_epochs(log, clock, 1, 400, 0.01, jitter=lambda e, i: 0.2 if (i // 40) % 2 else -0.2)
    rate = step_rate(log.snapshot(), warmup_steps=0)
    assert rate.blocks == 10
    assert rate.spread_rel == pytest.approx(0.2 * math.sqrt(10 / 9), rel=0.05)
    assert wander(None, 0, 0.12) == 0.12
    assert wander(0.0, 11, 0.12) == 0.12           # never below the machine's drift term
    assert wander(0.3, 11, 0.12) == 0.3            # a run wilder than that is said as such


def test_the_step_log_keeps_bounded_marks_and_exact_rates():
    clock = FakeClock()
    log = StepLog(clock, max_marks=16)
    for _ in range(1000):
        log.step()
        clock.advance(0.01)
    assert len(log.marks) <= 16 and log.stride > 1
    rate = step_rate(log.snapshot(), warmup_steps=0)
    assert rate.mean_s == pytest.approx(0.01)


def test_epoch_end_with_no_step_since_moves_the_boundary():
    clock = FakeClock()
    log = StepLog(clock)
    log.step()
    clock.advance(1.0)
    assert log.end_epoch().period_s == pytest.approx(1.0)
    clock.advance(2.0)                 # validation after the watched loop
    moved = log.end_epoch()
    assert moved.index == 0 and moved.period_s == pytest.approx(3.0)
    assert len(log.epochs) == 1


def test_during_the_validation_after_a_watched_loop_the_forecast_stays_exact():
    clock = FakeClock()
    log = StepLog(clock)

    def epoch(validate_s: float, *, until: float | None = None) -> None:
        for _ in range(100):
            log.step()
            clock.advance(0.01)
        log.end_epoch(provisional=True)          # the watched loop ended
        clock.advance(validate_s if until is None else until)
        if until is None:
            log.end_epoch()                      # the user's epoch_end() after validation

    for _ in range(3):
        epoch(0.5)
    epoch(0.5, until=0.2)                        # in the middle of the 4th validation
    snap = log.snapshot()
    assert len(snap.epochs) == 3 and snap.epoch_steps == 100
    f = forecast_run(snap, epochs=10, steps_per_epoch=100, prior=None, drift_rel=0.12)
    assert f.time_s.point == pytest.approx(10 * 1.5, rel=1e-9)
    assert len(log.snapshot(final=True).epochs) == 4
    clock.advance(0.3)
    log.end_epoch()
    assert log.snapshot().epochs[-1].period_s == pytest.approx(1.5)
