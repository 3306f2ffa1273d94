"""The benchmark's and the tracker's distributed parts on a stub group of ranks (the real job:
tests/distributed/): the slowest rank's epoch, errors raised on every rank, every rank's
energy on rank 0's clock, rank 0's report, the files and the summary line."""

from __future__ import annotations

import dataclasses
import json

import pytest

from greenlove.errors import BenchmarkError
from greenlove.measure import EpochRecord, Instruments
from greenlove.measure.power_sampler import DeviceTrace
from greenlove.measure.ranks import World
from greenlove.run.energy import EnergyRun
from greenlove.run.job import BenchmarkJob
from greenlove.run.limits import Limits
from greenlove.run.track_result import plan_from, rank_plan
from greenlove.sample import Step
from tests.fakes.training import SimulatedEpoch, fake_energy, make_loader
from tests.fakes.training import estimate_on_fake_clock as _estimate


class StubRanks:
    """One rank's view of a job: what the other ranks 'send' is given in advance."""

    def __init__(self, world: World, others: list | None = None, broadcast: object = None):
        self.world, self.others, self._broadcast = world, others or [], broadcast
        self.asked: list[str] = []

    def gather(self, what, value):
        self.asked.append(what)
        return [value, *self.others] if self.world.is_writer else [*self.others, value]

    def broadcast(self, what, value):
        self.asked.append(what)
        return value if self.world.is_writer else self._broadcast

    def close(self) -> None:
        pass


RANK0 = World(rank=0, size=2, local_rank=0, local_size=2)
RANK1 = World(rank=1, size=2, local_rank=1, local_size=2)


def _record(epoch_s: float, span_s: float) -> EpochRecord:
    return EpochRecord(order=0, sample_batches=4, sample_size=32, batches_drawn=4,
                       epoch_s=epoch_s, started_s=1.0, loader_epoch=0, span_s=span_s)


def test_every_rank_keeps_rank_0s_record_with_the_slowest_ranks_time() -> None:
    mine, theirs = _record(0.30, 0.2), _record(0.45, 0.1)
    assert BenchmarkJob(StubRanks(RANK0, [theirs])).shared_record(0, mine) == \
        dataclasses.replace(mine, epoch_s=0.45)
    assert BenchmarkJob(StubRanks(RANK1, [mine])).shared_record(0, theirs) == \
        dataclasses.replace(mine, epoch_s=0.45)


def test_a_ranks_error_is_raised_on_every_rank_naming_it() -> None:
    said = "train_epoch drew no batch"
    job = BenchmarkJob(StubRanks(RANK0, [said]))
    with pytest.raises(BenchmarkError, match=f"rank 1: {said}"):
        job.shared_record(3, _record(0.3, 0.2))


def test_rank_0_decides_the_next_step_and_builds_the_report() -> None:
    decided = Step(8, "rounds")
    assert BenchmarkJob(StubRanks(RANK0)).next_step(lambda: decided, 2) == decided

    def never() -> Step:
        raise AssertionError("only rank 0's schedule decides")

    assert BenchmarkJob(StubRanks(RANK1, broadcast=decided)).next_step(never, 2) == decided
    follower = BenchmarkJob(StubRanks(RANK1, broadcast=(None, "ValueError: no energy")))
    with pytest.raises(BenchmarkError, match="rank 0 could not build the report"):
        follower.share_report(never)


def _trace(name: str, times: tuple[float, ...], joules: tuple[float, ...]) -> DeviceTrace:
    return DeviceTrace(name=name, kind="gpu", method="nvml-energy-counter", note="",
                       times_s=times, energy_j=joules, ended=None)


def test_rank_0_gets_every_ranks_traces_on_its_own_clock(clock) -> None:
    energy = EnergyRun(fake_energy(clock), Instruments(clock=clock), world=RANK0)
    energy._origin_s, energy._fallbacks = 100.0, ("CPU energy: an estimate",)
    energy._traces = (_trace("GPU 0: H100", (100.0, 101.0), (0.0, 300.0)),)
    theirs = (250.0, (_trace("GPU 1: H100", (250.5, 251.5), (10.0, 310.0)),),
              ("CPU energy: an estimate",), ())
    energy.gather_ranks(StubRanks(RANK0, [theirs]))
    names = [t.name for t in energy._traces]
    assert names == ["rank 0: GPU 0: H100", "rank 1: GPU 1: H100"]
    assert energy._traces[1].times_s == (100.5, 101.5)   # 0.5 s after rank 1's start
    assert energy._fallbacks == ("CPU energy: an estimate",)   # said once


