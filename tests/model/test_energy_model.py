"""Energy per epoch from traces, and the full run's energy: hand-computable cases."""

from __future__ import annotations

import pytest

from greenlove.measure.power_sampler import DeviceTrace
from greenlove.measure.timing import EpochRecord
from greenlove.model import predict_time
from greenlove.model.energy import (
    J_PER_KWH,
    DeviceEnergy,
    EnergyMeasurement,
    measure_energy,
    measurement_warnings,
    predict_energy,
)

SIZES = [25, 50, 100, 100, 50, 25, 25, 50, 100, 100, 50, 25]


def _records(fixed_s=0.1, per_batch_s=0.01, warmup_s=0.0, start_s=1.0):
    records, t = [], start_s
    for i, b in enumerate(SIZES):
        epoch_s = fixed_s + per_batch_s * b + (warmup_s if i == 0 else 0.0)
        records.append(EpochRecord(order=i, sample_batches=b, sample_size=10 * b,
                                   batches_drawn=b, epoch_s=epoch_s, started_s=t,
                                   loader_epoch=SIZES[:i].count(b)))
        t += epoch_s
    return records


def _device(name, energies, idle_w=None, kind="gpu", ended=None):
    return DeviceEnergy(name=name, kind=kind, method="fake", note="", epoch_energy_j=tuple(energies),
                        idle_power_w=idle_w, mean_power_w=None, timeline_s=(), timeline_w=(),
                        ended=ended)


def test_epoch_energy_idle_and_mean_power_from_a_trace() -> None:
    records = _records()
    origin = 100.0
    end = records[-1].started_s + records[-1].epoch_s
    # 20 W idle for the first second, then 120 W: a straight line after t = 1 s.
    trace = DeviceTrace(name="GPU 0", kind="gpu", method="fake", note="",
                        times_s=(origin, origin + 1.0, origin + end),
                        energy_j=(0.0, 20.0, 20.0 + 120.0 * (end - 1.0)), ended=None)
    roles = ["steady"] * len(records)
    measured = measure_energy([trace], records, roles, origin_s=origin, idle_window_s=(0.0, 1.0),
                              interval_s=0.1)
    (device,) = measured.devices
    assert device.idle_power_w == pytest.approx(20.0)
    assert device.mean_power_w == pytest.approx(120.0)
    for record, energy in zip(records, device.epoch_energy_j):
        assert energy == pytest.approx(120.0 * record.epoch_s)
    assert device.timeline_w[-1] == pytest.approx(120.0)
    assert measured.epoch_total_j(3) == pytest.approx(120.0 * records[3].epoch_s)


def test_energy_line_recovered_and_warmup_added_once() -> None:
    records = _records(warmup_s=2.0)
    time = predict_time(records, full_batches=1000, epochs=10, warmup_epochs=1)
    # GPU: 5 J per epoch + 2 J per batch; the warm-up epoch costs 50 J more. CPU: 10 W.
    gpu = [5.0 + 2.0 * r.sample_batches + (50.0 if r.order == 0 else 0.0) for r in records]
    cpu = [10.0 * r.epoch_s for r in records]
    measured = EnergyMeasurement(interval_s=0.1, idle_window_s=(0.0, 1.0), fallbacks=(), devices=(
        _device("GPU 0", gpu, idle_w=30.0), _device("CPU", cpu, idle_w=5.0, kind="cpu")))
    energy = predict_energy(measured, records, time, full_batches=1000, epochs=10,
                            confidence=0.95, drift_rel=0.04)
    assert energy.method == "energy-line"
    assert energy.fixed_j == pytest.approx(5.0 + 10.0 * 0.1, rel=1e-6)
    assert energy.per_batch_j == pytest.approx(2.0 + 10.0 * 0.01, rel=1e-6)
    epoch_j = 6.0 + 2.1 * 1000
    assert energy.warmup_kwh == pytest.approx((50.0 + 20.0) / J_PER_KWH, rel=1e-6)
    assert energy.energy_kwh.point == pytest.approx((70.0 + 10 * epoch_j) / J_PER_KWH, rel=1e-6)
    assert energy.energy_kwh.low < energy.energy_kwh.point < energy.energy_kwh.high
    # Idle: 35 W for the predicted 10 x 10.1 s + 2 s warm-up.
    assert energy.idle_power_w == pytest.approx(35.0)
    assert energy.idle_share == pytest.approx(35.0 * time.time_s.point
                                              / (energy.energy_kwh.point * J_PER_KWH), rel=1e-6)
    shares = {d.name: d.energy_kwh for d in energy.devices}
    assert sum(shares.values()) == pytest.approx(energy.energy_kwh.point)
    assert shares["GPU 0"] > shares["CPU"]


