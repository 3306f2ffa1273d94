"""Hand-made forecast points, accuracy rows and history entries for the validate tests."""

from __future__ import annotations

from greenlove.history import HistoryEntry
from greenlove.model import Interval
from greenlove.result import ForecastPoint
from greenlove.validate.accuracy import AccuracyRow
from greenlove.validate.calibration import Pass2
from greenlove.validate.live import LivePoint


def forecast(at_s: float, done: float, point: float, low: float, high: float) -> ForecastPoint:
    return ForecastPoint(at_s=at_s, done=done, time_s=Interval(point, low, high, 0.95))


def live(run: int, fraction: float, point_s: float, *, actual_s: float = 100.0,
         low_s: float | None = None, high_s: float | None = None,
         at_s: float | None = None) -> LivePoint:
    """A checkpoint read exactly at ``fraction`` of a 100 s run, unless told otherwise."""
    return LivePoint(run=run, fraction=fraction, done=fraction,
                     at_s=fraction * actual_s if at_s is None else at_s, point_s=point_s,
                     low_s=point_s - 2 if low_s is None else low_s,
                     high_s=point_s + 2 if high_s is None else high_s, actual_s=actual_s)


def pass2(point: float, low: float, high: float, actual: float, *, drift: float = 0.08,
          runs: int = 6, bias: float = 0.0) -> Pass2:
    return Pass2(predicted_s=point, low_s=low, high_s=high, actual_s=actual, drift_rel=drift,
                 drift_source="greenlove history: test", drift_method="history", bias_rel=bias,
                 history_runs=runs)


def row(name: str = "mlp", *, point: float = 100.0, low: float = 80.0, high: float = 120.0,
        actual: float = 100.0, timer_s: float | None = None,
        live_points: tuple[LivePoint, ...] = (), second: Pass2 | None = None,
        repeats: tuple[float, ...] = ()) -> AccuracyRow:
    return AccuracyRow(
        workload=name, family="mlp", epochs=10, batches_per_epoch=100, predicted_s=point,
        low_s=low, high_s=high, actual_s=actual, repeat_actual_s=repeats,
        actual_epoch_s=(actual / 10,) * 10, benchmark_s=5.0, proportional_s=point,
        first_epoch_s=actual * 1.04, warnings=(), method="ols", noise_rel=0.01,
        drift_rel=0.12, timer_s=actual if timer_s is None else timer_s, live=live_points,
        pass2=second)


FINGERPRINT = {"cpu": "Test CPU", "logical_cpus": 2, "gpus": [], "gpu_count": 0,
               "host": "0123456789abcdef", "system": "Linux"}


def entry(workload: str | None, actual_s: float = 100.0) -> HistoryEntry:
    return HistoryEntry(
        date="2026-12-01T10:00:00+00:00", greenlove_version="0.0.test",
        fingerprint=dict(FINGERPRINT), device_kind="cpu", epochs=10, steps_per_epoch=100,
        completed=True, actual_s=actual_s, predicted_s=Interval(100.0, 80.0, 120.0, 0.95),
        estimated_sd_rel=0.01, drift_rel_used=0.12, workload=workload)
