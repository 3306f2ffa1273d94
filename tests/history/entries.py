"""Hand-made history entries: a run on this (or another) machine with a given error."""

from __future__ import annotations

from typing import Any

from greenlove.history import HistoryEntry
from greenlove.model import Interval

FINGERPRINT: dict[str, Any] = {"cpu": "Test CPU @ 2 GHz", "logical_cpus": 2, "gpus": [],
                               "gpu_count": 0, "host": "0123456789abcdef", "system": "Linux"}
OTHER = {**FINGERPRINT, "host": "fedcba9876543210"}


def entry(actual_s: float, *, point_s: float = 100.0, half_rel: float = 0.24,
          fingerprint: dict[str, Any] | None = None, device_kind: str = "cpu",
          completed: bool = True, sd_rel: float | None = 0.0, bias_rel_used: float = 0.0,
          workload: str | None = None, predicted: bool = True) -> HistoryEntry:
    interval = Interval(point_s, point_s * (1 - half_rel), point_s * (1 + half_rel), 0.95)
    return HistoryEntry(
        date="2026-12-01T10:00:00+00:00", greenlove_version="0.0.test",
        fingerprint=dict(fingerprint or FINGERPRINT), device_kind=device_kind, epochs=10,
        steps_per_epoch=100, completed=completed, actual_s=actual_s,
        predicted_s=interval if predicted else None, estimated_sd_rel=sd_rel,
        drift_rel_used=0.12, bias_rel_used=bias_rel_used, workload=workload)
