"""Robust straight-line fits and their uncertainty (pure functions, seconds in, seconds out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

HUBER_K = 1.345
"""Huber's tuning constant: 95% efficiency under normal noise, bounded influence of spikes."""

MIN_REL_SCALE = 1e-4
"""Floor on the relative noise scale, so that perfectly regular (simulated) data stays fittable."""


@dataclass(frozen=True)
class LineFit:
    """epoch_s(x) = intercept_s + slope_s * x, fitted with relative (multiplicative) noise.

    ``covariance`` is that of (intercept_s, slope_s); ``noise_rel`` is the robust standard
    deviation of one epoch's time relative to its expectation; ``dof`` the residual degrees of
    freedom. ``lack_of_fit_*`` compare the scatter of the size means around the line with the
    scatter within sizes (an F test; None where it cannot be computed).
    """

    intercept_s: float
    slope_s: float
    covariance: tuple[tuple[float, float], tuple[float, float]]
    noise_rel: float
    dof: int
    n: int
    lack_of_fit_f: float | None
    lack_of_fit_p: float | None
    group_deviation_rel: tuple[tuple[float, float], ...]   # (x, mean relative residual) per size

    def epoch_s(self, x: float) -> float:
        return self.intercept_s + self.slope_s * x

    def var_epoch_s(self, x: float) -> float:
        """Variance (s^2) of the fitted mean epoch time at x, from the parameter uncertainty."""
        g = np.array([1.0, x])
        return float(g @ np.array(self.covariance) @ g)


