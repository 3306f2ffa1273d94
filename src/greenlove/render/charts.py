"""Chart geometry for the HTML report: pure functions from report data to coordinates.

Nothing here writes markup: the template draws the SVG from these numbers, with autoescaping, so
no user string is ever pasted into markup by hand. Coordinates are in a fixed viewBox; the SVG
scales to its container.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..result import ReportData
from .format import duration, percent, span

WIDTH, HEIGHT = 640.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 64.0, 16.0, 16.0, 44.0


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Axes:
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_label: str
    y_label: str
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM
    width: float = WIDTH
    height: float = HEIGHT


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str          # text alternative / tooltip
    role: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: str         # "x,y x,y ..." for a polyline
    colour: int         # index into the palette
    dashed: bool = False


@dataclass(frozen=True)
class Area:
    name: str
    points: str         # "x,y x,y ..." for a closed polygon
    colour: int


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line across the plot."""

    y: float
    label: str
    colour: int
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    axes: Axes
    points: tuple[Point, ...] = ()
    series: tuple[Series, ...] = ()
    bands: tuple[tuple[float, float, str], ...] = ()      # (x0, x1, label) shaded spans
    error_bars: tuple[tuple[float, float, float, str], ...] = ()  # (x, y_low, y_high, label)
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    areas: tuple[Area, ...] = ()
    rules: tuple[Rule, ...] = ()


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 5 x 10^k steps)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) / (high - low) * (out_high - out_low)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _seconds_unit(max_s: float) -> tuple[float, str]:
    return (1e3, "ms") if max_s < 1 else (1.0, "s")


def epoch_chart(report: ReportData) -> Chart | None:
    """Epoch time against batches per epoch (log x): every timed epoch, the fitted line from
    the smallest sample to the full size, and the predicted full epoch with its interval."""
    bench, pred, plan = report.benchmark, report.prediction, report.plan
    if not bench.epochs:
        return None
    fit = pred.fit
    xs = [r.sample_batches for r in bench.epochs] + [plan.batches_per_epoch]
    ys = [r.epoch_s for r in bench.epochs] + [pred.epoch_s.high]
    x_low, x_high = math.log10(max(min(xs), 1) / 1.5), math.log10(max(xs) * 1.5)
    y_high = max(ys) * 1.1
    factor, unit = _seconds_unit(y_high)
    axes_left, axes_right = LEFT, WIDTH - RIGHT
    axes_top, axes_bottom = TOP, HEIGHT - BOTTOM

    def px(x: float) -> float:
        return _scale(math.log10(max(x, 1e-9)), x_low, x_high, axes_left, axes_right)

    def py(y: float) -> float:
        return _scale(y, 0.0, y_high, axes_bottom, axes_top)

    x_ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000,
                           50_000, 100_000, 200_000, 500_000, 1_000_000)
               if x_low <= math.log10(t) <= x_high]
    y_ticks = nice_ticks(0.0, y_high)
    points = tuple(
        Point(px(r.sample_batches), py(r.epoch_s),
              f"epoch {r.order + 1}: {r.sample_batches} batches, {r.epoch_s * factor:.3g} {unit} ({role})",
              role)
        for r, role in zip(bench.epochs, bench.roles)
    )
    line_from = min(r.sample_batches for r in bench.epochs)
    samples = [line_from * (plan.batches_per_epoch / line_from) ** (i / 60) for i in range(61)]
    measured_to = max(r.sample_batches for r in bench.epochs)

    def polyline(values: Sequence[float]) -> str:
        return " ".join(f"{px(x):.1f},{py(fit.intercept_s + fit.per_batch_s * x):.1f}" for x in values)

    fitted = [x for x in samples if x <= measured_to] + [measured_to]
    extrapolated = [measured_to] + [x for x in samples if x > measured_to]
    series = (
        Series("fitted line over the measured sizes", polyline(fitted), 0),
        Series("extrapolation to the full data set", polyline(extrapolated), 0, dashed=True),
    )
    full_x = px(plan.batches_per_epoch)
    error = ((full_x, py(pred.epoch_s.low), py(pred.epoch_s.high),
              f"predicted full epoch: {pred.epoch_s.point * factor:.3g} {unit} "
              f"({pred.epoch_s.low * factor:.3g}-{pred.epoch_s.high * factor:.3g} {unit})"),)
    axes = Axes(
        x_ticks=tuple(Tick(px(t), _fmt(t)) for t in x_ticks),
        y_ticks=tuple(Tick(py(t), _fmt(t * factor)) for t in y_ticks),
        x_label="batches per epoch (log scale)", y_label=f"epoch time ({unit})",
    )
    description = (f"{len(points)} timed epochs at {len({r.sample_batches for r in bench.epochs})} "
                   f"sample sizes from {line_from} to {measured_to} batches; the fitted line "
                   f"epoch = {fit.intercept_s * factor:.3g} {unit} + {fit.per_batch_s * factor:.3g} "
                   f"{unit} x batches extrapolates to {pred.epoch_s.point * factor:.3g} {unit} at the "
                   f"full {plan.batches_per_epoch} batches.")
    return Chart(axes=axes, points=points, series=series, error_bars=error, description=description,
                 extra={"full_x": full_x, "full_y": py(pred.epoch_s.point)})


