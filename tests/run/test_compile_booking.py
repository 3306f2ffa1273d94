"""torch.compile's compiling in the benchmark, booked apart (a fake compiler on the fake clock)."""

from __future__ import annotations

import collections
import sys
import types

import pytest

from greenlove.render.format import duration
from tests.fakes.training import PerBatchEpoch, estimate_on_fake_clock, make_loader


class FakeCompiler:
    """A torch._dynamo.utils whose compile time grows as the fake epochs 'compile'."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.backend = 0.0
        self.counters = collections.defaultdict(collections.Counter)
        self.metrics = [types.SimpleNamespace(recompile_reason=None)]

    def calculate_time_spent(self):
        return {"total_wall_time": self.wall, "inductor_compile": self.backend}

    def get_compilation_metrics(self):
        return list(self.metrics)

    def compile(self, clock, seconds: float, reason: str | None = None, *,
                backend_share: float = 0.0, cache: bool = False) -> None:
        clock.advance(seconds)
        self.wall += seconds
        self.backend += backend_share * seconds
        if cache:
            self.counters["inductor"]["fxgraph_cache_miss"] += 1
        self.counters["stats"]["unique_graphs"] += 1
        if reason:
            self.metrics.append(types.SimpleNamespace(recompile_reason=reason))


class CompiledEpoch(PerBatchEpoch):
    """The first epoch compiles for ``compile_s`` (a cold inductor compile) before its steps."""

    def __init__(self, clock, compiler: FakeCompiler, compile_s: float, **kw) -> None:
        super().__init__(clock, **kw)
        self.compiler, self.compile_s = compiler, compile_s

    def __call__(self, loader) -> None:
        if self.calls == 0:
            self.compiler.compile(self.clock, self.compile_s)
        super().__call__(loader)


@pytest.fixture()
def compiler(monkeypatch):
    fake = FakeCompiler()
    monkeypatch.setitem(sys.modules, "torch._dynamo.utils", fake)
    return fake


def test_compiling_is_a_one_off_of_its_own_not_an_epoch_and_not_the_budget(clock, compiler):
    loader = make_loader(2000, 10)          # 200 batches
    epoch = CompiledEpoch(clock, compiler, 14.2, per_batch_s=0.01, after_loop_s=0.05)
    report = estimate_on_fake_clock(clock, epoch, loader, epochs=20, budget_s=2.0,
                                    history=False, clouds=False)
    roles = report.benchmark.roles
    records = report.benchmark.epochs
    assert roles[0] == "compile" and records[0].compile_s == pytest.approx(14.2)
    assert all(r.compile_s == 0 for r in records[1:])
    assert "compile" not in roles[1:]
    # The budget (2 s) was not spent by the compile: steady epochs were timed after it.
    assert sum(role == "steady" for role in roles) >= 3
    p = report.prediction
    full_epoch = 200 * 0.01 + 0.05
    assert p.compile_s == pytest.approx(14.2)
    # In this process: the steady epochs, no compiling (a warm-up remainder at most).
    assert p.time_s.point == pytest.approx(20 * full_epoch, rel=0.02)
    assert p.fresh_process_s.point == pytest.approx(p.time_s.point + 14.2)
    assert p.fresh_process_s.low == p.time_s.low
    said = " ".join(report.warnings)
    assert "torch.compile compiled for 14.2 s during the benchmark (in 1 epoch" in said
    again = type(report).from_dict(report.to_dict())
    assert again.prediction.fresh_process_s == p.fresh_process_s
    assert again.benchmark.epochs[0].compile_s == pytest.approx(14.2)


def test_a_recompile_for_a_new_shape_is_said(clock, compiler):
    loader = make_loader(2000, 10)
    epoch = CompiledEpoch(clock, compiler, 3.0, per_batch_s=0.01, after_loop_s=0.05)
    original = epoch.__call__

    def with_recompile(loader):
        if epoch.calls == 2:
            compiler.compile(clock, 1.0, "tensor 'x' size mismatch at index 0. expected 10, "
                                         "actual 7")
        original(loader)

    report = estimate_on_fake_clock(clock, with_recompile, loader, epochs=20, budget_s=2.0,
                                    history=False, clouds=False)
    said = " ".join(report.warnings)
    assert "torch.compile recompiled 1 time during the benchmark (tensor 'x' size mismatch" in said


def test_without_torch_compile_nothing_changes(clock, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch._dynamo.utils", raising=False)
    loader = make_loader(2000, 10)
    report = estimate_on_fake_clock(clock, PerBatchEpoch(clock, 0.01, 0.05), loader, epochs=20,
                                    budget_s=2.0, history=False, clouds=False)
    assert report.prediction.compile_s == 0 and report.prediction.fresh_process_s is None
    assert "compile" not in report.benchmark.roles
    assert not any("torch.compile" in w for w in report.warnings)


def test_the_summary_shows_both_predictions(clock, compiler):
    loader = make_loader(2000, 10)
    epoch = CompiledEpoch(clock, compiler, 14.2, per_batch_s=0.01, after_loop_s=0.05)
    report = estimate_on_fake_clock(clock, epoch, loader, epochs=20, budget_s=2.0,
                                    history=False, clouds=False)
    text = report.summary(width=160, full=True)
    assert "torch.compile in the benchmark (booked apart; 14.2 s)" in text
    assert "wall time in a fresh process (compiles again), 20 epochs" in text
    fresh = report.prediction.fresh_process_s
    short = [x for x in report.summary().splitlines() if x.startswith("│   in a fresh process")]
    assert len(short) == 1 and duration(fresh.point) in short[0] and "compiles again" in short[0]
    import html

    from greenlove.render.html import render_html
    page = html.unescape(render_html(report))
    assert "in a fresh process (compiles again):" in page


def test_a_fresh_process_finds_the_cache_the_benchmark_wrote(clock, compiler):
    loader = make_loader(2000, 10)
    epoch = PerBatchEpoch(clock, per_batch_s=0.01, after_loop_s=0.05)

    def cached(loader):
        if epoch.calls == 0:
            compiler.compile(clock, 10.0, backend_share=0.8, cache=True)
        epoch(loader)

    report = estimate_on_fake_clock(clock, cached, loader, epochs=20, budget_s=2.0,
                                    history=False, clouds=False)
    p = report.prediction
    assert p.fresh_process_s.point == pytest.approx(p.time_s.point + 2.0)     # 10 s less 8 s
    assert p.fresh_process_s.high == pytest.approx(p.time_s.high + 10.0)      # a cold cache
    assert p.fresh_process_basis.startswith("the compile cache as the benchmark left it: 1 "
                                            "graphs written")
    assert "cold" in _basis_of_cold(clock, compiler)


def _basis_of_cold(clock, compiler) -> str:
    epoch = CompiledEpoch(clock, compiler, 5.0, per_batch_s=0.01, after_loop_s=0.05)
    report = estimate_on_fake_clock(clock, epoch, make_loader(2000, 10), epochs=20,
                                    budget_s=2.0, history=False, clouds=False)
    assert report.prediction.fresh_process_s.point == pytest.approx(
        report.prediction.time_s.point + 5.0)
    return report.prediction.fresh_process_basis
