"""The drift term (and a bias correction) of the next prediction, from this machine's record.

Pure functions. The rule (README, "The machine's record (history)"):

* **usable runs**: on the same machine (:func:`~.fingerprint.same_machine`), the same device
  kind, completed, with a pre-flight time interval and an actual time > 0; minus those of the
  workload left out (``exclude_workload``: validate's leave-one-out).
* each run's log error ``e_i = ln(actual_s / point_i)``, where ``point_i`` is the prediction's
  point with the bias correction it was given undone (``point / (1 + bias_rel_used)``), and
  ``f_i`` its estimated (fit and epoch-noise) part as a relative 1 sd (0 where unknown).
* the default drift ``d0`` counts as ``PSEUDO_RUNS`` = 2 runs, so one lucky run cannot close
  the interval: with n runs,
  ``bias b = sum(e_i) / (n + 2)`` (shrunk toward 0 by the pseudo-runs), applied only when
  ``n >= 3`` and ``|b| >= 1%`` (else 0); the correction is ``bias_rel = exp(b) - 1``;
  ``drift^2 = (2 * d0^2 + sum(max((e_i - b)^2 - f_i^2, 0))) / (2 + n)``.
* with no usable run the default is returned unchanged.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Assumption
from .fingerprint import same_machine
from .store import HistoryEntry

PSEUDO_RUNS_ASSUMPTION = Assumption(
    2, "runs",
    "greenlove rule: the default drift counts as 2 earlier runs at its value, so that one or two "
    "lucky runs cannot narrow the interval much (README, \"The machine's record (history)\")")
PSEUDO_RUNS: int = PSEUDO_RUNS_ASSUMPTION.value

BIAS_MIN_RUNS = 3
"""Fewer usable runs than this: no bias correction (a mean of one or two errors is noise)."""

BIAS_MIN_REL = 0.01
"""A shrunk mean log error smaller than this (1%) is not corrected."""

DRIFT_UNIT = "fraction (1 sd)"


@dataclass(frozen=True)
class Calibration:
    """The drift term and bias correction for the next prediction, and the runs behind them."""

    drift_rel: float                        # 1 sd, relative
    bias_rel: float                         # multiply the prediction by (1 + bias_rel); 0: none
    runs: int                               # usable runs used
    rms_rel: float | None                   # rms of their log errors (bias given undone)
    median_abs_error_rel: float | None      # median |actual / predicted - 1|, as predicted
    coverage: tuple[int, int] | None        # (intervals that covered the actual, of)
    default: Assumption                     # the drift assumed without a record
    source: str

    @property
    def method(self) -> str:
        return "history" if self.runs else "default"

    def assumptions(self) -> dict[str, dict[str, Any]]:
        """The report's ``assumptions`` entries: drift_rel, and what the record added."""
        found: dict[str, dict[str, Any]] = {"drift_rel": {
            "value": self.drift_rel, "unit": DRIFT_UNIT, "source": self.source,
            "method": self.method}}
        if self.runs:
            found["history_pseudo_runs"] = PSEUDO_RUNS_ASSUMPTION.to_dict()
        if self.bias_rel != 0.0:
            found["bias_correction_rel"] = {
                "value": self.bias_rel, "unit": "fraction",
                "source": f"mean log error of {self.runs} earlier runs on this machine, shrunk "
                          f"by {PSEUDO_RUNS} pseudo-runs at 0 (README, \"The machine's record "
                          "(history)\")",
                "method": "history"}
        return found


def default_calibration(default: Assumption) -> Calibration:
    """No record: the default drift, no bias."""
    return Calibration(drift_rel=float(default.value), bias_rel=0.0, runs=0, rms_rel=None,
                       median_abs_error_rel=None, coverage=None, default=default,
                       source=default.source)


