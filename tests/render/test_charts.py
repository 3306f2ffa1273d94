"""The charts: the log-log evidence chart and its label, the split of a full epoch, the hover and
focus details, the edge cases (negative intercept, one sample size, zero times, a dry run)."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

import greenlove
from greenlove.render.charts import FONT, WIDTH, log_ticks, power_chart
from greenlove.render.evidence import ROLE_TEXT, epoch_chart, epoch_split
from greenlove.render.format import duration, span
from greenlove.render.html import render_html
from tests.fakes.training import (
    SimulatedEpoch,
    fake_clouds,
    fake_energy,
    fake_instruments,
    make_loader,
    track_on_fake_clock,
)

EVIL = "<script>alert(1)</script>"
CSS = Path(greenlove.__file__).parent / "render" / "templates" / "charts.css.j2"
PHONE_FIGURE_PX = 330
"""The figure's width on a 390 px phone: the page's and the panel's padding taken off."""


@pytest.fixture
def demo(clock):
    """Like the demo: 562 batches per epoch, samples of a few to a few tens of batches, a fixed
    cost per epoch and a one-off warm-up."""
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.007, noise_rel=0.02, warmup_s=1.0,
                           seed=4)
    report = greenlove.estimate(epoch, make_loader(n=5620), epochs=20, budget_s=8.0,
                                progress=False, instruments=fake_instruments(clock),
                                energy=fake_energy(clock), clouds=fake_clouds(),
                                site=greenlove.Site(zone="DE"))
    assert report.plan.batches_per_epoch == 562
    return report


def _with_intercept(report, intercept_s: float):
    """The report with the fit's fixed cost set to ``intercept_s`` and the per-batch cost such
    that the line still ends at the predicted full epoch."""
    pred = report.prediction
    per_batch = (pred.epoch_s.point - intercept_s) / report.plan.batches_per_epoch
    fit = dataclasses.replace(pred.fit, intercept_s=intercept_s, per_batch_s=per_batch)
    return dataclasses.replace(report, prediction=dataclasses.replace(pred, fit=fit))


def _with_records(report, changes):
    bench = report.benchmark
    records = tuple(dataclasses.replace(r, **changes(r)) for r in bench.epochs)
    return dataclasses.replace(report, benchmark=dataclasses.replace(bench, epochs=records))


def _coords(points: str) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in pair.split(",")) for pair in points.split()]


def _figure(html: str, figure_id: str) -> str:
    start = html.index(f'id="{figure_id}"')
    return html[start:html.index("</figure>", start)]


def _assert_finite_svg(svg: str) -> None:
    assert not re.search(r"\bnan\b|\binf\b|infinity", svg, re.I)
    for value in re.findall(r'(?<![\w-])(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)"', svg):
        assert math.isfinite(float(value)), value


def test_measured_epochs_spread_over_the_plot_not_flat_at_zero(demo) -> None:
    chart = epoch_chart(demo)
    axes = chart.axes
    ys = [p.y for p in chart.points]
    assert all(axes.top <= y <= axes.bottom for y in ys)
    # On the old linear axes from 0 to the full epoch these sat within ~25 px of the axis.
    assert max(ys) - min(ys) > 0.25 * (axes.bottom - axes.top)
    assert axes.bottom - max(ys) > 10
    # The steady ones alone too (0.23 s to 0.41 s: ~3% of the old linear axis up to 5.1 s).
    steady = [p.y for p, role in zip(chart.points, demo.benchmark.roles) if role == "steady"]
    assert max(steady) - min(steady) > 0.12 * (axes.bottom - axes.top)
    assert "(log scale)" in axes.x_label and "(log scale)" in axes.y_label


