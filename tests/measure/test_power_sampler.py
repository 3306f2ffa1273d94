"""The background sampler: series, faults, bounded memory, lifecycle. Injected clocks only."""

from __future__ import annotations

import threading

import pytest

from greenlove.measure.devices.base import MeterError, MeterReading, NullMeter
from greenlove.measure.power_sampler import PowerSampler
from tests.fakes.training import ConstantPowerMeter, FakeClock


class ScriptedMeter:
    """Returns the scripted readings in turn; an Exception in the script is raised."""

    def __init__(self, script, *, name="scripted", kind="gpu") -> None:
        self.script, self.name, self.kind = list(script), name, kind
        self.method, self.note, self.closed = "scripted", "", 0

    def read(self) -> MeterReading:
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        self.closed += 1


def _run(sampler: PowerSampler, clock: FakeClock, steps: int, dt: float) -> None:
    for _ in range(steps):
        clock.advance(dt)
        sampler.sample_once()


def test_counter_series_is_relative_to_first_reading(clock) -> None:
    meter = ConstantPowerMeter(clock, 250.0, counter=True)
    sampler = PowerSampler([meter], interval_s=1.0, clock=clock)
    sampler.sample_once()
    _run(sampler, clock, 4, 0.5)
    (trace,) = sampler.traces()
    assert trace.energy_j[0] == 0.0
    assert trace.energy_j[-1] == pytest.approx(250.0 * 2.0)
    assert trace.energy_between_j(1000.25, 1001.25) == pytest.approx(250.0)
    assert trace.energy_between_j(999.0, 1000.5) is None  # before the series began


def test_power_readings_are_integrated_by_trapezoid(clock) -> None:
    meter = ScriptedMeter([MeterReading(power_w=w) for w in (100.0, 200.0, 200.0)])
    sampler = PowerSampler([meter], interval_s=1.0, clock=clock)
    sampler.sample_once()
    _run(sampler, clock, 2, 1.0)
    (trace,) = sampler.traces()
    # 1 s ramping 100 -> 200 W (150 J), then 1 s at 200 W.
    assert trace.energy_j == pytest.approx((0.0, 150.0, 350.0))
    times, watts = trace.timeline(trace.times_s[0], trace.times_s[-1], max_points=2)
    assert watts == pytest.approx((150.0, 200.0))
    assert times == pytest.approx((0.5, 1.5))


def test_a_failing_meter_ends_its_series_and_the_others_go_on(clock) -> None:
    lost = ScriptedMeter([MeterReading(energy_j=10.0), MeterReading(energy_j=20.0),
                          MeterError("GPU lost")], name="GPU 1")
    steady = ConstantPowerMeter(clock, 50.0, counter=False, kind="cpu")
    sampler = PowerSampler([lost, steady], interval_s=1.0, clock=clock)
    sampler.sample_once()
    _run(sampler, clock, 4, 1.0)
    lost_trace, steady_trace = sampler.traces()
    assert lost_trace.ended == "GPU lost"
    assert len(lost_trace.times_s) == 2
    assert lost_trace.energy_between_j(1000.0, 1003.0) is None   # not covered after the loss
    assert steady_trace.ended is None
    assert steady_trace.energy_j[-1] == pytest.approx(200.0)


def test_a_counter_going_backwards_ends_the_series(clock) -> None:
    meter = ScriptedMeter([MeterReading(energy_j=500.0), MeterReading(energy_j=520.0),
                           MeterReading(energy_j=3.0), MeterReading(energy_j=30.0)])
    sampler = PowerSampler([meter], interval_s=1.0, clock=clock)
    sampler.sample_once()
    _run(sampler, clock, 3, 1.0)
    (trace,) = sampler.traces()
    assert "backwards" in trace.ended
    assert trace.energy_j == (0.0, 20.0)


def test_a_null_meter_gives_no_series_not_zero_joules(clock) -> None:
    sampler = PowerSampler([NullMeter("GPU 0", "gpu", "no permission")], clock=clock)
    sampler.sample_once()
    (trace,) = sampler.traces()
    assert trace.times_s == ()
    assert "no permission" in trace.ended
    assert trace.energy_between_j(0.0, 1e9) is None


def test_memory_is_bounded_and_totals_stay_exact(clock) -> None:
    meter = ConstantPowerMeter(clock, 10.0, counter=True)
    sampler = PowerSampler([meter], interval_s=1.0, clock=clock, max_points=16)
    sampler.sample_once()
    _run(sampler, clock, 1000, 0.1)
    (trace,) = sampler.traces()
    assert len(trace.times_s) <= 16
    assert trace.energy_j[-1] == pytest.approx(10.0 * 100.0)
    assert trace.times_s[-1] == pytest.approx(1100.0)
    assert trace.energy_between_j(1010.0, 1060.0) == pytest.approx(500.0)


@pytest.mark.parametrize("interval", [0, -1.0, float("nan"), "fast", True])
def test_bad_interval_is_rejected(interval) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        PowerSampler([], interval_s=interval)


def _sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "greenlove-power-sampler"]


def test_thread_lifecycle_and_meters_closed() -> None:
    meter = ConstantPowerMeter(FakeClock(), 1.0)
    with PowerSampler([meter], interval_s=0.001) as sampler:
        assert sampler.running
        assert len(_sampler_threads()) == 1
    assert not sampler.running
    assert _sampler_threads() == []
    assert meter.closed == 1
    sampler.stop()  # idempotent
    assert meter.closed == 1
    with pytest.raises(RuntimeError, match="starts once"):
        sampler.start()
