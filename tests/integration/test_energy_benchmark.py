"""Energy through the whole benchmark: injected clock, fake meters, no sleeping to time."""

from __future__ import annotations

import threading

import pytest

import greenlove
from greenlove.measure.energy_options import EnergyOptions
from greenlove.model.energy import J_PER_KWH
from tests.fakes.training import (
    ConstantPowerMeter,
    SimulatedEpoch,
    fake_clouds,
    fake_energy,
    fake_instruments,
    make_loader,
)


def _sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "greenlove-power-sampler"]


def _estimate(clock, epoch, **kwargs):
    kwargs.setdefault("energy", fake_energy(clock))
    kwargs.setdefault("clouds", fake_clouds())
    return greenlove.estimate(epoch, make_loader(), epochs=50, budget_s=10.0, progress=False,
                              instruments=fake_instruments(clock), **kwargs)


def test_energy_is_predicted_per_device_with_idle_baseline(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01)
    report = _estimate(clock, epoch)
    energy = report.prediction.energy
    # 40 W + 10 W at all times: energy = 50 W x predicted time, idle = all of it.
    assert energy.method == "energy-line"
    assert energy.energy_kwh.point == pytest.approx(50.0 * report.prediction.time_s.point
                                                    / J_PER_KWH, rel=1e-6)
    assert energy.energy_kwh.low < energy.energy_kwh.point < energy.energy_kwh.high
    assert energy.mean_power_w == pytest.approx(50.0)
    assert energy.idle_power_w == pytest.approx(50.0)
    assert energy.idle_share == pytest.approx(1.0)
    measured = report.benchmark.energy
    assert [d.method for d in measured.devices] == ["fake-counter", "fake-power"]
    assert measured.idle_window_s[1] - measured.idle_window_s[0] == pytest.approx(0.5)
    for device, watts in zip(measured.devices, (40.0, 10.0)):
        for record, joules in zip(report.benchmark.epochs, device.epoch_energy_j):
            assert joules == pytest.approx(watts * record.epoch_s, rel=1e-9)
    assert {d.name: round(d.mean_power_w) for d in energy.devices} == {"GPU 0: fake": 40,
                                                                      "CPU: fake": 10}
    text = report.summary(full=True)                 # the power sources: greenlove show --full
    assert "Power sources" in text and "fake-counter" in text and "Wh" in text


def test_idle_baseline_is_capped_by_a_small_budget(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.02, per_batch_s=0.001)
    report = greenlove.estimate(epoch, make_loader(), epochs=5, budget_s=2.0, progress=False,
                                instruments=fake_instruments(clock),
                                energy=fake_energy(clock, idle_s=5.0))
    start, end = report.benchmark.energy.idle_window_s
    assert end - start == pytest.approx(0.2)  # 10% of the 2 s budget


def test_energy_false_measures_nothing_and_starts_no_thread(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01)
    report = _estimate(clock, epoch, energy=False)
    assert report.prediction.energy is None
    assert report.benchmark.energy is None
    assert report.to_dict()["prediction"]["energy_kwh"] is None
    assert "Power sources" not in report.summary(full=True)


def test_a_meter_failing_mid_run_is_a_warning_not_a_crash(clock) -> None:
    class Dying(ConstantPowerMeter):
        reads = 0

        def read(self):
            self.reads += 1
            if self.reads > 2:
                raise greenlove.GreenloveError("GPU lost")
            return super().read()

    meters = (Dying(clock, 40.0, name="GPU 1: dying"), ConstantPowerMeter(clock, 10.0, kind="cpu"))
    # An interval far longer than the run: only the deterministic reads happen (start, idle,
    # stop), so the meter dies at the stop read.
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01)
    report = _estimate(clock, epoch, energy=EnergyOptions(interval_s=1e6, idle_s=0.5,
                                                          meters=meters))
    assert any("GPU 1: dying stopped answering" in w for w in report.warnings)
    assert report.prediction.energy is not None  # the CPU still counts


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_sampler_stops_and_meters_close_on_every_exit_path(clock, error) -> None:
    meters = (ConstantPowerMeter(clock, 40.0), ConstantPowerMeter(clock, 5.0, kind="cpu"))
    calls = []

    def failing_epoch(loader):
        calls.append(1)
        assert len(_sampler_threads()) == 1
        for _ in loader:
            clock.advance(0.01)
        if len(calls) == 3:
            raise error

    with pytest.raises(type(error)):
        greenlove.estimate(failing_epoch, make_loader(), epochs=5, budget_s=10.0, progress=False,
                           instruments=fake_instruments(clock),
                           energy=EnergyOptions(interval_s=0.01, idle_s=0.1, meters=meters))
    assert _sampler_threads() == []
    assert [m.closed for m in meters] == [1, 1]


def test_wrapping_style_break_stops_the_sampler(clock) -> None:
    bench = greenlove.Benchmark(make_loader(), epochs=5, budget_s=10.0, progress=False,
                                instruments=fake_instruments(clock),
                                energy=EnergyOptions(interval_s=0.01, idle_s=0.0,
                                                     meters=(ConstantPowerMeter(clock, 1.0),)))
    with bench:
        for _ in bench:
            clock.advance(0.1)
            break
    assert _sampler_threads() == []


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"interval_s": 0}, "energy.interval_s must be at least 0.01 s"),
    ({"interval_s": -0.1}, "energy.interval_s must be at least 0.01 s"),
    ({"idle_s": -1.0}, "energy.idle_s must be >= 0"),
    ({"interval_s": "fast"}, "energy.interval_s must be a number"),
    ({"meters": [object()]}, "energy.meters holds"),
])
def test_bad_energy_options_name_the_argument(kwargs, match) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        EnergyOptions(**kwargs)


def test_energy_argument_of_the_wrong_type_is_rejected() -> None:
    with pytest.raises(TypeError, match="energy must be"):
        greenlove.Benchmark(make_loader(), epochs=5, energy="yes")
