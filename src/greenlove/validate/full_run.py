"""One full training run of a workload, tracked with ``greenlove.track``: the ground truth.

The user's ``train_epoch`` iterates ``run.watch(loader)`` instead of the loader (the built-in
workloads only iterate it), then ``run.epoch_end()`` closes the epoch after its validation
pass. The tracker's time and energy of the whole run are the ground truth; a perf_counter timer
around the same loop is kept as a cross-check, and per epoch for the first-epoch baseline.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GreenloveWarning
from ..result import ForecastPoint
from ..run import track
from .workloads import Setup


@dataclass(frozen=True)
class TrackedRun:
    """What one tracked full run measured (seconds, kWh)."""

    actual_s: float                          # the tracker's wall time of the whole run
    timer_s: float                           # perf_counter around the epoch loop
    epoch_s: tuple[float, ...]               # perf_counter, per epoch
    energy_kwh: float | None                 # the tracker's meters over the run
    forecasts: tuple[ForecastPoint, ...]     # the live forecast as the run went on
    warnings: tuple[str, ...]                # what tracking itself warned about


def tracked_run(setup: Setup, report: Any, *, history: Path, name: str) -> TrackedRun:
    """Train ``setup`` for its full run under ``track(report, history=history, name=name)``."""
    epoch_s = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GreenloveWarning)
        with track(report, history=history, name=name, progress=False) as run:
            start = time.perf_counter()
            for _ in range(setup.epochs):
                t0 = time.perf_counter()
                setup.train_epoch(run.watch(setup.loader))
                run.epoch_end()
                epoch_s.append(time.perf_counter() - t0)
            timer_s = time.perf_counter() - start
    result = run.result
    if result is None or result.actual is None:
        said = "; ".join(str(w.message) for w in caught) or "no warning given"
        raise RuntimeError(f"tracking the full run of {name} gave no result ({said})")
    told = tuple(dict.fromkeys(str(w.message) for w in caught
                               if issubclass(w.category, GreenloveWarning)))
    for w in caught:   # the training's own warnings go on as they would have
        if not issubclass(w.category, GreenloveWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return TrackedRun(actual_s=result.actual.time_s, timer_s=timer_s, epoch_s=tuple(epoch_s),
                      energy_kwh=result.actual.energy_kwh, forecasts=tuple(result.forecasts),
                      warnings=told)
