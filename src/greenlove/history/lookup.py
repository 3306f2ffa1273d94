"""This machine's calibration for its next prediction, and a summary of its record, read from
the history in a folder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.assumptions import drift_for
from .calibrate import Calibration, calibrate, default_calibration
from .fingerprint import machine_fingerprint, same_machine
from .store import HistoryEntry, read_history

DEVICE_KINDS = ("cpu", "accelerator")


def calibration_for(folder: Path | None, device_kind: str, *,
                    exclude_workload: str | None = None,
                    fingerprint: Mapping[str, Any] | None = None,
                    ) -> tuple[Calibration, tuple[str, ...]]:
    """The calibration of training on ``device_kind`` here, and warnings about the record (lines
    skipped, a file that could not be read). ``folder`` None (history off): the default."""
    default = drift_for(device_kind)
    if folder is None:
        return default_calibration(default), ()
    entries, warnings = read_history(folder)
    if not entries:
        return default_calibration(default), warnings
    calibration = calibrate(entries, fingerprint=fingerprint or machine_fingerprint(),
                            device_kind=device_kind, default=default,
                            exclude_workload=exclude_workload)
    return calibration, warnings


@dataclass(frozen=True)
class KindRecord:
    """This machine's runs on one device kind, and the calibration they give."""

    device_kind: str
    recorded: int           # entries of this machine and kind
    completed: int          # of which the run completed
    calibration: Calibration


@dataclass(frozen=True)
class MachineRecord:
    """This machine's record, by device kind, and how many entries are of other machines."""

    kinds: tuple[KindRecord, ...]
    other_machines: int


def machine_record(entries: Iterable[HistoryEntry],
                   fingerprint: Mapping[str, Any]) -> MachineRecord:
    """The summary ``greenlove history`` prints: per device kind, runs and calibration."""
    entries = tuple(entries)
    mine = [e for e in entries if same_machine(e.fingerprint, fingerprint)]
    kinds = tuple(
        KindRecord(
            device_kind=kind,
            recorded=sum(1 for e in mine if e.device_kind == kind),
            completed=sum(1 for e in mine if e.device_kind == kind and e.completed),
            calibration=calibrate(entries, fingerprint=fingerprint, device_kind=kind,
                                  default=drift_for(kind)),
        ) for kind in DEVICE_KINDS)
    return MachineRecord(kinds=kinds, other_machines=len(entries) - len(mine))
