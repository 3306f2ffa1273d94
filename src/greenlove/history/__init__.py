"""The history stage: the local record of predicted vs actual runs, one JSON line per run, and
the calibration of the next prediction's drift term (and a bias correction) from it."""

from .calibrate import (
    PSEUDO_RUNS,
    PSEUDO_RUNS_ASSUMPTION,
    Calibration,
    calibrate,
    default_calibration,
    estimated_sd_rel,
    log_error,
    terms_used,
    usable_runs,
)
from .fingerprint import machine_fingerprint, same_machine
from .lookup import KindRecord, MachineRecord, calibration_for, machine_record
from .store import (
    HISTORY_ENV,
    HistoryEntry,
    append_entry,
    check_history,
    history_file,
    history_folder,
    read_history,
)

__all__ = [
    "HISTORY_ENV", "PSEUDO_RUNS", "PSEUDO_RUNS_ASSUMPTION", "Calibration", "HistoryEntry",
    "KindRecord", "MachineRecord", "append_entry", "calibrate", "calibration_for", "check_history",
    "default_calibration", "estimated_sd_rel", "history_file", "history_folder", "log_error",
    "machine_fingerprint", "machine_record", "read_history", "same_machine", "terms_used",
    "usable_runs",
]
