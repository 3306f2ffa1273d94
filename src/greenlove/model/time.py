"""From timed sample epochs to a prediction of the full run, with an honest interval.

Pure functions over :class:`~greenlove.measure.EpochRecord` lists. The model:

* per-epoch time is linear in the batches an epoch draws: ``epoch_s(x) = a + b*x``. ``a`` holds
  what every epoch pays whatever its size (a validation pass over a fixed set, checkpointing,
  starting loader workers); ``b`` the cost of one batch. Fitted robustly across sample sizes.
* warm-up (first epochs of the process, first epoch of a loader with persistent workers) is a
  one-off cost: its excess over the line is added once, not per epoch and not scaled by N/n.
* total = warm-up + E * epoch_s(X) for E epochs of X batches. Its variance adds the fitted
  parameters' uncertainty at X (times E^2), the epoch-to-epoch noise (times E), the machine's
  slow drift (times E^2: it does not average out over a run) and a detected trend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.timing import EpochRecord
from .stats import (
    LineFit,
    SplitFit,
    Trend,
    fit_line,
    fit_split,
    fit_trend,
    t_quantile,
    trend_p_value,
    z_quantile,
)

DRIFT_REL_CPU = 0.12
"""Standard deviation of the machine's slow speed drift when training runs on the CPU,
relative (assumption): how far the speed seen in a benchmark of a few seconds may sit from the
mean speed of the minutes or hours of run after it.

