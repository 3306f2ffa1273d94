"""The machine's record of runs on disk: one JSON line per finished run, read back with warnings.

The file is ``<folder>/history.jsonl``, the folder ``$GREENLOVE_HOME`` or the user's data folder
(platformdirs). A line is appended whole and synced, so a crash leaves at most one broken last
line; a broken line is skipped with a warning that names it, never a reason to fail.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model import Interval

HISTORY_ENV = "GREENLOVE_HOME"
"""The environment variable that names the history folder instead of the user's data folder."""

HISTORY_FILE_NAME = "history.jsonl"
SCHEMA = 1


def history_folder(environ: Mapping[str, str] | None = None) -> Path:
    """``$GREENLOVE_HOME`` where set and non-empty, else the user's data folder for greenlove."""
    environ = os.environ if environ is None else environ
    home = environ.get(HISTORY_ENV, "")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("greenlove", appauthor=False))


def history_file(folder: Path) -> Path:
    return Path(folder) / HISTORY_FILE_NAME


@dataclass(frozen=True)
class HistoryEntry:
    """One finished (or stopped) run: what was predicted before it, and what it took (seconds)."""

    date: str                               # ISO 8601, UTC, when the run ended
    greenlove_version: str
    fingerprint: Mapping[str, Any]          # history.fingerprint.machine_fingerprint()
    device_kind: str                        # "cpu" | "accelerator"
    epochs: int
    steps_per_epoch: int
    completed: bool
    actual_s: float
    predicted_s: Interval | None            # the pre-flight time interval (None: none made)
    estimated_sd_rel: float | None          # its estimated, non-drift part, relative 1 sd
    drift_rel_used: float | None            # the drift term that interval was made with
    bias_rel_used: float = 0.0              # the bias correction applied to it
    workload: str | None = None             # a label (e.g. the validate workload's name)
    predicted_kwh: Interval | None = None
    actual_kwh: float | None = None
    schema: int = SCHEMA

    @property
    def error_rel(self) -> float | None:
        """actual / predicted point - 1, of the prediction as it was made (None: none made)."""
        if self.predicted_s is None or not self.predicted_s.point > 0:
            return None
        return self.actual_s / self.predicted_s.point - 1.0

    @property
    def covered(self) -> bool | None:
        """Whether the pre-flight interval held the actual time (None: none made)."""
        if self.predicted_s is None:
            return None
        return self.predicted_s.low <= self.actual_s <= self.predicted_s.high

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema, "date": self.date, "greenlove_version": self.greenlove_version,
            "fingerprint": dict(self.fingerprint), "device_kind": self.device_kind,
            "epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch,
            "completed": self.completed, "actual_s": self.actual_s,
            "predicted_s": None if self.predicted_s is None else self.predicted_s.to_dict(),
            "estimated_sd_rel": self.estimated_sd_rel, "drift_rel_used": self.drift_rel_used,
            "bias_rel_used": self.bias_rel_used, "workload": self.workload,
            "predicted_kwh": None if self.predicted_kwh is None else self.predicted_kwh.to_dict(),
            "actual_kwh": self.actual_kwh,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        """The inverse of :meth:`to_dict`; unknown keys are ignored (later greenlove versions
        may add some). ValueError, KeyError or TypeError on a malformed entry."""
        if not isinstance(data, Mapping):
            raise TypeError(f"an entry is a JSON object, got {type(data).__name__}")
        fingerprint = data["fingerprint"]
        if not isinstance(fingerprint, Mapping):
            raise TypeError("fingerprint is not an object")
        device_kind = str(data["device_kind"])
        if device_kind not in ("cpu", "accelerator"):
            raise ValueError(f"device_kind {device_kind!r} is neither 'cpu' nor 'accelerator'")
        completed = data["completed"]
        if not isinstance(completed, bool):
            raise TypeError("completed is not true or false")
        return cls(
            date=str(data["date"]), greenlove_version=str(data["greenlove_version"]),
            fingerprint=dict(fingerprint), device_kind=device_kind,
            epochs=_int(data["epochs"]), steps_per_epoch=_int(data["steps_per_epoch"]),
            completed=completed, actual_s=float(data["actual_s"]),
            predicted_s=_interval(data.get("predicted_s")),
            estimated_sd_rel=_float(data.get("estimated_sd_rel")),
            drift_rel_used=_float(data.get("drift_rel_used")),
            bias_rel_used=float(data.get("bias_rel_used", 0.0)),
            workload=None if data.get("workload") is None else str(data["workload"]),
            predicted_kwh=_interval(data.get("predicted_kwh")),
            actual_kwh=_float(data.get("actual_kwh")),
            schema=_int(data.get("schema", SCHEMA)),
        )


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _interval(value: Any) -> Interval | None:
    return None if value is None else Interval.from_dict(value)


def append_entry(entry: HistoryEntry, folder: Path) -> Path:
    """Append ``entry`` as one JSON line to the folder's history file (folder created), synced
    to disk, on a line of its own after a line cut short; the file's path. OSError where it
    cannot be written (the caller warns)."""
    path = history_file(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry.to_dict(), separators=(",", ":")) + "\n"
    with path.open("a+b") as handle:
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":    # a line cut short by a crash: keep it apart
                line = "\n" + line
        handle.write(line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_history(folder: Path) -> tuple[tuple[HistoryEntry, ...], tuple[str, ...]]:
    """The entries of the folder's history file, oldest first, and warnings about what could not
    be read: a broken line is skipped, an unreadable file gives no entries. No file: none."""
    path = history_file(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return (), ()
    except (OSError, UnicodeDecodeError) as error:
        return (), (f"The run history {path} could not be read ({error}): the prediction does "
                    "not use it.",)
    entries: list[HistoryEntry] = []
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(HistoryEntry.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as error:
            reason = f"missing {error}" if isinstance(error, KeyError) else str(error)
            warnings.append(f"{path} line {number} is not a greenlove history entry "
                            f"({reason[:80]}): skipped")
    return tuple(entries), tuple(warnings)


def check_history(value: Any) -> Path | None:
    """The ``history`` option: True (the default folder), False or None (off: None), or a
    folder (str or os.PathLike)."""
    if value is True:
        return history_folder()
    if value is False or value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise TypeError(f"history must be True, False or a folder (str or os.PathLike), got {value!r}")
