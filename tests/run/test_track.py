"""greenlove.track on the fake clock: the result, the pre-flight check, limits, faults."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

import greenlove
from greenlove.errors import GreenloveWarning
from tests.fakes.training import (
    PerBatchEpoch,
    estimate_on_fake_clock,
    fake_instruments,
    make_loader,
    track_on_fake_clock,
)


def start(clock, report=None, **kwargs) -> greenlove.Run:
    return track_on_fake_clock(clock, report, **kwargs)


def train(run, clock, loader, epochs, *, step_s=0.01, after_loop_s=0.2, stop_on_limit=False):
    for _ in range(epochs):
        for _batch in run.watch(loader):
            clock.advance(step_s)
        clock.advance(after_loop_s)          # validation
        run.epoch_end()
        if stop_on_limit and run.should_stop:
            break


def test_a_tracked_run_without_a_pre_flight_reports_what_really_happened(clock):
    loader = make_loader(200, 10)                       # 20 batches
    with start(clock, epochs=4) as run:
        train(run, clock, loader, 4)
    result = run.result
    a = result.actual
    assert a.completed and a.stop_reason == "completed"
    assert (a.epochs_done, a.steps_done, a.steps_per_epoch) == (4, 80, 20)
    assert a.time_s == pytest.approx(4 * (20 * 0.01 + 0.2))
    assert a.epoch_s == pytest.approx((0.4,) * 4)
    assert a.energy_kwh == pytest.approx(50.0 * a.time_s / 3.6e6, rel=1e-6)   # 40 W + 10 W fakes
    assert a.co2_kg > 0
    assert result.benchmark is None and result.prediction is None and result.check is None
    assert result.forecasts and result.forecasts[-1].done == 1.0
    assert result.forecasts[-1].time_s.point == pytest.approx(a.time_s)
    again = greenlove.Report.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.actual == a and again.forecasts == result.forecasts


def test_the_pre_flight_is_checked_against_the_run_and_guides_the_first_forecast(clock):
    loader = make_loader(1000, 10)                      # 100 batches
    epoch = PerBatchEpoch(clock, per_batch_s=0.01, after_loop_s=0.2)
    report = estimate_on_fake_clock(clock, epoch, loader, epochs=5, history=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        run = start(clock, report)
        first = run.forecast()
        assert first.prior_weight == 1.0
        assert first.time_s.point == pytest.approx(report.prediction.time_s.point
                                                   - report.prediction.warmup_s, rel=0.02)
        with run:
            train(run, clock, loader, 5)
    check = run.result.check
    assert check is not None and check.covered
    assert check.actual_s == pytest.approx(5 * 1.2)
    assert check.error_rel == pytest.approx(report.prediction.time_s.point / 6.0 - 1)
    assert check.energy_error_rel is not None
    assert run.result.benchmark is report.benchmark      # the pre-flight is kept whole


def test_ctrl_c_in_the_loop_keeps_what_was_measured_and_goes_on_to_the_user(clock):
    loader = make_loader(200, 10)
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=10) as run:
            train(run, clock, loader, 2)
            for i, _batch in enumerate(run.watch(loader)):
                clock.advance(0.01)
                if i == 4:
                    raise KeyboardInterrupt
    a = run.result.actual
    assert not a.completed and a.stop_reason == "exception: KeyboardInterrupt"
    assert (a.epochs_done, a.steps_done) == (2, 45)
    assert run.result.check is None


def test_a_limit_warns_once_in_words_and_stop_asks_the_loop_to_stop(clock):
    loader = make_loader(200, 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with start(clock, epochs=100, limits=greenlove.Limits(max_s=10), on_limit="stop") as run:
            train(run, clock, loader, 100, stop_on_limit=True)
    sentences = [str(w.message) for w in caught if issubclass(w.category, GreenloveWarning)]
    limit = [s for s in sentences if s.startswith("The run's time is forecast at")]
    assert len(limit) == 1 and "over its limit of 10.0 s" in limit[0]
    assert run.should_stop
    a = run.result.actual
    assert not a.completed and a.stop_reason.startswith("limit max_s")
    assert a.epochs_done < 100 and a.time_s < 10


def test_warn_only_lets_the_run_go_on(clock):
    loader = make_loader(100, 10)
    limits = greenlove.Limits(max_usd=1e-9)
    with pytest.warns(GreenloveWarning, match="electricity cost"), \
            start(clock, epochs=3, limits=limits) as run:
        train(run, clock, loader, 3)
    assert not run.should_stop and run.result.actual.completed


def test_metrics_are_flat_floats_under_greenlove_keys(clock):
    loader = make_loader(100, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=4) as run:
            train(run, clock, loader, 2)
            metrics = run.metrics()
    assert metrics["greenlove/done"] == pytest.approx(0.5)
    assert metrics["greenlove/time_s"] == pytest.approx(4 * 0.3, rel=1e-6)
    assert metrics["greenlove/time_s_low"] <= metrics["greenlove/time_s"] <= metrics["greenlove/time_s_high"]
    assert all(k.startswith("greenlove/") and isinstance(v, float) for k, v in metrics.items())


def test_latest_forecast_is_the_trackers_own_and_metrics_can_take_it(clock):
    loader = make_loader(100, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=4) as run:
            assert run.latest_forecast is None
            train(run, clock, loader, 2)
            latest = run.latest_forecast
            assert latest is not None and latest is run.latest_forecast   # none made since
            assert latest.epochs_done == 2
            assert run.metrics(latest)["greenlove/done"] == latest.done
            train(run, clock, loader, 1)
            assert run.latest_forecast is not latest and run.latest_forecast.epochs_done == 3


def test_step_end_counts_steps_of_a_loop_without_a_loader(clock):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=1, steps_per_epoch=50, energy=False) as run:
            for _ in range(25):
                clock.advance(0.1)
                run.step_end()
            half = run.forecast()
            run.step_end(25)
            run.epoch_end()
    assert half.done == 0.5 and half.time_s.point == pytest.approx(5.0, rel=0.01)
    assert run.result.actual.steps_done == 50 and run.result.actual.energy_kwh is None


def test_out_gets_the_partial_json_during_the_run_and_json_and_html_at_the_end(clock, tmp_path):
    loader = make_loader(100, 10)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=3, out=out) as run:
            train(run, clock, loader, 1)
            partial = json.loads((out / "greenlove-run.json").read_text())
            assert partial["actual"]["stop_reason"] == "running"
            assert partial["actual"]["completed"] is False
            train(run, clock, loader, 2)
    final = greenlove.load(out / "greenlove-run.json")
    assert final.actual.completed and final.actual.epochs_done == 3
    assert "<svg" in (out / "greenlove-run.html").read_text()


def test_the_history_gets_one_line_per_finished_run(clock, tmp_path):
    loader = make_loader(100, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        for _ in range(2):
            with start(clock, epochs=2, history=tmp_path, name="mlp") as run:
                train(run, clock, loader, 2)
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[0])
    assert entry["workload"] == "mlp" and entry["completed"] is True
    assert entry["actual_s"] == pytest.approx(0.6) and entry["predicted_s"] is None


# -- bad input and faults -----------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({}, TypeError, "track() needs the pre-flight report"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1"),
    ({"epochs": 2, "steps_per_epoch": 0}, ValueError, "steps_per_epoch must be >= 1"),
    ({"epochs": 2, "on_limit": "halt"}, ValueError, 'on_limit must be "warn" or "stop"'),
    ({"epochs": 2, "limits": {"max_s": 1}}, TypeError, "limits must be greenlove.Limits"),
    ({"epochs": 2, "progress": "yes"}, TypeError, "progress must be True or False"),
    ({"epochs": 2, "history": 3}, TypeError, "history"),
    ({"epochs": 2, "out": 3}, TypeError, "out must be a folder path"),
])
def test_bad_arguments_are_refused_before_training_and_named(clock, kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        greenlove.track(instruments=fake_instruments(clock), **kwargs)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf")])
def test_limits_must_be_positive_finite_numbers(bad):
    with pytest.raises(ValueError, match="Limits\\(max_kwh=...\\) must be a finite number > 0"):
        greenlove.Limits(max_kwh=bad)
    with pytest.raises(TypeError, match="max_s"):
        greenlove.Limits(max_s="1 h")


def test_a_report_without_a_pre_flight_is_refused_as_a_prior(clock):
    loader = make_loader(100, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=1) as run:
            train(run, clock, loader, 1)
    with pytest.raises(ValueError, match="no pre-flight prediction"):
        start(clock, run.result)
    with pytest.raises(TypeError, match="report must be a greenlove.Report"):
        start(clock, {"plan": {}})


def test_watch_refuses_what_is_not_iterable_and_after_the_end_nothing_breaks(clock):
    loader = make_loader(100, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        run = start(clock, epochs=1)
        with pytest.raises(TypeError, match="watch\\(\\) needs an iterable"):
            run.watch(5)
        with pytest.raises(ValueError, match="step_end"):
            run.step_end(0)
        with run:
            train(run, clock, loader, 1)
    with pytest.warns(GreenloveWarning, match="after the run ended"):
        run.epoch_end()
    assert sum(1 for _ in run.watch(loader)) == 10       # still yields the user's batches
    assert run.result.actual.epochs_done == 1


def test_a_loader_that_does_not_match_the_pre_flight_is_said_and_not_checked(clock):
    loader = make_loader(1000, 10)
    epoch = PerBatchEpoch(clock, per_batch_s=0.01, after_loop_s=0.2)
    report = estimate_on_fake_clock(clock, epoch, loader, epochs=2, history=False)
    other = make_loader(500, 10)
    said = "has 50 batches; the pre-flight report planned 100 \\(-50%\\)"
    with pytest.warns(GreenloveWarning, match=said), start(clock, report) as run:
        train(run, clock, other, 2)
    assert run.result.check is None and run.result.actual.steps_per_epoch == 50


def test_unwritable_out_and_history_are_warnings_and_the_run_goes_on(clock, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    loader = make_loader(100, 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with start(clock, epochs=2, out=blocker / "out", history=blocker / "history") as run:
            train(run, clock, loader, 2)
    sentences = " ".join(str(w.message) for w in caught)
    assert "could not be written" in sentences and "could not be added to the history" in sentences
    assert run.result.actual.completed


def test_a_failing_meter_never_breaks_the_training(clock):
    class Broken:
        name, kind, method, note = "GPU 0: broken", "gpu", "fake", ""

        def read(self):
            raise RuntimeError("driver gone")

        def close(self):
            pass

    loader = make_loader(100, 10)
    energy = greenlove.EnergyOptions(meters=(Broken(),), idle_s=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, epochs=2, energy=energy) as run:
            train(run, clock, loader, 2)
    assert run.result.actual.completed and run.result.actual.energy_kwh is None


def test_the_run_is_costed_with_the_pre_flight_s_site(clock):
    loader = make_loader(1000, 10)
    epoch = PerBatchEpoch(clock, per_batch_s=0.01, after_loop_s=0.2)
    site = greenlove.Site(zone="DE", usd_per_kwh=1.0, g_co2_per_kwh=500.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        report = estimate_on_fake_clock(clock, epoch, loader, epochs=2, history=False, site=site)
        with start(clock, report) as run:
            train(run, clock, loader, 2)
    a = run.result.actual
    assert a.cost_usd == pytest.approx(a.energy_kwh * 1.0)
    pue = report.assumptions["site_pue"]["value"]
    assert a.co2_kg == pytest.approx(a.energy_kwh * 0.5 * pue)


def test_the_progress_line_says_done_elapsed_end_and_spend_in_one_line(clock):
    import time as time_module

    from greenlove.model.forecast import Forecast
    from greenlove.model.interval import Interval
    from greenlove.run.progress import run_line_text

    forecast = Forecast(
        done=0.37, elapsed_s=252.0, steps_done=370, epochs_done=3,
        remaining_s=Interval(1320.0, 1200.0, 1500.0, 0.95),
        time_s=Interval(1572.0, 1452.0, 1752.0, 0.95),
        energy_kwh=Interval(0.034, 0.030, 0.038, 0.95), cost_usd=Interval(0.011, 0.01, 0.012, 0.95),
        co2_kg=None, energy_so_far_kwh=0.012, cost_so_far_usd=0.004, co2_so_far_kg=None,
        per_step_s=0.5, per_epoch_s=1.0, prior_weight=0.0, wander_rel=0.05, basis="x")
    now = 1_800_000_000.0
    line = run_line_text(forecast, wall_now_s=now)
    end = time_module.strftime("%H:%M", time_module.localtime(now + 1320.0))
    assert line == ("greenlove 37% · 4 min 12 s elapsed · ends in 22 min 00 s (20 min 00 s – "
                    f"25 min 00 s) at {end} · 12 Wh so far, 34 Wh (30 Wh – 38 Wh) forecast · "
                    "0.4¢ so far, 1.1¢ forecast")
    assert "\n" not in line
    finished = run_line_text(dataclasses.replace(forecast, done=1.0), wall_now_s=now)
    assert "finished" in finished and "forecast" not in finished
