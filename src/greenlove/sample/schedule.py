"""Which sample size to time next, and when to stop: the benchmark's budget and design.

The schedule runs in three phases:

1. **warm-up** at a tiny sample (4 batches) until an epoch is no longer more than 15% faster
   than the one before (``warmup_epochs="auto"``, at most 5 epochs; a slower epoch is noise,
   not warm-up) or for the requested number of warm-up epochs;
2. **probe**: the batch deliveries of the tiny epoch give a first per-batch cost ``b`` and
   per-epoch rest ``a``; one probe epoch then times the sample where batches cost about twice
   ``a`` (within 30% of the budget), growing 4x per epoch if that was not enough to see ``b``.
   With ``budget_s=None`` this fixes the budget (:func:`automatic_budget_s`);
3. **rounds** over three sizes k/4, k/2, k (order reversed every round, so that a slow drift of
   the machine does not masquerade as a size effect), k chosen so that about five rounds fit
   the budget (at least 16 batches at the largest, 4 at the smallest); it stops when the next
   epoch would overrun the budget (after at least one round), or early (after three rounds)
   once the prediction is tight enough. When not even one such round fits (an epoch with a
   large fixed cost, a tight budget), the rounds time one size between the tiny sample and the
   probe: with those two, that makes the three sizes the line needs, at a third of the cost.

Budget rule (``budget_s=None``): 4% of the full run predicted from the probe, at least 2 s and
at most 60 s, predicted again from the rounds' sizes before every round after the first. The
budget counts everything from the start of the benchmark, the idle baseline and the cloud
comparison's measurement of this device (both before the first epoch) included.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.timing import EpochRecord
from .budget import BUDGET_MIN_S, Budget, automatic_budget_s

DEFAULT_SAMPLE_FRACTION = 0.5
TARGET_ROUNDS = 5
MIN_ROUNDS = 1
MIN_ROUNDS_BEFORE_TIGHT = 3
TIGHT_HALF_WIDTH_REL = 0.01
"""Stop early once the estimated (not assumed) part of the interval is within +-1%."""

WARMUP_BATCHES = 4
WARMUP_AGREEMENT_REL = 0.15
MAX_WARMUP_PROBES = 5
PROBE_GROWTH = 4
PROBE_RATIO = 3.0
MIN_LARGEST_BATCHES = 16
MIN_SAMPLE_BATCHES = 4


@dataclass(frozen=True)
class Step:
    """The next epoch to time: its sample size in batches, and the phase asking for it."""

    batches: int
    phase: str


# Tells the schedule how tight the prediction is now (relative half-width of its estimated part).
PrecisionProbe = Callable[[Sequence[EpochRecord]], float]


class Schedule:
    """Decides the sample size of each next epoch from what has been measured so far."""

    def __init__(self, *, full_batches: int, epochs: int, budget: Budget,
                 sample_fraction: float | None, warmup_epochs: int | str,
                 precision: PrecisionProbe) -> None:
        self.full_batches = full_batches
        self.epochs = epochs
        self.budget = budget
        fraction = DEFAULT_SAMPLE_FRACTION if sample_fraction is None else sample_fraction
        self.cap_batches = max(1, min(full_batches, math.floor(fraction * full_batches)))
        self.whole_epochs = full_batches < 3
        if self.whole_epochs:
            self.cap_batches = full_batches
        self.tiny_batches = min(WARMUP_BATCHES, self.cap_batches)
        self.warmup_epochs = warmup_epochs
        self._precision = precision
        self.sizes: tuple[int, ...] = ()
        self.stop_reason = ""
        self.over_budget = False
        self._round: list[int] = []
        self._rounds_done = 0

    @property
    def budget_s(self) -> float:
        """The budget in seconds, once fixed (the rounds' phase and later)."""
        assert self.budget.value_s is not None, "the automatic budget is fixed by the probe"
        return self.budget.value_s

    # -- phases ----------------------------------------------------------------------------
    def next_step(self, records: Sequence[EpochRecord], elapsed_s: float) -> Step | None:
        if self.whole_epochs:
            return self._whole_epoch_step(records, elapsed_s)
        warm = self._warmup_step(records)
        if warm is not None:
            return warm
        if not self.sizes:
            probe = self._probe_step(records, elapsed_s)
            if probe is not None:
                return probe
            self._choose_sizes(records, elapsed_s)
        return self._round_step(records, elapsed_s)

    def _warmup_step(self, records: Sequence[EpochRecord]) -> Step | None:
        tiny = self.tiny_batches
        if isinstance(self.warmup_epochs, int):
            wanted = self.warmup_epochs + 1
            return Step(tiny, "warm-up") if len(records) < wanted else None
        if len(records) < 2:
            return Step(tiny, "warm-up")
        if self.sizes or any(r.sample_batches != tiny for r in records):
            return None
        # Warm-up makes the first epochs slower: it is over once an epoch is no longer clearly
        # faster than the one before (a slower one is the machine's noise, not warm-up).
        last, previous = records[-1].epoch_s, records[-2].epoch_s
        settled = last >= (1 - WARMUP_AGREEMENT_REL) * previous
        if settled or len(records) >= MAX_WARMUP_PROBES:
            return None
        return Step(tiny, "warm-up")

    def _probe_step(self, records: Sequence[EpochRecord], elapsed_s: float) -> Step | None:
        tiny = self.tiny_batches
        largest = max(records, key=lambda r: (r.sample_batches, r.order))
        if largest.sample_batches >= self.cap_batches:
            return None
        if largest.sample_batches > tiny:
            grown_enough = largest.epoch_s >= PROBE_RATIO * self._tiny_epoch_s(records)
            if grown_enough or elapsed_s > 0.3 * self._provisional_budget_s(records):
                return None
        rate = self._delivery_rate_s(records)
        if largest.sample_batches == tiny and rate is not None:
            # Jump straight to where batches cost about twice the per-epoch rest (so both are
            # seen), their share capped at a quarter of the budget: one probe epoch instead of
            # a slow geometric climb.
            fixed = max(records[-1].epoch_s - rate * records[-1].batches_drawn, 0.0)
            k = max(2 * max(fixed, 0.01) / rate, PROBE_GROWTH * tiny)
            k = min(k, max(0.25 * self._provisional_budget_s(records) / rate, PROBE_GROWTH * tiny))
            return Step(int(min(k, self.cap_batches)), "probe")
        return Step(min(largest.sample_batches * PROBE_GROWTH, self.cap_batches), "probe")

    @staticmethod
    def _delivery_rate_s(records: Sequence[EpochRecord]) -> float | None:
        """Seconds per batch inside the latest epoch, from its batch deliveries."""
        last = records[-1]
        if last.span_s is None or last.batches_drawn < 3 or last.span_s <= 0:
            return None
        return last.span_s / (last.batches_drawn - 1)

    def _provisional_budget_s(self, records: Sequence[EpochRecord]) -> float:
        if self.budget.value_s is not None:
            return self.budget.value_s
        fixed_s, per_batch_s = self.rough_line(records)
        rate = self._delivery_rate_s(records)
        if rate is not None and self._rough_from_tiny_only(records):
            fixed_s = max(records[-1].epoch_s - rate * records[-1].batches_drawn, 0.0)
            per_batch_s = rate
        return automatic_budget_s(self.epochs * (fixed_s + per_batch_s * self.full_batches))

    def _rough_from_tiny_only(self, records: Sequence[EpochRecord]) -> bool:
        tiny = self.tiny_batches
        return all(r.sample_batches == tiny for r in records)

    def _tiny_epoch_s(self, records: Sequence[EpochRecord]) -> float:
        tiny = self.tiny_batches
        return min(r.epoch_s for r in records if r.sample_batches == tiny)

    def rough_line(self, records: Sequence[EpochRecord]) -> tuple[float, float]:
        """(fixed s per epoch, s per batch) from the tiny and the largest sample so far."""
        tiny = self.tiny_batches
        small = self._tiny_epoch_s(records)
        largest = max(records, key=lambda r: (r.sample_batches, r.order))
        if largest.sample_batches <= tiny:
            return 0.0, small / tiny
        slope = max((largest.epoch_s - small) / (largest.sample_batches - tiny),
                    largest.epoch_s / largest.sample_batches * 0.05)
        return max(small - slope * tiny, 0.0), slope

    def _choose_sizes(self, records: Sequence[EpochRecord], elapsed_s: float) -> None:
        fixed_s, per_batch_s = self.rough_line(records)
        if self.budget.value_s is None:
            self.budget = self.budget.for_run_s(self.epochs * (fixed_s + per_batch_s * self.full_batches))
        remaining = max(self.budget_s - elapsed_s, 0.0)
        # TARGET_ROUNDS rounds of (k/4 + k/2 + k) batches and three fixed costs fill ~90%.
        per_round = 0.9 * remaining / TARGET_ROUNDS
        k = (per_round - 3 * fixed_s) / (1.75 * per_batch_s) if per_batch_s > 0 else self.cap_batches
        k = int(min(max(k, MIN_LARGEST_BATCHES), self.cap_batches))
        floor = min(MIN_SAMPLE_BATCHES, k)
        sizes = sorted({max(floor, round(k / 4)), max(floor, round(k / 2)), k})
        if len(sizes) < 3:
            sizes = list(range(1, min(3, self.cap_batches) + 1))
        one_round_s = sum(fixed_s + per_batch_s * x for x in sizes)
        middle = self._middle_size(records)
        if one_round_s > remaining and middle is not None:
            sizes = [middle]
        self.sizes = tuple(sizes)

    def _middle_size(self, records: Sequence[EpochRecord]) -> int | None:
        """A size strictly between the tiny sample and the largest timed so far (their geometric
        mean), or None when there is no room between them."""
        largest = max(r.sample_batches for r in records)
        middle = round(math.sqrt(self.tiny_batches * largest))
        return middle if self.tiny_batches < middle < largest else None

    def _round_step(self, records: Sequence[EpochRecord], elapsed_s: float) -> Step | None:
        if not self._round:
            if self.budget.automatic and self._rounds_done >= 1:
                self._refresh_budget(records)
            tight_enough = (self._rounds_done >= MIN_ROUNDS_BEFORE_TIGHT
                            and self._precision(records) <= TIGHT_HALF_WIDTH_REL)
            if tight_enough:
                self.stop_reason = "the prediction was tight enough"
                return None
            order = list(self.sizes) if self._rounds_done % 2 == 0 else list(reversed(self.sizes))
            self._round = order
            self._rounds_done += 1
        batches = self._round[0]
        expected = self._expected_epoch_s(records, batches)
        if elapsed_s + expected > self.budget_s:
            if self._rounds_done - 1 >= MIN_ROUNDS:  # the rounds before this one are complete
                self.stop_reason = "the budget was spent"
                return None
            self.over_budget = True
        self._round.pop(0)
        return Step(batches, "rounds")

    def _refresh_budget(self, records: Sequence[EpochRecord]) -> None:
        """The automatic budget again, from the line through the rounds' sizes (median epoch
        per size): the probe's one look at the data can be off by tens of percent."""
        medians = {x: float(np.median([r.epoch_s for r in records if r.sample_batches == x]))
                   for x in self.sizes if any(r.sample_batches == x for r in records)}
        if len(medians) < 2:
            return
        per_batch_s, fixed_s = np.polyfit(list(medians), list(medians.values()), 1)
        epoch_s = fixed_s + per_batch_s * self.full_batches
        if per_batch_s > 0 and epoch_s > 0:
            self.budget = self.budget.for_run_s(self.epochs * epoch_s)

    def _expected_epoch_s(self, records: Sequence[EpochRecord], batches: int) -> float:
        same = [r.epoch_s for r in records if r.sample_batches == batches]
        if same:
            return sorted(same)[len(same) // 2]
        fixed_s, per_batch_s = self.rough_line(records)
        return fixed_s + per_batch_s * batches

    def _whole_epoch_step(self, records: Sequence[EpochRecord], elapsed_s: float) -> Step | None:
        budget = self.budget.value_s if self.budget.value_s is not None else BUDGET_MIN_S
        minimum = 3 + (self.warmup_epochs if isinstance(self.warmup_epochs, int) else 1)
        if len(records) < minimum:
            if records and elapsed_s + records[-1].epoch_s > budget:
                self.over_budget = True
            return Step(self.full_batches, "whole epochs")
        if records and elapsed_s + records[-1].epoch_s > budget:
            self.stop_reason = "the budget was spent"
            return None
        if len(records) >= 20:
            self.stop_reason = "enough whole epochs"
            return None
        return Step(self.full_batches, "whole epochs")
