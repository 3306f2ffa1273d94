"""The real run's steps and epochs as measured: one clock read per step, bounded memory.

The training thread only stamps: :meth:`StepLog.step` reads the clock, counts, and every
``stride``-th step keeps a mark. When the marks pass ``max_marks`` every other one is dropped
and the stride doubles, so a run of days keeps at most ``max_marks`` of them while the step
rate between any two kept marks stays exact. Epoch boundaries are kept whole (one small record
per epoch). Another thread may take a :meth:`snapshot` at any time.

Work that is not a training step (a validation pass, a checkpoint save, an evaluation every N
steps) is stamped at its two edges as an *extra* of a named kind: its time is kept apart, per
kind (count, total, first, and the spread of the rest), and every mark and epoch carries the
extras time so far, so that the step rate and the per-epoch cost are measured without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .timing import Clock

MAX_MARKS = 4096
"""Marks kept for the step-rate estimate (about 100 kB); beyond it they are thinned by half."""


@dataclass(frozen=True)
class ExtraStats:
    """One kind of extra (validation, checkpoint ...) so far: its occurrences' durations (s)."""

    kind: str
    count: int
    total_s: float
    first_s: float
    rest_mean_s: float        # mean of the occurrences after the first (nan with one)
    rest_m2: float            # their sum of squared deviations (Welford)
    last_at_step: int         # steps done when the last one ended
    last_epoch: int = 0       # the epoch the last one belongs to (work after a watched loop
    #                           belongs to the epoch of that loop)
    in_last_epoch: int = 0    # how many of them that epoch had

    @property
    def typical_s(self) -> float:
        """The duration a later occurrence is expected to take: the mean after the first
        (which may hold a warm-up) where there are later ones, else the first."""
        return self.rest_mean_s if self.count >= 2 else self.first_s

    @property
    def sd_s(self) -> float | None:
        """Sample sd of the occurrences after the first; None with fewer than two of them."""
        n = self.count - 1
        return (self.rest_m2 / (n - 1)) ** 0.5 if n >= 2 else None

    def added(self, duration_s: float, steps: int, epoch: int) -> ExtraStats:
        in_epoch = self.in_last_epoch + 1 if self.count and epoch == self.last_epoch else 1
        if self.count == 0:
            return ExtraStats(self.kind, 1, duration_s, duration_s, float("nan"), 0.0, steps,
                              epoch, in_epoch)
        n = self.count          # occurrences after the first, with this one
        if n == 1:
            mean, m2 = duration_s, 0.0
        else:
            delta = duration_s - self.rest_mean_s
            mean = self.rest_mean_s + delta / n
            m2 = self.rest_m2 + delta * (duration_s - mean)
        return ExtraStats(self.kind, self.count + 1, self.total_s + duration_s, self.first_s,
                          mean, m2, steps, epoch, in_epoch)


@dataclass(frozen=True)
class EpochMark:
    """One completed epoch of the real run (seconds on the run's clock)."""

    index: int
    start_s: float                 # boundary: the previous epoch's end, or the run's start
    end_s: float                   # boundary: epoch_end(), or the end of a watched loop
    steps: int
    first_step_s: float | None     # first batch delivered (None: no step in the epoch)
    last_step_s: float | None
    extra_s: float = 0.0           # time in extras (validation, checkpoints) within the epoch
    last_step_extra_s: float = 0.0   # the run's extras time so far at its last step

    @property
    def period_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def span_s(self) -> float | None:
        """First to last step delivery; None with fewer than two steps."""
        if self.first_step_s is None or self.last_step_s is None or self.steps < 2:
            return None
        return self.last_step_s - self.first_step_s


@dataclass(frozen=True)
class StepSnapshot:
    """The log at one moment: what the forecast is computed from."""

    now_s: float
    start_s: float
    steps: int                               # all steps so far
    epochs: tuple[EpochMark, ...]            # completed epochs
    epoch_start_s: float                     # the current epoch's start boundary
    epoch_steps: int                         # steps in the current epoch
    epoch_first_step_s: float | None
    last_step_s: float | None
    marks: tuple[tuple[float, int, int, float], ...]
    # (time s, steps so far, epoch index, extras time so far s), in order
    extras: tuple[ExtraStats, ...] = ()      # per kind, completed occurrences
    extra_total_s: float = 0.0               # time in completed extras so far
    open_extra: tuple[str, float] | None = None   # (kind, start s) of an extra in progress
    last_step_extra_s: float = 0.0           # extras time so far at the last step
    epoch_start_extra_s: float = 0.0         # extras time so far at the current epoch's start

    @property
    def elapsed_s(self) -> float:
        return self.now_s - self.start_s


