"""Speed-up of a training step from the local device to a cloud GPU, each estimate labelled.

Methods, in order of preference (speedups_for returns them in this order; the first is used):
  user-measured              a speed-up the user measured themselves
  fitted-model               one model fitted on every published throughput (speedup_model.py):
                             the GPU's published rows where it has some, its specs where not;
                             carries a 95% interval from the leave-one-out residuals
  published-ratio            published per-task training throughput ratios (both GPUs in the table)
  roofline                   the workload's FLOPs and bytes per step placed on each device's roofline
  tflops-bandwidth-baseline  0.7 x fp32 TFLOPS ratio + 0.3 x bandwidth ratio (the hackathon tool's
                             blend; kept only as the documented baseline, shown beside the others)
A speed-up s means the step takes 1/s as long on the target as locally. All functions are pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .._units import number, si
from ..measure.local_device import LocalDevice
from .assumptions import (
    ACHIEVABLE_BANDWIDTH_FRACTION,
    ACHIEVABLE_COMPUTE_FRACTION,
    BASELINE_BANDWIDTH_WEIGHT,
    BASELINE_TFLOPS_WEIGHT,
)

if TYPE_CHECKING:
    from ..data.tables import GpuSpec, ThroughputRatio
    from ..measure.workload_profile import WorkloadProfile
    from .speedup_model import FittedSpeedups

SpeedupMethod = Literal["user-measured", "fitted-model", "published-ratio", "roofline",
                        "tflops-bandwidth-baseline"]

_FAMILIES = ("conv", "transformer", "recurrent")


@dataclass(frozen=True)
class Speedup:
    """value: target speed over local speed (dimensionless); detail: what was used; source.
    low/high: the interval at ``confidence`` where the method's error was measured (None: no
    measured interval); interval: how it was measured."""

    value: float
    method: SpeedupMethod
    detail: str
    source: str
    low: float | None = None
    high: float | None = None
    confidence: float | None = None
    interval: str = ""


def _geomean(values: Iterable[float]) -> float:
    logs = [math.log(v) for v in values]
    return math.exp(sum(logs) / len(logs))


def _table_precision(precision: str) -> tuple[str | None, str]:
    """The published table's precision for a run's precision, and a note when they differ."""
    if precision in ("fp32", "tf32"):
        # Lambda's "fp32" rows ran TF32 on Ampere and newer (reference-data README).
        return "fp32", "" if precision == "tf32" else "; table 'fp32' rows are TF32 on Ampere and newer"
    if precision == "fp16":
        return "fp16", ""
    if precision == "bf16":
        return "fp16", "; bf16 run compared with fp16 (AMP) rows"
    return None, ""


def _is_derived(task: str) -> bool:
    # The table's "geomean(N models)" rows are computed from its per-model rows: counting them
    # again would weigh those models twice.
    return task.startswith("geomean")


def published_ratio(local: GpuSpec, target: GpuSpec, ratios: Iterable[ThroughputRatio],
                    family: str, precision: str) -> Speedup | None:
    """Published throughput of target over local, from tables with a common baseline GPU.

    Per task, the ratio is rel(target) / rel(local) within one table (same source and baseline;
    the baseline GPU itself counts as 1.0). Tables are never mixed within a task: the newest one
    holding both GPUs is used (two baselines of one table give the same ratio; their geometric
    mean is taken). Over tasks: the geometric mean of the tasks of `family` where both GPUs have
    one, else of all tasks both have. None when no task has both GPUs.
    """
    table_precision, precision_note = _table_precision(precision)
    if table_precision is None:
        return None
    groups: dict[tuple[str, str, str], dict[str, ThroughputRatio]] = {}
    for row in ratios:
        if row.precision == table_precision and not _is_derived(row.task):
            groups.setdefault((row.task, row.baseline_gpu, row.source), {})[row.gpu] = row

    def rel(group: dict[str, ThroughputRatio], baseline: str, name: str) -> float | None:
        if name in group:
            return group[name].relative_throughput
        return 1.0 if name == baseline else None

    per_task: dict[str, list[tuple[str, float, ThroughputRatio]]] = {}
    for (task, baseline, _source), group in groups.items():
        local_rel, target_rel = rel(group, baseline, local.name), rel(group, baseline, target.name)
        if local_rel and target_rel and local_rel > 0 and target_rel > 0:
            row = next(iter(group.values()))
            per_task.setdefault(task, []).append((row.as_of, target_rel / local_rel, row))
    if not per_task:
        return None
    task_ratio: dict[str, float] = {}
    task_row: dict[str, ThroughputRatio] = {}
    for task, found in per_task.items():
        newest = max(as_of for as_of, _, _ in found)
        task_ratio[task] = _geomean(r for as_of, r, _ in found if as_of == newest)
        task_row[task] = next(row for as_of, _, row in found if as_of == newest)

    in_family = sorted(t for t in task_ratio if family in _FAMILIES and task_row[t].family == family)
    if in_family:
        tasks, how = in_family, f"family {family}"
    else:
        tasks = sorted(task_ratio)
        missing = f"no {family} task for both GPUs; " if family in _FAMILIES else ""
        how = f"{missing}geometric mean across tasks"
    value = _geomean(task_ratio[t] for t in tasks)
    detail = (f"{how}: {', '.join(tasks)} ({len(tasks)} task{'s' if len(tasks) > 1 else ''}, "
              f"{table_precision} rows{precision_note})")
    sources = sorted({task_row[t].source for t in tasks})
    return Speedup(value=value, method="published-ratio", detail=detail, source="; ".join(sources))


def fitted_speedup(local: GpuSpec, target: GpuSpec, fitted: FittedSpeedups, family: str,
                   precision: str) -> Speedup | None:
    """The fitted model's ratio for the workload's family and precision, with the 95% band of the
    leave-one-out case that applies: 'cell held out' when both GPUs have published rows,
    'GPU held out' (spec only) when one has none; when neither has, the two spec-only errors
    combined in quadrature (assumed independent: not measured). None when a GPU has neither
    rows nor the spec figures the prior needs, or when too few held-out residuals exist for a
    95% band (fewer than 19): the model is used only where its error was measured."""
    from .speedup_model import FAMILIES, table_precision

    table_p = table_precision(precision)
    if table_p is None:
        return None
    value = fitted.model.ratio(local, target, family, table_p)
    if value is None:
        return None
    known = [g.name in fitted.model.gpus_with_rows for g in (local, target)]
    band_family = family if family in FAMILIES else "any"
    bands, case = ((fitted.cell_bands, "cell held out") if all(known)
                   else (fitted.gpu_bands, "GPU held out"))
    half, n = bands.get((band_family, table_p), (math.inf, 0))
    if not math.isfinite(half):
        return None     # too few held-out residuals to measure its error: not used
    how = f"{case}, {band_family} {table_p}, {n} residuals"
    if not any(known):
        half, how = half * math.sqrt(2), how + "; neither GPU has published rows: x sqrt(2) (assumed)"
    spec_only = [g.name for g, k in zip((local, target), known, strict=True) if not k]
    basis = ("both GPUs from their published rows" if not spec_only
             else f"{' and '.join(spec_only)} from specs alone (no published row)")
    m = fitted.model
    detail = (f"model fitted on {m.rows} published rows (data of {m.data_as_of}), {family} family at "
              f"table precision {table_p}: {basis}")
    return Speedup(value=value, method="fitted-model", detail=detail,
                   source="Lambda Labs PyTorch training throughput (throughput.csv) and spec rows "
                          f"'{local.name}', '{target.name}' (gpus.csv)",
                   low=value * math.exp(-half), high=value * math.exp(half),
                   confidence=fitted.confidence,
                   interval=f"{fitted.confidence:.0%} band from leave-one-out residuals ({how})")


def peak_tflops(spec: GpuSpec, precision: str) -> tuple[float | None, str]:
    """Dense spec TFLOP/s for `precision`, and a label naming any fallback column used."""
    columns = {"fp32": spec.fp32_tflops, "tf32": spec.tf32_tflops_dense,
               "fp16": spec.fp16_tflops_dense, "bf16": spec.bf16_tflops_dense}
    if precision not in columns:
        return None, f"no {precision} column"
    if columns[precision] is not None:
        return columns[precision], ""
    # Same-rate substitutes: TF32 is at least the fp32 rate; bf16 and fp16 tensor cores run at the
    # same dense rate on every GPU in the table that lists both.
    fallback = {"tf32": "fp32", "bf16": "fp16", "fp16": "bf16"}.get(precision)
    if fallback is not None and columns[fallback] is not None:
        return columns[fallback], f"{precision} not in table: {fallback} column used"
    return None, f"no {precision} figure for {spec.name}"


def _step_time_s(flops: float, bytes_: float, tflops: float, bandwidth_gbs: float) -> tuple[float, str]:
    compute_s = flops / (tflops * 1e12)
    memory_s = bytes_ / (bandwidth_gbs * 1e9)
    return (compute_s, "compute") if compute_s >= memory_s else (memory_s, "memory")


def roofline_speedup(local: LocalDevice, target: GpuSpec, profile: WorkloadProfile,
                     local_step_s: float | None = None) -> Speedup | None:
    """Step time max(FLOPs / achievable TFLOP/s, bytes / achievable GB/s) locally over on target.

    GPU figures are spec peaks times ACHIEVABLE_COMPUTE_FRACTION / ACHIEVABLE_BANDWIDTH_FRACTION;
    a measured local device (CPU stand-in, timed unknown GPU) uses its achieved figures as they
    are. Where the profile counted the step's ops and the host's per-op dispatch time was
    measured, every step also pays ops x that time on each device: an eager step cannot run
    faster than the host issues its kernels. ``local_step_s``, the per-batch time the benchmark
    measured here, replaces the local estimate when the local device is measured rather than a
    spec row. Ignores data loading, so a loader-bound run gains less than this says. None when
    a figure is missing.
    """
    labels: list[str] = []
    precision = profile.precision
    if local.spec is not None:
        local_peak, label = peak_tflops(local.spec, precision)
        local_bw = local.spec.memory_bandwidth_gbs
        if local_peak is None or local_bw is None:
            return None
        local_tflops = local_peak * ACHIEVABLE_COMPUTE_FRACTION
        local_gbs = local_bw * ACHIEVABLE_BANDWIDTH_FRACTION
        labels += [f"local {label}"] if label else []
    elif local.achieved_tflops and local.achieved_bandwidth_gbs:
        local_tflops, local_gbs = local.achieved_tflops, local.achieved_bandwidth_gbs
        labels.append(f"local figures measured ({local.method}), used for {precision}")
    else:
        return None
    target_peak, label = peak_tflops(target, precision)
    if target_peak is None or not target.memory_bandwidth_gbs:
        return None
    labels += [f"target {label}"] if label else []
    target_tflops = target_peak * ACHIEVABLE_COMPUTE_FRACTION
    target_gbs = target.memory_bandwidth_gbs * ACHIEVABLE_BANDWIDTH_FRACTION
    flops, bytes_ = profile.flops_per_step, profile.bytes_per_step
    if flops <= 0 and bytes_ <= 0:
        return None
    local_s, local_bound = _step_time_s(flops, bytes_, local_tflops, local_gbs)
    target_s, target_bound = _step_time_s(flops, bytes_, target_tflops, target_gbs)
    if profile.ops_per_step and local.op_overhead_s:
        floor_s = profile.ops_per_step * local.op_overhead_s
        labels.append(f"each step pays {profile.ops_per_step} ops x {si(local.op_overhead_s, 's')} "
                      f"of host dispatch (measured here) = {si(floor_s, 's')} on either device")
        local_s, target_s = local_s + floor_s, target_s + floor_s
        if floor_s > target_s / 2:
            target_bound = "overhead"
    if local_step_s is not None and local_step_s > 0 and local.spec is None:
        local_s, local_bound = local_step_s, "measured"
        labels.append(f"local step {si(local_step_s, 's')} as measured by the benchmark")
    detail = (f"roofline at {precision}: {si(flops, 'FLOP')} and {si(bytes_, 'B')} per step "
              f"({number(profile.arithmetic_intensity)} FLOP/B); local {local_bound}-bound "
              f"({si(local_tflops * 1e12, 'FLOP/s')}, {si(local_gbs * 1e9, 'B/s')}, "
              f"{si(local_s, 's')}), target {target_bound}-bound "
              f"({si(target_tflops * 1e12, 'FLOP/s')}, {si(target_gbs * 1e9, 'B/s')}, "
              f"{si(target_s, 's')}); GPU spec peaks x {ACHIEVABLE_COMPUTE_FRACTION} compute, "
              f"x {ACHIEVABLE_BANDWIDTH_FRACTION} bandwidth")
    if labels:
        detail += "; " + "; ".join(labels)
    source = f"local: {local.source}; target: spec row '{target.name}': {target.source}"
    return Speedup(value=local_s / target_s, method="roofline", detail=detail, source=source)


def _baseline_figures(device: LocalDevice | GpuSpec) -> tuple[float | None, float | None]:
    if not isinstance(device, LocalDevice):
        return device.fp32_tflops, device.memory_bandwidth_gbs
    if device.spec is not None:
        return device.spec.fp32_tflops, device.spec.memory_bandwidth_gbs
    return device.achieved_tflops, device.achieved_bandwidth_gbs


def baseline_speedup(local: LocalDevice | GpuSpec, target: GpuSpec) -> Speedup | None:
    """0.7 x fp32 TFLOPS ratio + 0.3 x bandwidth ratio, target over local; None if a figure is missing.

    Spec fp32 figures where the local device has a spec row, its measured figures otherwise.
    """
    local_tflops, local_gbs = _baseline_figures(local)
    target_tflops, target_gbs = target.fp32_tflops, target.memory_bandwidth_gbs
    if not (local_tflops and local_gbs and target_tflops and target_gbs):
        return None
    tflops_ratio, bandwidth_ratio = target_tflops / local_tflops, target_gbs / local_gbs
    value = BASELINE_TFLOPS_WEIGHT * tflops_ratio + BASELINE_BANDWIDTH_WEIGHT * bandwidth_ratio
    detail = (f"{BASELINE_TFLOPS_WEIGHT} x fp32 TFLOPS ratio ({target_tflops:.4g}/{local_tflops:.4g}) + "
              f"{BASELINE_BANDWIDTH_WEIGHT} x bandwidth ratio ({target_gbs:.4g}/{local_gbs:.4g} GB/s); "
              "ignores the workload")
    local_name = getattr(local, "name", "local")
    return Speedup(value=value, method="tflops-bandwidth-baseline", detail=detail,
                   source=f"fixed blend of the method greenlove started from (DESIGN.md); figures: "
                          f"'{local_name}' and spec row '{target.name}'")


def speedups_for(local: LocalDevice, target: GpuSpec, *, profile: WorkloadProfile | None,
                 ratios: Iterable[ThroughputRatio], user_speedup: float | None = None,
                 local_step_s: float | None = None,
                 fitted: FittedSpeedups | None = None) -> tuple[Speedup, ...]:
    """Every available estimate, in preference order user-measured, fitted model, published,
    roofline, baseline (the fitted model before the published ratio: its leave-one-out error
    is the smaller, README "How good are the speed-ups?").

    Without a profile the published ratio uses the geometric mean over tasks at fp32 and the
    roofline is skipped. The first element is the estimate to use; the others are shown beside it.
    """
    estimates: list[Speedup | None] = []
    if user_speedup is not None:
        if not (math.isfinite(user_speedup) and user_speedup > 0):
            raise ValueError(f"user_speedup must be a positive finite number, got {user_speedup}")
        estimates.append(Speedup(value=user_speedup, method="user-measured",
                                 detail=f"measured by the user for {target.name}", source="user"))
    if local.spec is not None:
        family = profile.family if profile is not None else "other"
        precision = profile.precision if profile is not None else "fp32"
        if fitted is not None:
            estimates.append(fitted_speedup(local.spec, target, fitted, family, precision))
        estimates.append(published_ratio(local.spec, target, ratios, family, precision))
    if profile is not None:
        estimates.append(roofline_speedup(local, target, profile, local_step_s))
    estimates.append(baseline_speedup(local, target))
    return tuple(e for e in estimates if e is not None)