Measured on this project's shared 2-core VMs (2026-11-27): over 21 benchmark-then-run pairs
(the seven workloads of ``greenlove validate``, three sessions), the prediction missed the run
by 12.2% root-mean-square (6.5% in the quietest hour, 16.3% in the busiest); the fit's own part
(about 3%) taken out leaves 12%. The epochs of the full runs varied by 5-16% (sd) in waves
lasting many epochs, and two full runs of one training differed by up to 19-24%. A laptop
that boosts its clock at first and throttles under sustained load can drift the same way. Drift is
correlated across epochs: more epochs do not average it. ``greenlove validate --repeat 2``
prints how far two runs differ on your machine.
"""

DRIFT_REL_ACCELERATOR = 0.04
"""The same for training on a GPU (or another accelerator): a whole device is not shared with
noisy neighbours, but clocks settle under sustained power and thermal load. An assumption, not
yet measured (no GPU was lent to this project's accuracy benchmark)."""


def drift_rel_for(device_kind: str) -> float:
    """The drift assumption for training on ``device_kind`` ("cpu" or "accelerator")."""
    return DRIFT_REL_CPU if device_kind == "cpu" else DRIFT_REL_ACCELERATOR


DRIFT_PER_NOISE = 0.5
"""On a machine whose epochs vary by sigma from one to the next, the run as a whole is taken to
drift by at least sigma/2 (the same contention drives both; assumption)."""

WARMUP_UNCERTAINTY_REL = 0.5
"""A one-off warm-up is seen once; its repetition in the real run is taken as +-50% (1 sd)."""

MAX_AUTO_WARMUP = 4
"""In automatic mode at most this many leading epochs are classified as warm-up."""

ELEVATED_MIN_REL = 0.03
"""An epoch counts as warm-up only when this much (and 3 noise sd) above the steady line."""

TREND_MIN_REL = 0.03
"""A trend is reported when steady epochs changed by at least this much over the benchmark."""

TREND_MAX_REL = 0.5
"""Cap on how far a detected trend may widen the interval (relative to the point)."""

MAX_AUTOCORRELATION = 0.8
"""Cap on the lag-1 autocorrelation used to inflate the variance (at most 9x)."""

SHORT_EPOCH_S = 0.01
"""Epochs shorter than this are hard to time against scheduler and timer noise."""

OUTLIER_MIN_REL = 0.05
"""A steady epoch is an outlier (swap spike, noisy neighbour) when this far off the line and
more than OUTLIER_SD robust noise sd; at most MAX_OUTLIER_SHARE of the epochs are classified so."""
OUTLIER_SD = 4.0
MAX_OUTLIER_SHARE = 0.2

ROLE_WARMUP, ROLE_LOADER_START, ROLE_STEADY = "warmup", "loader-start", "steady"
ROLE_OUTLIER = "outlier"


@dataclass(frozen=True)
class Interval:
    point: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        return {"point": self.point, "low": self.low, "high": self.high,
                "confidence": self.confidence}

    def scaled(self, factor: float) -> Interval:
        """This interval times an exact factor >= 0 (a unit change, a price): same confidence."""
        if not (math.isfinite(factor) and factor >= 0):
            raise ValueError(f"factor must be a finite number >= 0 (got {factor!r})")
        return Interval(self.point * factor, self.low * factor, self.high * factor, self.confidence)


@dataclass(frozen=True)
class TimePrediction:
    """The full run's predicted wall time and the evidence behind it (seconds)."""

    time_s: Interval
    epoch_s: Interval             # one steady full-size epoch
    warmup_s: float               # one-off cost added once
    fit: LineFit                  # the line through the sample sizes' epoch times
    split: SplitFit | None        # the split by batch deliveries, where it could be made
    method: str                   # which of the two the prediction uses
    fixed_s: float                # per-epoch cost whatever the size (s)
    per_batch_s: float            # cost of one batch (s)
    roles: tuple[str, ...]        # per record, in record order
    trend: Trend | None
    variance_parts_s2: dict[str, float]   # contribution of each source to Var(total)
    autocorrelation_inflation: float      # variance factor for epochs that are alike in time
    warnings: tuple[str, ...]
    trend_rel: float = 0.0                # relative widening for a detected trend (0: none)


def classify_roles(records: Sequence[EpochRecord], warmup_epochs: int | str) -> tuple[str, ...]:
    """Label each epoch warm-up, loader-start or steady.

    ``warmup_epochs`` an int: the first that many epochs are warm-up. "auto": leading epochs are
    warm-up while they stand clearly above the line fitted to the others. Either way, the first
    epoch served by a new loader counts as loader start-up when it stands clearly above the line.
    """
    n = len(records)
    order = sorted(range(n), key=lambda i: records[i].order)
    if isinstance(warmup_epochs, int):
        prefix = set(order[: min(warmup_epochs, max(n - 2, 0))])
    else:
        prefix = set(order[: min(MAX_AUTO_WARMUP, max(n - 3, 0))])
    loader_first = {i for i in range(n) if records[i].loader_epoch == 0}
    candidates = prefix | loader_first
    reference = [i for i in range(n) if i not in candidates]
    if len(reference) < 3 or len({records[i].sample_batches for i in reference}) < 2:
        reference = [i for i in range(n) if i not in prefix]
    if len(reference) < 2:
        reference = list(range(n))
    fit = fit_line([records[i].sample_batches for i in reference],
                   [records[i].epoch_s for i in reference])
    threshold = max(3 * fit.noise_rel, ELEVATED_MIN_REL)

    def elevated(i: int) -> bool:
        expected = fit.epoch_s(records[i].sample_batches)
        return expected > 0 and records[i].epoch_s / expected - 1 > threshold

    roles = [ROLE_STEADY] * n
    if isinstance(warmup_epochs, int):
        for i in prefix:
            roles[i] = ROLE_WARMUP
    else:
        for i in order:
            if i not in prefix:
                break
            if i != order[0] and i in loader_first:
                continue  # a new loader's first epoch: judged as loader start-up below
            if not elevated(i):
                break
            roles[i] = ROLE_WARMUP
    for i in loader_first:
        if roles[i] == ROLE_STEADY and elevated(i):
            roles[i] = ROLE_LOADER_START
    return tuple(roles)


def _mark_outliers(records: Sequence[EpochRecord], roles: Sequence[str]) -> tuple[str, ...]:
    """Classify steady epochs far off the robust line as outliers (kept, but not fitted)."""
    steady = [i for i, role in enumerate(roles) if role == ROLE_STEADY]
    if len(steady) < 5:
        return tuple(roles)
    fit = fit_line([records[i].sample_batches for i in steady], [records[i].epoch_s for i in steady])
    resid = {}
    for i in steady:
        expected = fit.epoch_s(records[i].sample_batches)
        if expected > 0:
            resid[i] = records[i].epoch_s / expected - 1
    values = np.array(list(resid.values()))
    if values.size == 0:
        return tuple(roles)
    sigma = 1.4826 * float(np.median(np.abs(values - np.median(values))))
    limit = max(OUTLIER_SD * sigma, OUTLIER_MIN_REL)
    far = sorted((i for i, r in resid.items() if abs(r) > limit), key=lambda i: -abs(resid[i]))
    marked = list(roles)
    for i in far[: int(MAX_OUTLIER_SHARE * len(steady))]:
        marked[i] = ROLE_OUTLIER
    return tuple(marked)


def predict_time(
    records: Sequence[EpochRecord],
    *,
    full_batches: int,
    epochs: int,
    warmup_epochs: int | str = "auto",
    confidence: float = 0.95,
    drift_rel: float = DRIFT_REL_CPU,
) -> TimePrediction:
    """Predict the wall time of ``epochs`` epochs of ``full_batches`` batches each."""
    if not records:
        raise ValueError("records is empty: at least one timed epoch is needed")
    roles = _mark_outliers(records, classify_roles(records, warmup_epochs))
    steady = [r for r, role in zip(records, roles) if role == ROLE_STEADY]
    fit = fit_line([r.sample_batches for r in steady], [r.epoch_s for r in steady])
    x_full = float(full_batches)
    warnings: list[str] = []
    split = _usable_split(steady, x_full, fit)
    if split is not None:
        method, fixed_s, per_batch_s = "batch-split", split.outside_s, split.per_batch_s
        var_epoch_param = split.var_epoch_s(x_full)
        other = fit.epoch_s(x_full)
        gap = abs(split.epoch_s(x_full) - other)
        if fit.n >= 3 and len(fit.group_deviation_rel) >= 2 \
                and gap > 3 * math.sqrt(var_epoch_param + fit.var_epoch_s(x_full)) \
                and gap > 0.05 * split.epoch_s(x_full):
            var_epoch_param += (gap / 2) ** 2
            warnings.append(
                "The two readings of the measurements disagree: timing batch by batch gives "
                f"{split.epoch_s(x_full):.3g} s per full epoch, the line through the sample sizes "
                f"{other:.3g} s. The interval is widened to cover both."
            )
    else:
        method, fixed_s, per_batch_s = "epoch-line", fit.intercept_s, fit.slope_s
        var_epoch_param = fit.var_epoch_s(x_full)
    epoch_point = fixed_s + per_batch_s * x_full
    if epoch_point <= 0:
        # Only possible when noise gives a negative slope: nothing sound to extrapolate.
        method, fixed_s, per_batch_s = "median-epoch", 0.0, 0.0
        epoch_point = float(np.median([r.epoch_s for r in steady]))
        var_epoch_param = (fit.noise_rel * epoch_point) ** 2
        warnings.append(
            "Epoch time did not grow with sample size, so the measurements could not be "
            "extrapolated; the median measured epoch is used instead and the prediction is rough."
        )

    excess = [r.epoch_s - (fixed_s + per_batch_s * r.sample_batches)
              for r, role in zip(records, roles) if role == ROLE_WARMUP]
    loader_excess = [r.epoch_s - (fixed_s + per_batch_s * r.sample_batches)
                     for r, role in zip(records, roles) if role == ROLE_LOADER_START]
    warmup_s = max(sum(excess), 0.0)
    if loader_excess:
        warmup_s += max(float(np.median(loader_excess)), 0.0)

    # Epoch times on a shared machine come in slow waves: neighbouring epochs are alike, so the
    # benchmark holds fewer independent looks than epochs. AR(1) inflation of the variance.
    inflation = _autocorrelation_inflation(records, roles, fit)
    trend = _steady_trend(records, roles, fit)
    trend_rel = 0.0
    if trend is not None and trend_p_value(trend, inflation) < 0.01 \
            and abs(trend.change_over_span_rel) >= TREND_MIN_REL:
        trend_rel = min(abs(trend.change_over_span_rel), TREND_MAX_REL)
        direction = "slower" if trend.slope_rel_per_s > 0 else "faster"
        warnings.append(
            f"Epochs of the same size got {abs(trend.change_over_span_rel):.0%} {direction} over "
            f"the {trend.span_s:.1f} s benchmark (a busy or throttling machine, memory growth, "
            "denormal numbers). The interval is widened by that much; if the drift goes on "
            "through the run, the run will fall outside it."
        )

    time_s, epoch_s, parts = run_interval(
        epochs=epochs, epoch_point=epoch_point, var_epoch_param=var_epoch_param,
        noise_rel=fit.noise_rel, dof=fit.dof, inflation=inflation, drift_rel=drift_rel,
        trend_rel=trend_rel, warmup=warmup_s, confidence=confidence,
    )
    warnings += _linearity_warnings(fit, x_full)
    warnings += _short_epoch_warnings(steady)
    return TimePrediction(
        time_s=time_s,
        epoch_s=epoch_s,
        warmup_s=warmup_s,
        fit=fit,
        split=split,
        method=method,
        fixed_s=fixed_s,
        per_batch_s=per_batch_s,
        roles=roles,
        trend=trend,
        autocorrelation_inflation=inflation,
        variance_parts_s2=parts,
        warnings=tuple(warnings),
        trend_rel=trend_rel,
    )


def run_interval(*, epochs: int, epoch_point: float, var_epoch_param: float, noise_rel: float,
                 dof: int, inflation: float, drift_rel: float, trend_rel: float, warmup: float,
                 confidence: float) -> tuple[Interval, Interval, dict[str, float]]:
    """The interval of a run of ``epochs`` epochs of expected cost ``epoch_point`` each plus a
    one-off ``warmup``, and that of one epoch (any additive quantity: seconds, joules).

    Variance parts: the fitted parameters' uncertainty at the full size (x E^2), epoch-to-epoch
    noise (x E), the machine's slow drift and a detected trend (x E^2: neither averages out),
    the warm-up's. Estimated parts take Student t on ``dof``; assumed parts take z.
    """
    var_epoch_param *= inflation
    var_param = epochs**2 * var_epoch_param
    var_noise = epochs * (noise_rel * epoch_point) ** 2 * inflation
    if drift_rel > 0:
        drift_rel = max(drift_rel, DRIFT_PER_NOISE * noise_rel)
    var_drift = (epochs * drift_rel * epoch_point) ** 2
    var_trend = (epochs * trend_rel * epoch_point) ** 2
    var_warmup = (WARMUP_UNCERTAINTY_REL * warmup) ** 2
    t = t_quantile(confidence, dof)
    z = z_quantile(confidence)
    half = math.sqrt(t**2 * (var_param + var_noise) + z**2 * (var_drift + var_trend + var_warmup))
    point = warmup + epochs * epoch_point
    total = Interval(point, max(point - half, warmup), point + half, confidence)
    epoch_half = math.sqrt(t**2 * (var_epoch_param + (noise_rel * epoch_point) ** 2)
                           + z**2 * (drift_rel * epoch_point) ** 2)
    epoch = Interval(epoch_point, max(epoch_point - epoch_half, 0.0), epoch_point + epoch_half,
                     confidence)
    parts = {"fit": var_param, "epoch_noise": var_noise, "drift": var_drift, "trend": var_trend,
             "warmup": var_warmup}
    return total, epoch, parts


def _usable_split(steady: Sequence[EpochRecord], x_full: float, fit: LineFit) -> SplitFit | None:
    """The batch split where every steady epoch has its delivery span and the split holds."""
    timed = [r for r in steady if r.span_s is not None and r.batches_drawn >= 3]
    if len(timed) < 3:
        return None
    split = fit_split([r.batches_drawn for r in timed], [r.span_s for r in timed],
                      [r.epoch_s for r in timed])
    if split is None or split.per_batch_s <= 0:
        return None
    grows = (split.outside_slope_p is not None and split.outside_slope_p < 0.01
             and abs(split.outside_slope_s) * x_full > 0.02 * split.epoch_s(x_full))
    return None if grows else split


def _autocorrelation_inflation(records: Sequence[EpochRecord], roles: Sequence[str],
                               fit: LineFit) -> float:
    """(1 + rho) / (1 - rho) for the lag-1 autocorrelation rho of steady residuals in time."""
    resid = [r.epoch_s / fit.epoch_s(r.sample_batches) - 1
             for r, role in sorted(zip(records, roles), key=lambda p: p[0].order)
             if role == ROLE_STEADY and fit.epoch_s(r.sample_batches) > 0]
    if len(resid) < 8:
        return 1.0
    values = np.asarray(resid) - np.mean(resid)
    denominator = float(np.sum(values**2))
    if denominator <= 0:
        return 1.0
    rho = min(max(float(np.sum(values[1:] * values[:-1])) / denominator, 0.0), MAX_AUTOCORRELATION)
    return (1 + rho) / (1 - rho)


def _steady_trend(records: Sequence[EpochRecord], roles: Sequence[str], fit: LineFit) -> Trend | None:
    times, resid = [], []
    for record, role in zip(records, roles):
        expected = fit.epoch_s(record.sample_batches)
        if role == ROLE_STEADY and expected > 0:
            times.append(record.started_s)
            resid.append(record.epoch_s / expected - 1)
    return fit_trend(times, resid)


def _linearity_warnings(fit: LineFit, x_full: float) -> list[str]:
    if fit.lack_of_fit_p is None or fit.lack_of_fit_p >= 0.01:
        return []
    x_worst, dev = max(fit.group_deviation_rel, key=lambda g: abs(g[1]))
    if abs(dev) < 0.03:
        return []
    side = "above" if dev > 0 else "below"
    return [
        "Epoch time does not grow in a straight line with sample size: at "
        f"{x_worst:.0f} batches it was {abs(dev):.0%} {side} the fitted line. The extrapolation "
        f"to {x_full:.0f} batches is less certain, and the interval is widened to match. "
        "(Caches that hold a small sample but not the full data set cause this.)"
    ]


def _short_epoch_warnings(steady: Sequence[EpochRecord]) -> list[str]:
    typical = float(np.median([r.epoch_s for r in steady]))
    if typical >= SHORT_EPOCH_S:
        return []
    return [
        f"The sampled epochs took only {typical * 1e3:.1f} ms (median), too short to time "
        "reliably; give the benchmark a larger budget_s or sample_fraction for a tighter estimate."
    ]


def proportional_prediction(
    records: Sequence[EpochRecord], roles: Sequence[str], *, full_batches: int, epochs: int
) -> float:
    """The method greenlove started from, kept as a baseline for the accuracy benchmark.

    Only the largest sample size is used, as the original ran every epoch at one size: its
    non-steady epochs are the warm-up epochs, the median steady epoch is the epoch time, and
    every epoch is scaled by N/n: total = sum(warm-up * N/n) + (E - w) * median * N/n.
    """
    largest = max(r.sample_batches for r in records)
    chosen = [(r, role) for r, role in zip(records, roles) if r.sample_batches == largest]
    scale = full_batches / largest
    warm = [r.epoch_s * scale for r, role in chosen if role != ROLE_STEADY]
    steady = [r.epoch_s for r, role in chosen if role == ROLE_STEADY] or [r.epoch_s for r, _ in chosen]
    warm = warm[: max(epochs - 1, 0)]
    return float(sum(warm) + (epochs - len(warm)) * np.median(steady) * scale)


def sqrt_e_interval(epoch_times_s: Sequence[float], epochs: int, confidence: float) -> Interval:
    """The original interval: E * mean +- t * sqrt(E) * sigma (ignores the mean's own error)."""
    values = np.asarray(epoch_times_s, dtype=float)
    mean, sigma = float(values.mean()), float(values.std(ddof=1))
    half = t_quantile(confidence, values.size - 1) * math.sqrt(epochs) * sigma
    return Interval(epochs * mean, epochs * mean - half, epochs * mean + half, confidence)
