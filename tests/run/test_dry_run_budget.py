"""A dry run's Report where the stop rule had no forecast to rest on: the budget spent before
any forecast (a Report without a prediction), and a dry run that completed the whole run (the
last forecast taken while it ran). Both used to fail building the Report."""

from __future__ import annotations

import greenlove
from tests.fakes.training import fake_energy, fake_instruments


def test_budget_spent_before_any_forecast_gives_a_report_without_prediction(clock):
    run = greenlove.track(epochs=3, steps_per_epoch=100, dry_run=True, budget_s=0.5,
                          history=False, progress=False, energy=fake_energy(clock),
                          instruments=fake_instruments(clock))
    run.step_end()
    clock.advance(1.0)            # one slow first step: the budget is spent, no rate yet
    run.extra_begin("validation")
    run.extra_end()               # an update: the stop rule runs
    assert run.should_stop and run.stop_reason.startswith("dry run: budget_s")
    result = run.result
    assert result is not None and result.prediction is None
    assert result.actual.dry_run and result.actual.steps_done == 1


def test_a_dry_run_with_steps_enough_predicts_the_whole_run(clock):
    run = greenlove.track(epochs=3, steps_per_epoch=100, dry_run=True, budget_s=0.5,
                          history=False, progress=False, energy=fake_energy(clock),
                          instruments=fake_instruments(clock))
    for _ in range(60):
        run.step_end()
        clock.advance(0.01)
    run.extra_begin("validation")
    run.extra_end()
    assert run.should_stop
    prediction = run.result.prediction
    assert prediction is not None
    assert prediction.time_s.low <= prediction.time_s.point <= prediction.time_s.high


def test_a_dry_run_that_completes_the_whole_run_still_predicts(clock):
    run = greenlove.track(epochs=1, steps_per_epoch=40, dry_run=True, budget_s=100.0,
                          history=False, progress=False, energy=fake_energy(clock),
                          instruments=fake_instruments(clock))
    for i in range(40):
        run.step_end()
        clock.advance(0.01)
        if i == 10:           # too few blocks for the rule to stop it
            run.extra_begin("validation")
            run.extra_end()       # an update mid-run: the last forecast taken while it ran
    run.epoch_end()
    result = run.result
    assert not run.should_stop
    assert result.actual.completed and result.prediction is not None
    assert result.prediction.time_s.point > 0
