"""The versioned JSON form of a report: its only writer and reader.

Schema history (add fields freely; never rename or remove one):

* 1 (greenlove 0.1): plan, benchmark (raw epoch times of every sample size under ``runs``),
  prediction.time_s, assumptions, warnings, environment. Added within 1: ``measurement`` (each
  power source, its method, idle baseline, per-epoch energy, power timeline), ``runs[].energy_j``,
  ``prediction.energy_kwh`` and ``prediction.energy``; files without them read as "energy not
  measured". Then ``prediction.cost_usd``, ``prediction.co2_kg``, ``clouds`` (one entry per
  cloud offer) and ``comparison`` (local device, workload profile, rankings, equivalences).
  Then, for a tracked run (``greenlove.track``): ``actual`` (what the run really took),
  ``forecasts`` (the live forecast of the whole run as it went) and ``check`` (the pre-flight
  prediction's error and coverage); ``benchmark`` and ``prediction`` are null for a run tracked
  without a pre-flight estimate. Files without them read as "not tracked".

A file of an older schema is upgraded step by step by ``_UPGRADES`` before it is read; a file
of a newer schema than this greenlove knows is refused with a clear error.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .._files import write_text_atomic
from ..errors import SchemaError
from ..measure.timing import EpochRecord
from ..model import Interval
from ..model.energy import (
    DeviceEnergy,
    DevicePrediction,
    EnergyMeasurement,
    EnergyPrediction,
)
from .report import FitSummary, Measurements, Prediction, ReportData, RunPlan
from .tracking_schema import read_tracking, tracking_to_dict

R = TypeVar("R", bound=ReportData)

SCHEMA_VERSION = 1

# from-version -> function producing the next version's dict. Empty while only 1 exists.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _runs(measurements: Measurements) -> list[dict[str, Any]]:
    by_size: dict[int, list[tuple[EpochRecord, str]]] = {}
    for record, role in zip(measurements.epochs, measurements.roles):
        by_size.setdefault(record.sample_batches, []).append((record, role))
    runs = []
    for batches in sorted(by_size):
        pairs = by_size[batches]
        runs.append({
            "sample_size": pairs[0][0].sample_size,
            "sample_batches": batches,
            "epoch_s": [r.epoch_s for r, _ in pairs],
            "role": [role for _, role in pairs],
            "order": [r.order for r, _ in pairs],
            "started_s": [r.started_s for r, _ in pairs],
            "loader_epoch": [r.loader_epoch for r, _ in pairs],
            "batches_drawn": [r.batches_drawn for r, _ in pairs],
            "first_batch_s": [r.first_batch_s for r, _ in pairs],
            "batch_s": [list(r.batch_s) for r, _ in pairs],
            "span_s": [r.span_s for r, _ in pairs],
            "profiled": [r.profiled for r, _ in pairs],
            "compile_s": [r.compile_s for r, _ in pairs],
            "recompiles": [r.recompiles for r, _ in pairs],
        })
        if measurements.energy is not None:
            runs[-1]["energy_j"] = [measurements.energy.epoch_total_j(r.order) for r, _ in pairs]
    return runs


def _measurement(energy: EnergyMeasurement | None) -> dict[str, Any] | None:
    if energy is None:
        return None
    return {
        "sampler_interval_s": energy.interval_s,
        "idle_window_s": list(energy.idle_window_s) if energy.idle_window_s else None,
        "fallbacks": list(energy.fallbacks),
        "devices": [{
            "name": d.name, "kind": d.kind, "method": d.method, "note": d.note,
            "idle_power_w": d.idle_power_w, "mean_power_w": d.mean_power_w, "ended": d.ended,
            "epoch_energy_j": list(d.epoch_energy_j),
            "timeline": {"t_s": list(d.timeline_s), "power_w": list(d.timeline_w)},
        } for d in energy.devices],
    }


def _energy_prediction(energy: EnergyPrediction | None) -> dict[str, Any] | None:
    if energy is None:
        return None
    return {
        "method": energy.method,
        "model": "energy_j = fixed_j + per_batch_j * batches per epoch, warm-up added once",
        "epoch_kwh": energy.epoch_kwh.to_dict(),
        "warmup_kwh": energy.warmup_kwh,
        "fixed_j": energy.fixed_j,
        "per_batch_j": energy.per_batch_j,
        "mean_power_w": energy.mean_power_w,
        "idle_power_w": energy.idle_power_w,
        "idle_share": energy.idle_share,
        "variance_parts_j2": dict(energy.variance_parts_j2),
        "warnings": list(energy.warnings),
        "devices": [{
            "name": d.name, "kind": d.kind, "method": d.method,
            "energy_kwh": _finite_or_none(d.energy_kwh),
            "mean_power_w": d.mean_power_w, "idle_power_w": d.idle_power_w,
        } for d in energy.devices],
    }


def _benchmark(bench: Measurements | None, fit: FitSummary | None) -> dict[str, Any] | None:
    if bench is None or fit is None:
        return None
    return {
        "wall_s": bench.wall_s,
        "budget_s": bench.budget_s,
        "budget_automatic": bench.budget_automatic,
        "budget_rule": bench.budget_rule,
        "stop_reason": bench.stop_reason,
        "seed": bench.seed,
        "warmup_epochs": bench.warmup_epochs,
        "confidence": bench.confidence,
        "timed_epochs": len(bench.epochs),
        "extras_s": dict(bench.extras_s),
        "load": None if bench.load is None else dict(bench.load),
        "runs": _runs(bench),
        "fit": {
            "model": "epoch_s = intercept_s + per_batch_s * batches",
            "method": fit.method,
            "line_intercept_s": fit.line_intercept_s,
            "line_per_batch_s": fit.line_per_batch_s,
            "intercept_s": fit.intercept_s,
            "per_batch_s": fit.per_batch_s,
            "covariance": [list(row) for row in fit.covariance],
            "noise_rel": fit.noise_rel,
            "dof": fit.dof,
            "steady_epochs": fit.steady_epochs,
            "lack_of_fit_p": _finite_or_none(fit.lack_of_fit_p),
            "trend_rel_per_s": _finite_or_none(fit.trend_rel_per_s),
            "trend_p": _finite_or_none(fit.trend_p),
            "variance_parts_s2": dict(fit.variance_parts_s2),
            "autocorrelation_inflation": fit.autocorrelation_inflation,
        },
    }


def _prediction(pred: Prediction | None) -> dict[str, Any] | None:
    if pred is None:
        return None
    return {
        "time_s": pred.time_s.to_dict(),
        "epoch_s": pred.epoch_s.to_dict(),
        "warmup_s": pred.warmup_s,
        "energy_kwh": pred.energy.energy_kwh.to_dict() if pred.energy else None,
        "energy": _energy_prediction(pred.energy),
        "cost_usd": pred.cost_usd.to_dict() if pred.cost_usd else None,
        "co2_kg": pred.co2_kg.to_dict() if pred.co2_kg else None,
        "compile_s": pred.compile_s,
        "fresh_process_s": pred.fresh_process_s.to_dict() if pred.fresh_process_s else None,
        "fresh_process_basis": pred.fresh_process_basis,
    }


def report_to_dict(report: ReportData) -> dict[str, Any]:
    plan, pred = report.plan, report.prediction
    return {
        "schema_version": SCHEMA_VERSION,
        "greenlove_version": report.greenlove_version,
        "created_at": report.created_at,
        "plan": {
            "epochs": plan.epochs,
            "dataset_size": plan.dataset_size,
            "batch_size": plan.batch_size,
            "batches_per_epoch": plan.batches_per_epoch,
            "loader_kind": plan.loader_kind,
            "num_workers": plan.num_workers,
            "persistent_workers": plan.persistent_workers,
            "size_source": plan.size_source,
        },
        "benchmark": _benchmark(report.benchmark, pred.fit if pred else None),
        "prediction": _prediction(pred),
        "clouds": [dict(c) for c in report.clouds],
        "comparison": dict(report.comparison),
        "measurement": _measurement(report.benchmark.energy if report.benchmark else None),
        "assumptions": {k: dict(v) for k, v in report.assumptions.items()},
        "warnings": list(report.warnings),
        "environment": dict(report.environment),
        **tracking_to_dict(report.actual, report.forecasts, report.check),
        **report.extra,
    }


def save_report(report: ReportData, path: str | Path) -> Path:
    """Write the report's JSON to ``path`` atomically (never a half-written file; see _files)."""
    text = json.dumps(report_to_dict(report), indent=2, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def _records(runs: list[dict[str, Any]]) -> tuple[tuple[EpochRecord, ...], tuple[str, ...]]:
    pairs = []
    for run in runs:
        count = len(run["epoch_s"])
        for i in range(count):
            pairs.append((EpochRecord(
                order=int(run["order"][i]),
                sample_batches=int(run["sample_batches"]),
                sample_size=int(run["sample_size"]),
                batches_drawn=int(run["batches_drawn"][i]),
                epoch_s=float(run["epoch_s"][i]),
                started_s=float(run["started_s"][i]),
                loader_epoch=int(run["loader_epoch"][i]),
                first_batch_s=run["first_batch_s"][i],
                batch_s=tuple(float(v) for v in run["batch_s"][i]),
                span_s=run.get("span_s", [None] * count)[i],
                profiled=bool(run.get("profiled", [False] * count)[i]),
                compile_s=float(run.get("compile_s", [0.0] * count)[i]),
                recompiles=int(run.get("recompiles", [0] * count)[i]),
            ), str(run["role"][i])))
    pairs.sort(key=lambda p: p[0].order)
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


_KNOWN_TOP = {"schema_version", "greenlove_version", "created_at", "plan", "benchmark",
              "prediction", "assumptions", "warnings", "environment", "measurement", "clouds",
              "comparison", "actual", "forecasts", "check"}


def _read_measurement(data: dict[str, Any] | None) -> EnergyMeasurement | None:
    if data is None:
        return None
    idle = data.get("idle_window_s")
    return EnergyMeasurement(
        interval_s=float(data["sampler_interval_s"]),
        idle_window_s=(float(idle[0]), float(idle[1])) if idle else None,
        fallbacks=tuple(str(f) for f in data.get("fallbacks", ())),
        devices=tuple(DeviceEnergy(
            name=str(d["name"]), kind=str(d["kind"]), method=str(d["method"]),
            note=str(d.get("note", "")), idle_power_w=d.get("idle_power_w"),
            mean_power_w=d.get("mean_power_w"), ended=d.get("ended"),
            epoch_energy_j=tuple(None if v is None else float(v) for v in d["epoch_energy_j"]),
            timeline_s=tuple(float(v) for v in d["timeline"]["t_s"]),
            timeline_w=tuple(float(v) for v in d["timeline"]["power_w"]),
        ) for d in data["devices"]),
    )


def _read_energy_prediction(pred: dict[str, Any]) -> EnergyPrediction | None:
    data = pred.get("energy")
    if not data or not pred.get("energy_kwh"):
        return None
    return EnergyPrediction(
        energy_kwh=Interval.from_dict(pred["energy_kwh"]), epoch_kwh=Interval.from_dict(data["epoch_kwh"]),
        warmup_kwh=float(data["warmup_kwh"]), method=str(data["method"]),
        fixed_j=float(data["fixed_j"]), per_batch_j=float(data["per_batch_j"]),
        mean_power_w=float(data["mean_power_w"]), idle_power_w=data.get("idle_power_w"),
        idle_share=data.get("idle_share"),
        variance_parts_j2=dict(data.get("variance_parts_j2", {})),
        warnings=tuple(data.get("warnings", ())),
        devices=tuple(DevicePrediction(
            name=str(d["name"]), kind=str(d["kind"]), method=str(d["method"]),
            energy_kwh=math.nan if d.get("energy_kwh") is None else float(d["energy_kwh"]),
            mean_power_w=d.get("mean_power_w"), idle_power_w=d.get("idle_power_w"),
        ) for d in data.get("devices", ())),
    )


def report_from_dict(data: dict[str, Any], cls: type[R] = ReportData) -> R:  # type: ignore[assignment]
    """Rebuild a report (a ``cls``) from its JSON form (upgrading older schema versions first)."""
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise SchemaError("not a greenlove result: schema_version is missing or not an integer")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"this file has schema_version {version}, newer than this greenlove reads "
            f"({SCHEMA_VERSION}); upgrade greenlove to read it"
        )
    while version < SCHEMA_VERSION:
        if version not in _UPGRADES:
            raise SchemaError(f"schema_version {version} is not one greenlove can upgrade")
        data = _UPGRADES[version](data)
        version = data["schema_version"]
    try:
        fields = read_tracking(data)
        bench, pred = data["benchmark"], data["prediction"]
        if (bench is None) != (pred is None) or (bench is None and fields["actual"] is None):
            raise ValueError("benchmark and prediction may be null only together, in the "
                             "result of a tracked run")
        return cls(
            plan=_read_plan(data["plan"]),
            benchmark=None if bench is None else _read_benchmark(bench, data.get("measurement")),
            prediction=None if pred is None else _read_prediction(pred, bench["fit"]),
            clouds=tuple(_list_of(data, "clouds", dict)),
            comparison=_mapping(data, "comparison"),
            assumptions={k: v for k, v in _mapping(data, "assumptions").items()
                         if _is_entry(k, v)},
            warnings=tuple(_list_of(data, "warnings", str)),
            environment=_mapping(data, "environment"),
            created_at=str(data.get("created_at", "")),
            greenlove_version=str(data.get("greenlove_version", "")),
            extra={k: v for k, v in data.items() if k not in _KNOWN_TOP},
            **fields,
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as error:
        raise SchemaError(f"malformed greenlove result (schema_version {version}): {error!r}") \
            from error


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    """A section that must be an object; absent or null reads as empty."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"`{key}` must be an object, not {type(value).__name__}")
    return value


def _list_of(data: dict[str, Any], key: str, kind: type) -> list[Any]:
    """A section that must be a list of ``kind``; absent or null reads as empty."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        raise ValueError(f"`{key}` must be a list of {kind.__name__}s, not "
                         f"{type(value).__name__}")
    return value


