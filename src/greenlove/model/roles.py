"""Which timed epochs are warm-up, loader start-up, steady or outliers (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..measure.timing import EpochRecord
from .stats import fit_line

MAX_AUTO_WARMUP = 4
"""In automatic mode at most this many leading epochs are classified as warm-up."""


ELEVATED_MIN_REL = 0.03
"""An epoch counts as warm-up only when this much (and 3 noise sd) above the steady line."""


OUTLIER_MIN_REL = 0.05
"""A steady epoch is an outlier (swap spike, noisy neighbour) when this far off the line and
more than OUTLIER_SD robust noise sd; at most MAX_OUTLIER_SHARE of the epochs are classified so."""


OUTLIER_SD = 4.0


MAX_OUTLIER_SHARE = 0.2


ROLE_WARMUP, ROLE_LOADER_START, ROLE_STEADY = "warmup", "loader-start", "steady"


ROLE_OUTLIER = "outlier"
ROLE_COMPILE = "compile"
"""An epoch in which torch.compile compiled for a noticeable share of it: not steady, and its
compiling is booked apart as a one-off of its own (the rest of it may still be warm-up)."""

COMPILE_SHARE = 0.05
"""An epoch whose compiling took more than this share of it is a compile epoch."""


def classify_roles(records: Sequence[EpochRecord], warmup_epochs: int | str) -> tuple[str, ...]:
    """Label each epoch warm-up, loader-start or steady.

    ``warmup_epochs`` an int: the first that many epochs are warm-up. "auto": leading epochs are
    warm-up while they stand clearly above the line fitted to the others. Either way, the first
    epoch served by a new loader counts as loader start-up when it stands clearly above the line.
    """
    n = len(records)
    order = sorted(range(n), key=lambda i: records[i].order)
    if isinstance(warmup_epochs, int):
        prefix = set(order[: min(warmup_epochs, max(n - 2, 0))])
    else:
        prefix = set(order[: min(MAX_AUTO_WARMUP, max(n - 3, 0))])
    loader_first = {i for i in range(n) if records[i].loader_epoch == 0}
    compiled = {i for i in range(n) if records[i].compile_s > COMPILE_SHARE * records[i].epoch_s}
    candidates = prefix | loader_first | compiled
    reference = [i for i in range(n) if i not in candidates]
    if len(reference) < 3 or len({records[i].sample_batches for i in reference}) < 2:
        reference = [i for i in range(n) if i not in prefix]
    if len(reference) < 2:
        reference = list(range(n))
    fit = fit_line([records[i].sample_batches for i in reference],
                   [records[i].epoch_s for i in reference])
    threshold = max(3 * fit.noise_rel, ELEVATED_MIN_REL)

    def elevated(i: int) -> bool:
        expected = fit.epoch_s(records[i].sample_batches)
        return expected > 0 and records[i].epoch_s / expected - 1 > threshold

    roles = [ROLE_COMPILE if i in compiled else ROLE_STEADY for i in range(n)]
    if isinstance(warmup_epochs, int):
        for i in prefix - compiled:
            roles[i] = ROLE_WARMUP
    else:
        for i in order:
            if i not in prefix:
                break
            if i in compiled:
                continue  # booked as compiling; the epochs after it are judged on their own
            if i != order[0] and i in loader_first:
                continue  # a new loader's first epoch: judged as loader start-up below
            if not elevated(i):
                break
            roles[i] = ROLE_WARMUP
    for i in loader_first:
        if roles[i] == ROLE_STEADY and elevated(i):
            roles[i] = ROLE_LOADER_START
    return tuple(roles)


def mark_outliers(records: Sequence[EpochRecord], roles: Sequence[str]) -> tuple[str, ...]:
    """Classify steady epochs far off the robust line as outliers (kept, but not fitted)."""
    steady = [i for i, role in enumerate(roles) if role == ROLE_STEADY]
    if len(steady) < 5:
        return tuple(roles)
    fit = fit_line([records[i].sample_batches for i in steady], [records[i].epoch_s for i in steady])
    resid = {}
    for i in steady:
        expected = fit.epoch_s(records[i].sample_batches)
        if expected > 0:
            resid[i] = records[i].epoch_s / expected - 1
    values = np.array(list(resid.values()))
    if values.size == 0:
        return tuple(roles)
    sigma = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    limit = max(OUTLIER_SD * sigma, OUTLIER_MIN_REL)
    far = sorted((i for i, r in resid.items() if abs(r) > limit), key=lambda i: -abs(resid[i]))
    marked = list(roles)
    for i in far[: int(MAX_OUTLIER_SHARE * len(steady))]:
        marked[i] = ROLE_OUTLIER
    return tuple(marked)