def _group_medians(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    scale = np.empty_like(y)
    for value in np.unique(x):
        mask = x == value
        scale[mask] = np.median(y[mask])
    return scale


def _mad_sigma(r: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def fit_line(x: Sequence[float], y: Sequence[float]) -> LineFit:
    """Robust fit of y = a + b*x with noise proportional to the expected y.

    Residuals are taken relative to each size's median epoch time, so a 5% spike weighs the same
    at every size, and a Huber loss bounds the pull of swap spikes and noisy neighbours. With a
    single distinct x the model is the (robust) mean through the origin's ray: y = b*x.
    """
    x_arr = np.asarray(x, dtype=float)
    y_arr = np.asarray(y, dtype=float)
    if x_arr.shape != y_arr.shape or x_arr.size == 0:
        raise ValueError("x and y must be non-empty and of equal length")
    if not (np.all(np.isfinite(y_arr)) and np.all(y_arr > 0)):
        raise ValueError("epoch times must be finite and > 0")
    scale = _group_medians(x_arr, y_arr)
    distinct = np.unique(x_arr).size
    n = x_arr.size
    if distinct == 1:
        return _fit_ratio(x_arr, y_arr, scale)

    design = np.column_stack([np.ones(n), x_arr]) / scale[:, None]
    target = y_arr / scale
    start, *_ = np.linalg.lstsq(design, target, rcond=None)
    sigma0 = max(_mad_sigma(target - design @ start), MIN_REL_SCALE)
    f_scale = HUBER_K * sigma0
    solution = optimize.least_squares(
        lambda p: design @ p - target, start, loss="huber", f_scale=f_scale, method="trf"
    )
    params = solution.x
    resid = target - design @ params
    weights = np.minimum(1.0, f_scale / np.maximum(np.abs(resid), 1e-300))
    dof = max(n - 2, 1)
    sigma = max(float(np.sqrt(np.sum(weights * resid**2) / dof)), MIN_REL_SCALE)
    info = design.T @ (weights[:, None] * design)
    covariance = sigma**2 * np.linalg.pinv(info)

    f_value, p_value, groups = _lack_of_fit(x_arr, np.clip(resid, -f_scale * 3, f_scale * 3))
    if f_value is not None and f_value > 1.0:
        # The size means scatter more than within-size noise explains: the line's parameters
        # are less certain than the pooled residuals say, so their covariance grows by F.
        covariance = covariance * f_value
    return LineFit(
        intercept_s=float(params[0]),
        slope_s=float(params[1]),
        covariance=((float(covariance[0, 0]), float(covariance[0, 1])),
                    (float(covariance[1, 0]), float(covariance[1, 1]))),
        noise_rel=sigma,
        dof=n - 2 if n > 2 else 1,
        n=n,
        lack_of_fit_f=f_value,
        lack_of_fit_p=p_value,
        group_deviation_rel=groups,
    )


def _fit_ratio(x: np.ndarray, y: np.ndarray, scale: np.ndarray) -> LineFit:
    n = y.size
    center = float(np.median(y))
    sigma = max(_mad_sigma(y / scale), MIN_REL_SCALE) if n > 2 else \
        max(float(np.std(y / scale, ddof=1)) if n > 1 else 0.0, MIN_REL_SCALE)
    x0 = float(x[0])
    var_mean = (sigma * center) ** 2 / n
    # Median of a normal sample: efficiency 2/pi relative to the mean.
    var_mean *= np.pi / 2
    return LineFit(
        intercept_s=0.0,
        slope_s=center / x0,
        covariance=((0.0, 0.0), (0.0, var_mean / x0**2)),
        noise_rel=sigma,
        dof=max(n - 1, 1),
        n=n,
        lack_of_fit_f=None,
        lack_of_fit_p=None,
        group_deviation_rel=((x0, 0.0),),
    )


def _lack_of_fit(
    x: np.ndarray, resid: np.ndarray
) -> tuple[float | None, float | None, tuple[tuple[float, float], ...]]:
    values = np.unique(x)
    means = {float(v): float(np.mean(resid[x == v])) for v in values}
    groups = tuple(sorted(means.items()))
    n, g = resid.size, values.size
    df_lof, df_pe = g - 2, n - g
    if df_lof < 1 or df_pe < 1:
        return None, None, groups
    ss_pe = sum(float(np.sum((resid[x == v] - means[float(v)]) ** 2)) for v in values)
    ss_lof = sum(float(np.sum(x == v)) * (means[float(v)] - 0.0) ** 2 for v in values)
    if ss_pe <= 0:
        return None, None, groups
    f_value = (ss_lof / df_lof) / (ss_pe / df_pe)
    p_value = float(stats.f.sf(f_value, df_lof, df_pe))
    return float(f_value), p_value, groups


@dataclass(frozen=True)
class Trend:
    """Least-squares slope of relative residuals against time (fraction per second)."""

    slope_rel_per_s: float
    stderr: float
    p_value: float
    span_s: float

    @property
    def change_over_span_rel(self) -> float:
        return self.slope_rel_per_s * self.span_s


def fit_trend(times_s: Sequence[float], resid_rel: Sequence[float]) -> Trend | None:
    """Slope of residuals over time, or None with too few points to tell."""
    t = np.asarray(times_s, dtype=float)
    r = np.asarray(resid_rel, dtype=float)
    if t.size < 5 or np.ptp(t) <= 0:
        return None
    result = stats.linregress(t, r)
    return Trend(float(result.slope), float(result.stderr), float(result.pvalue), float(np.ptp(t)))


def trend_p_value(trend: Trend, inflation: float = 1.0) -> float:
    """Two-sided p-value of the trend with its standard error inflated for autocorrelation."""
    if trend.stderr <= 0:
        return 0.0 if trend.slope_rel_per_s != 0 else 1.0
    z = abs(trend.slope_rel_per_s) / (trend.stderr * np.sqrt(max(inflation, 1.0)))
    return float(2 * stats.norm.sf(z))


def t_quantile(confidence: float, dof: float) -> float:
    """Two-sided Student t quantile for the given confidence."""
    return float(stats.t.ppf(0.5 + confidence / 2, max(dof, 1)))


def z_quantile(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


@dataclass(frozen=True)
class SplitFit:
    """Epoch time split by batch deliveries: epoch_s(x) = outside_s + per_batch_s * x.

    ``per_batch_s`` is the pooled rate of batch deliveries inside epochs (first to last batch),
    ``outside_s`` the mean of what each epoch spent beyond its batches at that rate (loader
    start-up, validation, checkpoints). Variances are those of the two estimates (s^2).
    ``outside_slope_p`` tests whether the outside part grows with the sample, which it must not
    for the split to hold (it does when queued device work drains after the loop).
    """

    per_batch_s: float
    per_batch_var: float
    outside_s: float
    outside_var: float
    n: int
    outside_slope_s: float
    outside_slope_p: float | None

    def epoch_s(self, x: float) -> float:
        return self.outside_s + self.per_batch_s * x

    def var_epoch_s(self, x: float) -> float:
        return self.outside_var + x * x * self.per_batch_var


def fit_split(batches: Sequence[int], spans_s: Sequence[float], epochs_s: Sequence[float]) -> SplitFit | None:
    """Per-batch rate from the span of deliveries, fixed part from the rest (None if too few)."""
    d = np.asarray(batches, dtype=float)
    span = np.asarray(spans_s, dtype=float)
    total = np.asarray(epochs_s, dtype=float)
    n = d.size
    if n < 3 or np.any(d < 3):
        return None
    intervals = d - 1
    rate = float(span.sum() / intervals.sum())
    rates = span / intervals
    rate_var = float(n / (n - 1) * np.sum(intervals**2 * (rates - rate) ** 2) / intervals.sum() ** 2)
    outside = total - rate * d
    outside_mean = float(outside.mean())
    outside_var = float(outside.var(ddof=1) / n)
    slope, p_value = 0.0, None
    if np.unique(d).size >= 2:
        result = stats.linregress(d, outside)
        slope, p_value = float(result.slope), float(result.pvalue)
    return SplitFit(rate, rate_var, outside_mean, outside_var, n, slope, p_value)
