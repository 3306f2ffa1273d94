"""The framework workloads of ``greenlove validate``: a Lightning fit, a Hugging Face Trainer run,
a 2-rank torchrun (DDP) job and a ``torch.compile``d model, each predicted the way its users
would predict it (``dry_run`` in the framework's own loop, ``estimate`` elsewhere) and then run
in full.

Each check is a function ``check(seed, scale) -> FrameworkRow`` (or a tuple of rows: the
compiled workload has one per run) registered in
:data:`FRAMEWORK_CHECKS` under its workload's name; a check whose framework is not installed
raises ``ImportError`` naming the extra.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from .calibration import EnergyVsActual, PredictedVsActual


@dataclass(frozen=True)
class FrameworkRow(PredictedVsActual, EnergyVsActual):
    """One framework workload: its prediction (s) against its full run (s)."""

    workload: str
    method: str                 # "dry_run" or "estimate"
    epochs: int
    predicted_s: float
    low_s: float
    high_s: float
    actual_s: float
    predict_wall_s: float       # wall time of the prediction itself (the dry run or estimate)
    predicted_kwh: float | None = None
    low_kwh: float | None = None
    high_kwh: float | None = None
    actual_kwh: float | None = None

    @property
    def benchmark_share(self) -> float:
        """The prediction's own wall time as a share of the full run's."""
        return self.predict_wall_s / self.actual_s

    def to_dict(self) -> dict:
        return {**asdict(self), "error": self.error, "covered": self.covered,
                "benchmark_share": self.benchmark_share, "half_width": self.half_width}


FrameworkCheck = Callable[[int, str], "FrameworkRow | tuple[FrameworkRow, ...]"]

FRAMEWORK_CHECKS: dict[str, FrameworkCheck] = {}
"""Workload name -> its check; filled by the modules that define the checks."""

CHECK_MODULES = {"lightning": "lightning_check", "hf": "hf_check", "ddp": "ddp_check",
                 "compiled": "compiled_check"}
"""Workload name -> the module of this package that registers its check."""


def framework_check(name: str) -> FrameworkCheck:
    """The check of framework workload ``name`` (ImportError naming the extra where its
    framework is not installed; KeyError for an unknown name)."""
    if name not in CHECK_MODULES:
        raise KeyError(f"unknown framework workload {name!r}; known: {', '.join(CHECK_MODULES)}")
    if name not in FRAMEWORK_CHECKS:
        importlib.import_module(f".{CHECK_MODULES[name]}", __package__)
    return FRAMEWORK_CHECKS[name]


def run_framework_checks(names: Sequence[str], *, scale: str, seed: int = 0,
                         on_row: Callable[[FrameworkRow], None] | None = None,
                         on_skip: Callable[[str, str], None] | None = None
                         ) -> list[FrameworkRow]:
    """Each named framework workload predicted and run in full; one whose framework is not
    installed is skipped, said through ``on_skip(name, why)``."""
    rows = []
    for name in names:
        try:
            check = framework_check(name)
            made = check(seed, scale)
        except ImportError as error:
            if on_skip is not None:
                on_skip(name, str(error))
            continue
        for row in made if isinstance(made, tuple) else (made,):
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows
