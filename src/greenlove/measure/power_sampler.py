"""The background power sampler: one daemon thread reading every meter at a fixed interval.

The training thread is never touched beyond the timestamps the benchmark already takes: energy
for any window (an epoch, the idle baseline) is read off each meter's cumulative energy series
afterwards, by interpolation at the window's edges (snapshot/diff, Zeus-style). Counter meters
give that series directly; power meters are integrated (trapezoid) between reads.

A meter that fails mid-run ends its own series with a reason; the others go on. Memory is
bounded: when a series passes ``max_points`` every other point is dropped, which keeps the
cumulative energy exact at the points kept and only coarsens the timeline.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .devices.base import Meter, MeterError
from .timing import Clock, default_clock

DEFAULT_INTERVAL_S = 0.1
"""Fine enough for the sources' update rates (RAPL ~1 ms, NVML power ~20-100 ms, the energy
counter continuous) and cheap: one read costs microseconds (see `greenlove overhead`)."""

READ_TIMEOUT_S = 2.0
"""How long start() and stop() wait for the sampler's pass of readings (one pass takes
microseconds to milliseconds); a meter still being read then is abandoned."""

MAX_POINTS = 8192
"""Per meter; beyond it the series is thinned by half (about 14 minutes at 0.1 s per halving)."""


@dataclass(frozen=True)
class DeviceTrace:
    """One meter's cumulative energy (J) against the sampler's clock (s), as measured."""

    name: str
    kind: str
    method: str
    note: str
    times_s: tuple[float, ...]
    energy_j: tuple[float, ...]
    ended: str | None            # why the series stopped before the sampler did, or None

    def energy_between_j(self, start_s: float, end_s: float) -> float | None:
        """Energy in [start_s, end_s] (J), or None where the series does not cover the window."""
        if len(self.times_s) < 2 or start_s < self.times_s[0] or end_s > self.times_s[-1] \
                or end_s < start_s:
            return None
        low, high = np.interp([start_s, end_s], self.times_s, self.energy_j)
        return float(high - low)

    def timeline(self, start_s: float, end_s: float, max_points: int = 240
                 ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Mean power (W) in up to ``max_points`` equal bins over the covered part of the
        window; bin mid-times relative to ``start_s`` (s)."""
        if len(self.times_s) < 2:
            return (), ()
        lo, hi = max(start_s, self.times_s[0]), min(end_s, self.times_s[-1])
        if hi <= lo:
            return (), ()
        bins = max(1, min(max_points, len(self.times_s) - 1))
        edges = np.linspace(lo, hi, bins + 1)
        energy = np.interp(edges, self.times_s, self.energy_j)
        power = np.diff(energy) / np.diff(edges)
        mids = (edges[:-1] + edges[1:]) / 2 - start_s
        return tuple(float(t) for t in mids), tuple(float(p) for p in power)


