"""A model of every published throughput at once: log throughput = table-task effect + spec prior
+ GPU effects, fitted by penalised least squares, and its leave-one-out residuals.

Lambda's tables are a matrix of tasks x GPUs x precisions with holes. For a row of table k (one
source date, task and precision) on GPU g of family f at precision p:

    log(relative throughput) = u_k + x(g, p) . w(f, p) + a(g) + b(g, p) + c(g, f, p) + noise

u_k absorbs the task and the table's baseline; x(g, p) are the GPU's spec figures (log memory
bandwidth, log peak TFLOP/s at the table's precision, log memory size), weighted per family and
precision (w, fitted, unpenalised): the prior a GPU with no published row falls back to. a, b and
c are the GPU's own effects (overall, per precision, per family and precision), shrunk toward 0,
i.e. toward the spec prior, by ridge penalties 1/tau^2 (a Gaussian random-effects model with
fixed variance ratios); a GPU with many rows moves far from its prior, one with none stays on it.
Within one task the u_k cancel, so the speed-up of target over local is the same for every task
of a family: the model predicts a family's speed-up from the rest of the GPU's row and column.

Leave-one-out, two cases (both exact refits, by down-dating the normal equations):
  cell held out: every row of (task, precision, gpu), in every table, and every table-task group
     whose baseline is that GPU, are removed; the row is predicted from the rest;
  GPU held out: every row that names the GPU (as gpu or baseline) is removed: the GPU is then
     known only from its specs, the case of a GPU newer than the table.
Rows flagged in the table (``ThroughputRatio.flag``) are neither fitted nor scored. Pure functions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..data.tables import GpuSpec, ThroughputRatio

FAMILIES = ("conv", "transformer", "recurrent")
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class Penalties:
    """Prior spreads (in natural-log units of throughput) of the GPU effects; smaller = more
    shrinkage toward the spec prior. Chosen by leave-one-out (validate --speedup prints the
    candidates), never by fit."""

    name: str
    tau_gpu: float            # a(g): the GPU overall
    tau_gpu_precision: float  # b(g, p)
    tau_gpu_family: float     # c(g, f, p)
    tau_gpu_table: float = 0.0  # e(g, table date): the same GPU in another table (0: no term)
    spec_prior: bool = True   # False: no spec features (a GPU without rows is then unpredictable)


# The shipped choice (see README "How good are the speed-ups?" for the candidates' figures).
DEFAULT_PENALTIES = Penalties("moderate shrinkage", tau_gpu=1.0, tau_gpu_precision=0.3, tau_gpu_family=0.3,
                              tau_gpu_table=0.3)
# The others validate --speedup puts beside it: the choice is defended by their leave-one-out.
CANDIDATE_PENALTIES = (
    DEFAULT_PENALTIES,
    Penalties("strong shrinkage", tau_gpu=0.3, tau_gpu_precision=0.1, tau_gpu_family=0.1,
              tau_gpu_table=0.1),
    Penalties("weak shrinkage", tau_gpu=3.0, tau_gpu_precision=1.0, tau_gpu_family=1.0,
              tau_gpu_table=1.0),
    Penalties("no spec prior", tau_gpu=1.0, tau_gpu_precision=0.3, tau_gpu_family=0.3,
              tau_gpu_table=0.3, spec_prior=False),
)
_FIXED_PENALTY = 1e-6   # on u and w: keeps the normal equations definite when a group is emptied


def table_precision(precision: str) -> str | None:
    """The published tables' precision for a run's: 'fp32' rows ran TF32 on Ampere and newer;
    bf16 is compared with the fp16 (AMP) rows. None where the tables have no such rows."""
    return {"fp32": "fp32", "tf32": "fp32", "fp16": "fp16", "bf16": "fp16"}.get(precision)


def _peak(spec: GpuSpec, precision: str) -> float | None:
    if precision == "fp32":
        return spec.tf32_tflops_dense or spec.fp32_tflops
    return spec.fp16_tflops_dense or spec.bf16_tflops_dense or spec.fp32_tflops


def spec_features(spec: GpuSpec | None, precision: str) -> np.ndarray | None:
    """(log GB/s, log TFLOP/s at the table precision, log GB, 1 if that TFLOP/s is the fp32
    column standing in for a missing tensor figure); None when a figure is missing."""
    if spec is None:
        return None
    peak = _peak(spec, precision)
    if not (peak and spec.memory_bandwidth_gbs and spec.memory_gb):
        return None
    tensor = spec.tf32_tflops_dense if precision == "fp32" else (spec.fp16_tflops_dense
                                                                  or spec.bf16_tflops_dense)
    stand_in = 0.0 if tensor or precision == "fp32" else 1.0
    return np.array([math.log(spec.memory_bandwidth_gbs), math.log(peak), math.log(spec.memory_gb),
                     stand_in])


_N_FEATURES = 4


@dataclass(frozen=True)
class Observation:
    """One usable published row: log(relative throughput) of ``gpu`` in its table-task group."""

    group: tuple[str, str, str]   # (as_of, task, precision)
    task: str
    family: str
    precision: str
    gpu: str
    baseline_gpu: str
    log_ratio: float
    source: str

    @property
    def is_self(self) -> bool:
        return self.gpu == self.baseline_gpu


def observations(ratios: Iterable[ThroughputRatio]) -> tuple[Observation, ...]:
    """The rows the model uses: per-model rows (not the derived geomeans), not flagged, with a
    family and precision the model knows. Baseline self-rows (1.0) are kept: they are the
    baseline's own cell."""
    out = []
    for r in ratios:
        if (r.task.startswith("geomean") or getattr(r, "flag", "") or r.family not in FAMILIES
                or r.precision not in PRECISIONS or not r.relative_throughput > 0):
            continue
        out.append(Observation((r.as_of, r.task, r.precision), r.task, r.family, r.precision, r.gpu,
                               r.baseline_gpu, math.log(r.relative_throughput), r.source))
    return tuple(out)


