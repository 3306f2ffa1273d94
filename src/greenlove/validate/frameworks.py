"""The framework workloads of ``greenlove validate``: a Lightning fit, a Hugging Face Trainer run
and a 2-rank torchrun (DDP) job, each predicted the way its users would predict it (``dry_run``
in the framework's own loop, ``estimate`` inside the DDP job) and then run in full.

Each check is a function ``check(seed, scale) -> FrameworkRow`` registered in
:data:`FRAMEWORK_CHECKS` under its workload's name; a check whose framework is not installed
raises ``ImportError`` naming the extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .calibration import PredictedVsActual


@dataclass(frozen=True)
class FrameworkRow(PredictedVsActual):
    """One framework workload: its prediction (s) against its full run (s)."""

    workload: str
    method: str                 # "dry_run" or "estimate"
    epochs: int
    predicted_s: float
    low_s: float
    high_s: float
    actual_s: float
    predict_wall_s: float       # wall time of the prediction itself (the dry run or estimate)

    @property
    def benchmark_share(self) -> float:
        """The prediction's own wall time as a share of the full run's."""
        return self.predict_wall_s / self.actual_s


FrameworkCheck = Callable[[int, str], FrameworkRow]

FRAMEWORK_CHECKS: dict[str, FrameworkCheck] = {}
"""Workload name -> its check; filled by the modules that define the checks."""
