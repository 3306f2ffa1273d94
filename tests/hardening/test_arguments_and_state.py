"""Argument gaps, the user's state when restoring fails, a held iterator, warnings in figures."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import greenlove
from greenlove.errors import GreenloveWarning
from greenlove.measure.environment import describe_environment
from tests.fakes.training import (
    SimulatedEpoch,
    estimate_on_fake_clock,
    fake_instruments,
    make_loader,
    make_model,
)


def _noop(loader) -> None:
    for _ in loader:
        pass


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"progress": "yes"}, TypeError, "progress must be True, False or a display"),
    ({"seed": 2**70}, ValueError, "seed must be between"),
    ({"steps_per_epoch": 1000}, ValueError, "steps_per_epoch=1000 is more than the 100 batches"),
])
def test_argument_gaps_are_named_before_anything_runs(kwargs, error, words):
    with pytest.raises(error, match=words):
        greenlove.Benchmark(make_loader(1000, 10), epochs=3, **kwargs)


def test_numpy_integers_are_integers():
    bench = greenlove.Benchmark(make_loader(), epochs=np.int64(10), seed=np.int32(3),
                                progress=False, restore=make_model())
    assert bench.epochs == 10 and isinstance(bench.epochs, int) and bench.settings.seed == 3


def test_a_single_provider_name_is_one_provider_not_its_letters():
    assert greenlove.CloudOptions(providers="Crusoe").providers == ("Crusoe",)
    with pytest.raises(TypeError, match="providers"):
        greenlove.CloudOptions(providers=[3])


@pytest.mark.parametrize(("value", "error"), [(float("nan"), ValueError), (1e-6, ValueError),
                                              ("0.1", TypeError)])
def test_the_sampler_interval_must_be_a_sane_number(value, error):
    with pytest.raises(error, match="energy.interval_s"):
        greenlove.EnergyOptions(interval_s=value)


def test_no_restore_says_what_the_benchmark_will_change(clock):
    with pytest.warns(GreenloveWarning, match="restore was not given"):
        report = estimate_on_fake_clock(clock, SimulatedEpoch(clock, 0.1, 0.01), make_loader())
    assert any("restore was not given" in w for w in report.warnings)
    model, _ = make_model()
    with pytest.warns(GreenloveWarning, match="no optimizer"):
        estimate_on_fake_clock(clock, SimulatedEpoch(clock, 0.1, 0.01), make_loader(),
                               restore=model)


class BrokenRestore(torch.nn.Linear):
    def load_state_dict(self, *args, **kwargs):
        raise RuntimeError("load_state_dict failed")


def test_the_users_error_comes_first_and_a_failed_restore_is_attached_to_it(clock):
    model = BrokenRestore(1, 1)

    def epoch(loader):
        for _ in loader:
            clock.advance(0.01)
        raise ValueError("the user's own bug")

    with pytest.raises(ValueError, match="the user's own bug") as caught, \
            pytest.warns(GreenloveWarning, match="could not put your state back"):
        greenlove.estimate(epoch, make_loader(), epochs=3, restore=model, progress=False,
                           instruments=fake_instruments(clock), energy=False, clouds=False,
                           history=False)
    notes = getattr(caught.value, "__notes__", [])
    assert not hasattr(caught.value, "add_note") or any("load_state_dict failed" in n
                                                         for n in notes)


def test_a_failed_restore_after_a_clean_loop_is_raised(clock):
    with pytest.raises(RuntimeError, match="load_state_dict failed"):
        estimate_on_fake_clock(clock, SimulatedEpoch(clock, 0.1, 0.01), make_loader(),
                               restore=BrokenRestore(1, 1), budget_s=2.0)


def test_report_after_a_break_with_the_iterator_held_restores_first(clock):
    model, optimizer = make_model()
    before = [p.detach().clone() for p in model.parameters()]
    bench = greenlove.Benchmark(make_loader(), epochs=10, restore=(model, optimizer),
                                progress=False, instruments=fake_instruments(clock),
                                energy=False, clouds=False, history=False)
    iterator = iter(bench)
    for i, sample in enumerate(iterator):
        for x, _ in sample:
            model(x).sum().backward()
            optimizer.step()
            clock.advance(0.01)
        if i == 3:
            break
    report = bench.report()            # no "finish the loop": it ends it, restoring first
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert any("left early" in w for w in report.warnings)
    del iterator


def test_a_budget_overrun_is_said_in_figures_that_differ(clock):
    epoch = SimulatedEpoch(clock, fixed_s=0.5, per_batch_s=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        report = estimate_on_fake_clock(clock, epoch, make_loader(), budget_s=0.4)
    said = [w for w in report.warnings if "more than its" in w]
    assert said, report.warnings
    wall, budget = report.benchmark.wall_s, report.benchmark.budget_s
    assert f"{wall / budget - 1:.0%} more than its" in said[0]
    assert "0.0 s" not in said[0]


def test_a_report_names_no_path_of_the_user():
    environment = describe_environment()
    assert "executable" not in environment
    assert not any(isinstance(v, str) and ("/home/" in v or "/Users/" in v)
                   for v in environment.values())


def test_the_load_figures_are_plain_arithmetic():
    from greenlove.measure.load import CpuSnapshot, machine_load

    start = CpuSnapshot(busy_s=100.0, steal_s=1.0, own_s=10.0, cpus=2, at_s=0.0)
    end = CpuSnapshot(busy_s=116.0, steal_s=2.0, own_s=20.0, cpus=2, at_s=10.0)
    load = machine_load(start, end)
    assert load.other_share == pytest.approx(6.0 / 20.0)
    assert load.steal_share == pytest.approx(1.0 / 20.0)
    assert load.busy and "other processes used 30% of its 2 CPUs" in load.sentence()
    assert machine_load(start, start) is None


def test_a_busy_machine_is_said_and_widens_the_interval(clock):
    from dataclasses import replace

    from greenlove.measure.load import CpuSnapshot

    snapshots = iter([CpuSnapshot(0.0, 0.0, 0.0, 2, 0.0), CpuSnapshot(12.0, 0.0, 2.0, 2, 10.0)])
    quiet = estimate_on_fake_clock(clock, SimulatedEpoch(clock, 0.1, 0.01), make_loader(),
                                   restore=make_model(), budget_s=5.0)
    busy_instruments = replace(fake_instruments(clock), cpu_snapshot=lambda: next(snapshots))
    busy = greenlove.estimate(SimulatedEpoch(clock, 0.1, 0.01), make_loader(), epochs=50,
                              restore=make_model(), budget_s=5.0, progress=False,
                              instruments=busy_instruments, energy=False, clouds=False)
    assert busy.warnings[0].startswith("The machine was busy during the benchmark: other "
                                       "processes used 50% of its 2 CPUs")
    assert busy.benchmark.load["other_share"] == pytest.approx(0.5)
    q, b = quiet.prediction.time_s, busy.prediction.time_s
    assert b.point == pytest.approx(q.point)
    z = 1.959964
    extra = z * 0.25 * (b.point - busy.prediction.warmup_s)
    assert b.high - b.point == pytest.approx(math.hypot(q.high - q.point, extra), rel=1e-3)
    assert busy.prediction.fit.variance_parts_s2["load"] > 0
    assert "load_change" in busy.assumptions
    again = greenlove.Report.from_dict(busy.to_dict())
    assert again.benchmark.load == busy.benchmark.load


def test_a_hanging_meter_read_never_hangs_the_users_thread():
    import threading
    import time

    from greenlove.measure.power_sampler import PowerSampler

    release = threading.Event()

    class Hanging:
        name, kind, method, note = "GPU 0: wedged", "gpu", "fake", ""

        def __init__(self):
            self.reads = 0

        def read(self):
            from greenlove.measure.devices.base import MeterReading

            self.reads += 1
            if self.reads >= 3:
                release.wait(60)
            return MeterReading(power_w=10.0)

        def close(self):
            raise AssertionError("a wedged meter must not be closed")

    sampler = PowerSampler([Hanging()], interval_s=0.01, read_timeout_s=0.2).start()
    time.sleep(0.1)
    started = time.monotonic()
    sampler.stop()
    assert time.monotonic() - started < 30       # bounded: returns, whatever the meter does
    trace = sampler.traces()[0]
    assert sampler.abandoned and "abandoned" in trace.ended
    assert sampler.wait_for_pass(0.05) is False
    release.set()


def test_meter_discovery_that_never_returns_does_not_hang_the_users_thread():
    import threading

    from greenlove.measure.devices.discover import Discovery, discover_meters_bounded

    release = threading.Event()

    def wedged() -> Discovery:
        release.wait(60)
        return Discovery(meters=(), fallbacks=())

    found = discover_meters_bounded(timeout_s=0.1, discover=wedged)
    release.set()
    assert found.meters == () and "did not finish within 0.1 s" in found.fallbacks[0]

    def broken() -> Discovery:
        raise ValueError("a bug in discovery is not hidden")

    with pytest.raises(ValueError, match="not hidden"):
        discover_meters_bounded(timeout_s=5, discover=broken)
    quick = Discovery(meters=(), fallbacks=("x",))
    assert discover_meters_bounded(timeout_s=5, discover=lambda: quick) is quick


def test_other_processes_on_a_gpu_are_said_from_nvml_s_list():
    import os

    from greenlove.measure.devices.nvml import open_nvidia_meters
    from greenlove.measure.load import gpu_sharing
    from tests.fakes.nvml import FakeNvml, gpu

    me = os.getpid()
    nvml = FakeNvml(gpu(0, processes=((me, 2**30), (4242, 3 * 2**30))),
                    gpu(1, processes=((me, 2**30),)), gpu(2))
    meters = open_nvidia_meters(nvml, {})
    assert meters[0].processes() == {me: 2**30, 4242: 3 * 2**30}
    said = gpu_sharing(meters, own_pid=me, cuda_in_use=True)
    assert len(said) == 1
    assert said[0].startswith("GPU 0: NVIDIA H100 80GB HBM3 is shared: 1 other process ran on "
                              "it during the benchmark (PIDs 4242, holding 3.0 GiB")
    assert "not widened" in said[0]
    # Inside a container NVML shows host PIDs: one listed process is this one when CUDA is used.
    host = FakeNvml(gpu(0, processes=((91000, 2**30),)), gpu(1, processes=((91000, 1), (91001, 1))))
    in_container = open_nvidia_meters(host, {})
    said = gpu_sharing(in_container, own_pid=me, cuda_in_use=True)
    assert len(said) == 1 and "GPU 1" in said[0] and "1 other process ran" in said[0]
    assert len(gpu_sharing(in_container, own_pid=me, cuda_in_use=False)) == 2
    for meter in meters + in_container:
        meter.close()
    assert meters[0].processes() is None           # a closed meter asks nothing


def test_a_shared_gpu_is_said_in_the_report(clock):
    from greenlove.measure.devices.nvml import open_nvidia_meters
    from tests.fakes.nvml import FakeNvml, gpu

    meters = open_nvidia_meters(FakeNvml(gpu(0, processes=((4242, None),))), {})
    energy = greenlove.EnergyOptions(interval_s=0.05, idle_s=0.0, meters=meters)
    report = estimate_on_fake_clock(clock, SimulatedEpoch(clock, 0.1, 0.01), make_loader(),
                                    restore=make_model(), energy=energy, budget_s=3.0)
    assert any(w.startswith("GPU 0: NVIDIA H100 80GB HBM3 is shared: 1 other process")
               for w in report.warnings)
