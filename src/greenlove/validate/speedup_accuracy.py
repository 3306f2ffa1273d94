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

from ..compare import speedup_model
from ..compare.assumptions import ACHIEVABLE_BANDWIDTH_FRACTION, ACHIEVABLE_COMPUTE_FRACTION
from ..compare.speedup import (
    baseline_speedup,
    peak_tflops,
    published_ratio,
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
        if (r.task.startswith("geomean") or r.gpu == r.baseline_gpu or not r.relative_throughput > 0
                or r.flag):
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


def leave_one_out(specs: Sequence[GpuSpec], ratios: Iterable[ThroughputRatio],
                  case: str = "pair") -> list[SpeedupCheckRow]:
    """Predict every published ratio with the roofline and the baseline; the task's intensity is
    fitted without the held-out pair ('pair', the cell case), or without every row naming the
    held-out GPU ('gpu'). Flagged rows are left out."""
    rows = _rows(specs, ratios)
    by_task: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        by_task.setdefault((row.ratio.task, row.ratio.precision), []).append(row)
    out = []
    for row in rows:
        r = row.ratio
        held_out = _pair(row)
        training = [t for t in by_task[(r.task, r.precision)] if t.figures is not None
                    and (_pair(t) != held_out if case == "pair" else row.gpu.name not in _pair(t))]
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


# --- every method, both leave-one-out cases, errors by family and precision, coverage -----------

CELL, GPU = "cell held out", "GPU held out"


@dataclass(frozen=True)
class ErrorStats:
    """|predicted / published - 1| over held-out ratios, and the coverage of a 95% band built from
    the other GPUs' residuals of the same method, case, family and precision."""

    rows: int
    median: float
    p90: float
    worst: float
    worst_case: str
    coverage_95: float

    @staticmethod
    def of(found: Sequence[tuple[str, float, str, str, str, str]]) -> ErrorStats:
        """found: (key, log residual, gpu, baseline, family, precision) per held-out ratio."""
        if not found:
            return ErrorStats(0, math.nan, math.nan, math.nan, "", math.nan)
        errors = np.abs(np.expm1([f[1] for f in found]))
        worst = int(np.argmax(errors))
        residual_rows = [speedup_model.Residual(g, b, fam, p, r) for _, r, g, b, fam, p in found]
        return ErrorStats(len(found), float(np.median(errors)), float(np.quantile(errors, 0.9)),
                          float(errors[worst]), found[worst][0], speedup_model.coverage(residual_rows))


@dataclass(frozen=True)
class MethodCheck:
    method: str                   # label as printed
    case: str                     # CELL | GPU
    overall: ErrorStats           # on the rows every method predicts (the common rows)
    own_rows: ErrorStats          # on every row this method predicts
    by_group: tuple[tuple[str, str, ErrorStats], ...]   # (family, precision, stats), common rows


@dataclass(frozen=True)
class SpeedupCheck:
    rows: int                     # published ratios, not self-ratios, not derived
    flagged: tuple[ThroughputRatio, ...]
    common_rows: int
    data_as_of: str
    candidates: tuple[MethodCheck, ...]   # the fitted model's penalty candidates
    methods: tuple[MethodCheck, ...]      # fitted (shipped), published, roofline, baseline


def _key(task: str, precision: str, gpu: str, baseline: str, as_of: str) -> str:
    return f"{task} {precision}: {gpu} vs {baseline} ({as_of})"


def _published_loo(specs: Sequence[GpuSpec], usable: Sequence[ThroughputRatio],
                   obs: Sequence[speedup_model.Observation]) -> dict[str, float]:
    """Published ratio of the pair over its other tasks of the family (the cell's own task, in
    every table, removed): what greenlove's published-ratio method says for an unpublished task."""
    by_name = {s.name: s for s in specs}
    out = {}
    for o in obs:
        g, b = by_name.get(o.gpu), by_name.get(o.baseline_gpu)
        if o.is_self or g is None or b is None:
            continue
        rest = [r for r in usable if not ((r.task, r.precision) == (o.task, o.precision)
                                          and o.gpu in (r.gpu, r.baseline_gpu))]
        s = published_ratio(b, g, rest, o.family, o.precision)
        if s is not None and s.detail.startswith("family"):
            out[_key(o.task, o.precision, o.gpu, o.baseline_gpu, o.group[0])] = math.log(s.value)
    return out


def check_speedups(specs: Sequence[GpuSpec], ratios: Sequence[ThroughputRatio]) -> SpeedupCheck:
    """Every speed-up method predicting every usable published ratio, in both cases."""
    ratios = tuple(ratios)
    flagged = tuple(r for r in ratios if r.flag)
    usable = tuple(r for r in ratios if not r.flag)
    obs = speedup_model.observations(usable)
    info = {_key(o.task, o.precision, o.gpu, o.baseline_gpu, o.group[0]): o for o in obs if not o.is_self}
    truth = {k: o.log_ratio for k, o in info.items()}
    predictions: dict[tuple[str, str], dict[str, float]] = {}

    def fitted(penalties: speedup_model.Penalties) -> dict[str, dict[str, float]]:
        out = {}
        for case, name in ((CELL, "cell"), (GPU, "gpu")):
            held = speedup_model.leave_one_out(obs, specs, name, penalties)
            out[case] = {_key(obs[h.index].task, obs[h.index].precision, obs[h.index].gpu,
                              obs[h.index].baseline_gpu, obs[h.index].group[0]): h.predicted_log_ratio
                         for h in held}
        return out

    candidate_predictions = {p.name: fitted(p) for p in speedup_model.CANDIDATE_PENALTIES}
    shipped = speedup_model.DEFAULT_PENALTIES.name
    for case in (CELL, GPU):
        predictions[("fitted model", case)] = candidate_predictions[shipped][case]
    predictions[("published ratio, pair's other tasks of the family", CELL)] = \
        _published_loo(specs, usable, obs)
    for case, mode in ((CELL, "pair"), (GPU, "gpu")):
        roof, base = {}, {}
        for r in leave_one_out(specs, usable, case=mode):
            k = _key(r.task, r.precision, r.gpu, r.baseline_gpu, _as_of(r.source, usable))
            if r.roofline_ratio is not None:
                roof[k] = math.log(r.roofline_ratio)
            if r.baseline_ratio is not None:
                base[k] = math.log(r.baseline_ratio)
        predictions[("roofline from specs, task intensity fitted", case)] = roof
        predictions[("0.7/0.3 baseline (comparison only)", case)] = base
    common = set(truth)
    for name, case in predictions:
        if not name.startswith("published"):
            common &= set(predictions[(name, case)])

    def stats(pred: dict[str, float], keys: Iterable[str]) -> ErrorStats:
        found = []
        for k in sorted(keys):
            if k in pred:
                o = info[k]
                found.append((k, pred[k] - truth[k], o.gpu, o.baseline_gpu, o.family, o.precision))
        return ErrorStats.of(found)

    def method_check(name: str, case: str, pred: dict[str, float]) -> MethodCheck:
        groups = []
        for fam in speedup_model.FAMILIES:
            for prec in speedup_model.PRECISIONS:
                keys = [k for k in common if (info[k].family, info[k].precision) == (fam, prec)]
                groups.append((fam, prec, stats(pred, keys)))
        return MethodCheck(name, case, stats(pred, common), stats(pred, truth), tuple(groups))

    methods = tuple(method_check(name, case, pred) for (name, case), pred in predictions.items())
    candidates = tuple(method_check(name, case, pred[case])
                       for name, pred in candidate_predictions.items() for case in (CELL, GPU))
    return SpeedupCheck(rows=len(truth), flagged=flagged, common_rows=len(common),
                        data_as_of=max(r.as_of for r in usable), candidates=candidates,
                        methods=methods)


def _as_of(source: str, ratios: Sequence[ThroughputRatio]) -> str:
    for r in ratios:
        if r.source == source:
            return r.as_of
    return ""
