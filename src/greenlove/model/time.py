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
from dataclasses import dataclass, replace

import numpy as np

from ..measure.timing import EpochRecord
from .assumptions import DRIFT_PER_NOISE, DRIFT_REL_CPU, LOAD_CHANGE, WARMUP_UNCERTAINTY_REL
from .interval import Interval
from .roles import (
    ROLE_COMPILE,
    ROLE_LOADER_START,
    ROLE_STEADY,
    ROLE_WARMUP,
    classify_roles,
    mark_outliers,
)
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

TREND_MIN_REL = 0.03
"""A trend is reported when steady epochs changed by at least this much over the benchmark."""


TREND_MAX_REL = 0.5
"""Cap on how far a detected trend may widen the interval (relative to the point)."""


MAX_AUTOCORRELATION = 0.8
"""Cap on the lag-1 autocorrelation used to inflate the variance (at most 9x)."""


SHORT_EPOCH_S = 0.01
"""Epochs shorter than this are hard to time against scheduler and timer noise."""


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
    compile_s: float = 0.0                # torch.compile's compiling in the benchmark, booked
    #                                       apart: not in time_s (this process compiled already)


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
    roles = mark_outliers(records, classify_roles(records, warmup_epochs))
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
    # A compile epoch: what it spent beyond a steady epoch and its compiling is warm-up too
    # (a first step's allocations...); the compiling itself is booked apart (compile_s).
    excess += [max(r.epoch_s - r.compile_s - (fixed_s + per_batch_s * r.sample_batches), 0.0)
               for r, role in zip(records, roles) if role == ROLE_COMPILE]
    compile_s = sum(r.compile_s for r in records)
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
        compile_s=compile_s,
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


def widened_for_load(prediction: TimePrediction, load_share: float) -> TimePrediction:
    """The prediction with the chance that the machine's load changes during the run: a
    relative sd of ``LOAD_CHANGE * load_share`` on the run's epochs (not the warm-up), added in
    quadrature to the interval's half-width (z, since it is assumed)."""
    rel = LOAD_CHANGE.value * max(load_share, 0.0)
    if rel <= 0:
        return prediction
    t, e = prediction.time_s, prediction.epoch_s
    z = z_quantile(t.confidence)
    run_s = max(t.point - prediction.warmup_s, 0.0)
    extra = (z * rel * run_s) ** 2

    def wider(interval: Interval, extra_sq: float, floor: float) -> Interval:
        high = interval.point + math.sqrt((interval.high - interval.point) ** 2 + extra_sq)
        low = interval.point - math.sqrt((interval.point - interval.low) ** 2 + extra_sq)
        return Interval(interval.point, max(low, floor), high, interval.confidence)

    parts = {**prediction.variance_parts_s2, "load": (rel * run_s) ** 2}
    return replace(prediction, time_s=wider(t, extra, prediction.warmup_s),
                   epoch_s=wider(e, (z * rel * e.point) ** 2, 0.0), variance_parts_s2=parts)
