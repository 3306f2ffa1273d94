"""Validate's own history folders and the leave-one-out calibration of its second pass.

Pass 1 predicts every workload with an empty history (the default drift) and tracks its full
run into ``<root>/pass1``. Pass 2 predicts each workload again with the drift learnt from the
OTHER workloads' pass-1 runs only: a fresh folder per workload, ``<root>/loo/<name>``, holds
copies of their history lines and never its own. Pass 2's tracked runs go to ``<root>/pass2``
(further repeats to ``<root>/repeats``). Nothing here reads or writes the user's own record:
the root is a new temporary folder, or one given that is new or empty, never the history
folder itself.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..history import append_entry, history_folder, read_history, terms_used
from ..run import estimate
from .full_run import TrackedRun, tracked_run
from .workloads import Workload

HALF_WIDTH_TARGET = 0.12
"""Target median half-width of pass 2's intervals, relative to their point (issue)."""

COVERAGE_TARGET = (6, 7)
"""Target coverage of pass 2: at least 6 of every 7 intervals hold the actual time."""


@dataclass(frozen=True)
class ValidateFolders:
    """The folders one validate run keeps its history in (all under ``root``)."""

    root: Path

    @property
    def empty(self) -> Path:
        """Pass 1's history: empty, so every pass-1 prediction uses the default drift."""
        return self.root / "empty"

    @property
    def pass1(self) -> Path:
        return self.root / "pass1"

    @property
    def pass2(self) -> Path:
        return self.root / "pass2"

    @property
    def repeats(self) -> Path:
        return self.root / "repeats"

    def leave_one_out(self, workload: str) -> Path:
        return self.root / "loo" / re.sub(r"[^A-Za-z0-9_.-]", "_", workload)


def validate_folders(path: str | os.PathLike[str] | None = None, *,
                     environ: Mapping[str, str] | None = None) -> ValidateFolders:
    """A new temporary root (``path`` None), or ``path`` if it is new or empty; ValueError
    where it is the user's history folder or holds files already."""
    if path is None:
        root = Path(tempfile.mkdtemp(prefix="greenlove-validate-"))
    else:
        root = Path(path).expanduser()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise ValueError(f"--history-folder {root} must be a new or empty folder: validate "
                             "keeps its own runs there")
    if _same_path(root, history_folder(environ)):
        raise ValueError(f"--history-folder {root} is greenlove's own history folder: validate "
                         "never writes its runs into the user's record; give another folder")
    folders = ValidateFolders(root)
    folders.empty.mkdir(parents=True, exist_ok=True)
    return folders


