"""The evidence section's figures: epoch time against batches per epoch on log-log axes, and the
split of one full epoch into its fixed and per-batch parts (pure functions, no markup).

Log-log because the samples are a few batches and the full epoch hundreds: on linear axes the
measurements sit flat at the origin. A straight line a + b·x stays straight in log-log only when
a = 0; with a fixed cost it bends, and that bend is the fixed cost the proportional method misses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..result import ReportData
from .charts import (
    BOTTOM,
    CHAR_W,
    FONT,
    HEIGHT,
    LINE_H,
    RIGHT,
    TOP,
    WIDTH,
    Axes,
    Chart,
    Point,
    Series,
    Tick,
    Tip,
    log_ticks,
    tip_near,
)
from .format import duration, epoch_model, percent, si, signed_duration, span

X_MARGIN = 1.5
"""The x axis reaches this factor beyond the smallest and the largest batch count."""
Y_MARGIN = 1.3
LABEL_ROOM = 2 * LINE_H + 10
"""Room above the full-epoch point for its two-line label (viewBox units)."""
CURVE_POINTS = 64

ROLE_TEXT = {
    "steady": "steady: fitted",
    "warmup": "warm-up: not fitted; its excess is added once",
    "loader-start": "loader start-up: not fitted; added once",
    "outlier": "outlier: not fitted",
    "compile": "compiling: not fitted; booked apart",
}
METHOD_TEXT = {
    "batch-split": "batch-split: per-batch rate from the batch deliveries, the rest per epoch",
    "epoch-line": "epoch-line: a line through the sample sizes' epoch times",
    "median-epoch": "median-epoch: the median measured epoch (time did not grow with size)",
}


@dataclass(frozen=True)
class Callout:
    """The predicted full epoch: a marked point, its interval as an error bar, a text label."""

    x: float
    y: float
    y_low: float
    y_high: float
    label: str                  # one line: what the figure says there
    lines: tuple[str, ...]      # the label as drawn, one line each
    text_x: float
    text_y: float               # the first line's baseline
    anchor: str                 # "end" (left of the point) or "start"
    tip: Tip


@dataclass(frozen=True)
class Segment:
    """One part of the full epoch: its fitted seconds, its share of the drawn bar (0-1)."""

    kind: str                   # "fixed" or "per-batch"
    name: str
    value_s: float              # as fitted (the fixed part can be a little below zero)
    share: float
    text: str                   # "198 ms (4.7%)", or "~0 (fitted -1 ms)"
    detail: str                 # how it was found


@dataclass(frozen=True)
class EpochSplit:
    """One full epoch as the model has it: fixed cost + per-batch cost x batches."""

    batches: int
    total_s: float
    title: str
    segments: tuple[Segment, ...]
    once: tuple[str, ...]       # what is added once to the run, beside the bar
    note: str                   # where the bar is not the prediction as it stands


def _count(n: float) -> str:
    return f"{round(n):,}"


def _curve(a: float, b: float, x_from: float, x_to: float, floor: float) -> tuple[float, float] | None:
    """The part of [x_from, x_to] where a + b·x stays at or above ``floor`` (> 0): the line is
    straight, so that part is one interval. None where it never does."""
    lo, hi = x_from, x_to
    if b > 0:
        lo = max(lo, (floor - a) / b)
    elif b < 0:
        hi = min(hi, (floor - a) / b)
    elif a < floor:
        return None
    return (lo, hi) if hi >= lo else None


def _geometric(lo: float, hi: float, count: int) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo * (hi / lo) ** (i / (count - 1)) for i in range(count)]


def epoch_chart(report: ReportData) -> Chart | None:
    """Epoch time against batches per epoch, both on log axes: every timed epoch, the fitted
    epoch_s(x) = a + b·x (dashed beyond the largest sample), the predicted full epoch with its
    interval and a label. None without timed epochs."""
    bench, pred, plan = report.benchmark, report.prediction, report.plan
    if bench is None or pred is None or not bench.epochs:
        return None
    fit, epoch = pred.fit, pred.epoch_s
    a, b = fit.intercept_s, fit.per_batch_s
    full_n = max(plan.batches_per_epoch, 1)
    sizes = [max(r.sample_batches, 1) for r in bench.epochs]
    line_from, measured_to = min(sizes), max(sizes)

    def model(x: float) -> float:
        return a + b * x

    x_lo, x_hi = min(line_from, full_n) / X_MARGIN, max(measured_to, full_n) * X_MARGIN
    shown = [r.epoch_s for r in bench.epochs] + [epoch.point, epoch.low, epoch.high,
                                                  model(line_from), model(full_n)]
    positive = [v for v in shown if math.isfinite(v) and v > 0] or [1.0]
    ly_lo, ly_hi = math.log10(min(positive) / Y_MARGIN), math.log10(max(positive) * Y_MARGIN)
    top, bottom = TOP, HEIGHT - BOTTOM
    if epoch.point > 0 and math.isfinite(epoch.point):
        # Raise the top until the label fits above the point: u - p >= r (u - l).
        room = LABEL_ROOM / (bottom - top)
        ly_hi = max(ly_hi, (math.log10(epoch.point) - room * ly_lo) / (1 - room))

    y_ticks_s = log_ticks(10**ly_lo, 10**ly_hi, most=int((bottom - top) // 30), time=True)
    y_labels = [duration(t) for t in y_ticks_s]
    left = 24 + max((len(t) for t in y_labels), default=4) * CHAR_W + 8
    right = WIDTH - RIGHT
    lx_lo, lx_hi = math.log10(x_lo), math.log10(x_hi)

    def px(x: float) -> float:
        return left + (math.log10(x) - lx_lo) / (lx_hi - lx_lo) * (right - left)

    def py(seconds: float) -> float:
        """Log position; zero, negative or non-finite times on the bottom edge."""
        if not (math.isfinite(seconds) and seconds > 0):
            return bottom
        y = bottom - (math.log10(seconds) - ly_lo) / (ly_hi - ly_lo) * (bottom - top)
        return min(max(y, top), bottom)

    points = []
    for r, role in zip(bench.epochs, bench.roles):
        x, y = px(max(r.sample_batches, 1)), py(r.epoch_s)
        role_text = ROLE_TEXT.get(role, role)
        lines = (f"epoch {r.order + 1}: {role_text}",
                 f"{_count(r.sample_batches)} batches: {duration(r.epoch_s)}",
                 f"fitted line there: {duration(model(r.sample_batches))}")
        label = (f"epoch {r.order + 1}, {_count(r.sample_batches)} batches: {duration(r.epoch_s)} "
                 f"({role_text})")
        points.append(Point(round(x, 1), round(y, 1), label, role, tip_near(x, y, lines)))

    floor = 10**ly_lo
    x_first, x_last = min(line_from, full_n), max(line_from, full_n)
    kept = _curve(a, b, x_first, x_last, floor)
    series = []
    if kept is not None:
        lo, hi = kept
        xs = _geometric(lo, hi, CURVE_POINTS)
        solid = [x for x in xs if x <= measured_to] + ([measured_to] if lo <= measured_to <= hi else [])
        dashed = ([measured_to] if lo <= measured_to <= hi else []) + [x for x in xs if x > measured_to]

        def polyline(values: Sequence[float]) -> str:
            return " ".join(f"{px(x):.1f},{py(model(x)):.1f}" for x in sorted(set(values)))

        if len(set(solid)) >= 2:
            series.append(Series("fitted line over the measured sizes", polyline(solid), 0))
        if len(set(dashed)) >= 2:
            series.append(Series("extrapolation to the full data set", polyline(dashed), 0,
                                 dashed=True))
    clipped = kept is None or kept[0] > x_first * 1.0001 or kept[1] < x_last * 0.9999

    callout = _callout(report, px(full_n), py(epoch.point), py(epoch.low), py(epoch.high), left)
    x_ticks = [t for t in log_ticks(x_lo, x_hi, most=int((right - left) // 48)) if t >= 1]
    axes = Axes(
        x_ticks=tuple(Tick(round(px(t), 1), _count(t)) for t in x_ticks),
        y_ticks=tuple(Tick(round(py(t), 1), label) for t, label in zip(y_ticks_s, y_labels)),
        x_label="batches per epoch (log scale)", y_label="epoch time (log scale)",
        left=round(left, 1), right=right, top=top, bottom=bottom,
    )
    description = _description(report, clipped, kept, floor)
    return Chart(axes=axes, points=tuple(points), series=tuple(series), description=description,
                 extra={"callout": callout})


def _callout(report: ReportData, x: float, y: float, y_low: float, y_high: float,
             left: float) -> Callout:
    pred, n = report.prediction, report.plan.batches_per_epoch
    epoch = pred.epoch_s
    interval = span(epoch, duration)
    label = f"full epoch ({_count(n)} batches): {duration(epoch.point)} ({interval})"
    lines = (f"full epoch ({_count(n)} batches):", f"{duration(epoch.point)} ({interval})")
    width = max(len(line) for line in lines) * CHAR_W
    anchor, text_x = ("end", x - 10) if x - 10 - width >= left else ("start", x + 10)
    text_y = min(max(y - 8 - LINE_H, TOP + FONT), HEIGHT - BOTTOM - LINE_H - 4)
    conf = f"{epoch.confidence:.0%}"
    tip = tip_near(x, y, (f"predicted full epoch, {_count(n)} batches",
                          f"{duration(epoch.point)}, {conf} interval {interval}",
                          f"model: {pred.fit.method}, {pred.fit.steady_epochs} steady epochs"))
    return Callout(round(x, 1), round(y, 1), round(y_low, 1), round(y_high, 1), label, lines,
                   round(text_x, 1), round(text_y, 1), anchor, tip)


def _description(report: ReportData, clipped: bool, kept: tuple[float, float] | None,
                 floor: float) -> str:
    bench, pred, plan = report.benchmark, report.prediction, report.plan
    fit, epoch = pred.fit, pred.epoch_s
    sizes = sorted({r.sample_batches for r in bench.epochs})
    times = [r.epoch_s for r in bench.epochs]
    not_fitted = sum(1 for role in bench.roles if role != "steady")
    size_text = (f"one sample size ({_count(sizes[0])} batches)" if len(sizes) == 1 else
                 f"{len(sizes)} sample sizes from {_count(sizes[0])} to {_count(sizes[-1])} batches")
    text = (f"Log-log chart of {len(times)} timed epochs at {size_text}, "
            f"{duration(min(times))} to {duration(max(times))}"
            + (f" ({not_fitted} of them not fitted: warm-up, loader start-up, compiling or "
               f"outliers, drawn as hollow squares)" if not_fitted else "")
            + f". The fitted model {epoch_model(fit.intercept_s, fit.per_batch_s)}"
            f" ({fit.method}) is drawn through them and, dashed, on to the full "
            f"{_count(plan.batches_per_epoch)} batches: {duration(epoch.point)} per epoch "
            f"({epoch.confidence:.0%} interval {span(epoch, duration)}).")
    if kept is None:
        text += " The fitted line is nowhere above the bottom of the chart, so it is not drawn."
    elif clipped:
        text += (f" On log axes the line is drawn only where it is above {duration(floor)} "
                 f"(from {_count(kept[0])} to {_count(kept[1])} batches).")
    at_zero = sum(1 for t in times if not (math.isfinite(t) and t > 0))
    if at_zero:
        text += f" {at_zero} epochs timed at zero are drawn on the bottom edge."
    if epoch.low <= 0:
        text += " The interval reaches zero and is cut at the bottom edge."
    line_end = fit.intercept_s + fit.per_batch_s * plan.batches_per_epoch
    if epoch.point > 0 and abs(line_end - epoch.point) > 0.01 * epoch.point:
        text += (f" The prediction is not the line's own value at the full size "
                 f"({duration(line_end)}): it is corrected (see the warnings).")
    return text


def epoch_split(report: ReportData) -> EpochSplit | None:
    """One full epoch split into the fixed cost per epoch and the per-batch cost x batches, with
    what is added once to the run. None where the model has no per-batch cost to split."""
    pred, plan = report.prediction, report.plan
    if pred is None or report.benchmark is None or not report.benchmark.epochs:
        return None
    fit, n = pred.fit, plan.batches_per_epoch
    a, per_batch = fit.intercept_s, fit.per_batch_s * n
    if not (math.isfinite(a) and math.isfinite(per_batch)) or per_batch <= 0:
        return None
    drawn = max(a, 0.0) + per_batch
    method = METHOD_TEXT.get(fit.method, fit.method)
    fixed_text = (f"{duration(a)} ({percent(a / drawn)})" if a > 0
                  else f"~0 (fitted {signed_duration(a)})")
    segments = (
        Segment("fixed", "fixed cost per epoch", a, max(a, 0.0) / drawn, fixed_text,
                f"the same whatever the size (validation, checkpoints, loader start); {method}"),
        Segment("per-batch", f"per-batch cost × {_count(n)} batches", per_batch,
                per_batch / drawn, f"{duration(per_batch)} ({percent(per_batch / drawn)})",
                f"{si(fit.per_batch_s, 's')} per batch; {method}"),
    )
    once = [f"warm-up, added once to the run (not to each epoch): {duration(pred.warmup_s)}"]
    if pred.compile_s > 0:
        once.append(f"torch.compile's compiling, booked apart: {duration(pred.compile_s)}")
    total = a + per_batch
    notes = []
    if a < 0 and -a > 0.01 * total:
        notes.append(f"The per-batch part alone is more than the whole epoch: the fitted fixed "
                     f"cost, {signed_duration(a)}, is below zero and takes {duration(-a)} back.")
    if abs(total - pred.epoch_s.point) > 0.01 * max(pred.epoch_s.point, 1e-12):
        notes.append(f"The predicted epoch, {duration(pred.epoch_s.point)}, is this split "
                     "corrected (see the warnings).")
    note = " ".join(notes)
    title = f"One full epoch ({_count(n)} batches): {duration(total)}"
    return EpochSplit(n, total, title, segments, tuple(once), note)