@dataclass(frozen=True)
class _Design:
    matrix: np.ndarray          # (rows, parameters)
    y: np.ndarray
    penalty: np.ndarray         # (parameters,) ridge weights
    columns: dict[tuple, int]   # parameter key -> column


def _design(obs: Sequence[Observation], specs: dict[str, GpuSpec], pen: Penalties) -> _Design:
    columns: dict[tuple, int] = {}
    penalty: list[float] = []

    def col(key: tuple, weight: float) -> int:
        if key not in columns:
            columns[key] = len(columns)
            penalty.append(weight)
        return columns[key]

    entries: list[tuple[int, int, float]] = []
    for i, o in enumerate(obs):
        entries.append((i, col(("u", o.group), _FIXED_PENALTY), 1.0))
        features = spec_features(specs.get(o.gpu), o.precision) if pen.spec_prior else None
        if features is not None:
            for j, x in enumerate(features):
                entries.append((i, col(("w", o.family, o.precision, j), _FIXED_PENALTY), float(x)))
        entries.append((i, col(("a", o.gpu), 1 / pen.tau_gpu ** 2), 1.0))
        entries.append((i, col(("b", o.gpu, o.precision), 1 / pen.tau_gpu_precision ** 2), 1.0))
        entries.append((i, col(("c", o.gpu, o.family, o.precision), 1 / pen.tau_gpu_family ** 2), 1.0))
        if pen.tau_gpu_table > 0:
            entries.append((i, col(("e", o.gpu, o.group[0]), 1 / pen.tau_gpu_table ** 2), 1.0))
    # Every spec weight exists even when no row used it, so predictions can always look it up.
    for f in FAMILIES:
        for p in PRECISIONS:
            for j in range(_N_FEATURES):
                col(("w", f, p, j), _FIXED_PENALTY)
    matrix = np.zeros((len(obs), len(columns)))
    for i, j, x in entries:
        matrix[i, j] += x
    return _Design(matrix, np.array([o.log_ratio for o in obs]), np.array(penalty), columns)