def power_chart(report: ReportData) -> Chart | None:
    """Power over the benchmark per device (W), the idle baseline shaded."""
    energy = report.benchmark.energy
    if energy is None:
        return None
    devices = [d for d in energy.devices if d.timeline_s]
    if not devices:
        return None
    t_high = max(max(d.timeline_s) for d in devices) * 1.02
    w_high = max(max(d.timeline_w) for d in devices) * 1.15 or 1.0

    def px(t: float) -> float:
        return _scale(t, 0.0, t_high, LEFT, WIDTH - RIGHT)

    def py(w: float) -> float:
        return _scale(w, 0.0, w_high, HEIGHT - BOTTOM, TOP)

    series = tuple(
        Series(f"{d.name} ({d.method})",
               " ".join(f"{px(t):.1f},{py(w):.1f}" for t, w in zip(d.timeline_s, d.timeline_w)), i)
        for i, d in enumerate(devices)
    )
    bands = ()
    if energy.idle_window_s is not None:
        a, b = energy.idle_window_s
        bands = ((px(a), px(b), "idle baseline"),)
    axes = Axes(
        x_ticks=tuple(Tick(px(t), _fmt(t)) for t in nice_ticks(0.0, t_high) if t <= t_high),
        y_ticks=tuple(Tick(py(w), _fmt(w)) for w in nice_ticks(0.0, w_high) if w <= w_high),
        x_label="seconds since the benchmark began", y_label="power (W)",
    )
    parts = []
    for d in devices:
        idle = "" if d.idle_power_w is None else f", idle {d.idle_power_w:.3g} W"
        mean = "" if d.mean_power_w is None else f"mean {d.mean_power_w:.3g} W while training"
        parts.append(f"{d.name} ({d.method}): {mean}{idle}")
    return Chart(axes=axes, series=series, bands=bands, description="; ".join(parts) + ".")


def _run_time_unit(max_s: float) -> tuple[float, str]:
    """The unit a whole run's time reads best in: (factor from seconds, unit)."""
    if max_s < 1:
        return 1e3, "ms"
    if max_s < 180:
        return 1.0, "s"
    if max_s < 3 * 3600:
        return 1 / 60, "min"
    return 1 / 3600, "h"


CLIP_FACTOR = 3.0
"""Forecasts above this multiple of the run's own scale are drawn at the top edge (early
forecasts can be far off; the tooltip keeps the true value)."""