def _is_entry(key: str, value: Any) -> bool:
    if not isinstance(value, dict):
        raise ValueError(f"`assumptions.{key}` must be an object, not {type(value).__name__}")
    return True


def _read_plan(plan: dict[str, Any]) -> RunPlan:
    """Fields a newer greenlove added to ``plan`` are ignored (schema 1 adds, never renames)."""
    if not isinstance(plan, dict):
        raise ValueError(f"`plan` must be an object, not {type(plan).__name__}")
    known = {f.name for f in dataclasses.fields(RunPlan)}
    return RunPlan(**{k: v for k, v in plan.items() if k in known})


def _read_benchmark(bench: dict[str, Any], measurement: dict[str, Any] | None) -> Measurements:
    records, roles = _records(bench["runs"])
    return Measurements(
        wall_s=float(bench["wall_s"]), budget_s=float(bench["budget_s"]),
        budget_automatic=bool(bench["budget_automatic"]),
        budget_rule=str(bench["budget_rule"]), stop_reason=str(bench["stop_reason"]),
        seed=int(bench["seed"]), warmup_epochs=bench["warmup_epochs"],
        confidence=float(bench["confidence"]), epochs=records, roles=roles,
        energy=_read_measurement(measurement),
        extras_s={str(k): float(v) for k, v in bench.get("extras_s", {}).items()},
        load=bench["load"] if isinstance(bench.get("load"), dict) else None,
    )