def _same_path(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def leave_one_out(folders: ValidateFolders, workload: str) -> tuple[Path, int]:
    """A fresh folder holding pass 1's history lines of every workload but ``workload``, and
    how many lines it got."""
    folder = folders.leave_one_out(workload)
    if folder.exists():
        raise ValueError(f"{folder} exists already: a leave-one-out folder is built once")
    folder.mkdir(parents=True)
    entries, warnings = read_history(folders.pass1)
    if warnings:
        raise ValueError("validate's own pass-1 history could not be read whole: "
                         + "; ".join(warnings))
    copied = 0
    for entry in entries:
        if entry.workload != workload:
            append_entry(entry, folder)
            copied += 1
    return folder, copied


def half_width(point: float, low: float, high: float) -> float:
    """An interval's half-width relative to its point: (high - low) / 2 / point."""
    return (high - low) / 2 / point


class PredictedVsActual:
    """A prediction's point and interval against the run it predicted (seconds): the rows of
    both passes derive their error, coverage and half-width here."""

    predicted_s: float
    low_s: float
    high_s: float
    actual_s: float

    @property
    def error(self) -> float:
        return self.predicted_s / self.actual_s - 1

    @property
    def covered(self) -> bool:
        return self.low_s <= self.actual_s <= self.high_s

    @property
    def half_width(self) -> float:
        """The interval's half-width relative to its point."""
        return half_width(self.predicted_s, self.low_s, self.high_s)


class EnergyVsActual:
    """A prediction's energy (kWh: point and interval, None where not predicted) against the
    meters read through the run it predicted."""

    predicted_kwh: float | None
    low_kwh: float | None
    high_kwh: float | None
    actual_kwh: float | None

    @property
    def energy_error(self) -> float | None:
        if self.predicted_kwh is None or not self.actual_kwh:
            return None
        return self.predicted_kwh / self.actual_kwh - 1

    @property
    def energy_covered(self) -> bool | None:
        if self.low_kwh is None or self.high_kwh is None or self.actual_kwh is None:
            return None
        return self.low_kwh <= self.actual_kwh <= self.high_kwh


@dataclass(frozen=True)
class Pass2(PredictedVsActual):
    """A workload's second prediction (leave-one-out drift) against its second full run (s)."""

    predicted_s: float
    low_s: float
    high_s: float
    actual_s: float
    drift_rel: float | None      # the drift term the prediction used (1 sd, relative)
    drift_source: str
    drift_method: str            # "history" or "default"
    bias_rel: float              # the bias correction applied (0: none)
    history_runs: int            # other workloads' pass-1 lines it was given

    def to_dict(self) -> dict[str, Any]:
        return {"predicted_s": self.predicted_s, "low_s": self.low_s, "high_s": self.high_s,
                "actual_s": self.actual_s, "drift_rel": self.drift_rel,
                "drift_source": self.drift_source, "drift_method": self.drift_method,
                "bias_rel": self.bias_rel, "history_runs": self.history_runs,
                "error": self.error, "covered": self.covered, "half_width": self.half_width}


def drift_used(assumptions: Mapping[str, Any]) -> tuple[float | None, str, str, float]:
    """(drift_rel, its source, its method, bias_rel) a report's prediction was made with."""
    drift, bias = terms_used(assumptions)
    entry = assumptions.get("drift_rel", {})
    return drift, str(entry.get("source", "")), str(entry.get("method", "")), bias


def second_pass(workload: Workload, *, folders: ValidateFolders, seed: int = 0,
                scale: str = "full", repeat: int = 2) -> tuple[Pass2, tuple[TrackedRun, ...]]:
    """Pass 2 of ``workload``: predict with the other workloads' pass-1 history, train fully
    (tracked into ``folders.pass2``), then ``repeat - 2`` more tracked full runs (floor only);
    the pass and every run, pass 2's first."""
    folder, copied = leave_one_out(folders, workload.name)
    setup = workload.build(seed, scale)
    report = estimate(setup.train_epoch, setup.loader, epochs=setup.epochs,
                      restore=setup.restore, seed=seed, progress=False, history=folder)
    runs = [tracked_run(setup, report, history=folders.pass2, name=workload.name)]
    for _ in range(repeat - 2):
        runs.append(tracked_run(workload.build(seed, scale), report, history=folders.repeats,
                                name=workload.name))
    drift, source, method, bias = drift_used(report.assumptions)
    pred = report.prediction.time_s
    pass2 = Pass2(predicted_s=pred.point, low_s=pred.low, high_s=pred.high,
                  actual_s=runs[0].actual_s, drift_rel=drift, drift_source=source,
                  drift_method=method, bias_rel=bias, history_runs=copied)
    return pass2, tuple(runs)


@dataclass(frozen=True)
class PassFigures:
    """One pass over the workloads: its intervals' median half-width and their coverage."""

    median_half_width: float
    median_abs_error: float
    covered: int
    workloads: int


def pass_figures(checks: Sequence[tuple[float, float, float, float]]) -> PassFigures:
    """From (point, low, high, actual) per workload (seconds)."""
    return PassFigures(
        median_half_width=statistics.median(half_width(p, lo, hi) for p, lo, hi, _ in checks),
        median_abs_error=statistics.median(abs(p / a - 1) for p, _, _, a in checks),
        covered=sum(lo <= a <= hi for _, lo, hi, a in checks), workloads=len(checks))


@dataclass(frozen=True)
class CalibrationSummary:
    """Both passes side by side (pass2 None: one full run per workload, no second pass)."""

    pass1: PassFigures
    pass2: PassFigures | None

    @property
    def covered_target(self) -> int:
        """The coverage pass 2 should reach: 6 of 7, scaled to the workloads run."""
        n = self.pass2.workloads if self.pass2 is not None else self.pass1.workloads
        wanted, of = COVERAGE_TARGET
        return math.ceil(n * wanted / of)

    @property
    def met(self) -> bool | None:
        """Pass 2 within both targets (None: no pass 2)."""
        if self.pass2 is None:
            return None
        return (self.pass2.median_half_width <= HALF_WIDTH_TARGET
                and self.pass2.covered >= self.covered_target)