def test_both_axes_are_logarithmic(demo) -> None:
    chart = epoch_chart(demo)
    records = demo.benchmark.epochs
    x_of = {r.sample_batches: p.x for r, p in zip(records, chart.points)}
    sizes = sorted(x_of)
    assert len(sizes) >= 3 and sizes[-1] >= 4 * sizes[0]
    doubling = (x_of[sizes[1]] - x_of[sizes[0]]) / math.log2(sizes[1] / sizes[0])
    assert doubling > 20
    # Twice the batches is the same step to the right wherever it starts.
    for small, large in zip(sizes, sizes[1:]):
        assert x_of[large] - x_of[small] == pytest.approx(math.log2(large / small) * doubling,
                                                          abs=0.2)
    full = chart.extra["callout"]
    assert full.x - x_of[sizes[-1]] == pytest.approx(math.log2(562 / sizes[-1]) * doubling,
                                                     abs=0.3)
    # Twice the time is the same step up wherever it starts.
    per_decade = [(a.y - b.y) / math.log10(rb.epoch_s / ra.epoch_s)
                  for (ra, a), (rb, b) in zip(zip(records, chart.points),
                                              list(zip(records, chart.points))[1:])
                  if abs(math.log10(rb.epoch_s / ra.epoch_s)) > 0.05]
    assert len(per_decade) >= 3
    assert max(per_decade) - min(per_decade) < 2.0
    # The ticks are 1-2-5 steps labelled with their units.
    assert [t.label for t in chart.axes.x_ticks] == ["5", "10", "20", "50", "100", "200", "500"]
    labels = [t.label for t in chart.axes.y_ticks]
    assert labels == [duration(v) for v in (0.2, 0.5, 1, 2, 5)]
    assert all(a.pos > b.pos for a, b in zip(chart.axes.y_ticks, chart.axes.y_ticks[1:]))


def test_fitted_model_is_a_curve_dashed_beyond_the_samples(demo) -> None:
    chart = epoch_chart(demo)
    solid, dashed = chart.series
    assert not solid.dashed and dashed.dashed
    largest = max(demo.benchmark.epochs, key=lambda r: r.sample_batches)
    x_largest = chart.points[largest.order].x
    assert _coords(solid.points)[-1][0] == pytest.approx(x_largest, abs=0.1)
    assert _coords(dashed.points)[0][0] == pytest.approx(x_largest, abs=0.1)
    # With a fixed cost a + b·x bends upwards in log-log: its slope grows along the curve.
    line = _coords(solid.points) + _coords(dashed.points)[1:]
    slopes = [(y0 - y1) / (x1 - x0) for (x0, y0), (x1, y1) in zip(line, line[1:]) if x1 - x0 > 2]
    assert slopes[-1] > 2 * slopes[0] > 0
    # It ends on the predicted full epoch.
    full = chart.extra["callout"]
    assert line[-1] == pytest.approx((full.x, full.y), abs=0.2)


def test_full_epoch_is_labelled_with_its_value_and_interval(demo) -> None:
    epoch = demo.prediction.epoch_s
    full = epoch_chart(demo).extra["callout"]
    value, interval = duration(epoch.point), span(epoch, duration)
    assert full.label == f"full epoch (562 batches): {value} ({interval})"
    assert full.y_high < full.y < full.y_low                 # the error bar spans the point
    svg = _figure(render_html(demo), "epoch-figure")
    text = svg[svg.index('<text class="callout"'):]
    text = text[:text.index("</text>")]
    assert "full epoch (562 batches):" in text and f"{value} ({interval})" in text
    assert f"{value}, 95% interval {interval}" in svg         # its details box
    desc = svg[svg.index("<desc"):svg.index("</desc>")]
    assert value in desc and interval in desc
    sizes = sorted({r.sample_batches for r in demo.benchmark.epochs})
    assert (f"{len(demo.benchmark.epochs)} timed epochs at {len(sizes)} sample sizes from "
            f"{sizes[0]} to {sizes[-1]} batches") in desc


