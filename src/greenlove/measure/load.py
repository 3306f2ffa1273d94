"""What the rest of the machine was doing during the benchmark: other processes' CPU share and
the hypervisor's steal time, from the kernel's CPU counters (psutil), snapshot and diff.

A benchmark of a few seconds on a busy machine measures a machine that may not stay busy (or
may get busier) for the hours of the run. This module only measures; the model decides what
the figures do to the interval.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CpuSnapshot:
    """Cumulative CPU seconds at one moment: all CPUs busy, stolen, and this process's own."""

    busy_s: float            # user + nice + system + irq + softirq, every CPU
    steal_s: float
    own_s: float             # this process and its finished children (loader workers)
    cpus: int
    at_s: float              # a monotonic wall clock (the window is real seconds)


@dataclass(frozen=True)
class MachineLoad:
    """The machine during one window (fractions of all CPUs' time in the window)."""

    window_s: float
    cpus: int
    other_share: float       # other processes' CPU time / (window x CPUs)
    steal_share: float       # time the hypervisor gave to other guests / (window x CPUs)
    method: str = "psutil-cpu-times"

    @property
    def busy(self) -> bool:
        return self.other_share >= BUSY_OTHER_SHARE or self.steal_share >= BUSY_STEAL_SHARE

    def sentence(self) -> str:
        parts = []
        if self.other_share >= BUSY_OTHER_SHARE:
            parts.append(f"other processes used {self.other_share:.0%} of its {self.cpus} CPUs")
        if self.steal_share >= BUSY_STEAL_SHARE:
            parts.append(f"the hypervisor took {self.steal_share:.0%} of the CPU time for other "
                         "guests (steal)")
        return ("The machine was busy during the benchmark: " + " and ".join(parts) + ". If that "
                "load changes during the run, so does its speed: the interval is widened for it.")

    def to_dict(self) -> dict[str, Any]:
        return {"window_s": self.window_s, "cpus": self.cpus, "other_share": self.other_share,
                "steal_share": self.steal_share, "method": self.method}


BUSY_OTHER_SHARE = 0.15
"""Other processes' share of all CPUs from which the machine is said to be busy."""

BUSY_STEAL_SHARE = 0.05
"""Steal share from which the machine is said to be busy (a noisy neighbour on a VM)."""


def cpu_snapshot(psutil_module: Any = None, *, pid: int | None = None) -> CpuSnapshot:
    """The counters now (``psutil_module`` injected in tests)."""
    if psutil_module is None:
        import psutil as psutil_module
    times = psutil_module.cpu_times()
    busy = sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))
    own = psutil_module.Process(pid if pid is not None else os.getpid()).cpu_times()
    own_s = own.user + own.system + getattr(own, "children_user", 0.0) \
        + getattr(own, "children_system", 0.0)
    cpus = psutil_module.cpu_count() or 1
    return CpuSnapshot(busy_s=busy, steal_s=getattr(times, "steal", 0.0), own_s=own_s, cpus=cpus,
                       at_s=time.monotonic())


def machine_load(start: CpuSnapshot, end: CpuSnapshot, *,
                 also_own_s: float = 0.0) -> MachineLoad | None:
    """The load between two snapshots (None: no time between them). ``also_own_s``: CPU
    seconds of the job's other processes on this machine (a distributed job's other ranks),
    which are not "other" load."""
    window_s = end.at_s - start.at_s
    if window_s <= 0:
        return None
    capacity = window_s * end.cpus
    other = max(end.busy_s - start.busy_s - (end.own_s - start.own_s) - also_own_s, 0.0)
    steal = max(end.steal_s - start.steal_s, 0.0)
    return MachineLoad(window_s=window_s, cpus=end.cpus, other_share=min(other / capacity, 1.0),
                       steal_share=min(steal / capacity, 1.0))


class LoadWatch:
    """Snapshots at start() and stop(); never raises (a platform without the counters gives
    no figure: ``load()`` is None). ``snapshot`` None: not measured (tests on a fake clock)."""

    def __init__(self, snapshot: Callable[[], CpuSnapshot] | None = cpu_snapshot) -> None:
        self._snapshot = snapshot
        self._start: CpuSnapshot | None = None
        self._end: CpuSnapshot | None = None

    def start(self) -> None:
        self._start = self._take()

    def stop(self) -> None:
        self._end = self._take()

    def _take(self) -> CpuSnapshot | None:
        if self._snapshot is None:
            return None
        try:
            return self._snapshot()
        except Exception:  # counters missing or unreadable: no figure, not a failure
            return None

    def own_s(self) -> float:
        """This process's CPU seconds between start() and stop() (0 where not measured)."""
        if self._start is None or self._end is None:
            return 0.0
        return max(self._end.own_s - self._start.own_s, 0.0)

    def load(self, *, also_own_s: float = 0.0) -> MachineLoad | None:
        """The load between start() and stop(); ``also_own_s`` as for :func:`machine_load`."""
        if self._start is None or self._end is None:
            return None
        return machine_load(self._start, self._end, also_own_s=also_own_s)


def gpu_sharing(meters: Sequence[Any], *, own_pid: int, cuda_in_use: bool) -> tuple[str, ...]:
    """Sentences for the GPUs other processes were using during the benchmark, from each
    meter's ``processes()`` (NVML's list). Inside a container NVML lists host PIDs, so this
    process's own PID may be missing: then one listed process is taken to be this one when this
    process uses CUDA. NVML says who, not how much: the interval is not widened for it."""
    said = []
    for meter in meters:
        listing = getattr(meter, "processes", None)
        processes = listing() if callable(listing) else None
        if not processes:
            continue
        others = {pid: mem for pid, mem in processes.items() if pid != own_pid}
        count = len(others)
        if own_pid not in processes and cuda_in_use:
            count -= 1               # one of them is this process, under a host PID
        if count <= 0:
            continue
        memory = sum(m for m in others.values() if m is not None)
        held = f", holding {memory / 2**30:.1f} GiB of its memory" if memory else ""
        pids = ", ".join(str(pid) for pid in sorted(others)[:5])
        said.append(f"{meter.name} is shared: {count} other process{'es' if count > 1 else ''} "
                    f"ran on it during the benchmark (PIDs {pids}{held}). Its speed in the run "
                    "depends on theirs; the interval is not widened for it, since NVML does not "
                    "say how much of the GPU they use.")
    return tuple(said)
