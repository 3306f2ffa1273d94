"""Chart geometry for the HTML report: pure functions from report data to coordinates.

Nothing here writes markup: the template draws the SVG from these numbers, with autoescaping, so
no user string is ever pasted into markup by hand. Coordinates are in a fixed viewBox; the SVG
scales to its container. The viewBox is narrow (WIDTH) and the text in it FONT units, so that the
text stays readable (9 CSS px and more) when a phone shows the figure 330 px wide; the page caps
the figure's width on a wide screen. Every point and series has a details box (Tip) that the
page's CSS shows on hover and on keyboard focus, without script.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..result import ReportData
from .format import duration, percent, power, span

WIDTH, HEIGHT = 440.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 58.0, 14.0, 14.0, 42.0
FONT = 12.0
"""Text size in viewBox units (charts.css.j2 sets it): 12 x 330 / 440 = 9 CSS px on a phone."""
CHAR_W = 0.6 * FONT
"""A generous average glyph width, for sizing details boxes and margins to their text."""
LINE_H = 15.0
TIP_PAD = 6.0


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
class Tip:
    """A details box (viewBox units): its top-left corner, its size and its lines of text."""

    x: float
    y: float
    width: float
    height: float
    lines: tuple[str, ...]

    @property
    def text_x(self) -> float:
        return round(self.x + TIP_PAD, 1)

    @property
    def text_y(self) -> float:
        """The first line's baseline."""
        return round(self.y + TIP_PAD + FONT * 0.85, 1)

    @property
    def line_height(self) -> float:
        return LINE_H


def tip_near(x: float, y: float, lines: Sequence[str], width: float = WIDTH,
             height: float = HEIGHT) -> Tip:
    """A details box beside (x, y): above and to the right where it fits, else flipped, and
    always inside the viewBox."""
    w = max((len(line) for line in lines), default=0) * CHAR_W + 2 * TIP_PAD
    h = len(lines) * LINE_H + 2 * TIP_PAD - (LINE_H - FONT)
    left = x + 10 if x + 10 + w <= width - 2 else x - 10 - w
    top = y - 10 - h if y - 10 - h >= 2 else y + 10
    left = min(max(left, 2.0), max(width - 2 - w, 2.0))
    top = min(max(top, 2.0), max(height - 2 - h, 2.0))
    return Tip(round(left, 1), round(top, 1), round(w, 1), round(h, 1), tuple(lines))


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str          # text alternative / tooltip
    role: str = ""
    tip: Tip | None = None


@dataclass(frozen=True)
class Series:
    name: str
    points: str         # "x,y x,y ..." for a polyline
    colour: int         # index into the palette
    dashed: bool = False
    tip: Tip | None = None
    label: str = ""     # the series' text alternative (its details in one line)


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


LOG_MANTISSAS: tuple[tuple[float, ...], ...] = (
    (1,), (1, 2, 5), (1, 2, 3, 5, 7), tuple(range(1, 10)), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9))
"""Tick steps on a log axis, coarsest first (the last for a range within one 1-9 step)."""


def _time_candidates(mantissas: Sequence[float]) -> list[float]:
    """Tick values in seconds: decimal below a minute, whole minutes and hours above."""
    seconds = [m * 10.0**k for k in range(-7, 2) for m in mantissas if m * 10.0**k < 60]
    minutes = [60.0 * m * 10**k for k in range(2) for m in mantissas if m * 10**k < 60]
    hours = [3600.0 * m * 10**k for k in range(4) for m in mantissas]
    return seconds + minutes + hours


def _decimal_candidates(mantissas: Sequence[float]) -> list[float]:
    return [m * 10.0**k for k in range(-7, 10) for m in mantissas]


def log_ticks(low: float, high: float, most: int = 7, *, time: bool = False) -> list[float]:
    """Tick values within [low, high] on a log axis: the coarsest 1-2-5 style steps that give at
    least three ticks and at most ``most``; every few decades where even decades are too many
    (seconds: whole minutes and hours above a minute)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= low:
        return []
    candidates = _time_candidates if time else _decimal_candidates
    chosen: list[float] = []
    for level, mantissas in enumerate(LOG_MANTISSAS):
        ticks = sorted({float(f"{t:.12g}") for t in candidates(mantissas)
                        if low <= t <= high * (1 + 1e-9)})
        if len(ticks) > most:
            if level == 0:
                chosen = ticks[::math.ceil(len(ticks) / most)]
            break
        chosen = ticks
        if len(ticks) >= 3:
            break
    return chosen


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


def power_chart(report: ReportData) -> Chart | None:
    """Power over the benchmark per device (W), the idle baseline shaded; each series with its
    details (mean power while training, idle power, the method) for hover and focus."""
    energy = report.benchmark.energy if report.benchmark is not None else None
    if energy is None:
        return None
    devices = [d for d in energy.devices if d.timeline_s]
    if not devices:
        return None
    t_high = max(max(d.timeline_s) for d in devices) * 1.02 or 1.0
    w_high = max(max(d.timeline_w) for d in devices) * 1.15 or 1.0

    def px(t: float) -> float:
        return _scale(t, 0.0, t_high, LEFT, WIDTH - RIGHT)

    def py(w: float) -> float:
        return _scale(w, 0.0, w_high, HEIGHT - BOTTOM, TOP)

    series, parts = [], []
    for i, d in enumerate(devices):
        idle = "" if d.idle_power_w is None else f", idle {power(d.idle_power_w)}"
        mean = "mean not measured" if d.mean_power_w is None else \
            f"mean {power(d.mean_power_w)} while training"
        parts.append(f"{d.name} ({d.method}): {mean}{idle}")
        lines = [d.name, mean + idle, f"method: {d.method}"]
        # The box beside the series' highest reading, where the eye finds the line.
        peak = max(range(len(d.timeline_w)), key=lambda k: d.timeline_w[k])
        series.append(Series(
            f"{d.name} ({d.method})",
            " ".join(f"{px(t):.1f},{py(w):.1f}" for t, w in zip(d.timeline_s, d.timeline_w)), i,
            tip=tip_near(px(d.timeline_s[peak]), py(d.timeline_w[peak]), lines),
            label=parts[-1]))
    bands = ()
    if energy.idle_window_s is not None:
        a, b = energy.idle_window_s
        bands = ((px(a), px(b), "idle baseline"),)
    axes = Axes(
        x_ticks=tuple(Tick(px(t), _fmt(t)) for t in nice_ticks(0.0, t_high) if t <= t_high),
        y_ticks=tuple(Tick(py(w), _fmt(w)) for w in nice_ticks(0.0, w_high) if w <= w_high),
        x_label="seconds since the benchmark began", y_label="power (W)",
    )
    return Chart(axes=axes, series=tuple(series), bands=bands, description="; ".join(parts) + ".")


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