class _Series:
    """A meter's series as it is being read (owned by the sampler)."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.times_s: list[float] = []
        self.energy_j: list[float] = []
        self.first_counter_j: float | None = None
        self.last_power_w: float | None = None
        self.ended: str | None = None

    def add(self, t_s: float, energy_counter_j: float | None, power_w: float | None) -> None:
        if energy_counter_j is not None:
            if self.first_counter_j is None:
                self.first_counter_j = energy_counter_j
            value = energy_counter_j - self.first_counter_j
            if self.energy_j and value < self.energy_j[-1]:
                raise MeterError("its energy counter went backwards")
        else:
            assert power_w is not None
            if not self.energy_j:
                value = 0.0
            else:
                dt = t_s - self.times_s[-1]
                value = self.energy_j[-1] + 0.5 * (power_w + self.last_power_w) * max(dt, 0.0)
            self.last_power_w = power_w
        if self.times_s and t_s <= self.times_s[-1]:
            return  # a clock that did not move gives no new information
        self.times_s.append(t_s)
        self.energy_j.append(value)

    def thin(self, max_points: int) -> None:
        if len(self.times_s) > max_points:
            keep_last = (self.times_s[-1], self.energy_j[-1])
            self.times_s = self.times_s[::2]
            self.energy_j = self.energy_j[::2]
            if self.times_s[-1] != keep_last[0]:
                self.times_s.append(keep_last[0])
                self.energy_j.append(keep_last[1])

    def trace(self) -> DeviceTrace:
        m = self.meter
        return DeviceTrace(name=m.name, kind=m.kind, method=m.method, note=m.note,
                           times_s=tuple(self.times_s), energy_j=tuple(self.energy_j),
                           ended=self.ended)


class PowerSampler:
    """Reads ``meters`` every ``interval_s`` seconds on a daemon thread between start() and
    stop(); also usable as a context manager. ``clock`` must be the benchmark's clock so that
    epoch edges and readings share one time axis.

    Meters are read on the sampler's thread only, and never under the lock that guards the
    series: a read that hangs (a wedged driver) cannot block the user's thread. start() waits
    at most ``READ_TIMEOUT_S`` for the first pass, stop() as long for the last one; a meter
    still being read then is abandoned (its series ends, saying so) and nothing is closed, since
    closing a wedged driver may hang too.
    """

    def __init__(self, meters: Sequence[Meter], *, interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Clock | None = None, max_points: int = MAX_POINTS,
                 read_timeout_s: float = READ_TIMEOUT_S) -> None:
        if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)) \
                or not math.isfinite(interval_s) or interval_s <= 0:
            raise ValueError(f"interval_s must be a number of seconds > 0, got {interval_s!r}")
        if max_points < 4:
            raise ValueError(f"max_points must be >= 4, got {max_points!r}")
        self.interval_s = float(interval_s)
        self._clock = clock or default_clock()
        self._max_points = max_points
        self._read_timeout_s = read_timeout_s
        self._series = [_Series(m) for m in meters]
        self._stop = threading.Event()
        self._first_pass = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reading: _Series | None = None   # the series whose meter is being read now
        self._abandoned = False
        self._stopped = False
        self._passes = 0
        self._pass_done = threading.Condition()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def abandoned(self) -> bool:
        """True once a meter's read did not return in time (its series says which)."""
        return self._abandoned

    def sample_once(self) -> None:
        """Read every live meter once (the thread's loop body; tests call it directly)."""
        for series in self._series:
            if series.ended is not None or self._abandoned:
                continue
            self._reading = series
            before = self._clock()
            try:
                reading = series.meter.read()
                after = self._clock()
            except Exception as error:  # any failure ends this series only
                with self._lock:
                    series.ended = f"{error}" or type(error).__name__
                continue
            finally:
                self._reading = None
            with self._lock:
                if self._abandoned:
                    return
                try:
                    series.add((before + after) / 2, reading.energy_j, reading.power_w)
                except Exception as error:
                    series.ended = f"{error}" or type(error).__name__
                    continue
                series.thin(self._max_points)
        with self._pass_done:
            self._passes += 1
            self._pass_done.notify_all()

    def wait_for_pass(self, timeout_s: float | None = None) -> bool:
        """Wait (at most ``timeout_s``, default the read timeout) until the thread completes a
        pass that starts after this call: a reading at "now" without reading on this thread."""
        if self._thread is None or not self._thread.is_alive():
            return False
        timeout_s = self._read_timeout_s if timeout_s is None else timeout_s
        with self._pass_done:
            target = self._passes + 2    # the pass in progress may have started before the call
            return self._pass_done.wait_for(lambda: self._passes >= target or self._abandoned,
                                            timeout=timeout_s + 2 * self.interval_s) \
                and not self._abandoned

    def _loop(self) -> None:
        self.sample_once()
        self._first_pass.set()
        while not self._stop.wait(self.interval_s):
            self.sample_once()
        self.sample_once()   # the last reading, at stop()

    def start(self) -> PowerSampler:
        if self._thread is not None or self._stopped:
            raise RuntimeError("a PowerSampler starts once")
        self._thread = threading.Thread(target=self._loop, name="greenlove-power-sampler",
                                        daemon=True)
        self._thread.start()
        if not self._first_pass.wait(self._read_timeout_s):
            self._abandon()
        return self

    def _abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            hung = self._reading
            if hung is not None and hung.ended is None:
                hung.ended = (f"a reading did not return within {self._read_timeout_s:g} s: "
                              "the meter was abandoned (a hung driver?)")
            for series in self._series:
                if series.ended is None:
                    series.ended = "no reading after another meter hung"
        with self._pass_done:
            self._pass_done.notify_all()

    def stop(self) -> None:
        """Stop the thread after its last reading and release the meters (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._read_timeout_s)
            if self._thread.is_alive() and not self._abandoned:
                self._abandon()
        if self._abandoned:
            return   # closing a wedged driver may hang as well: the process exit releases it
        for series in self._series:
            with contextlib.suppress(Exception):  # closing must not mask the real outcome
                series.meter.close()

    def traces(self) -> tuple[DeviceTrace, ...]:
        with self._lock:
            return tuple(s.trace() for s in self._series)

    def __enter__(self) -> PowerSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
