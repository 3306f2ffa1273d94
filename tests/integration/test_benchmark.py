"""The benchmark engine on an injected clock: deterministic, no sleeping."""

from __future__ import annotations

import math

import pytest

import greenlove
from greenlove.measure import Instruments
from greenlove.sample import BUDGET_MAX_S, BUDGET_MIN_S, BUDGET_SHARE, Budget, automatic_budget_s
from tests.fakes.training import (
    SimulatedEpoch,
    fake_clouds,
    fake_energy,
    fake_instruments,
    make_loader,
    make_model,
)
from tests.fakes.training import estimate_on_fake_clock as _estimate


def test_exact_line_is_recovered_and_extrapolated(clock) -> None:
    # 1000 items / 10 per batch = 100 batches; an epoch costs 0.2 s + 0.01 s per batch.
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01)
    report = _estimate(clock, epoch, make_loader(), budget_s=10.0)
    fit = report.prediction.fit
    assert fit.intercept_s == pytest.approx(0.2, rel=1e-6)
    assert fit.per_batch_s == pytest.approx(0.01, rel=1e-6)
    # 50 epochs x (0.2 + 0.01 x 100) = 60 s, no warm-up.
    assert report.prediction.time_s.point == pytest.approx(60.0, rel=1e-6)
    assert report.prediction.time_s.low < 60.0 < report.prediction.time_s.high
    assert report.plan.batches_per_epoch == 100
    assert report.plan.dataset_size == 1000


def test_warmup_is_added_once_not_per_epoch(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.1, per_batch_s=0.01, warmup_s=3.0)
    report = _estimate(clock, epoch, make_loader(), budget_s=20.0)
    assert report.benchmark.roles[0] == "warmup"
    assert report.prediction.warmup_s == pytest.approx(3.0, rel=1e-6)
    assert report.prediction.time_s.point == pytest.approx(3.0 + 50 * 1.1, rel=1e-6)


def test_fixed_warmup_epochs_are_honoured(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.1, per_batch_s=0.01)
    report = _estimate(clock, epoch, make_loader(), budget_s=20.0, warmup_epochs=2)
    assert report.benchmark.roles[:2] == ("warmup", "warmup")
    assert "warmup" not in report.benchmark.roles[2:]


def test_budget_is_respected_and_three_sizes_are_timed(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.05, per_batch_s=0.02, noise_rel=0.02)
    report = _estimate(clock, epoch, make_loader(n=10_000), budget_s=8.0)
    bench = report.benchmark
    assert bench.wall_s <= 8.0
    sizes = {r.sample_batches for r, role in zip(bench.epochs, bench.roles) if role == "steady"}
    assert len(sizes) >= 3
    assert max(sizes) <= 500  # default cap: half of the 1000 batches
    assert not any("more than its" in w for w in report.warnings)


def test_sample_fraction_caps_the_largest_sample(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.0, per_batch_s=0.001)
    report = _estimate(clock, epoch, make_loader(), budget_s=30.0, sample_fraction=0.1)
    assert max(r.sample_batches for r in report.benchmark.epochs) <= 10


def test_automatic_budget_rule() -> None:
    assert automatic_budget_s(10.0) == BUDGET_MIN_S
    assert automatic_budget_s(1000.0) == pytest.approx(BUDGET_SHARE * 1000.0)
    assert automatic_budget_s(1e6) == BUDGET_MAX_S


def test_automatic_budget_is_a_small_share_of_the_run(clock) -> None:
    # 100 batches x 0.05 s x 200 epochs = 1000 s -> budget 4% of it.
    epoch = SimulatedEpoch(clock, fixed_s=0.0, per_batch_s=0.05, noise_rel=0.01)
    report = _estimate(clock, epoch, make_loader(), epochs=200)
    assert report.benchmark.budget_automatic
    assert report.benchmark.budget_s == pytest.approx(BUDGET_SHARE * 1000.0, rel=0.15)
    assert report.benchmark.wall_s <= report.benchmark.budget_s


def test_automatic_budget_is_predicted_again_after_a_slow_probe(clock) -> None:
    # The probe epoch (the third call) hits a 3x slow spell: the budget it implies is too big,
    # and the rounds' sizes bring it back to 4% of the run.
    epoch = SimulatedEpoch(clock, fixed_s=0.0, per_batch_s=0.05)
    plain = SimulatedEpoch.__call__

    def spiky(loader) -> None:
        start = clock()
        plain(epoch, loader)
        if epoch.calls == 3:
            clock.advance(2 * (clock() - start))

    report = _estimate(clock, spiky, make_loader(), epochs=200)
    bench = report.benchmark
    assert bench.budget_s == pytest.approx(BUDGET_SHARE * 1000.0, rel=0.05)
    assert bench.wall_s <= bench.budget_s