def test_the_report_is_the_same_on_every_rank_and_only_rank_0_writes(clock, tmp_path,
                                                                       monkeypatch) -> None:
    import greenlove.report

    report = _estimate(clock, SimulatedEpoch(clock, 0.05, 0.01), make_loader(n=2000),
                       budget_s=20.0)
    monkeypatch.setattr(greenlove.report, "current_world", lambda: RANK1)
    assert report.save(tmp_path / "r.json") == tmp_path / "r.json"
    report.save_html(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(greenlove.report, "current_world", lambda: RANK0)
    report.save(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["plan"]["epochs"] == 50


def test_the_summary_says_the_world_in_one_line(clock) -> None:
    report = _estimate(clock, SimulatedEpoch(clock, 0.05, 0.01), make_loader(n=2000),
                       budget_s=20.0)
    assert "Distributed job" not in str(report)
    world = {"size": 8, "nodes": 2, "ranks_per_node": 4}
    distributed = dataclasses.replace(report, environment={**report.environment, "world": world})
    line = [x for x in str(distributed).splitlines() if "Distributed job" in x]
    assert len(line) == 1 and "8 ranks on 2 nodes (4 per node)" in line[0]


def _plan(tmp_path):
    return plan_from(None, epochs=3, steps_per_epoch=None, limits=Limits(max_s=5),
                     on_limit="stop", out=tmp_path, history=tmp_path, progress=True, site=None,
                     energy=True, name=None, instruments=None)


def test_a_tracked_runs_other_ranks_neither_meter_print_nor_write(tmp_path) -> None:
    plan = _plan(tmp_path)
    assert rank_plan(plan, World()) is plan
    assert rank_plan(plan, RANK0) is plan
    follower = rank_plan(plan, RANK1)
    assert (follower.progress, follower.out, follower.history, follower.limits,
            follower.energy) == (False, None, None, None, None)
    two_nodes = rank_plan(plan, World(rank=0, size=4, local_rank=0, local_size=2))
    assert "2 nodes" in two_nodes.warnings[-1] and two_nodes.out == plan.out


def test_the_jobs_other_ranks_on_this_machine_are_not_other_load() -> None:
    import socket

    from greenlove.measure.load import CpuSnapshot, machine_load

    here, there = socket.gethostname(), "another-node"
    job = BenchmarkJob(StubRanks(World(rank=0, size=3, local_rank=0, local_size=2),
                                 [(here, 0.8), (there, 5.0)]))
    assert job.node_cpu_s(1.0) == pytest.approx(0.8)
    start = CpuSnapshot(busy_s=0.0, steal_s=0.0, own_s=0.0, cpus=2, at_s=0.0)
    end = CpuSnapshot(busy_s=1.9, steal_s=0.0, own_s=1.0, cpus=2, at_s=1.0)
    assert machine_load(start, end).other_share == pytest.approx(0.45)
    assert machine_load(start, end, also_own_s=0.8).other_share == pytest.approx(0.05)
    assert BenchmarkJob(StubRanks(World())).node_cpu_s(1.0) == 0.0


class _Meter:
    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind, self.method, self.note, self.closed = name, kind, "fake", "", False

    def close(self) -> None:
        self.closed = True


def test_a_gpu_rank_keeps_its_own_gpus_meter_and_closes_the_others(clock, monkeypatch) -> None:
    import torch

    import greenlove.run.energy as energy_module

    monkeypatch.setattr(energy_module, "cuda_in_use", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    meters = (_Meter("GPU 0: H100", "gpu"), _Meter("GPU 1: H100", "gpu"),
              _Meter("CPU: EPYC", "cpu"), _Meter("RAM (64 GB)", "ram"))
    energy = EnergyRun(fake_energy(clock), Instruments(clock=clock), world=RANK1)
    kept = energy._rank_share(meters)
    assert [m.name for m in kept] == ["GPU 1: H100"]
    assert [m.closed for m in meters] == [True, False, True, True]
