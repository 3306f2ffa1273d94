"""What torch's compiler reports, read from a fake torch._dynamo.utils and once for real."""

from __future__ import annotations

import collections
import types

import pytest

from greenlove.measure.compile_watch import NONE_SEEN, activity, read_compile_state


def fake_utils(*, wall=0.0, graphs=0, frames=0, breaks=None, recompiles=(), time=True):
    counters = collections.defaultdict(collections.Counter)
    counters["stats"]["unique_graphs"] = graphs
    counters["frames"]["total"] = frames
    for reason, n in (breaks or {}).items():
        counters["graph_break"][reason] = n
    metrics = [types.SimpleNamespace(recompile_reason=None)] + [
        types.SimpleNamespace(recompile_reason=r) for r in recompiles]
    module = types.SimpleNamespace(counters=counters,
                                   get_compilation_metrics=lambda: list(metrics))
    if time:
        module.calculate_time_spent = lambda: {"entire_frame_compile": wall * 0.8,
                                               "total_wall_time": wall}
    return module


def test_an_epoch_that_compiled_is_seen_with_its_time_graphs_and_reasons():
    before = read_compile_state(fake_utils())
    after = read_compile_state(fake_utils(
        wall=14.2, graphs=2, frames=2, breaks={"print() call": 1},
        recompiles=("tensor 'x' size mismatch at index 0. expected 16, actual 7",)))
    seen = activity(before, after)
    assert seen.any and seen.compile_s == pytest.approx(14.2)
    assert (seen.graphs, seen.frames, seen.graph_breaks, seen.recompiles) == (2, 2, 1, 1)
    assert seen.reasons == ("tensor 'x' size mismatch at index 0. expected 16, actual 7",
                            "graph break: print() call")
    again = activity(after, after)
    assert not again.any and again.reasons == ()


def test_a_torch_without_compile_times_says_so_and_counts_nothing():
    state = read_compile_state(fake_utils(time=False))
    assert not state.available and "no compile time" in state.source
    assert activity(state, state) is NONE_SEEN


def test_a_private_api_that_changed_breaks_nothing():
    broken = types.SimpleNamespace()          # no counters at all
    state = read_compile_state(broken)
    assert not state.available and "unreadable" in state.source


def test_a_process_that_never_loaded_the_compiler_compiled_nothing(monkeypatch):
    import sys
    monkeypatch.delitem(sys.modules, "torch._dynamo.utils", raising=False)
    state = read_compile_state()
    assert state.available and state.compile_s == 0.0 and "not used" in state.source


def test_a_real_compile_is_seen_and_a_new_shape_recompiles():
    """One real torch.compile on a tiny model (the inductor's cold compile takes a while)."""
    import torch._dynamo

    torch._dynamo.reset()
    model = torch.compile(torch.nn.Linear(4, 2))
    before = read_compile_state()
    model(torch.randn(3, 4))
    first = read_compile_state()
    seen = activity(before, first)
    assert seen.compile_s > 0 and seen.graphs >= 1
    model(torch.randn(3, 4))
    assert activity(first, read_compile_state()).graphs == 0          # warm: nothing new
    model(torch.randn(5, 4))                                           # a new batch size
    new_shape = activity(first, read_compile_state())
    assert new_shape.recompiles >= 1 and "size mismatch" in " ".join(new_shape.reasons)


def test_the_benchmark_waits_for_busy_compile_workers_and_not_for_quiet_ones():
    from greenlove.measure.compile_watch import SETTLE_LOOK_S, settle_workers
    from tests.fakes.training import FakeClock

    clock = FakeClock()
    busy_until = clock() + 2.0             # the workers use a whole CPU for 2 s, then rest
    used = {"cpu": 0.0, "t": clock()}

    def cpu_s():
        now = clock()
        busy = max(min(now, busy_until) - min(used["t"], busy_until), 0.0)
        used["cpu"] += busy
        used["t"] = now
        return used["cpu"]

    waited = settle_workers(clock=clock, sleep=clock.advance, cpu_s=cpu_s)
    assert 2.0 <= waited <= 2.0 + 2 * SETTLE_LOOK_S
    assert settle_workers(clock=clock, sleep=clock.advance, cpu_s=cpu_s) == 0.0   # quiet now
    assert settle_workers(clock=clock, sleep=clock.advance, cpu_s=lambda: None) == 0.0
    forever = settle_workers(clock=clock, sleep=clock.advance, cpu_s=lambda: clock() * 2.0,
                             max_s=5.0)
    assert 5.0 <= forever <= 5.0 + SETTLE_LOOK_S
