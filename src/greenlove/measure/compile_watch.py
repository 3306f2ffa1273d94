"""What torch's compiler (``torch.compile``: TorchDynamo and its backends) reports, read before
and after each timed epoch, so that compilation is booked as a one-off of its own.

The figures come from ``torch._dynamo.utils``, where the running torch offers them: its
``counters`` (frames, unique graphs, graph breaks with their reasons), its cumulative compile
time (``calculate_time_spent()["total_wall_time"]``, forward and backward; of it
``inductor_compile``, which a compile-cache hit skips), its cache counters (graphs written to the
FX graph and AOT autograd caches) and its compilation metrics (each frame compiled, with a
recompile's reason). They are private to torch and may change: a reader that finds none says
so, and nothing else breaks. Nothing here imports torch's
compiler: when the user's code has not loaded it, nothing was compiled.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DYNAMO_UTILS = "torch._dynamo.utils"


@dataclass(frozen=True)
class CompileState:
    """The compiler's cumulative figures at one moment (None fields: not offered)."""

    compile_s: float | None          # wall time spent compiling so far
    graphs: int                      # unique graphs compiled so far
    frames: int                      # frames handed to the compiler so far
    graph_breaks: int
    recompiles: int
    reasons: tuple[str, ...]         # recompile and graph-break reasons, oldest first
    source: str                      # where the figures come from, or why there are none
    backend_s: float = 0.0           # of compile_s, the Inductor compile a cache hit skips
    cache_writes: int = 0            # compiled graphs written to torch's compile caches

    @property
    def available(self) -> bool:
        return self.compile_s is not None


@dataclass(frozen=True)
class CompileActivity:
    """What the compiler did between two states (seconds; counts)."""

    compile_s: float
    graphs: int
    frames: int
    graph_breaks: int
    recompiles: int
    reasons: tuple[str, ...]
    backend_s: float = 0.0
    cache_writes: int = 0

    @property
    def any(self) -> bool:
        return self.compile_s > 0 or self.graphs > 0 or self.recompiles > 0


NONE_SEEN = CompileActivity(0.0, 0, 0, 0, 0, ())

CACHE_WRITES = (("inductor", "fxgraph_cache_miss"), ("aot_autograd", "autograd_cache_saved"))
"""Counters that say a compiled graph was written to torch's on-disk caches (an FX graph cache
miss is compiled, then saved), where a fresh process will find it."""

Reader = Callable[[], CompileState]


def read_compile_state(utils: Any = None) -> CompileState:
    """The compiler's figures now, from ``utils`` (torch._dynamo.utils; None: the module if the
    process has loaded it, else "not loaded": nothing compiled)."""
    if utils is None:
        utils = sys.modules.get(DYNAMO_UTILS)
        if utils is None:
            return CompileState(0.0, 0, 0, 0, 0, (), "torch.compile not used in this process")
    try:
        counters: Mapping[str, Mapping[str, int]] = utils.counters
        spent = utils.calculate_time_spent() if hasattr(utils, "calculate_time_spent") else None
        metrics: Sequence[Any] = utils.get_compilation_metrics() \
            if hasattr(utils, "get_compilation_metrics") else ()
    except Exception as error:  # a private API that changed: say it, break nothing
        return CompileState(None, 0, 0, 0, 0, (), f"torch's compiler figures unreadable "
                            f"({type(error).__name__}: {error})")
    compile_s = None
    if isinstance(spent, Mapping):
        if "total_wall_time" in spent:
            compile_s = float(spent["total_wall_time"])
        else:
            compile_s = float(spent.get("entire_frame_compile", 0.0)) + float(
                spent.get("entire_backward_compile", 0.0))
    backend_s = float(spent.get("inductor_compile", 0.0)) if isinstance(spent, Mapping) else 0.0
    writes = sum(int(counters.get(group, {}).get(name, 0)) for group, name in CACHE_WRITES)
    breaks = dict(counters.get("graph_break", {}))
    recompile_reasons = [str(m.recompile_reason) for m in metrics
                         if getattr(m, "recompile_reason", None)]
    source = f"{DYNAMO_UTILS} (counters, calculate_time_spent, compilation metrics)"
    if compile_s is None:
        source = f"{DYNAMO_UTILS}: this torch offers no compile time"
    return CompileState(
        compile_s=compile_s,
        graphs=int(counters.get("stats", {}).get("unique_graphs", 0)),
        frames=int(counters.get("frames", {}).get("total", 0)),
        graph_breaks=int(sum(breaks.values())),
        recompiles=len(recompile_reasons),
        reasons=(*recompile_reasons, *(f"graph break: {k}" for k in breaks)),
        source=source, backend_s=backend_s, cache_writes=writes,
    )


def activity(before: CompileState, after: CompileState) -> CompileActivity:
    """What the compiler did from ``before`` to ``after`` (none where it offers no figures)."""
    if not (before.available and after.available):
        return NONE_SEEN
    seen = set(before.reasons)
    return CompileActivity(
        compile_s=max((after.compile_s or 0.0) - (before.compile_s or 0.0), 0.0),
        graphs=max(after.graphs - before.graphs, 0),
        frames=max(after.frames - before.frames, 0),
        graph_breaks=max(after.graph_breaks - before.graph_breaks, 0),
        recompiles=max(after.recompiles - before.recompiles, 0),
        reasons=tuple(r for r in after.reasons if r not in seen),
        backend_s=max(after.backend_s - before.backend_s, 0.0),
        cache_writes=max(after.cache_writes - before.cache_writes, 0),
    )


SETTLING_EXTRA = "torch.compile workers settling"
"""The benchmark's extras entry: seconds waited (untimed) after a compile for its workers."""

SETTLE_QUIET_CPU = 0.1
"""The compiler's worker processes count as settled once they use less than this share of one
CPU between two looks."""

SETTLE_LOOK_S = 0.25
"""Seconds between two looks at the worker processes' CPU time."""

SETTLE_MAX_S = 30.0
"""The longest the benchmark waits for them."""


def children_cpu_s() -> float | None:
    """CPU seconds used so far by this process's child processes that are alive (Inductor's
    compile workers among them); None where psutil cannot tell."""
    import psutil

    try:
        total = 0.0
        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += times.user + times.system
        return total
    except (psutil.Error, OSError):
        return None


def settle_workers(*, clock: Callable[[], float], sleep: Callable[[float], None],
                   cpu_s: Callable[[], float | None] = children_cpu_s,
                   max_s: float = SETTLE_MAX_S) -> float:
    """After an epoch that compiled: wait until the child processes (torch.compile's worker
    pool starting, or compiling in the background) go quiet, so that the next timed epoch does
    not share the CPUs with them. Returns the seconds waited (0 when they were quiet or there
    are none); at most ``max_s``."""
    start = clock()
    last = cpu_s()
    if last is None:
        return 0.0
    while clock() - start < max_s:
        t0 = clock()
        sleep(SETTLE_LOOK_S)
        now = cpu_s()
        if now is None:
            break
        elapsed = max(clock() - t0, 1e-9)
        if (now - last) / elapsed < SETTLE_QUIET_CPU:
            break
        last = now
    waited = clock() - start
    return waited if waited > SETTLE_LOOK_S * 1.5 else 0.0
