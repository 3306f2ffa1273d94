"""The cloud comparison through greenlove.estimate on the fake clock: a priced run with its
offers, one real training step profiled and the model restored, only the step counted."""


from __future__ import annotations

import pytest
import torch
from torch import nn

import greenlove
from greenlove.data.tables import (
    load_carbon,
    load_prices,
)
from tests.compare.rows import approx_interval
from tests.fakes.training import (
    SimulatedEpoch,
    make_loader,
    make_model,
)
from tests.fakes.training import estimate_on_fake_clock as _estimate

METHODS = {"user-measured", "fitted-model", "published-ratio", "roofline", "tflops-bandwidth-baseline"}


# --- 5. through greenlove.estimate -------------------------------------------------------------------

def test_estimate_with_a_site_prices_the_run_and_lists_the_clouds(clock, tmp_path) -> None:
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01, noise_rel=0.02, seed=1)
    report = _estimate(clock, epoch, make_loader(), budget_s=8.0, site=greenlove.Site(zone="DE"))
    pred = report.prediction
    energy = pred.energy.energy_kwh
    de_g = {r.zone: r for r in load_carbon()}["DE"].g_co2_per_kwh
    de_usd = {r.zone: r for r in load_prices()}["DE"].usd_per_kwh
    for value in (pred.cost_usd, pred.co2_kg):
        assert value is not None and value.low <= value.point <= value.high
    # Local PUE 1.0 (the "local" row), DE grid from the shipped table.
    approx_interval(pred.co2_kg, energy.point * 1.0 * de_g / 1000, energy.low * de_g / 1000,
                    energy.high * de_g / 1000, energy.confidence)
    approx_interval(pred.cost_usd, energy.point * de_usd, energy.low * de_usd, energy.high * de_usd,
                    energy.confidence)
    assert report.assumptions["site_zone"]["value"] == "DE"
    assert report.assumptions["site_pue"]["value"] == 1.0

    data = report.to_dict()
    clouds = data["clouds"]
    assert isinstance(clouds, list) and clouds
    assert clouds[0]["provider"] == "Crusoe Cloud"
    assert all(entry.get("speedup_method") in METHODS for entry in clouds)
    assert data["comparison"]["local"]["device"]["name"] == "CPU: fake"
    # No model in restore=: no profiled step, said so.
    assert data["comparison"]["workload"] is None
    assert any("No torch.nn.Module in restore" in w for w in report.warnings)

    assert greenlove.load(report.save(tmp_path / "report.json")) == report
    assert "Crusoe Cloud" in str(report)


def _real_epoch(clock, model, optimizer, after_loop=lambda: None, stop_after_step=lambda: False):
    """train_epoch that really trains, costs 10 ms a batch + 100 ms on the fake clock, and runs
    ``after_loop`` after its loop; it leaves the loop when ``stop_after_step()`` is true."""
    def train_epoch(loader) -> None:
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            clock.advance(0.01)
            if stop_after_step():
                break
        after_loop()
        clock.advance(0.1)

    return train_epoch


def test_estimate_profiles_one_real_step_and_restores_the_model(clock) -> None:
    model, optimizer = make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    after_each_call: list[dict[str, torch.Tensor]] = []
    train_epoch = _real_epoch(clock, model, optimizer, after_loop=lambda: after_each_call.append(
        {k: v.clone() for k, v in model.state_dict().items()}))

    report = _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                       restore=(model, optimizer))
    workload = report.comparison["workload"]
    assert workload is not None and workload["flops_per_step"] > 0
    assert workload["precision"] == "fp32" and workload["family"] == "other"
    # The first step of the first timed epoch was profiled: no epoch of its own.
    assert [r.profiled for r in report.benchmark.epochs][:2] == [True, False]
    assert sum(r.profiled for r in report.benchmark.epochs) == 1
    assert "profiled step" not in report.benchmark.extras_s
    assert len(after_each_call) == len(report.benchmark.epochs)
    # The profile lets the roofline in beside the baseline.
    assert any(s["method"] == "roofline" for o in report.clouds for s in o["speedups"])
    # The profiled epoch did train the model ...
    assert any(not torch.equal(after_each_call[0][k], before[k]) for k in before)
    # ... yet every parameter is back, and the optimizer holds no state from the benchmark.
    after = model.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert optimizer.state_dict()["state"] == {}


@pytest.mark.parametrize("how", ["raises", "breaks"])
def test_a_first_step_that_raises_or_breaks_leaves_no_profiler_behind(clock, how) -> None:
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

    model, optimizer = make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def stop_after_step() -> bool:
        if how == "raises":
            raise RuntimeError("boom")
        return True

    train_epoch = _real_epoch(clock, model, optimizer, stop_after_step=stop_after_step)
    if how == "raises":
        with pytest.raises(RuntimeError, match="boom"):
            _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                      restore=(model, optimizer))
    else:
        report = _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                           restore=(model, optimizer))
        assert report.comparison["workload"]["flops_per_step"] > 0
    assert _get_current_dispatch_mode_stack() == []      # FLOP and op counters left
    assert all(not m._forward_hooks for m in model.modules())
    assert all(torch.equal(model.state_dict()[k], before[k]) for k in before)


def test_only_the_step_is_profiled_not_the_work_after_the_loop(clock) -> None:
    """A validation-like matmul after the loop must not count as FLOPs of the training step."""
    model, optimizer = make_model()   # Linear(1, 4) -> ReLU -> Linear(4, 3), batches of 10
    big = torch.ones(64, 64)
    # 2 x 64^3 FLOP after the loop: far more than the step
    train_epoch = _real_epoch(clock, model, optimizer, after_loop=lambda: big @ big)

    report = _estimate(clock, train_epoch, make_loader(), epochs=20, budget_s=8.0,
                       restore=(model, optimizer))
    flops = report.comparison["workload"]["flops_per_step"]
    # forward 2*b*(1*4 + 4*3) and backward twice that (the first layer's input needs no grad:
    # FlopCounterMode counts what autograd runs), b = 10
    assert 0 < flops < 2 * 64**3
    forward = 2 * 10 * (1 * 4 + 4 * 3)
    assert forward <= flops <= 3 * forward