def usable_runs(entries: Iterable[HistoryEntry], *, fingerprint: Mapping[str, Any],
                device_kind: str, exclude_workload: str | None = None) -> list[HistoryEntry]:
    """The entries the rule learns from (module docstring), in order."""
    return [e for e in entries
            if same_machine(e.fingerprint, fingerprint) and e.device_kind == device_kind
            and e.completed and e.predicted_s is not None and _positive(e.actual_s)
            and _positive(e.predicted_s.point) and _positive(1.0 + e.bias_rel_used)
            and (exclude_workload is None or e.workload != exclude_workload)]


def log_error(entry: HistoryEntry) -> float:
    """ln(actual / predicted point), the bias correction the prediction was given undone."""
    assert entry.predicted_s is not None
    return math.log(entry.actual_s * (1.0 + entry.bias_rel_used) / entry.predicted_s.point)


def calibrate(entries: Iterable[HistoryEntry], *, fingerprint: Mapping[str, Any],
              device_kind: str, default: Assumption,
              exclude_workload: str | None = None) -> Calibration:
    """The drift and bias for the next prediction on the machine ``fingerprint``, training on
    ``device_kind``, by the rule in the module docstring."""
    runs = usable_runs(entries, fingerprint=fingerprint, device_kind=device_kind,
                       exclude_workload=exclude_workload)
    if not runs:
        return default_calibration(default)
    n = len(runs)
    d0 = float(default.value)
    errors = [log_error(e) for e in runs]
    estimated = [e.estimated_sd_rel if e.estimated_sd_rel is not None
                 and math.isfinite(e.estimated_sd_rel) else 0.0 for e in runs]
    b = sum(errors) / (n + PSEUDO_RUNS)
    b_applied = b if n >= BIAS_MIN_RUNS and abs(b) >= BIAS_MIN_REL else 0.0
    excess = sum(max((e - b_applied) ** 2 - f**2, 0.0) for e, f in zip(errors, estimated))
    drift = math.sqrt((PSEUDO_RUNS * d0**2 + excess) / (PSEUDO_RUNS + n))
    bias_rel = math.expm1(b_applied)
    rms = math.sqrt(sum(e * e for e in errors) / n)
    as_predicted = [abs(e.error_rel) for e in runs if e.error_rel is not None]
    covered = sum(1 for e in runs if e.covered)
    source = (f"greenlove history: drift {drift:.1%} (1 sd) from {n} earlier "
              f"run{'s' if n != 1 else ''} on this machine (their errors {rms:.1%} rms; "
              f"default {d0:.0%}, counted as {PSEUDO_RUNS} pseudo-runs)")
    if bias_rel != 0.0:
        source += f"; bias correction {bias_rel:+.1%}"
    return Calibration(drift_rel=drift, bias_rel=bias_rel, runs=n, rms_rel=rms,
                       median_abs_error_rel=statistics.median(as_predicted),
                       coverage=(covered, n), default=default, source=source)


def estimated_sd_rel(variance_parts_s2: Mapping[str, float], point_s: float) -> float | None:
    """A prediction's estimated (non-drift) part as a relative 1 sd: sqrt(fit + epoch_noise
    variance) / point, for :attr:`HistoryEntry.estimated_sd_rel`. ``point_s``: the point before
    any bias correction (the variance parts are those of the uncorrected prediction)."""
    if not _positive(point_s):
        return None
    variance = variance_parts_s2.get("fit", 0.0) + variance_parts_s2.get("epoch_noise", 0.0)
    return math.sqrt(max(variance, 0.0)) / point_s


def terms_used(assumptions: Mapping[str, Any]) -> tuple[float | None, float]:
    """(drift_rel, bias_rel) a report's prediction was made with, read from its assumptions,
    for :attr:`HistoryEntry.drift_rel_used` and :attr:`HistoryEntry.bias_rel_used`."""
    drift = assumptions.get("drift_rel", {}).get("value")
    bias = assumptions.get("bias_correction_rel", {}).get("value", 0.0)
    return (None if drift is None else float(drift)), float(bias)


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0
