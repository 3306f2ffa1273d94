"""Tracking the real run: ``greenlove.track(...)`` and the :class:`Run` it returns.

The training thread only takes timestamps (:class:`~greenlove.measure.steps.StepLog`); the power
sampler meters the whole run on its own thread; once a second another thread forecasts, checks
the limits, updates the progress line and, every minute, writes the partial result to ``out``.
With ``Instruments(background=False)`` (tests) that work happens at epoch ends instead. Nothing
here may break the user's training: tracking's own failures become :class:`GreenloveWarning`s.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ..errors import GreenloveWarning
from ..measure import Instruments
from ..measure.ranks import RankGroup, current_world
from ..measure.steps import StepLog, StepSnapshot
from ..model.forecast import Forecast, forecast_run
from ..result import ForecastPoint
from .dry_run import dry_run_stop, unseen_extras
from .limits import Limits, check_limits, check_on_limit
from .progress import RunLine, make_run_line
from .track_result import (
    RunEnd,
    TrackPlan,
    build_result,
    plan_from,
    rank_plan,
    record_history,
    save_outputs,
)
from .track_sources import MeteredRun

T = TypeVar("T")

TICK_S = 1.0
"""How often the background thread forecasts, checks limits and redraws the progress line."""

SAVE_EVERY_S = 60.0
"""How often the partial result is written to ``out`` while the run goes on."""

MAX_FORECASTS = 512
"""Forecast points kept for the convergence chart; beyond it every other one is dropped."""

FORECAST_STEP = 0.005
"""A forecast point is kept each time the done fraction has grown by this much (and at epoch ends)."""


def track(report: Any = None, *, epochs: int | None = None, steps_per_epoch: int | None = None,
          max_steps: int | None = None, limits: Limits | None = None, on_limit: str = "warn",
          out: str | Path | None = None, history: bool | str | Path = True,
          progress: bool = True, site: Any = None, energy: Any = True, name: str | None = None,
          dry_run: bool = False, budget_s: float | None = None,
          instruments: Instruments | None = None) -> Run:
    """Start tracking the real run (see :class:`Run`); use it as a context manager.

    ``report``: the pre-flight :class:`greenlove.Report` of this run (from ``estimate`` or a
    dry run), or None. Without one, ``epochs`` (and ``steps_per_epoch`` where the loader has no
    length) say what the run is; ``max_steps``: the run ends after this many steps where that
    comes first. ``limits`` with ``on_limit`` "warn" or "stop"; ``out``: a folder for the run's
    JSON (every minute and at the end) and HTML (at the end); ``history``: True (the machine's
    record), False, or a folder; ``site``, ``energy``: as for ``estimate``; ``name``: a label
    for the history. ``dry_run=True``: the start of the run is a pre-flight: ``should_stop``
    turns true once the forecast of the whole run is tight enough (or ``budget_s`` is spent,
    None: automatic), and the result is a Report whose ``prediction`` is the whole run's (the
    caller restores its state; the framework callbacks do it for you). Bad arguments raise
    here, before training starts.

    Inside a ``torch.distributed`` job every rank calls ``track`` and runs the same loop: rank 0
    meters its node, checks the limits, shows the progress line and writes ``out`` and the
    history; ``run.should_stop`` is rank 0's decision, agreed at epoch boundaries (the end of
    a watched loop, ``epoch_end()``) by a collective with a timeout, so that every rank stops
    after the same epoch (a rank that stopped alone would leave the others waiting).
    """
    plan = plan_from(report, epochs=epochs, steps_per_epoch=steps_per_epoch,
                     max_steps=max_steps, limits=limits, on_limit=check_on_limit(on_limit),
                     out=out, history=history, progress=progress, site=site, energy=energy,
                     name=name, dry_run=dry_run, budget_s=budget_s, instruments=instruments)
    return Run(rank_plan(plan, current_world()))._start()


class Run:
    """A tracked training run.

        with greenlove.track(report) as run:
            for epoch in range(epochs):
                for batch in run.watch(loader):   # times batches, counts steps
                    ...
                run.epoch_end()                    # optional: after validation, say
                if run.should_stop:
                    break
        print(run.result)

    ``watch`` ends the epoch when its loader is exhausted; ``epoch_end()`` right after it (no step
    between) moves that end to now, so work after the loop joins its epoch. ``step_end(n)`` counts
    steps for loops that do not iterate a loader. ``with run.extra("validation"):`` (or
    ``extra_begin`` / ``extra_end``) marks work that is not a training step, so that the
    forecast counts it at its own rate; ``expect_extra(kind, total)`` says how many of a kind
    the whole run has, where the schedule is known.
    """

    def __init__(self, plan: TrackPlan) -> None:
        self._plan = plan
        instruments = plan.instruments
        self._clock = instruments.clock
        self._background = instruments.background
        self._log: StepLog | None = None
        self._metered = MeteredRun(
            plan.energy, plan.site, instruments.clock,
            report_assumptions=plan.report.assumptions if plan.report is not None else None)
        self._line: RunLine = make_run_line(plan.progress)
        self._lock = threading.RLock()
        self._stop_thread = threading.Event()
        self._thread: threading.Thread | None = None
        self._forecasts: list[ForecastPoint] = []
        self._last_forecast: Forecast | None = None
        self._warnings: list[str] = []
        self._warned: set[str] = set()
        self._should_stop = False
        self._stop_reason: str | None = None
        self._state = "new"             # new -> running -> ended
        self._steps_per_epoch = plan.steps_per_epoch
        self._mismatch: str | None = None
        self._started_at = ""
        self._last_save = -math.inf
        self._result: Any = None
        self._expected: dict[str, int] = {}
        self._dry_forecast: Forecast | None = None
        self._dry_latest: Forecast | None = None     # a dry run's last forecast with a rate
        self._ranks: RankGroup | None = None   # a distributed job's ranks, from _start()
        self._agreed_stop = False               # rank 0's should_stop, at the last epoch end

    # -- the user's loop ------------------------------------------------------------------
    def watch(self, iterable: Iterable[T]) -> Iterator[T]:
        """Yield from ``iterable`` (a DataLoader, usually), stamping each batch as a step;
        exhausting it ends the epoch."""
        if isinstance(iterable, (str, bytes)) or not hasattr(iterable, "__iter__"):
            raise TypeError(f"watch() needs an iterable of batches (a DataLoader), got "
                            f"{type(iterable).__name__}")
        self._check_length(iterable)
        return self._watch(iterable)

    def _watch(self, iterable: Iterable[T]) -> Iterator[T]:
        log = self._log
        if log is None or self._state != "running":
            self._warn_once("ended", "watch() after the run ended is not tracked.")
            yield from iterable
            return
        step = log.step
        for batch in iterable:
            step()
            yield batch
        self._end_epoch(provisional=True)

    def step_end(self, n: int = 1) -> None:
        """``n`` training steps ended now (for loops that do not iterate a watched loader)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"step_end(n) needs an int n >= 1, got {n!r}")
        if self._log is None or self._state != "running":
            self._warn_once("ended", "step_end() after the run ended is not tracked.")
            return
        self._log.step(n)

    def epoch_end(self) -> None:
        """Mark the end of an epoch now (see the class docstring)."""
        if self._log is None or self._state != "running":
            self._warn_once("ended", "epoch_end() after the run ended is ignored.")
            return
        self._end_epoch(provisional=False)

    def _end_epoch(self, *, provisional: bool) -> None:
        assert self._log is not None
        mark = self._log.end_epoch(provisional=provisional)
        if mark is not None and self._steps_per_epoch is None and mark.index == 0:
            self._steps_per_epoch = mark.steps
        self._guarded(self._update, at_epoch_end=True)
        self._guarded(self._agree_stop)

    def _agree_stop(self) -> None:
        """In a distributed job: rank 0's should_stop on every rank (a collective with a
        timeout; after a failure the ranks no longer agree, and each keeps its own)."""
        ranks = self._ranks
        if ranks is None or not ranks.world.distributed:
            return
        try:
            self._agreed_stop = bool(ranks.broadcast("run.should_stop", self._should_stop))
        except BaseException:
            self._ranks = None
            ranks.close()
            raise

    def extra_begin(self, kind: str) -> None:
        """Work of ``kind`` ("validation", "checkpoint", ...) that is not a training step starts
        now; an extra still open ends here first."""
        _check_kind(kind)
        if self._log is None or self._state != "running":
            self._warn_once("ended", "extra_begin() after the run ended is ignored.")
            return
        self._log.begin_extra(kind)

    def extra_end(self) -> None:
        """The open extra ends now (nothing happens when none is open)."""
        if self._log is None or self._state != "running":
            return
        if self._log.end_extra() is not None:
            self._guarded(self._update, at_epoch_end=True)

    @contextlib.contextmanager
    def extra(self, kind: str) -> Iterator[None]:
        """``with run.extra("validation"): ...``: the block is an extra of ``kind``."""
        self.extra_begin(kind)
        try:
            yield
        finally:
            self.extra_end()

    def expect_extra(self, kind: str, total: int) -> None:
        """The whole run has ``total`` extras of ``kind`` (from the framework's schedule); the
        forecast counts those still to come at the kind's own duration."""
        _check_kind(kind)
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"expect_extra(total) needs an int >= 0, got {total!r}")
        with self._lock:
            self._expected = {**self._expected, kind: total}

    @property
    def should_stop(self) -> bool:
        """True once a limit with ``on_limit="stop"`` is certain to be crossed, or a dry run has
        seen enough (in a distributed job: rank 0's decision, as agreed at the last epoch
        end)."""
        if self._ranks is not None and self._ranks.world.distributed:
            return self._agreed_stop
        return self._should_stop

    @property
    def stop_reason(self) -> str | None:
        """Why ``should_stop`` turned true (None while it has not)."""
        return self._stop_reason

    # -- what it knows --------------------------------------------------------------------
    def forecast(self) -> Forecast:
        """The forecast of the whole run now (also what the progress line shows)."""
        if self._state == "ended" and self._last_forecast is not None:
            return self._last_forecast
        return self._compute()

    @property
    def latest_forecast(self) -> Forecast | None:
        """The last forecast the tracker made (its thread, once a second; epoch and extra ends),
        without computing one; None before the first. Each is a new object, so a logger can
        tell a new one by identity and log only then."""
        return self._last_forecast

    def metrics(self, forecast: Forecast | None = None) -> dict[str, float]:
        """The forecast as a flat dict of floats (keys ``greenlove/...``) for any logger.
        ``forecast``: one this run made (``latest_forecast``), instead of computing one now."""
        f = self.forecast() if forecast is None else forecast
        out: dict[str, float] = {"greenlove/done": f.done, "greenlove/elapsed_s": f.elapsed_s,
                                 "greenlove/steps": float(f.steps_done),
                                 "greenlove/epochs": float(f.epochs_done)}
        for key, value in (("remaining_s", f.remaining_s), ("time_s", f.time_s),
                           ("energy_kwh", f.energy_kwh), ("cost_usd", f.cost_usd),
                           ("co2_kg", f.co2_kg)):
            if value is not None:
                out[f"greenlove/{key}"] = value.point
                out[f"greenlove/{key}_low"] = value.low
                out[f"greenlove/{key}_high"] = value.high
        for key, value in (("energy_so_far_kwh", f.energy_so_far_kwh),
                           ("cost_so_far_usd", f.cost_so_far_usd),
                           ("co2_so_far_kg", f.co2_so_far_kg)):
            if value is not None:
                out[f"greenlove/{key}"] = value
        return {k: float(v) for k, v in out.items() if math.isfinite(v)}

    @property
    def result(self) -> Any:
        """The Report of the run with ``actual`` (and ``check``, against a pre-flight) filled
        in. Reading it while the run is still tracked ends the tracking first."""
        if self._state != "ended":
            self.close()
        return self._result

    # -- lifecycle ------------------------------------------------------------------------
    def _start(self) -> Run:
        self._started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for sentence in self._plan.warnings:
            self._warn_once(sentence, sentence)
        self._ranks = RankGroup.open()
        self._guarded(self._metered.start)
        self._guarded(self._line.start)
        # The run's clock starts once the meters are found: their discovery is not the run's.
        self._log = StepLog(self._clock)
        self._state = "running"
        if self._background:
            # The thread holds the run weakly: a run the user drops is collected, and stops it.
            self._thread = threading.Thread(target=_tick, args=(weakref.ref(self),
                                                                self._stop_thread),
                                            name="greenlove-track", daemon=True)
            self._thread.start()
        return self

    def close(self, reason: str | None = None) -> None:
        """End the tracking now: stop the threads, build the result, record the history and
        write ``out`` (idempotent; never raises for tracking's own failures)."""
        end_s = self._clock()
        # Stop the thread before taking the lock: a tick waiting for it would hold up the join.
        self._stop_thread.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5 * TICK_S)
        with self._lock:
            if self._state == "ended":
                return
            if self._state == "new" or self._log is None:
                self._state = "ended"
                return
            if self._ranks is not None:
                self._ranks.close()
            self._guarded(self._metered.stop)
            final = self._guarded(self._compute, final=True)
            self._state = "ended"
            self._guarded(self._line.stop)
            snapshot = self._log.snapshot(final=True)
            epochs_done = len(snapshot.epochs)
            max_steps = self._plan.max_steps
            completed = epochs_done >= self._plan.epochs or (
                max_steps is not None and snapshot.steps >= max_steps)
            if reason is None:
                reason = self._stop_reason or ("completed" if completed else "stopped early")
            if self._plan.dry_run is not None and self._dry_forecast is None:
                # Ended before the rule stopped it: what it saw (a run that completed: the
                # last forecast with a rate, the final one having nothing left to forecast).
                seen = final if _predicts(final) else self._dry_latest
                self._dry_forecast = seen if _predicts(seen) else None
            if final is not None:
                self._last_forecast = final
                if completed and final.time_s is not None:
                    self._keep_point(final, force=True)
            result = self._guarded(self._report, snapshot, end_s, completed, reason)
            self._result = result
            if result is not None:
                for sentence in self._guarded(record_history, self._plan, result) or ():
                    self._warn_once(sentence, sentence)
                for sentence in self._guarded(save_outputs, self._plan, result, final=True) or ():
                    self._warn_once(sentence, sentence)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        reason = None
        if exc_type is not None:
            reason = f"exception: {exc_type.__name__}" + (f": {exc}" if str(exc) else "")
        self.close(reason)   # the exception, Ctrl-C included, goes on to the user

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._stop_thread.set()

    # -- inside ---------------------------------------------------------------------------
    def _check_length(self, iterable: Iterable[Any]) -> None:
        try:
            length = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            return
        planned = self._steps_per_epoch
        if planned is None:
            self._steps_per_epoch = length
            return
        if length != planned and self._mismatch is None:
            source = "the pre-flight report planned" if self._plan.report is not None \
                else "steps_per_epoch says"
            change = (length - planned) / planned
            self._mismatch = (
                f"The loader handed to watch() has {length} batches; {source} {planned} "
                f"({change:+.0%}). The forecast uses {length}"
                + ("; the pre-flight check is skipped." if self._plan.report is not None else ".")
            )
            self._steps_per_epoch = length
            self._warn_once("mismatch", self._mismatch)

    def _compute(self, *, final: bool = False) -> Forecast:
        assert self._log is not None
        snapshot = self._log.snapshot(final=final)
        energy_j, power_w = self._metered.energy_so_far(snapshot.start_s, snapshot.now_s)
        plan = self._plan
        return forecast_run(
            snapshot, epochs=plan.epochs, steps_per_epoch=self._steps_per_epoch,
            prior=plan.prior, drift_rel=plan.drift_rel, confidence=plan.confidence,
            energy_so_far_j=energy_j, power_w=power_w, usd_per_kwh=self._metered.usd_per_kwh,
            kg_co2_per_kwh=self._metered.kg_co2_per_kwh, max_steps=plan.max_steps,
            expected_extras=self._expected)

    def _update(self, *, at_epoch_end: bool) -> None:
        with self._lock:
            if self._state != "running":
                return
            if not self._background:
                self._metered.sample_now()
            forecast = self._compute()
            self._last_forecast = forecast
            self._keep_point(forecast, force=at_epoch_end)
            self._check_limits(forecast)
            self._check_dry_run(forecast)
            self._line.update(forecast, wall_now_s=time.time())
            now = forecast.elapsed_s
            if self._plan.out is not None and now - self._last_save >= SAVE_EVERY_S:
                self._last_save = now
                self._save_partial()

    def _report(self, snapshot: StepSnapshot, end_s: float, completed: bool,
                stop_reason: str) -> Any:
        """The Report of the run as it stands at ``end_s`` (the end, or now for a partial one)."""
        end = RunEnd(snapshot=snapshot, end_s=end_s, completed=completed,
                     stop_reason=stop_reason, steps_per_epoch=self._steps_per_epoch,
                     started_at=self._started_at, mismatch=self._mismatch,
                     dry_forecast=self._dry_forecast)
        return build_result(self._plan, end, self._metered, tuple(self._forecasts),
                            tuple(self._warnings))

    def _save_partial(self) -> None:
        assert self._log is not None
        partial = self._report(self._log.snapshot(final=True), self._clock(), False, "running")
        for sentence in save_outputs(self._plan, partial, final=False):
            self._warn_once(sentence, sentence)

    def _keep_point(self, forecast: Forecast, *, force: bool) -> None:
        if forecast.time_s is None:
            return
        last = self._forecasts[-1] if self._forecasts else None
        if last is not None and not force and forecast.done - last.done < FORECAST_STEP:
            return
        if last is not None and last.done == forecast.done and last.at_s == forecast.elapsed_s:
            return
        self._forecasts.append(ForecastPoint(at_s=forecast.elapsed_s, done=forecast.done,
                                             time_s=forecast.time_s,
                                             energy_kwh=forecast.energy_kwh))
        if len(self._forecasts) > MAX_FORECASTS:
            self._forecasts = [*self._forecasts[:-1:2], self._forecasts[-1]]

    def _check_limits(self, forecast: Forecast) -> None:
        limits = self._plan.limits
        if limits is None:
            return
        for check in check_limits(forecast, limits):
            if check.expected:
                self._warn_once(f"limit {check.name}", check.sentence())
            if check.certain and self._plan.on_limit == "stop" and not self._should_stop:
                self._should_stop = True
                self._stop_reason = f"limit {check.name}: {check.sentence()}"
                self._warn_once(f"stop {check.name}",
                                f"greenlove asks the run to stop (run.should_stop): {check.sentence()}")

    def _check_dry_run(self, forecast: Forecast) -> None:
        budget = self._plan.dry_run
        if budget is None or self._should_stop:
            return
        if _predicts(forecast):
            self._dry_latest = forecast
        extras = self._log.extras if self._log is not None else {}   # one reference: no copy
        seen = {kind: stats.count for kind, stats in extras.items()}
        reason = dry_run_stop(forecast, budget, unseen_extras(self._expected, seen))
        if reason is not None:
            self._should_stop = True
            self._stop_reason = reason
            if _predicts(forecast):     # budget_s may be spent before any forecast is made
                self._dry_forecast = forecast

    def _warn_once(self, key: str, sentence: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self._warnings.append(sentence)
        warnings.warn(sentence, GreenloveWarning, stacklevel=3)

    def _guarded(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Call tracking's own work; a failure becomes one warning, never the user's problem."""
        try:
            return function(*args, **kwargs)
        except Exception as error:  # tracking must never break the user's training
            name = getattr(function, "__name__", "tracking")
            self._warn_once(f"failed {name}", f"greenlove tracking: {name} failed and was "
                            f"skipped ({type(error).__name__}: {error}).")
            return None


def _predicts(forecast: Forecast | None) -> bool:
    """The forecast can stand for a dry run's prediction of the whole run."""
    return forecast is not None and forecast.time_s is not None \
        and forecast.per_step_s is not None


def _check_kind(kind: object) -> None:
    if not isinstance(kind, str) or not kind.strip():
        raise ValueError(f"an extra's kind must be a non-empty str (\"validation\", "
                         f"\"checkpoint\" ...), got {kind!r}")


def _tick(ref: weakref.ref, stop: threading.Event) -> None:
    """The background thread: the run's periodic work once every TICK_S, until stopped."""
    while not stop.wait(TICK_S):
        run = ref()
        if run is None:
            return
        run._guarded(run._update, at_epoch_end=False)
        del run
