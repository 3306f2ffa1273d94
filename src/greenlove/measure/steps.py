"""The real run's steps and epochs as measured: one clock read per step, bounded memory.

The training thread only stamps: :meth:`StepLog.step` reads the clock, counts, and every
``stride``-th step keeps a mark. When the marks pass ``max_marks`` every other one is dropped
and the stride doubles, so a run of days keeps at most ``max_marks`` of them while the step
rate between any two kept marks stays exact. Epoch boundaries are kept whole (one small record
per epoch). Another thread may take a :meth:`snapshot` at any time.
"""

from __future__ import annotations

from dataclasses import dataclass

from .timing import Clock

MAX_MARKS = 4096
"""Marks kept for the step-rate estimate (about 100 kB); beyond it they are thinned by half."""


@dataclass(frozen=True)
class EpochMark:
    """One completed epoch of the real run (seconds on the run's clock)."""

    index: int
    start_s: float                 # boundary: the previous epoch's end, or the run's start
    end_s: float                   # boundary: epoch_end(), or the end of a watched loop
    steps: int
    first_step_s: float | None     # first batch delivered (None: no step in the epoch)
    last_step_s: float | None

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
    marks: tuple[tuple[float, int, int], ...]   # (time s, steps so far, epoch index), in order

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

    def step(self, n: int = 1) -> None:
        """``n`` steps ended (or their batches were delivered) now: the hot path."""
        now = self._clock()
        self.provisional = False    # a new epoch's step: the last one's end stands
        self.steps += n
        self.epoch_steps += n
        self.last_step_s = now
        if self.epoch_first_step_s is None:
            self.epoch_first_step_s = now
        if self.steps % self.stride < n or self.epoch_steps == n:
            self.marks.append((now, self.steps, len(self.epochs)))
            if len(self.marks) > self._max_marks:
                # A new list, never an edit in place: a snapshot being taken keeps the old one.
                self.marks = self.marks[::2]
                self.stride *= 2

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
                              last.last_step_s)
            self.epochs[-1] = moved
            self.epoch_start_s = now
            return moved
        mark = EpochMark(len(self.epochs), self.epoch_start_s, now, self.epoch_steps,
                         self.epoch_first_step_s, self.last_step_s)
        self.provisional = provisional
        self.epochs.append(mark)
        self.epoch_start_s = now
        self.epoch_steps = 0
        self.epoch_first_step_s = None
        return mark

    def snapshot(self, *, final: bool = False) -> StepSnapshot:
        """The log now. An epoch closed provisionally is shown as the epoch in progress (in the
        work after its loop) unless ``final`` (the run has ended: it stands)."""
        marks = self.marks   # one reference: the training thread may replace the list
        epochs = tuple(self.epochs)
        if self.provisional and epochs and not final and self.epoch_steps == 0:
            last = epochs[-1]
            return StepSnapshot(
                now_s=self._clock(), start_s=self.start_s, steps=self.steps, epochs=epochs[:-1],
                epoch_start_s=last.start_s, epoch_steps=last.steps,
                epoch_first_step_s=last.first_step_s, last_step_s=last.last_step_s,
                marks=tuple(marks),
            )
        return StepSnapshot(
            now_s=self._clock(), start_s=self.start_s, steps=self.steps,
            epochs=epochs, epoch_start_s=self.epoch_start_s,
            epoch_steps=self.epoch_steps, epoch_first_step_s=self.epoch_first_step_s,
            last_step_s=self.last_step_s, marks=tuple(marks),
        )
