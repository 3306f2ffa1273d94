"""The extras' part of a live forecast: validation passes, checkpoint saves, evaluations every
N steps, stamped apart from the steps (measure/steps.py), each kind forecast at its own rate.
Pure functions over a StepSnapshot (README, "Track the real run")."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..measure.steps import StepSnapshot

ONE_EXTRA_SD_REL = 0.25
"""1-sd uncertainty of an extra's duration seen only once (relative): the same validation set or
checkpoint takes about the same time again, but one occurrence cannot show its spread."""


def extras_left(snapshot: StepSnapshot, expected: Mapping[str, int], *, steps_left: int,
                steps_done: int, open_s: float, prior_s: Mapping[str, float] | None = None,
                prior_per_step: Mapping[str, float] | None = None,
                epochs_left: int = 0) -> tuple[float, float, list[str]]:
    """(seconds, variance, kinds expected but unseen) of the extras still to come.

    Occurrences to come: ``expected[kind]`` less those done; else, once an epoch is complete,
    as many per epoch as the completed epochs had (less those the current one has had), for
    the current epoch and the ``epochs_left`` after it; before that, the rate per step so far
    times the steps left. Each costs the kind's typical duration; the variance adds, per
    kind, the uncertainty of that typical duration (``n * se``, shared by all n) and the
    occurrences' own spread (``sqrt(n) * sd``). An extra in progress has spent ``open_s``.
    A kind not seen yet takes its duration from ``prior_s`` (a dry run's), where it is there,
    and, not named in ``expected`` either, its rate per step from ``prior_per_step``.
    """
    prior_s = prior_s or {}
    prior_per_step = prior_per_step or {}
    seen = {stats.kind: stats for stats in snapshot.extras}
    epochs_done = len(snapshot.epochs)   # the current epoch's index (also one closed by its
    #                                      loop but not yet by epoch_end: shown as going on)
    open_kind = snapshot.open_extra[0] if snapshot.open_extra is not None else None
    seconds = variance = 0.0
    unseen: list[str] = []
    for kind in sorted(set(seen) | set(expected) | set(prior_per_step)):
        stats = seen.get(kind)
        done = stats.count if stats is not None else 0
        if kind in expected:
            left = max(expected[kind] - done, 0)
        elif stats is not None and epochs_done >= 1:
            # Per epoch, as the completed epochs had them (a validation after each, say).
            in_current = stats.in_last_epoch if stats.last_epoch == epochs_done else 0
            per_epoch = (stats.count - in_current) / epochs_done
            left = max(per_epoch * (epochs_left + 1) - in_current, 0.0)
            if kind == open_kind:
                left = max(left, 1.0)
        elif stats is not None and steps_done > 0:
            left = stats.count * max(steps_left, 0) / steps_done
            if kind == open_kind:
                left = max(left, 1.0)
        elif stats is None and kind in prior_per_step:
            left = prior_per_step[kind] * max(steps_left, 0)
        else:
            left = 0
        if left <= 0:
            continue
        if stats is None and kind not in prior_s:
            unseen.append(kind)
            continue
        if stats is None:
            typical, sd, n_later = prior_s[kind], ONE_EXTRA_SD_REL * prior_s[kind], 1
        else:
            typical = stats.typical_s
            sd = stats.sd_s if stats.sd_s is not None else ONE_EXTRA_SD_REL * typical
            n_later = stats.count - 1 if stats.count >= 2 else 1
        se = sd / math.sqrt(n_later)
        kind_s = left * typical
        if kind == open_kind:
            kind_s -= min(open_s, typical)
        seconds += max(kind_s, 0.0)
        variance += (left * se) ** 2 + left * sd**2
    return seconds, variance, unseen
