"""One contract, every meter: what the sampler and the report may rely on, whatever the vendor.

Each factory builds one meter type on a fake backend (fake NVML, a fake powercap tree, an
injected utilisation, a fake amdsmi); the same tests then run against all of them. Nothing here
touches real hardware, sysfs or NVML, and nothing sleeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from greenlove.measure.devices.amd import AmdEnergyMeter, AmdPowerMeter, open_amd_meters
from greenlove.measure.devices.base import (
    KIND_CPU,
    KIND_GPU,
    KIND_RAM,
    Meter,
    MeterError,
    MeterReading,
    NullMeter,
)
from greenlove.measure.devices.cpu_estimate import CpuTdpMeter, lookup_cpu_tdp
from greenlove.measure.devices.nvml import (
    METHOD_ENERGY,
    METHOD_POWER_AVERAGE,
    METHOD_POWER_INSTANT,
    open_nvidia_meters,
)
from greenlove.measure.devices.ram_estimate import RamEstimateMeter
from greenlove.measure.devices.rapl import RaplMeter, open_rapl_meters
from greenlove.measure.power_sampler import PowerSampler
from tests.fakes.amdsmi import FakeAmdSmi
from tests.fakes.nvml import FakeNvml, gpu
from tests.fakes.powercap import FakePowercap
from tests.fakes.training import FakeClock

KINDS = {KIND_GPU, KIND_CPU, KIND_RAM}
NULL_REASON = "the test says this GPU cannot be measured"

# ---------------------------------------------------------------- one factory per meter type


def _one_nvidia(**settings: object) -> Meter:
    [meter] = open_nvidia_meters(nvml=FakeNvml(gpu(0, **settings)), env={})
    return meter


def nvml_energy(tmp_path: Path) -> Meter:
    meter = _one_nvidia()
    assert meter.method == METHOD_ENERGY
    return meter


def nvml_instant(tmp_path: Path) -> Meter:
    meter = _one_nvidia(energy_counter=False)
    assert meter.method == METHOD_POWER_INSTANT
    return meter


def nvml_average(tmp_path: Path) -> Meter:
    meter = _one_nvidia(name="NVIDIA GeForce RTX 4090", energy_counter=False, instant_power=False)
    assert meter.method == METHOD_POWER_AVERAGE
    return meter


def _ticking_reader(step_uj: int) -> Callable[[Path], str]:
    """Reads the fake tree, but every read of an ``energy_uj`` file adds ``step_uj`` more, so
    the counters move between reads as they would on a running machine."""
    reads = {"n": 0}

    def read(path: Path) -> str:
        text = path.read_text()
        if path.name != "energy_uj":
            return text
        reads["n"] += 1
        return f"{int(text) + reads['n'] * step_uj}\n"

    return read


def _rapl(tmp_path: Path, kind: str) -> Meter:
    tree = FakePowercap(tmp_path / "powercap")
    tree.add_package(0, energy_uj=1_000_000, dram_uj=200_000)
    tree.add_package(1, energy_uj=3_000_000, dram_uj=400_000)
    meters = open_rapl_meters(root=tree.root, reader=_ticking_reader(50_000))
    [meter] = [m for m in meters if m.kind == kind]
    assert isinstance(meter, RaplMeter)
    for other in meters:
        if other is not meter:
            other.close()
    return meter


def rapl_package(tmp_path: Path) -> Meter:
    return _rapl(tmp_path, KIND_CPU)


def rapl_dram(tmp_path: Path) -> Meter:
    return _rapl(tmp_path, KIND_RAM)


def cpu_tdp(tmp_path: Path) -> Meter:
    tdp = lookup_cpu_tdp("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")
    return CpuTdpMeter(tdp, logical_cpus=8, cpu_percent=lambda: 40.0)


def ram_estimate(tmp_path: Path) -> Meter:
    return RamEstimateMeter(total_bytes=32 * 2**30)


def amd_energy(tmp_path: Path) -> Meter:
    gpu_info = {"energy": {"energy_accumulator": 10_000, "counter_resolution": 15.3},
                "asic": {"market_name": "AMD Instinct MI300X"}}
    [meter] = open_amd_meters(amdsmi=FakeAmdSmi(gpu_info))
    assert isinstance(meter, AmdEnergyMeter)
    return meter


def amd_power(tmp_path: Path) -> Meter:
    gpu_info = {"energy": None, "power": {"current_socket_power": "N/A", "average_socket_power": 212},
                "asic": {"market_name": "AMD Instinct MI210"}}
    [meter] = open_amd_meters(amdsmi=FakeAmdSmi(gpu_info))
    assert isinstance(meter, AmdPowerMeter)
    return meter


def null_meter(tmp_path: Path) -> Meter:
    return NullMeter("GPU 7: unmeasurable", KIND_GPU, NULL_REASON)


FACTORIES: dict[str, Callable[[Path], Meter]] = {
    "nvml-energy-counter": nvml_energy,
    "nvml-power-instant": nvml_instant,
    "nvml-power-average": nvml_average,
    "rapl-package": rapl_package,
    "rapl-dram": rapl_dram,
    "cpu-tdp-estimate": cpu_tdp,
    "ram-estimate": ram_estimate,
    "amd-energy-counter": amd_energy,
    "amd-power": amd_power,
    "null": null_meter,
}


@pytest.fixture(params=list(FACTORIES.values()), ids=list(FACTORIES))
def meter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Meter]:
    made = request.param(tmp_path)
    yield made
    made.close()   # after the test's own closes: closing stays harmless however often it is done


# ---------------------------------------------------------------- the contract


def test_labels_are_strings_with_a_known_kind(meter: Meter) -> None:
    for attribute in ("name", "kind", "method", "note"):
        assert isinstance(getattr(meter, attribute), str), attribute
    assert meter.name
    assert meter.kind in KINDS
    assert meter.method and not any(c.isspace() for c in meter.method), meter.method


def test_satisfies_the_meter_protocol(meter: Meter) -> None:
    assert isinstance(meter, Meter)
    assert callable(meter.read) and callable(meter.close)


def test_read_gives_exactly_one_finite_non_negative_value(meter: Meter) -> None:
    if isinstance(meter, NullMeter):
        with pytest.raises(MeterError, match=NULL_REASON):
            meter.read()
        return
    reading = meter.read()
    assert isinstance(reading, MeterReading)
    values = [v for v in (reading.energy_j, reading.power_w) if v is not None]
    assert len(values) == 1, reading
    assert isinstance(values[0], float), reading
    assert math.isfinite(values[0]) and values[0] >= 0, reading


def test_consecutive_reads_keep_their_form_and_counters_do_not_decrease(meter: Meter) -> None:
    if isinstance(meter, NullMeter):
        for _ in range(2):
            with pytest.raises(MeterError):
                meter.read()
        return
    readings = [meter.read() for _ in range(3)]
    counter = readings[0].energy_j is not None
    for reading in readings:
        assert (reading.energy_j is not None) == counter, readings   # never switches form
    if counter:
        energies = [r.energy_j for r in readings]
        assert energies == sorted(energies), energies


def test_close_twice_is_harmless(meter: Meter) -> None:
    meter.close()
    meter.close()


def test_every_meter_type_is_covered(tmp_path: Path) -> None:
    """The factories span every method label greenlove has."""
    methods = set()
    for name, factory in FACTORIES.items():
        made = factory(tmp_path / name)
        methods.add(made.method)
        made.close()
    assert methods == {
        METHOD_ENERGY, METHOD_POWER_INSTANT, METHOD_POWER_AVERAGE, "rapl", "tdp-estimate",
        "ram-estimate", "amdsmi-energy-counter", "amdsmi-power", "not-measured",
    }


# ---------------------------------------------------------------- all of them under one sampler


def test_sampler_over_every_meter_gives_one_trace_each(tmp_path: Path) -> None:
    meters = [factory(tmp_path / name) for name, factory in FACTORIES.items()]
    clock = FakeClock()
    sampler = PowerSampler(meters, interval_s=0.1, clock=clock)
    for _ in range(3):
        sampler.sample_once()
        clock.advance(1.0)
    traces = sampler.traces()
    assert len(traces) == len(meters)
    for meter_, trace in zip(meters, traces):
        assert (trace.name, trace.kind, trace.method, trace.note) == \
            (meter_.name, meter_.kind, meter_.method, meter_.note)
        if isinstance(meter_, NullMeter):
            assert trace.times_s == () and trace.energy_j == ()
            assert trace.ended is not None and NULL_REASON in trace.ended
            assert trace.energy_between_j(1000.0, 1002.0) is None
            continue
        assert trace.ended is None, (trace.name, trace.ended)
        assert trace.times_s == (1000.0, 1001.0, 1002.0), trace.name
        assert trace.energy_j[0] == 0.0, trace.name
        assert list(trace.energy_j) == sorted(trace.energy_j), trace.name
        assert all(math.isfinite(e) for e in trace.energy_j), trace.name
        energy = trace.energy_between_j(1000.0, 1002.0)
        assert energy is not None and energy >= 0, trace.name
    ended = [t.name for t in traces if t.ended is not None or not t.times_s]
    assert ended == ["GPU 7: unmeasurable"]
    sampler.stop()   # never started: closes the meters only
    for meter_ in meters:
        meter_.close()   # a second close, after the sampler's