@dataclass(frozen=True)
class SpeedupModel:
    """Fitted coefficients; ``gpus_with_rows`` are the GPUs the table has published rows for."""

    penalties: Penalties
    coefficients: dict[tuple, float]
    gpus_with_rows: frozenset[str]
    rows: int
    data_as_of: str               # the newest table date fitted

    def log_throughput(self, spec: GpuSpec | None, name: str, family: str,
                       precision: str) -> float | None:
        """Predicted log throughput of a GPU for a family and table precision, up to the
        group offset (which cancels in a ratio); None when it has neither rows nor specs."""
        coef = self.coefficients
        total = 0.0
        if self.penalties.spec_prior:
            features = spec_features(spec, precision)
            if features is None and name not in self.gpus_with_rows:
                return None
            if features is not None:
                total += sum(coef.get(("w", family, precision, j), 0.0) * x
                             for j, x in enumerate(features))
        elif name not in self.gpus_with_rows:
            return None
        return total + coef.get(("a", name), 0.0) + coef.get(("b", name, precision), 0.0) \
            + coef.get(("c", name, family, precision), 0.0)

    def ratio(self, local: GpuSpec, target: GpuSpec, family: str, precision: str) -> float | None:
        """Throughput of target over local for a workload family ('other': the geometric mean
        over the families) at a table precision; None when either GPU is unpredictable."""
        families = (family,) if family in FAMILIES else FAMILIES
        logs = []
        for f in families:
            lt = self.log_throughput(target, target.name, f, precision)
            ll = self.log_throughput(local, local.name, f, precision)
            if lt is None or ll is None:
                return None
            logs.append(lt - ll)
        return math.exp(sum(logs) / len(logs))


def _solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.linalg.solve(gram, rhs)


def fit(obs: Sequence[Observation], specs: Sequence[GpuSpec],
        penalties: Penalties = DEFAULT_PENALTIES) -> SpeedupModel:
    """Penalised least-squares fit on every observation."""
    by_name = {s.name: s for s in specs}
    d = _design(obs, by_name, penalties)
    beta = _solve(d.matrix.T @ d.matrix + np.diag(d.penalty), d.matrix.T @ d.y)
    keys = sorted(d.columns, key=d.columns.get)
    return SpeedupModel(penalties, {k: float(beta[d.columns[k]]) for k in keys},
                        frozenset(o.gpu for o in obs) | frozenset(o.baseline_gpu for o in obs),
                        len(obs), max((o.group[0] for o in obs), default=""))


@dataclass(frozen=True)
class HeldOut:
    """One published ratio (not a self-row) predicted with its cell or its GPU left out."""

    case: str                 # "cell" | "gpu"
    index: int                # into the observations
    predicted_log_ratio: float

    def residual(self, obs: Sequence[Observation]) -> float:
        """log(predicted / published)."""
        return self.predicted_log_ratio - obs[self.index].log_ratio


def _held_out_sets(obs: Sequence[Observation], case: str) -> list[tuple[int, np.ndarray]]:
    """(row to predict, rows removed) for every non-self row."""
    out = []
    if case == "cell":
        for i, o in enumerate(obs):
            if o.is_self:
                continue
            removed = [j for j, q in enumerate(obs)
                       if (q.task, q.precision) == (o.task, o.precision)
                       and (q.gpu == o.gpu or q.baseline_gpu == o.gpu)]
            out.append((i, np.array(removed)))
    else:
        by_gpu: dict[str, np.ndarray] = {}
        for i, o in enumerate(obs):
            if o.is_self:
                continue
            if o.gpu not in by_gpu:
                by_gpu[o.gpu] = np.array([j for j, q in enumerate(obs)
                                          if o.gpu in (q.gpu, q.baseline_gpu)])
            out.append((i, by_gpu[o.gpu]))
    return out


def leave_one_out(obs: Sequence[Observation], specs: Sequence[GpuSpec], case: str,
                  penalties: Penalties = DEFAULT_PENALTIES) -> tuple[HeldOut, ...]:
    """Every non-self row predicted by a refit without its cell ('cell') or its GPU ('gpu').

    The refit down-dates the normal equations (X'X + P - X_S'X_S) instead of rebuilding them;
    a row whose GPU then has neither rows nor spec features is skipped (unpredictable).
    """
    if case not in ("cell", "gpu"):
        raise ValueError(f"case must be 'cell' or 'gpu', got {case!r}")
    by_name = {s.name: s for s in specs}
    d = _design(obs, by_name, penalties)
    x, y = d.matrix, d.y
    gram, rhs = x.T @ x + np.diag(d.penalty), x.T @ y
    out = []
    cache: dict[bytes, np.ndarray] = {}
    for i, removed in _held_out_sets(obs, case):
        o = obs[i]
        if case == "gpu" and (not penalties.spec_prior
                              or spec_features(by_name.get(o.gpu), o.precision) is None):
            continue
        key = removed.tobytes()
        if key not in cache:
            xs = x[removed]
            cache[key] = _solve(gram - xs.T @ xs, rhs - xs.T @ y[removed])
        beta = cache[key]
        out.append(HeldOut(case, i, float(x[i] @ beta)))
    return tuple(out)


