"""How well do speed-ups predicted from specs match published ones? Leave one GPU pair out at a time.

For every published ratio (task, precision, gpu over baseline_gpu, both GPUs in the spec table):
  roofline (c): the task's arithmetic intensity I (FLOP/byte; one parameter per task and precision)
     is fitted, by least squares on log ratios, to the task's OTHER GPU pairs: every row of the
     held-out pair, in either direction and from any table, is left out of the fit. The held-out
     ratio is then predicted as t(baseline) / t(gpu), t = max(I / achievable FLOP/s, 1 / achievable
     B/s) from spec sheets (speedup.peak_tflops and the achievable fractions);
  baseline (d): 0.7 x fp32 TFLOPS ratio + 0.3 x bandwidth ratio, from specs alone.
Table "fp32" rows ran TF32 on Ampere and newer, so they are modelled at tf32 (the fp32 column
where a GPU has no tf32 figure, labelled in speedup.peak_tflops). Printing is the CLI's job.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..compare.assumptions import ACHIEVABLE_BANDWIDTH_FRACTION, ACHIEVABLE_COMPUTE_FRACTION
from ..compare.speedup import (
    baseline_speedup,
    peak_tflops,
)
from ..data.tables import GpuSpec, ThroughputRatio, find_gpu

# Search range of the fitted intensity, FLOP/byte: from pure streaming (element-wise work,
# ~0.1) to far past every GPU's ridge point (H100 bf16: ~300). Ties (an objective that does not
# depend on I) resolve to the lowest intensity on the grid.
INTENSITY_RANGE = (1e-2, 1e5)
_GRID = np.logspace(math.log10(INTENSITY_RANGE[0]), math.log10(INTENSITY_RANGE[1]), 701)
_ROOFLINE_PRECISION = {"fp32": "tf32"}


@dataclass(frozen=True)
class SpeedupCheckRow:
    """One published ratio and its predictions (dimensionless ratios gpu over baseline_gpu)."""

    task: str
    precision: str
    gpu: str
    baseline_gpu: str
    true_ratio: float
    roofline_ratio: float | None
    baseline_ratio: float | None
    fitted_intensity: float | None   # FLOP/byte, fitted without this pair
    fit_pairs: int                    # rows of other pairs the intensity was fitted on
    source: str

    @property
    def roofline_error(self) -> float | None:
        return None if self.roofline_ratio is None else self.roofline_ratio / self.true_ratio - 1

    @property
    def baseline_error(self) -> float | None:
        return None if self.baseline_ratio is None else self.baseline_ratio / self.true_ratio - 1


@dataclass(frozen=True)
class MethodAccuracy:
    method: str
    rows: int
    median_abs_error: float       # median |predicted / true - 1|
    worst_abs_error: float
    worst_case: str               # "task precision: gpu vs baseline"


@dataclass(frozen=True)
class SpeedupAccuracySummary:
    rows: int                     # published ratios with both GPUs in the spec table
    compared_rows: int            # rows where both methods gave a prediction: the figures below
    tasks: int
    pairs: int                    # distinct unordered GPU pairs
    roofline: MethodAccuracy
    baseline: MethodAccuracy


@dataclass(frozen=True)
class _Row:
    ratio: ThroughputRatio
    gpu: GpuSpec
    baseline: GpuSpec
    # achievable FLOP/s and byte/s of gpu and baseline at the modelled precision; None if missing
    figures: tuple[float, float, float, float] | None


def _achievable(spec: GpuSpec, precision: str) -> tuple[float, float] | None:
    tflops, _ = peak_tflops(spec, precision)
    if tflops is None or not spec.memory_bandwidth_gbs:
        return None
    return (tflops * 1e12 * ACHIEVABLE_COMPUTE_FRACTION,
            spec.memory_bandwidth_gbs * 1e9 * ACHIEVABLE_BANDWIDTH_FRACTION)


def _roofline_ratios(intensity: np.ndarray | float, figures: np.ndarray) -> np.ndarray:
    """Predicted gpu/baseline ratio for each intensity (rows) and each pair (columns of figures)."""
    i = np.atleast_1d(np.asarray(intensity, dtype=float))[:, None]
    flops_g, bytes_g, flops_b, bytes_b = figures.T
    time_g = np.maximum(i / flops_g, 1.0 / bytes_g)
    time_b = np.maximum(i / flops_b, 1.0 / bytes_b)
    return time_b / time_g


def fit_intensity(figures: np.ndarray, true_ratios: np.ndarray) -> float:
    """Intensity (FLOP/byte) minimising the squared log error of roofline ratios over the pairs.

    figures: (n, 4) achievable FLOP/s and byte/s of gpu and baseline per pair; true_ratios: (n,).
    """
    log_true = np.log(true_ratios)

    def loss(log_i: np.ndarray | float) -> np.ndarray:
        return ((np.log(_roofline_ratios(np.exp(log_i), figures)) - log_true) ** 2).sum(axis=1)

    log_grid = np.log(_GRID)
    losses = loss(log_grid)
    k = int(np.argmin(losses))
    lo, hi = log_grid[max(k - 1, 0)], log_grid[min(k + 1, len(log_grid) - 1)]
    refined = minimize_scalar(lambda x: float(loss(x)[0]), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-6})
    # Keep the grid point when refining does not improve it (flat objective, kinks).
    best = refined.x if refined.success and refined.fun < losses[k] else log_grid[k]
    return float(math.exp(best))


def _lookup(name: str, by_name: dict[str, GpuSpec], specs: Sequence[GpuSpec]) -> GpuSpec | None:
    return by_name.get(name) or find_gpu(name, specs)


def _rows(specs: Sequence[GpuSpec], ratios: Iterable[ThroughputRatio]) -> list[_Row]:
    by_name = {s.name: s for s in specs}
    rows = []
    for r in ratios:
        # "geomean(...)" rows are derived from the per-model rows; self-ratios are 1 by definition.
        if r.task.startswith("geomean") or r.gpu == r.baseline_gpu or not r.relative_throughput > 0:
            continue
        gpu, base = _lookup(r.gpu, by_name, specs), _lookup(r.baseline_gpu, by_name, specs)
        if gpu is None or base is None or gpu.name == base.name:
            continue
        precision = _ROOFLINE_PRECISION.get(r.precision, r.precision)
        g, b = _achievable(gpu, precision), _achievable(base, precision)
        rows.append(_Row(r, gpu, base, (*g, *b) if g and b else None))
    return rows


def _pair(row: _Row) -> frozenset[str]:
    return frozenset((row.gpu.name, row.baseline.name))


def leave_one_out(specs: Sequence[GpuSpec], ratios: Iterable[ThroughputRatio]) -> list[SpeedupCheckRow]:
    """Predict every published ratio with the roofline (fitted without its pair) and the baseline."""
    rows = _rows(specs, ratios)
    by_task: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        by_task.setdefault((row.ratio.task, row.ratio.precision), []).append(row)
    out = []
    for row in rows:
        r = row.ratio
        held_out = _pair(row)
        training = [t for t in by_task[(r.task, r.precision)]
                    if t.figures is not None and _pair(t) != held_out]
        roofline = intensity = None
        if row.figures is not None and training:
            figures = np.array([t.figures for t in training])
            truths = np.array([t.ratio.relative_throughput for t in training])
            intensity = fit_intensity(figures, truths)
            roofline = float(_roofline_ratios(intensity, np.array([row.figures]))[0, 0])
        base = baseline_speedup(row.baseline, row.gpu)
        out.append(SpeedupCheckRow(task=r.task, precision=r.precision, gpu=row.gpu.name,
                                   baseline_gpu=row.baseline.name, true_ratio=r.relative_throughput,
                                   roofline_ratio=roofline, baseline_ratio=base.value if base else None,
                                   fitted_intensity=intensity, fit_pairs=len(training), source=r.source))
    return out


def _method(rows: Sequence[SpeedupCheckRow], method: str, attr: str) -> MethodAccuracy:
    errors = [(abs(getattr(r, attr)), r) for r in rows]
    if not errors:
        return MethodAccuracy(method, 0, math.nan, math.nan, "")
    worst, case = max(errors, key=lambda e: e[0])
    return MethodAccuracy(method=method, rows=len(errors),
                          median_abs_error=statistics.median(e for e, _ in errors), worst_abs_error=worst,
                          worst_case=f"{case.task} {case.precision}: {case.gpu} vs {case.baseline_gpu}")


def summarise(rows: Sequence[SpeedupCheckRow]) -> SpeedupAccuracySummary:
    """Median and worst |relative error| of each method, over the rows where both predicted."""
    both = [r for r in rows if r.roofline_ratio is not None and r.baseline_ratio is not None]
    return SpeedupAccuracySummary(
        rows=len(rows), compared_rows=len(both), tasks=len({(r.task, r.precision) for r in rows}),
        pairs=len({frozenset((r.gpu, r.baseline_gpu)) for r in rows}),
        roofline=_method(both, "roofline", "roofline_error"),
        baseline=_method(both, "tflops-bandwidth-baseline", "baseline_error"))
