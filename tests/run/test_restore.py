"""The user's model, optimizer, RNG streams and loader generator come back on every exit path."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

import greenlove
from tests.fakes.training import make_loader, make_model


def _train(model, optimizer):
    def train_epoch(loader) -> None:
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            random.random(), np.random.rand(), torch.rand(1)  # user code drawing from RNGs
    return train_epoch


def _snapshot(model, optimizer):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            repr(optimizer.state_dict()["state"]), random.getstate(), np.random.get_state()[1].copy(),
            torch.get_rng_state().clone())


def _assert_same(before, model, optimizer) -> None:
    weights, opt_state, py_rng, np_rng, torch_rng = before
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key
    assert repr(optimizer.state_dict()["state"]) == opt_state
    assert random.getstate() == py_rng
    assert np.array_equal(np.random.get_state()[1], np_rng)
    assert torch.equal(torch.get_rng_state(), torch_rng)


def test_restored_after_success() -> None:
    model, optimizer = make_model()
    before = _snapshot(model, optimizer)
    greenlove.estimate(_train(model, optimizer), make_loader(), epochs=3, budget_s=1.0,
                       restore=(model, optimizer), progress=False)
    _assert_same(before, model, optimizer)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_restored_when_train_epoch_raises(error) -> None:
    model, optimizer = make_model()
    before = _snapshot(model, optimizer)
    train = _train(model, optimizer)
    calls = []

    def failing_epoch(loader) -> None:
        calls.append(1)
        if len(calls) == 3:
            for _ in loader:
                raise error
        train(loader)

    with pytest.raises(type(error)):
        greenlove.estimate(failing_epoch, make_loader(), epochs=3, restore=(model, optimizer),
                           progress=False)
    _assert_same(before, model, optimizer)


def test_raising_on_the_first_batch_propagates_and_restores() -> None:
    model, optimizer = make_model()
    before = _snapshot(model, optimizer)

    def broken(loader) -> None:
        for x, _ in loader:
            model(x)
            raise ValueError("shape mismatch in user code")

    with pytest.raises(ValueError, match="shape mismatch in user code"):
        greenlove.estimate(broken, make_loader(), epochs=3, restore=(model, optimizer),
                           progress=False)
    _assert_same(before, model, optimizer)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_wrapping_style_restores_when_the_loop_body_raises(error) -> None:
    model, optimizer = make_model()
    before = _snapshot(model, optimizer)
    train = _train(model, optimizer)
    bench = greenlove.Benchmark(make_loader(), epochs=3, restore=(model, optimizer),
                                progress=False)
    with pytest.raises(type(error)):
        for count, sample_loader in enumerate(bench):
            train(sample_loader)
            if count == 2:
                raise error
    _assert_same(before, model, optimizer)


def test_wrapping_style_restores_on_break_and_reports_what_it_has() -> None:
    model, optimizer = make_model()
    before = _snapshot(model, optimizer)
    train = _train(model, optimizer)
    # A budget that lasts past the sixth epoch even on a busy machine (an automatic one of
    # 2 s may end the schedule first, and then the loop is not left early).
    with greenlove.Benchmark(make_loader(), epochs=3, restore=(model, optimizer),
                             progress=False, budget_s=60.0) as bench:
        for count, sample_loader in enumerate(bench):
            train(sample_loader)
            if count == 5:
                break
    _assert_same(before, model, optimizer)
    report = bench.report()
    assert any("left early" in w for w in report.warnings)   # a busy machine adds its own
    # The epoch whose body broke out was never completed, so it is not timed.
    assert len(report.benchmark.epochs) == 5


def test_training_flags_grads_and_loader_generator_restored() -> None:
    model, optimizer = make_model()
    model.eval()
    generator = torch.Generator().manual_seed(123)
    loader = make_loader(shuffle=True, generator=generator)
    generator_state = generator.get_state().clone()
    train = _train(model, optimizer)

    def epoch(sample_loader) -> None:
        model.train()
        train(sample_loader)

    greenlove.estimate(epoch, loader, epochs=3, budget_s=1.0, restore=(model, optimizer),
                       progress=False)
    assert not any(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(generator.get_state(), generator_state)


def test_snapshot_is_a_copy_not_a_view() -> None:
    model, optimizer = make_model()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    greenlove.estimate(_train(model, optimizer), make_loader(), epochs=3, budget_s=1.0,
                       restore=model, progress=False)
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key])


def test_persistent_workers_are_stopped() -> None:
    loader = make_loader(n=200, num_workers=1, persistent_workers=True)
    bench = greenlove.Benchmark(loader, epochs=2, budget_s=3.0, progress=False)
    served = []
    for sample_loader in bench:
        served.append(sample_loader)
        for _ in sample_loader:
            pass
    assert all(getattr(s, "_iterator", None) is None for s in served)
