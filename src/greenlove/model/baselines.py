"""The methods greenlove started from, kept as baselines for the accuracy benchmark and tests."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..measure.timing import EpochRecord
from .interval import Interval
from .roles import ROLE_STEADY
from .stats import t_quantile


def proportional_prediction(
    records: Sequence[EpochRecord], roles: Sequence[str], *, full_batches: int, epochs: int
) -> float:
    """The method greenlove started from, kept as a baseline for the accuracy benchmark.

    Only the largest sample size is used, as the original ran every epoch at one size: its
    non-steady epochs are the warm-up epochs, the median steady epoch is the epoch time, and
    every epoch is scaled by N/n: total = sum(warm-up * N/n) + (E - w) * median * N/n.
    """
    largest = max(r.sample_batches for r in records)
    chosen = [(r, role) for r, role in zip(records, roles) if r.sample_batches == largest]
    scale = full_batches / largest
    warm = [r.epoch_s * scale for r, role in chosen if role != ROLE_STEADY]
    steady = [r.epoch_s for r, role in chosen if role == ROLE_STEADY] or [r.epoch_s for r, _ in chosen]
    warm = warm[: max(epochs - 1, 0)]
    return float(sum(warm) + (epochs - len(warm)) * np.median(steady) * scale)


def sqrt_e_interval(epoch_times_s: Sequence[float], epochs: int, confidence: float) -> Interval:
    """The original interval: E * mean +- t * sqrt(E) * sigma (ignores the mean's own error)."""
    values = np.asarray(epoch_times_s, dtype=float)
    mean, sigma = float(values.mean()), float(values.std(ddof=1))
    half = t_quantile(confidence, values.size - 1) * math.sqrt(epochs) * sigma
    return Interval(epochs * mean, epochs * mean - half, epochs * mean + half, confidence)
