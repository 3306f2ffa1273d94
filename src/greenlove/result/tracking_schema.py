"""The JSON form of a tracked run's sections (``actual``, ``forecasts``, ``check``): written and
read here for :mod:`.schema`, which owns the file as a whole (schema_version 1, additive)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model import Interval
from .actual import Actual, ActualExtra, Check, ForecastPoint


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _optional_interval(value: Any) -> Interval | None:
    return None if not value else Interval.from_dict(value)


def tracking_to_dict(actual: Actual | None, forecasts: Sequence[ForecastPoint],
                     check: Check | None) -> dict[str, Any]:
    """The tracked run's sections; none at all for the report of a benchmark alone."""
    if actual is None:
        return {}
    return {
        "actual": {
            "time_s": actual.time_s, "energy_kwh": actual.energy_kwh,
            "cost_usd": actual.cost_usd, "co2_kg": actual.co2_kg,
            "epochs_done": actual.epochs_done, "steps_done": actual.steps_done,
            "completed": actual.completed, "stop_reason": actual.stop_reason,
            "epochs_planned": actual.epochs_planned, "steps_per_epoch": actual.steps_per_epoch,
            "started_at": actual.started_at, "epoch_s": list(actual.epoch_s),
            "extras": [{"kind": e.kind, "count": e.count, "total_s": e.total_s}
                       for e in actual.extras],
            "dry_run": actual.dry_run,
        },
        "forecasts": [{
            "at_s": f.at_s, "done": f.done, "time_s": f.time_s.to_dict(),
            "energy_kwh": f.energy_kwh.to_dict() if f.energy_kwh else None,
        } for f in forecasts],
        "check": None if check is None else {
            "predicted_s": check.predicted_s.to_dict(), "actual_s": check.actual_s,
            "error_rel": check.error_rel, "covered": check.covered,
            "energy_error_rel": check.energy_error_rel, "energy_covered": check.energy_covered,
        },
    }


def read_tracking(data: dict[str, Any]) -> dict[str, Any]:
    """``actual``, ``forecasts`` and ``check`` as ReportData fields (absent: not tracked).
    Unknown keys inside a section are ignored: a newer greenlove may add fields."""
    raw = data.get("actual")
    if raw is None:
        return {"actual": None, "forecasts": (), "check": None}
    actual = Actual(
        time_s=float(raw["time_s"]), epochs_done=int(raw["epochs_done"]),
        steps_done=int(raw["steps_done"]), completed=bool(raw["completed"]),
        stop_reason=str(raw["stop_reason"]), epochs_planned=int(raw["epochs_planned"]),
        steps_per_epoch=int(raw["steps_per_epoch"]),
        energy_kwh=_optional_float(raw.get("energy_kwh")),
        cost_usd=_optional_float(raw.get("cost_usd")), co2_kg=_optional_float(raw.get("co2_kg")),
        started_at=str(raw.get("started_at", "")),
        epoch_s=tuple(float(v) for v in raw.get("epoch_s", ())),
        extras=tuple(ActualExtra(kind=str(e["kind"]), count=int(e["count"]),
                                 total_s=float(e["total_s"])) for e in raw.get("extras") or ()),
        dry_run=bool(raw.get("dry_run", False)),
    )
    forecasts = tuple(ForecastPoint(
        at_s=float(f["at_s"]), done=float(f["done"]), time_s=Interval.from_dict(f["time_s"]),
        energy_kwh=_optional_interval(f.get("energy_kwh")),
    ) for f in data.get("forecasts") or ())
    check_data = data.get("check")
    check = None if check_data is None else Check(
        predicted_s=Interval.from_dict(check_data["predicted_s"]),
        actual_s=float(check_data["actual_s"]), error_rel=float(check_data["error_rel"]),
        covered=bool(check_data["covered"]),
        energy_error_rel=_optional_float(check_data.get("energy_error_rel")),
        energy_covered=None if check_data.get("energy_covered") is None
        else bool(check_data["energy_covered"]),
    )
    return {"actual": actual, "forecasts": forecasts, "check": check}