class StepLog:
    """Steps and epoch boundaries, stamped on the training thread."""

    def __init__(self, clock: Clock, *, max_marks: int = MAX_MARKS) -> None:
        if max_marks < 8:
            raise ValueError(f"max_marks must be >= 8, got {max_marks!r}")
        self._clock = clock
        self._max_marks = max_marks
        self.start_s = clock()
        self.steps = 0
        self.stride = 1
        self.marks: list[tuple[float, int, int]] = []
        self.epochs: list[EpochMark] = []
        self.epoch_start_s = self.start_s
        self.epoch_steps = 0
        self.epoch_first_step_s: float | None = None
        self.last_step_s: float | None = None
        self.provisional = False    # the last epoch was closed by its loop's end, not by the user
        self.extras: dict[str, ExtraStats] = {}
        self.extra_total_s = 0.0
        self.open_extra: tuple[str, float] | None = None
        self.last_step_extra_s = 0.0
        self.epoch_start_extra_s = 0.0

    def step(self, n: int = 1) -> None:
        """``n`` steps ended (or their batches were delivered) now: the hot path."""
        now = self._clock()
        self.provisional = False    # a new epoch's step: the last one's end stands
        self.steps += n
        self.epoch_steps += n
        self.last_step_s = now
        self.last_step_extra_s = self.extra_total_s
        if self.epoch_first_step_s is None:
            self.epoch_first_step_s = now
        if self.steps % self.stride < n or self.epoch_steps == n:
            self.marks.append((now, self.steps, len(self.epochs), self.extra_total_s))
            if len(self.marks) > self._max_marks:
                # A new list, never an edit in place: a snapshot being taken keeps the old one.
                self.marks = self.marks[::2]
                self.stride *= 2

    def begin_extra(self, kind: str) -> None:
        """Work of ``kind`` that is not a training step starts now (one at a time: an extra
        still open ends here first)."""
        now = self._clock()
        if self.open_extra is not None:
            self._close_extra(now)
        self.open_extra = (kind, now)

    def end_extra(self) -> ExtraStats | None:
        """The open extra ends now; returns its kind's figures (None when none was open)."""
        if self.open_extra is None:
            return None
        return self._close_extra(self._clock())

    def _close_extra(self, now: float) -> ExtraStats:
        assert self.open_extra is not None
        kind, start = self.open_extra
        duration = max(now - start, 0.0)
        stats = self.extras.get(kind) or ExtraStats(kind, 0, 0.0, 0.0, float("nan"), 0.0, 0)
        # Work after a watched loop, before epoch_end(), belongs to that loop's epoch.
        epoch = len(self.epochs) - 1 if self.provisional and self.epoch_steps == 0 \
            else len(self.epochs)
        stats = stats.added(duration, self.steps, epoch)
        # A new dict, never an edit in place: a snapshot being taken keeps the old one.
        self.extras = {**self.extras, kind: stats}
        self.extra_total_s += duration
        self.open_extra = None
        return stats

    def end_epoch(self, *, provisional: bool = False) -> EpochMark | None:
        """Close the current epoch now. With no step since the last boundary, that boundary
        moves to now instead (work after a watched loop, such as validation, joins its epoch);
        returns the epoch closed or extended, or None before any epoch.

        ``provisional``: the end of a watched loop, which the user's ``epoch_end()`` may still
        move; until it does (or the next epoch's first step comes), a snapshot shows that epoch
        as still going, in the work after its loop."""
        now = self._clock()
        if self.epoch_steps == 0:
            if not self.epochs:
                return None
            self.provisional = self.provisional and provisional
            last = self.epochs[-1]
            moved = EpochMark(last.index, last.start_s, now, last.steps, last.first_step_s,
                              last.last_step_s,
                              last.extra_s + self.extra_total_s - self.epoch_start_extra_s,
                              last.last_step_extra_s)
            self.epochs[-1] = moved
            self.epoch_start_s = now
            self.epoch_start_extra_s = self.extra_total_s
            return moved
        mark = EpochMark(len(self.epochs), self.epoch_start_s, now, self.epoch_steps,
                         self.epoch_first_step_s, self.last_step_s,
                         self.extra_total_s - self.epoch_start_extra_s, self.last_step_extra_s)
        self.provisional = provisional
        self.epochs.append(mark)
        self.epoch_start_s = now
        self.epoch_start_extra_s = self.extra_total_s
        self.epoch_steps = 0
        self.epoch_first_step_s = None
        return mark

    def snapshot(self, *, final: bool = False) -> StepSnapshot:
        """The log now. An epoch closed provisionally is shown as the epoch in progress (in the
        work after its loop) unless ``final`` (the run has ended: it stands)."""
        marks = self.marks   # one reference: the training thread may replace the list
        epochs = tuple(self.epochs)
        extras = dict(
            extras=tuple(self.extras.values()), extra_total_s=self.extra_total_s,
            open_extra=None if final else self.open_extra,
            last_step_extra_s=self.last_step_extra_s)
        if self.provisional and epochs and not final and self.epoch_steps == 0:
            last = epochs[-1]
            return StepSnapshot(
                now_s=self._clock(), start_s=self.start_s, steps=self.steps, epochs=epochs[:-1],
                epoch_start_s=last.start_s, epoch_steps=last.steps,
                epoch_first_step_s=last.first_step_s, last_step_s=last.last_step_s,
                marks=tuple(marks), epoch_start_extra_s=self.epoch_start_extra_s - last.extra_s,
                **extras,
            )
        return StepSnapshot(
            now_s=self._clock(), start_s=self.start_s, steps=self.steps,
            epochs=epochs, epoch_start_s=self.epoch_start_s,
            epoch_steps=self.epoch_steps, epoch_first_step_s=self.epoch_first_step_s,
            last_step_s=self.last_step_s, marks=tuple(marks),
            epoch_start_extra_s=self.epoch_start_extra_s, **extras,
        )