def test_a_cpu_model_gets_the_cpu_drift_assumption(clock) -> None:
    from greenlove.model import DRIFT_REL_CPU
    from greenlove.model.stats import z_quantile

    model, optimizer = make_model()
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01)   # exact: only drift is left
    report = _estimate(clock, epoch, make_loader(), budget_s=10.0, restore=(model, optimizer))
    assert report.assumptions["drift_rel"]["value"] == DRIFT_REL_CPU
    assert "for training on a CPU" in report.assumptions["drift_rel"]["source"]
    time_s = report.prediction.time_s
    half = z_quantile(0.95) * 50 * DRIFT_REL_CPU * (0.2 + 0.01 * 100)
    assert time_s.high - time_s.point == pytest.approx(half, rel=1e-3)


def test_the_device_measurement_comes_before_the_epochs_and_counts(clock, monkeypatch) -> None:
    from greenlove.compare.comparison import CloudOptions
    from greenlove.run import compare as compare_run

    described = fake_clouds().device

    def slow_measurement(specs):     # this machine's measurement, costing 1 s on the clock
        clock.advance(1.0)
        return described

    monkeypatch.setattr(compare_run, "identify_local_device", slow_measurement)
    epoch = SimulatedEpoch(clock, fixed_s=0.05, per_batch_s=0.02, noise_rel=0.02)
    report = _estimate(clock, epoch, make_loader(n=10_000), budget_s=8.0, clouds=CloudOptions())
    bench = report.benchmark
    assert bench.extras_s == {"idle baseline": pytest.approx(0.5),
                              "device measurement": pytest.approx(1.0)}
    assert bench.epochs[0].started_s >= 1.5
    assert bench.wall_s <= 8.0


@pytest.mark.parametrize("tiny_epochs_s, settled", [
    ((3.0, 1.0), False),     # much faster: still warming up
    ((1.0, 0.9), True),      # within 15%
    ((1.0, 1.4), True),      # slower: noise, not warm-up
])
def test_warmup_ends_once_an_epoch_is_no_longer_clearly_faster(tiny_epochs_s, settled) -> None:
    from greenlove.measure.timing import EpochRecord
    from greenlove.sample.schedule import Schedule

    schedule = Schedule(full_batches=1000, epochs=30, budget=Budget.of(60.0), sample_fraction=None,
                        warmup_epochs="auto", precision=lambda records: math.inf)
    records = [EpochRecord(order=i, sample_batches=4, sample_size=40, batches_drawn=4,
                           epoch_s=t, started_s=float(i), loader_epoch=i)
               for i, t in enumerate(tiny_epochs_s)]
    step = schedule.next_step(records, elapsed_s=sum(tiny_epochs_s))
    assert step is not None and (step.phase != "warm-up") == settled


def test_stops_early_when_tight(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.01, per_batch_s=0.01)  # no noise at all
    report = _estimate(clock, epoch, make_loader(), budget_s=60.0)
    assert report.benchmark.stop_reason == "the prediction was tight enough"
    assert report.benchmark.wall_s < 60.0


def test_tiny_dataset_runs_whole_epochs_and_says_so(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.0, per_batch_s=0.1, noise_rel=0.01)
    report = _estimate(clock, epoch, make_loader(n=20, batch_size=10), epochs=10, budget_s=5.0)
    assert {r.sample_batches for r in report.benchmark.epochs} == {2}
    assert any("too few to sample" in w for w in report.warnings)
    assert report.prediction.time_s.point == pytest.approx(2.0, rel=0.05)


def test_zero_batches_drawn_is_an_error_and_state_restored(clock) -> None:
    def lazy_epoch(loader) -> None:
        clock.advance(0.1)

    with pytest.raises(greenlove.BenchmarkError, match="drew no batch"):
        _estimate(clock, lazy_epoch, make_loader())


@pytest.mark.parametrize("bad", [math.nan, math.inf, -5.0])
def test_non_finite_or_negative_timing_is_an_error(clock, bad) -> None:
    def epoch(loader) -> None:
        for _ in loader:
            pass
        clock.now = bad if not math.isfinite(bad) else clock.now + bad

    with pytest.raises(greenlove.BenchmarkError, match="non-finite or negative"):
        _estimate(clock, epoch, make_loader())