def convergence_chart(report: ReportData) -> Chart | None:
    """The live forecast of the whole run's time against the share of the run done: the point as
    a line, its interval as a band, the actual time and the pre-flight prediction as references.
    None with fewer than two forecasts."""
    forecasts = [f for f in report.forecasts
                 if math.isfinite(f.done) and math.isfinite(f.time_s.point)]
    if len(forecasts) < 2:
        return None
    actual, pred = report.actual, report.prediction
    actual_s = actual.time_s if actual is not None and actual.completed else None
    references = [v for v in (actual_s, pred.time_s.point if pred else None,
                              forecasts[-1].time_s.point) if v is not None and math.isfinite(v)]
    scale = max(references)
    values = [v for f in forecasts for v in (f.time_s.high, f.time_s.point)]
    values += [v for v in (actual_s, pred.time_s.high if pred else None) if v is not None]
    values = [v for v in values if math.isfinite(v)]
    top = max(values)
    clipped = scale > 0 and top > CLIP_FACTOR * scale
    y_high = (CLIP_FACTOR * scale if clipped else top) * 1.08 or 1.0
    factor, unit = _run_time_unit(y_high)

    def px(done: float) -> float:
        return _scale(min(max(done, 0.0), 1.0), 0.0, 1.0, LEFT, WIDTH - RIGHT)

    def py(seconds: float) -> float:
        if not math.isfinite(seconds):
            seconds = y_high if seconds > 0 else 0.0
        return _scale(min(max(seconds, 0.0), y_high), 0.0, y_high, HEIGHT - BOTTOM, TOP)

    def xy(done: float, seconds: float) -> str:
        return f"{px(done):.1f},{py(seconds):.1f}"

    points = tuple(
        Point(px(f.done), py(f.time_s.point),
              f"{percent(f.done)} done, {duration(f.at_s)} in: the whole run "
              f"{duration(f.time_s.point)} ({span(f.time_s, duration)})", "forecast")
        for f in forecasts
    )
    conf = f"{forecasts[-1].time_s.confidence:.0%}"
    band = " ".join([xy(f.done, f.time_s.high) for f in forecasts]
                    + [xy(f.done, f.time_s.low) for f in reversed(forecasts)])
    areas = (Area(f"{conf} interval of the live forecast", band, 0),)
    series = (Series("live forecast of the whole run",
                     " ".join(xy(f.done, f.time_s.point) for f in forecasts), 0),)
    rules, error_bars, extra = [], (), {}
    if actual_s is not None:
        rules.append(Rule(py(actual_s), f"actual: {duration(actual_s)}", 3))
    if pred is not None:
        rules.append(Rule(py(pred.time_s.point), f"pre-flight: {duration(pred.time_s.point)}", 1,
                          dashed=True))
        label = (f"pre-flight prediction: {duration(pred.time_s.point)} "
                 f"({span(pred.time_s, duration)})")
        error_bars = ((px(0.0) + 6, py(pred.time_s.low), py(pred.time_s.high), label),)
        extra = {"preflight_x": px(0.0) + 6, "preflight_y": py(pred.time_s.point)}
    axes = Axes(
        x_ticks=tuple(Tick(px(t / 100), _fmt(t)) for t in (0, 25, 50, 75, 100)),
        y_ticks=tuple(Tick(py(t / factor), _fmt(t)) for t in nice_ticks(0.0, y_high * factor, 6)
                      if t <= y_high * factor),
        x_label="share of the planned steps done (%)",
        y_label=f"forecast whole-run time ({unit})",
    )
    first, last = forecasts[0], forecasts[-1]
    description = (
        f"{len(forecasts)} live forecasts from {percent(first.done, 0)} to {percent(last.done, 0)} "
        f"done: the first put the whole run at {duration(first.time_s.point)} "
        f"({span(first.time_s, duration)}), the last at {duration(last.time_s.point)} "
        f"({span(last.time_s, duration)}).")
    if actual_s is not None:
        description += f" The run took {duration(actual_s)}."
    elif actual is not None:
        description += (f" The run stopped after {duration(actual.time_s)}, before the end "
                        f"({actual.stop_reason or 'stopped early'}).")
    if pred is not None:
        description += (f" The pre-flight prediction was {duration(pred.time_s.point)} "
                        f"({span(pred.time_s, duration)}).")
    if clipped:
        description += (f" Forecasts above {duration(y_high / 1.08)} are drawn at the top edge.")
    return Chart(axes=axes, points=points, series=series, error_bars=error_bars,
                 description=description, extra=extra, areas=areas, rules=tuple(rules))


def bar_share(value: float | None, largest: float) -> float:
    """Bar length in percent of the row (at least 1% so a tiny value stays visible)."""
    if value is None or not math.isfinite(value) or largest <= 0:
        return 0.0
    return max(1.0, min(100.0, 100.0 * value / largest))