def test_split_of_the_full_epoch_sums_to_it(demo) -> None:
    split = epoch_split(demo)
    pred = demo.prediction
    fixed, per_batch = split.segments
    assert fixed.kind == "fixed" and per_batch.kind == "per-batch"
    assert fixed.value_s + per_batch.value_s == pytest.approx(pred.epoch_s.point, rel=1e-9)
    assert split.total_s == pytest.approx(pred.epoch_s.point, rel=1e-9)
    assert fixed.share + per_batch.share == pytest.approx(1.0)
    assert fixed.value_s == pytest.approx(pred.fit.intercept_s)
    assert 0.02 < fixed.share < 0.2                           # 0.2 s of ~4.2 s
    assert fixed.text == f"{duration(fixed.value_s)} ({fixed.share:.1%})"
    assert split.note == ""
    assert pred.warmup_s > 0.5
    assert split.once[0].endswith(duration(pred.warmup_s)) and "added once" in split.once[0]
    html = render_html(demo)
    bar = html[html.index('id="epoch-split"'):]
    bar = bar[:bar.index("</ul>")]
    assert bar.count('class="seg ') == 2 and bar.count('tabindex="0"') == 2
    widths = [float(w) for w in re.findall(r"width: ([\d.]+)%", bar)]
    assert sum(widths) == pytest.approx(100.0, abs=0.02)
    for segment in split.segments:
        assert segment.text in bar
    assert duration(pred.warmup_s) in bar


def test_negative_intercept_draws_no_negative_log_and_says_so(demo) -> None:
    report = _with_intercept(demo, -0.001)
    chart = epoch_chart(report)
    assert "no fixed cost per epoch: fitted \u22121 ms, within the noise" in chart.description
    assert chart.description.count("\u22121 ms") == 1                 # said once
    for series in chart.series:
        for x, y in _coords(series.points):
            assert math.isfinite(x) and chart.axes.top <= y <= chart.axes.bottom
    html = render_html(report)
    _assert_finite_svg(_figure(html, "epoch-figure"))
    split = epoch_split(report)
    fixed, per_batch = split.segments
    assert fixed.share == 0.0 and fixed.text == "~0 (fitted \u22121 ms)"
    assert per_batch.share == pytest.approx(1.0)
    assert fixed.value_s + per_batch.value_s == pytest.approx(report.prediction.epoch_s.point)
    bar = html[html.index('id="epoch-split"'):]
    assert bar[:bar.index('class="split-legend"')].count('class="seg ') == 1   # no negative one
    assert "~0 (fitted \u22121 ms)" in bar


def test_a_line_below_the_chart_is_clipped_and_said(demo) -> None:
    report = _with_intercept(demo, -0.5)              # a + b·x <= 0 below ~60 batches
    chart = epoch_chart(report)
    assert "drawn only where it is above" in chart.description
    assert "takes 500 ms back" in epoch_split(report).note
    first_x = min(x for s in chart.series for x, _ in _coords(s.points))
    assert first_x > min(p.x for p in chart.points) + 20
    for series in chart.series:
        assert all(chart.axes.top <= y <= chart.axes.bottom for _, y in _coords(series.points))
    _assert_finite_svg(_figure(render_html(report), "epoch-figure"))


def test_one_sample_size_and_zero_times(demo) -> None:
    one = _with_records(demo, changes=lambda r: {"sample_batches": 16})
    chart = epoch_chart(one)
    assert len({p.x for p in chart.points}) == 1
    assert "one sample size (16 batches)" in chart.description
    assert [s.dashed for s in chart.series] == [True]          # nothing measured to span
    _assert_finite_svg(_figure(render_html(one), "epoch-figure"))

    zero = _with_records(demo, changes=lambda r: {"epoch_s": 0.0 if r.order == 2 else r.epoch_s})
    chart = epoch_chart(zero)
    assert chart.points[2].y == chart.axes.bottom
    assert "1 epochs timed at zero are drawn on the bottom edge" in chart.description
    tiny = _with_records(demo, changes=lambda r: {"epoch_s": r.epoch_s * 1e-5})
    _assert_finite_svg(_figure(render_html(tiny), "epoch-figure"))