def test_wrapping_style_matches_estimate(clock) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01)
    bench = greenlove.Benchmark(make_loader(), epochs=50, budget_s=10.0, progress=False,
                                instruments=fake_instruments(clock),
                                energy=fake_energy(clock), clouds=fake_clouds())
    for sample_loader in bench:
        epoch(sample_loader)
    report = bench.report()
    assert report.prediction.time_s.point == pytest.approx(60.0, rel=1e-6)
    with pytest.raises(greenlove.BenchmarkError, match="runs once"):
        iter(bench)


def test_report_before_running_is_an_error() -> None:
    bench = greenlove.Benchmark(make_loader(), epochs=5, progress=False)
    with pytest.raises(greenlove.BenchmarkError, match="before report"):
        bench.report()


def test_sync_called_at_both_edges_of_every_epoch(clock) -> None:
    calls = []
    epoch = SimulatedEpoch(clock, fixed_s=0.1, per_batch_s=0.01)
    greenlove.estimate(epoch, make_loader(), epochs=5, budget_s=5.0, progress=False,
                       instruments=Instruments(clock=clock, synchronize=lambda: calls.append(clock())),
                       energy=False)
    assert len(calls) == 2 * epoch.calls


def test_per_batch_times_are_recorded(clock) -> None:
    def epoch(loader) -> None:
        clock.advance(0.5)  # loader start-up before the first batch
        for _ in loader:
            clock.advance(0.01)

    report = _estimate(clock, epoch, make_loader(), budget_s=30.0, epochs=5)
    first = report.benchmark.epochs[0]
    assert first.first_batch_s == pytest.approx(0.5)
    assert all(step == pytest.approx(0.01) for step in first.batch_s)
    assert len(first.batch_s) == first.batches_drawn - 1


def test_stopping_early_is_warned(clock) -> None:
    def epoch(loader) -> None:
        for i, _ in enumerate(loader):
            clock.advance(0.01)
            if i == 0:
                break

    report = _estimate(clock, epoch, make_loader(), budget_s=5.0)
    assert any("stopped early" in w for w in report.warnings)


def test_big_fixed_cost_is_measured_within_a_tight_budget(clock) -> None:
    from tests.fakes.training import PerBatchEpoch

    # 2100 batches of 2 ms and 1 s of validation per epoch, 30 epochs: a 156 s run.
    epoch = PerBatchEpoch(clock, per_batch_s=0.002, after_loop_s=1.0)
    loader = make_loader(n=21_000, batch_size=10)
    report = _estimate(clock, epoch, loader, epochs=30)
    assert report.prediction.fit.method == "batch-split"
    assert report.prediction.time_s.point == pytest.approx(30 * (1.0 + 0.002 * 2100), rel=0.01)
    # The probe jumps to a size where batches are seen (not a 4x climb from 4 batches).
    assert max(r.sample_batches for r in report.benchmark.epochs) >= 200
    assert report.benchmark.wall_s <= 0.05 * report.prediction.time_s.point


def test_when_no_round_fits_one_middle_size_completes_three_sizes(clock) -> None:
    from tests.fakes.training import PerBatchEpoch

    # Every epoch pays 1 s: the tiny warm-up pair and the probe leave no room for a round of
    # three more epochs in the automatic budget, so one size between tiny and probe is timed.
    epoch = PerBatchEpoch(clock, per_batch_s=0.002, after_loop_s=1.0)
    model, optimizer = make_model()
    report = _estimate(clock, epoch, make_loader(n=21_000, batch_size=10), epochs=30,
                       restore=(model, optimizer))
    sizes = [r.sample_batches for r in report.benchmark.epochs]
    tiny, probe, middle = sizes[0], sizes[2], sizes[3]
    assert sizes == [tiny, tiny, probe, middle] and tiny < middle < probe
    assert middle == round(math.sqrt(tiny * probe))
    assert report.prediction.time_s.point == pytest.approx(30 * (1.0 + 0.002 * 2100), rel=0.01)
    # Everything, the idle baseline included, within 5%; the cloud comparison's profiled step
    # rode on the first epoch instead of costing a 1 s epoch of its own.
    assert set(report.benchmark.extras_s) == {"idle baseline"}
    assert [r.profiled for r in report.benchmark.epochs] == [True, False, False, False]
    assert report.comparison["workload"] is not None
    assert report.benchmark.wall_s <= 0.05 * report.prediction.time_s.point