def test_too_few_complete_epochs_fall_back_to_mean_power_times_time() -> None:
    records = _records()
    time = predict_time(records, full_batches=1000, epochs=10)
    lost_after = 2
    gpu = [100.0 * r.epoch_s if r.order < lost_after else None for r in records]
    measured = EnergyMeasurement(interval_s=0.1, idle_window_s=None, fallbacks=(), devices=(
        _device("GPU 0", gpu, ended="GPU lost"),))
    energy = predict_energy(measured, records, time, full_batches=1000, epochs=10,
                            confidence=0.95, drift_rel=0.04)
    assert energy.method == "mean-power-x-time"
    assert energy.energy_kwh.point == pytest.approx(100.0 * time.time_s.point / J_PER_KWH)
    assert any("mean power" in w for w in energy.warnings)
    assert energy.idle_share is None
    warnings = measurement_warnings(measured, records)
    assert any("GPU 0 stopped answering" in w and "10 of 12" in w for w in warnings)


def test_nothing_measured_gives_no_energy_prediction() -> None:
    records = _records()
    time = predict_time(records, full_batches=1000, epochs=10)
    measured = EnergyMeasurement(interval_s=0.1, idle_window_s=None, fallbacks=("x",), devices=(
        _device("GPU 0", [None] * len(records), ended="no permission"),))
    assert predict_energy(measured, records, time, full_batches=1000, epochs=10,
                          confidence=0.95, drift_rel=0.04) is None


def test_epochs_shorter_than_a_few_readings_use_mean_power_times_time() -> None:
    records = _records()       # epochs of 0.35-1.1 s
    time = predict_time(records, full_batches=1000, epochs=10)
    # 100 W with +-10% scatter between epochs; readings every second: < 5 per epoch.
    scatter = [1.1, 0.9] * (len(records) // 2)
    gpu = [100.0 * f * r.epoch_s for r, f in zip(records, scatter)]
    measured = EnergyMeasurement(interval_s=1.0, idle_window_s=None, fallbacks=(), devices=(
        _device("GPU 0", gpu),))
    energy = predict_energy(measured, records, time, full_batches=1000, epochs=10,
                            confidence=0.95, drift_rel=0.04)
    assert energy.method == "mean-power-x-time"
    assert energy.warnings == ()           # a sound method here, not a failure
    mean_w = sum(gpu) / sum(r.epoch_s for r in records)
    assert energy.energy_kwh.point == pytest.approx(mean_w * time.time_s.point / J_PER_KWH)
    # The power's own uncertainty widens the interval beyond the time interval's.
    assert energy.energy_kwh.high * J_PER_KWH > mean_w * time.time_s.high
    assert energy.energy_kwh.low * J_PER_KWH < mean_w * time.time_s.low
    assert energy.variance_parts_j2["power"] > 0


@pytest.mark.parametrize("complete, method", [(5, "mean-power-x-time"), (6, "energy-line")])
def test_the_energy_line_needs_six_steady_epochs(complete, method) -> None:
    """With 5 epochs (3 degrees of freedom) the line's Student t interval spans several times
    its point; mean power x the time prediction is used instead, and said."""
    records = _records()
    time = predict_time(records, full_batches=1000, epochs=10)
    gpu = [5.0 + 2.0 * r.sample_batches if r.order < complete else None for r in records]
    measured = EnergyMeasurement(interval_s=0.01, idle_window_s=None, fallbacks=(), devices=(
        _device("GPU 0", gpu, ended="GPU lost"),))
    energy = predict_energy(measured, records, time, full_batches=1000, epochs=10,
                            confidence=0.95, drift_rel=0.04)
    assert energy.method == method
    assert any(f"Only {complete} steady epochs" in w for w in energy.warnings) == (complete < 6)
