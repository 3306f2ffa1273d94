"""A Lightning fit's length and its schedule of validation passes and checkpoint saves, as pure
functions of the trainer's settings (no Lightning import: the callback reads the trainer and
hands the numbers here).

The tracker's step is one training batch (``on_train_batch_end``), with or without gradient
accumulation: batches are what the loop times, one by one. ``max_steps`` counts optimizer
steps, so it is turned into batches: an epoch of N batches steps the optimizer
``ceil(N / accumulate_grad_batches)`` times (the last step at the epoch's end).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FitLength:
    """How long the fit is, in training batches."""

    epochs: int                  # epochs the fit runs (the last one may be cut by max_steps)
    steps_per_epoch: int         # training batches per epoch
    max_steps: int | None        # batches, where max_steps ends the fit inside its last epoch

    @property
    def total_steps(self) -> int:
        full = self.epochs * self.steps_per_epoch
        return full if self.max_steps is None else min(full, self.max_steps)

    def batches_in_epoch(self, epoch: int) -> int:
        return max(min(self.steps_per_epoch, self.total_steps - epoch * self.steps_per_epoch), 0)

    def is_full(self, epoch: int) -> bool:
        return self.batches_in_epoch(epoch) == self.steps_per_epoch


def fit_length(*, max_epochs: int | None, max_steps: int | None, batches_per_epoch: float | None,
               accumulate_grad_batches: int = 1) -> FitLength | None:
    """The fit's length; None where it trains nothing (no epoch, no step, no batch). Raises
    ValueError, saying what to pass, where the length cannot be known."""
    no_epoch_limit = max_epochs is None or max_epochs < 0
    no_step_limit = max_steps is None or max_steps < 0
    if no_epoch_limit and no_step_limit:
        raise ValueError(
            "GreenloveCallback cannot tell how long this fit is: Trainer(max_epochs=-1, "
            "max_steps=-1) trains until something stops it. Pass Trainer(max_epochs=N) or "
            "Trainer(max_steps=N) so that its time can be forecast.")
    if batches_per_epoch is None or not math.isfinite(batches_per_epoch):
        raise ValueError(
            "GreenloveCallback cannot tell how long this fit is: the training DataLoader has no "
            "length (an IterableDataset without __len__). Pass Trainer(limit_train_batches=N) "
            "(an int: the batches of one epoch), or give the dataset a __len__.")
    n = int(batches_per_epoch)
    if n <= 0 or max_epochs == 0 or max_steps == 0:
        return None
    acc = max(int(accumulate_grad_batches), 1)
    if not no_step_limit:
        assert max_steps is not None
        full, rest = divmod(max_steps, math.ceil(n / acc))
        by_steps = full * n + min(rest * acc, n)
        if no_epoch_limit or by_steps < max_epochs * n:      # type: ignore[operator]
            epochs = math.ceil(by_steps / n)
            return FitLength(epochs, n, by_steps if by_steps < epochs * n else None)
    assert max_epochs is not None
    return FitLength(max_epochs, n, None)


def validation_passes(length: FitLength, *, enabled: bool, check_val_every_n_epoch: int | None,
                      val_check_batch: float | None) -> list[int] | None:
    """Validation passes per epoch (the sanity check not counted), as Lightning schedules them:
    every ``check_val_every_n_epoch``-th epoch (None: every ``val_check_batch`` batches across
    epochs), at the epoch's end (``val_check_batch`` inf) or every ``val_check_batch`` batches.
    None where the schedule is not in batches (a time-based ``val_check_interval``). The pass a
    stop request adds (Lightning validates once more when ``trainer.should_stop`` is set) is not
    scheduled, so not counted."""
    if not enabled:
        return [0] * length.epochs
    if val_check_batch is None:
        return None
    passes, seen = [], 0
    for epoch in range(length.epochs):
        batches = length.batches_in_epoch(epoch)
        if check_val_every_n_epoch is not None and (epoch + 1) % check_val_every_n_epoch:
            passes.append(0)
        elif math.isinf(val_check_batch):
            passes.append(1 if length.is_full(epoch) else 0)
        else:
            every = int(val_check_batch)
            if check_val_every_n_epoch is None:
                passes.append((seen + batches) // every - seen // every)
            else:
                passes.append(batches // every)
        seen += batches
    return passes


@dataclass(frozen=True)
class CheckpointRule:
    """One ModelCheckpoint whose saves can be told in advance: it saves at every save point
    (no monitor, so no top-k choice) of every ``every_n_epochs``-th epoch, at the training
    epoch's end or (``at_epoch_end`` False) at the end of each validation pass."""

    every_n_epochs: int
    at_epoch_end: bool


def checkpoint_saves(length: FitLength, rules: Sequence[CheckpointRule] | None,
                     validation: Sequence[int] | None) -> int | None:
    """The checkpoint saves the whole fit makes, or None where that cannot be told (a rule
    unknown, a fit cut inside an epoch, several validation passes in an epoch that saves at
    each: ModelCheckpoint skips a save at a step it already saved at)."""
    if rules is None:
        return None
    if not rules:
        return 0
    if not length.is_full(length.epochs - 1):
        return None
    total = 0
    for rule in rules:
        for epoch in range(length.epochs):
            if (epoch + 1) % rule.every_n_epochs:
                continue
            if rule.at_epoch_end:
                total += 1
                continue
            if validation is None or validation[epoch] > 1:
                return None
            total += validation[epoch]
    return total