def _read_prediction(pred: dict[str, Any], fit: dict[str, Any]) -> Prediction:
    return Prediction(
        time_s=Interval.from_dict(pred["time_s"]),
        epoch_s=Interval.from_dict(pred["epoch_s"]),
        warmup_s=float(pred["warmup_s"]),
        fit=FitSummary(
            method=str(fit.get("method", "epoch-line")),
            line_intercept_s=fit.get("line_intercept_s"),
            line_per_batch_s=fit.get("line_per_batch_s"),
            intercept_s=float(fit["intercept_s"]), per_batch_s=float(fit["per_batch_s"]),
            covariance=tuple(tuple(float(v) for v in row) for row in fit["covariance"]),
            noise_rel=float(fit["noise_rel"]), dof=int(fit["dof"]),
            steady_epochs=int(fit["steady_epochs"]),
            lack_of_fit_p=fit.get("lack_of_fit_p"),
            trend_rel_per_s=fit.get("trend_rel_per_s"), trend_p=fit.get("trend_p"),
            variance_parts_s2=dict(fit.get("variance_parts_s2", {})),
            autocorrelation_inflation=float(fit.get("autocorrelation_inflation", 1.0)),
        ),
        energy=_read_energy_prediction(pred),
        cost_usd=Interval.from_dict(pred["cost_usd"]) if pred.get("cost_usd") else None,
        co2_kg=Interval.from_dict(pred["co2_kg"]) if pred.get("co2_kg") else None,
        compile_s=float(pred.get("compile_s", 0.0)),
        fresh_process_s=Interval.from_dict(pred["fresh_process_s"])
        if pred.get("fresh_process_s") else None,
        fresh_process_basis=str(pred.get("fresh_process_basis", "")),
    )


def load_report(path: str | Path, cls: type[R] = ReportData) -> R:  # type: ignore[assignment]
    """Read a report written by ``save_report`` (a ``cls``)."""
    path = Path(path)
    if path.is_dir():
        raise SchemaError(f"{path} is a folder, not a greenlove result file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SchemaError(f"{path} is not valid JSON: {error}") from error
    except UnicodeDecodeError as error:
        raise SchemaError(f"{path} is not a text file, so not a greenlove result ({error.reason} "
                          f"at byte {error.start})") from error
    except RecursionError as error:
        raise SchemaError(f"{path} nests its JSON too deeply to be a greenlove result") from error
    if not isinstance(data, dict):
        raise SchemaError(f"{path} does not hold a greenlove result object")
    return report_from_dict(data, cls)