def conformal_half_width(abs_log_residuals: Sequence[float], confidence: float) -> float:
    """Half-width (natural log) that a new residual exceeds with probability <= 1 - confidence:
    the ceil((n + 1) c)-th smallest of n exchangeable |residuals| (split-conformal rule);
    inf when n is too small for that rank to exist."""
    n = len(abs_log_residuals)
    rank = math.ceil((n + 1) * confidence)
    if rank > n:
        return math.inf
    return float(np.sort(np.asarray(abs_log_residuals, dtype=float))[rank - 1])


BandKey = tuple[str, str]   # (family or "any", table precision)


@dataclass(frozen=True)
class Residual:
    """log(predicted / published) of one held-out ratio, with what groups it."""

    gpu: str
    baseline_gpu: str
    family: str
    precision: str
    log_residual: float


def residuals(obs: Sequence[Observation], held: Sequence[HeldOut]) -> tuple[Residual, ...]:
    return tuple(Residual(obs[h.index].gpu, obs[h.index].baseline_gpu, obs[h.index].family,
                          obs[h.index].precision, h.residual(obs)) for h in held)


def residual_bands(found: Sequence[Residual], confidence: float = 0.95,
                   exclude_gpu: str | None = None) -> dict[BandKey, tuple[float, int]]:
    """(half-width in natural log, residuals used) per (family, precision), and per ("any",
    precision) pooling the families; ``exclude_gpu`` leaves out every residual naming that GPU
    (to measure coverage on it honestly)."""
    groups: dict[BandKey, list[float]] = {}
    for r in found:
        if exclude_gpu in (r.gpu, r.baseline_gpu):
            continue
        groups.setdefault((r.family, r.precision), []).append(abs(r.log_residual))
        groups.setdefault(("any", r.precision), []).append(abs(r.log_residual))
    return {k: (conformal_half_width(v, confidence), len(v)) for k, v in groups.items()}


def coverage(found: Sequence[Residual], confidence: float = 0.95) -> float:
    """Share of held-out ratios inside their band, each band built without any residual of the
    ratio's GPU (nested leave-one-out: the band never saw the GPU it is judged on)."""
    if not found:
        return math.nan
    bands_without = {g: residual_bands(found, confidence, exclude_gpu=g) for g in {r.gpu for r in found}}
    inside = [abs(r.log_residual) <= bands_without[r.gpu].get((r.family, r.precision), (math.inf, 0))[0]
              for r in found]
    return float(np.mean(inside))


@dataclass(frozen=True)
class FittedSpeedups:
    """The model fitted on every usable row, and its 95% bands from both leave-one-out cases."""

    model: SpeedupModel
    cell_bands: dict[BandKey, tuple[float, int]]
    gpu_bands: dict[BandKey, tuple[float, int]]
    confidence: float


def prepare(ratios: Iterable[ThroughputRatio], specs: Sequence[GpuSpec], confidence: float = 0.95,
            penalties: Penalties = DEFAULT_PENALTIES) -> FittedSpeedups | None:
    """Fit and calibrate (one to several seconds on the shipped table, so done once per
    process for the same tables); None without usable rows."""
    try:
        return _prepare_once(tuple(ratios), tuple(specs), confidence, penalties)
    except TypeError:     # an unhashable row (a user's own table of lists): not cached
        return _prepare(tuple(ratios), tuple(specs), confidence, penalties)


@functools.lru_cache(maxsize=4)
def _prepare_once(ratios: tuple[ThroughputRatio, ...], specs: tuple[GpuSpec, ...],
                  confidence: float, penalties: Penalties) -> FittedSpeedups | None:
    return _prepare(ratios, specs, confidence, penalties)


def _prepare(ratios: Sequence[ThroughputRatio], specs: Sequence[GpuSpec], confidence: float,
             penalties: Penalties) -> FittedSpeedups | None:
    obs = observations(ratios)
    if not any(not o.is_self for o in obs):
        return None
    model = fit(obs, specs, penalties)
    cell = residual_bands(residuals(obs, leave_one_out(obs, specs, "cell", penalties)), confidence)
    gpu = residual_bands(residuals(obs, leave_one_out(obs, specs, "gpu", penalties)), confidence)
    return FittedSpeedups(model, cell, gpu, confidence)
