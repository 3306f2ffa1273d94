"""Every constant the model assumes rather than measures, with its unit and source, stated once.

The report's ``assumptions`` section is written from these objects, so a number and the
sentence that justifies it cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Assumption:
    """An assumed constant: its value, unit and where it comes from (as shown in the JSON)."""

    value: Any
    unit: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "source": self.source}


DRIFT_CPU = Assumption(
    0.12, "fraction (1 sd)",
    "greenlove assumption for training on a CPU, from its accuracy benchmark on shared 2-core VMs "
    "(2026-11-27): over 21 benchmark-then-run pairs, predictions from a few seconds of benchmark "
    "missed the run after it by 12.2% rms (6.5% in the quietest hour, 16.3% in the busiest); "
    "`greenlove validate --repeat 2` shows how far two runs differ on your machine")
"""The machine's slow speed drift when training runs on the CPU, relative, 1 sd: how far the
speed seen in a benchmark of a few seconds may sit from the mean speed of the minutes or hours
of run after it. The fit's own part of the measured miss (about 3%) is taken out. Drift is
correlated across epochs (slow waves; a laptop that boosts its clock at first and throttles
under sustained load does the same): more epochs do not average it."""

_ACCELERATOR_DRIFT_REL = 0.04
DRIFT_ACCELERATOR = Assumption(
    _ACCELERATOR_DRIFT_REL, "fraction (1 sd)",
    f"greenlove assumption for training on an accelerator ({_ACCELERATOR_DRIFT_REL:g}; "
    f"{DRIFT_CPU.value:g} on a CPU): not yet measured, no GPU was lent to the accuracy benchmark")
"""The same for training on a GPU (or another accelerator): a whole device is not shared with
noisy neighbours, but clocks settle under sustained power and thermal load."""

DRIFT_PER_NOISE_ASSUMPTION = Assumption(
    0.5, "fraction of the epoch-to-epoch noise",
    "greenlove assumption: the run drifts by at least half the epoch-to-epoch noise seen in the "
    "benchmark (one contention drives both)")

WARMUP_UNCERTAINTY = Assumption(
    0.5, "fraction (1 sd)", "greenlove assumption: a one-off warm-up is observed once")
"""A one-off warm-up is seen once; its repetition in the real run is taken as +-50% (1 sd)."""

LOAD_CHANGE = Assumption(
    0.5, "fraction of the busy share (1 sd)",
    "greenlove assumption: when other processes (or the hypervisor's steal) took a share L of the "
    "CPUs during the benchmark, the run's speed may change by L/2 (1 sd) if that load comes or "
    "goes during the run")
"""A busy machine measured for seconds may be idle (or busier) for the hours of the run."""

EPOCH_TIME_MODEL = Assumption(
    "epoch_s = intercept_s + per_batch_s * batches", "s",
    "greenlove method (README, 'How it works')")

DRIFT_REL_CPU: float = DRIFT_CPU.value
DRIFT_REL_ACCELERATOR: float = DRIFT_ACCELERATOR.value
DRIFT_PER_NOISE: float = DRIFT_PER_NOISE_ASSUMPTION.value
WARMUP_UNCERTAINTY_REL: float = WARMUP_UNCERTAINTY.value


def drift_for(device_kind: str) -> Assumption:
    """The drift assumption for training on ``device_kind`` ("cpu" or "accelerator")."""
    return DRIFT_CPU if device_kind == "cpu" else DRIFT_ACCELERATOR


def drift_rel_for(device_kind: str) -> float:
    return drift_for(device_kind).value


def time_assumptions(device_kind: str) -> dict[str, dict[str, Any]]:
    """The time model's assumptions, as the report's JSON ``assumptions`` entries."""
    return {
        "drift_rel": drift_for(device_kind).to_dict(),
        "drift_per_noise": DRIFT_PER_NOISE_ASSUMPTION.to_dict(),
        "warmup_uncertainty_rel": WARMUP_UNCERTAINTY.to_dict(),
        "load_change": LOAD_CHANGE.to_dict(),
        "epoch_time_model": EPOCH_TIME_MODEL.to_dict(),
    }