def test_every_point_and_series_has_focusable_details(demo) -> None:
    html = render_html(demo)
    svg = _figure(html, "epoch-figure")
    _assert_finite_svg(svg)
    focusable = re.findall(r'<g class="pt epoch-point" tabindex="0" role="img" aria-label="([^"]*)">'
                           r'<title>([^<]*)</title>', svg)
    records, roles = demo.benchmark.epochs, demo.benchmark.roles
    assert len(focusable) == len(records)
    for (label, title), record, role in zip(focusable, records, roles):
        assert label == title and ROLE_TEXT[role] in label
        assert f"epoch {record.order + 1}, {record.sample_batches} batches: " \
               f"{duration(record.epoch_s)}" in label
    assert svg.count('class="tip"') == len(records) + 1         # and the full epoch's
    assert 'class="pt full-epoch" tabindex="0"' in svg
    assert roles[0] == "warmup" and "warm-up: not fitted" in focusable[0][0]
    assert svg.count("fitted line there:") == len(records)
    assert svg.count('fill="none" stroke="#E69F00"') == sum(r != "steady" for r in roles)
    chart = epoch_chart(demo)
    for point in chart.points:
        tip = point.tip
        assert tip.x >= 0 and tip.x + tip.width <= chart.axes.width
        assert tip.y >= 0 and tip.y + tip.height <= chart.axes.height

    power = _figure(html, "power-figure")
    _assert_finite_svg(power)
    devices = [d for d in demo.benchmark.energy.devices if d.timeline_s]
    assert power.count('<g class="series power-series" tabindex="0"') == len(devices) >= 2
    for d in devices:
        assert f"mean {greenlove.render.format.power(d.mean_power_w)} while training" in power
        assert f"method: {d.method}" in power


def test_every_svg_has_a_text_alternative(demo) -> None:
    html = render_html(demo)
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        assert re.search(r"<title id=\"[^\"]+\">[^<]+</title>", svg)
        assert re.search(r"<desc id=\"[^\"]+\">[^<]{40,}</desc>", svg)
    assert html.count("<svg") == 2 == html.count("<desc")


def test_power_legend_and_details_stay_escaped(demo) -> None:
    energy = demo.benchmark.energy
    devices = tuple(dataclasses.replace(d, name=f"{EVIL} {i}") for i, d in enumerate(energy.devices))
    report = dataclasses.replace(demo, benchmark=dataclasses.replace(
        demo.benchmark, energy=dataclasses.replace(energy, devices=devices)))
    html = render_html(report)
    assert EVIL not in html and "<script" not in html.lower()
    power = _figure(html, "power-figure")
    # per device: its tip line, aria-label, title, legend; and the desc and caption once each
    assert power.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6 * len(devices)
    assert all(s.tip.lines[0] == d.name for s, d in zip(power_chart(report).series, devices))


def test_a_dry_run_has_no_evidence_chart(clock) -> None:
    loader = make_loader(2000, 10)
    with track_on_fake_clock(clock, epochs=20, dry_run=True) as run:
        for _ in range(20):
            for _batch in run.watch(loader):
                clock.advance(0.01)
            run.epoch_end()
            if run.should_stop:
                break
    dry = run.result
    assert dry.benchmark.epochs == ()
    assert epoch_chart(dry) is None and epoch_split(dry) is None
    html = render_html(dry)
    assert "epoch-figure" not in html and 'id="epoch-split"' not in html and "<svg" not in html


def test_chart_text_is_readable_on_a_phone() -> None:
    assert FONT * PHONE_FIGURE_PX / WIDTH >= 9.0
    css = CSS.read_text()
    assert f"svg.chart text {{ font-size: {FONT:g}px; }}" in css


def test_log_ticks() -> None:
    assert log_ticks(2.7, 843) == [5, 10, 20, 50, 100, 200, 500]
    assert log_ticks(0.15, 6.8, time=True) == [0.2, 0.5, 1, 2, 5]
    assert log_ticks(30, 4000, time=True) == [60, 600, 3600]
    assert log_ticks(1, 1e9) == [1, 100, 10_000, 1e6, 1e8]          # every few decades
    assert len(log_ticks(1.05, 1.84)) >= 2                           # within one 1-9 step
    assert log_ticks(0, 10) == [] and log_ticks(5, 5) == [] and log_ticks(1, math.inf) == []
