"""A tracked run in both forms: predicted vs actual, the converging forecast, no pre-flight."""

from __future__ import annotations

import dataclasses
import re

import pytest

from greenlove.model import Interval
from greenlove.render import render_html, render_text
from greenlove.render.charts import convergence_chart
from greenlove.render.format import duration, energy, mass, money, span
from greenlove.result import Actual, Check, ForecastPoint

WIDTH = 160


@pytest.fixture
def estimated(preflight):
    """The render tests' pre-flight report (tests/render/conftest.py)."""
    return preflight


def _forecasts(whole_s: float, count: int = 5, upto: float = 1.0) -> tuple[ForecastPoint, ...]:
    """Forecasts up to ``upto`` done that start wide and off and close in on ``whole_s``."""
    points = []
    for i in range(count):
        done = (i + 1) / count * upto
        off, width = 0.3 * (1 - done), 0.4 * (1 - done) + 0.02
        point = whole_s * (1 + off)
        points.append(ForecastPoint(at_s=whole_s * done, done=done,
                                    time_s=Interval(point, point * (1 - width), point * (1 + width),
                                                    0.95),
                                    energy_kwh=Interval(2e-4, 1e-4, 3e-4, 0.95)))
    return tuple(points)


def _tracked(report, *, actual_s: float, covered: bool = True, forecasts=None):
    pred = report.prediction
    actual = Actual(time_s=actual_s, epochs_done=20, steps_done=2000, completed=True,
                    stop_reason="completed", epochs_planned=20, steps_per_epoch=100,
                    energy_kwh=3.1e-4, cost_usd=1.3e-4, co2_kg=1.2e-4,
                    started_at="2026-01-02T03:04:05+00:00", epoch_s=(1.1, 1.3, 1.2))
    check = Check(predicted_s=pred.time_s, actual_s=actual_s,
                  error_rel=pred.time_s.point / actual_s - 1, covered=covered,
                  energy_error_rel=pred.energy.energy_kwh.point / 3.1e-4 - 1, energy_covered=True)
    return dataclasses.replace(report, actual=actual, check=check,
                               forecasts=_forecasts(actual_s) if forecasts is None else forecasts)


def _no_preflight(report, forecasts=None):
    actual = Actual(time_s=95.0, epochs_done=7, steps_done=700, completed=False,
                    stop_reason="limit: max_usd 5 reached", epochs_planned=20, steps_per_epoch=100)
    return dataclasses.replace(report, benchmark=None, prediction=None, clouds=(), comparison={},
                               check=None, actual=actual,
                               forecasts=_forecasts(250.0, upto=0.35) if forecasts is None
                               else forecasts)


def _visible_text(html: str) -> str:
    body = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_summary_shows_the_real_run_and_the_check(estimated) -> None:
    pred = estimated.prediction
    actual_s = pred.time_s.point / 1.049
    report = _tracked(estimated, actual_s=actual_s)
    text = render_text(report, width=WIDTH)
    assert "The real run" in text
    full = render_text(report, width=WIDTH, full=True)       # the pre-flight's table: --full
    assert full.index("The real run") < full.index("Predicted full run")
    expected = (f"predicted {duration(pred.time_s.point)} (95%: {span(pred.time_s, duration)}), "
                f"took {duration(actual_s)}: 4.9% long, inside the interval")
    assert expected in " ".join(text.split()).replace("│ ", "")
    for figure in (energy(3.1e-4), money(1.3e-4), mass(1.2e-4)):
        assert figure in text
    assert "20 of 20 planned" in text and "2,000 of 2,000 planned" in text
    assert "completed" in text
    assert f"took {duration(actual_s)}" in text.splitlines()[0]       # the panel title


def test_outside_and_short_wording(estimated) -> None:
    pred = estimated.prediction
    actual_s = pred.time_s.high * 2
    report = _tracked(estimated, actual_s=actual_s, covered=False)
    text = " ".join(render_text(report, width=WIDTH).split())
    error = 1 - pred.time_s.point / actual_s
    assert f"{error:.1%} short, outside the interval" in text
    html = render_html(report)
    assert f"{error:.1%} short, outside the interval" in html
    assert 'class="verdict outside"' in html


def test_energy_check_sentence(estimated) -> None:
    pred = estimated.prediction
    report = _tracked(estimated, actual_s=pred.time_s.point)
    e = pred.energy.energy_kwh
    err = e.point / 3.1e-4 - 1
    words = "high" if err >= 0 else "low"
    sentence = (f"Energy: predicted {energy(e.point)} (95%: {span(e, energy)}), used "
                f"{energy(3.1e-4)}: {abs(err):.1%} {words}, inside the interval.")
    assert sentence in render_html(report)


def test_page_has_predicted_vs_actual_and_the_chart(estimated) -> None:
    pred = estimated.prediction
    actual_s = pred.time_s.point / 1.049
    report = _tracked(estimated, actual_s=actual_s)
    html = render_html(report)
    assert "<script" not in html.lower()
    assert html.index('id="actual"') < html.index('id="clouds"')
    assert ">Predicted vs actual<" in html and "How the forecast converged" in html
    assert "4.9% long, inside the interval" in html and 'class="verdict inside"' in html
    for figure in (duration(actual_s), energy(3.1e-4), money(1.3e-4), mass(1.2e-4)):
        assert figure in html
    chart = html[html.index('<figure id="convergence">'):]
    chart = chart[:chart.index("</figure>")]
    assert chart.count('class="forecast-point"') == len(report.forecasts) == 5
    assert chart.count('class="forecast-band"') == 1
    assert "<desc" in chart and "forecast whole-run time (s)" in chart
    assert "share of the planned steps done (%)" in chart
    assert f"actual: {duration(actual_s)}" in chart
    assert f"pre-flight: {duration(pred.time_s.point)}" in chart
    assert html.count("<svg") == 3                                   # epochs, power, forecast
    # The tooltip of each point says when the forecast was made and what it said.
    first = report.forecasts[0]
    assert f"20.0% done, {duration(first.at_s)} in: the whole run {duration(first.time_s.point)}" \
        in chart


def test_chart_geometry_follows_the_forecasts(estimated) -> None:
    report = _tracked(estimated, actual_s=600.0)
    chart = convergence_chart(report)
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and xs[-1] == pytest.approx(chart.axes.right)
    assert chart.axes.y_label == "forecast whole-run time (min)"
    actual_rule = next(r for r in chart.rules if r.label.startswith("actual"))
    # The last forecast sits on the actual time (it converged there).
    assert chart.points[-1].y == pytest.approx(actual_rule.y, abs=0.2)
    assert all(chart.axes.top <= p.y <= chart.axes.bottom for p in chart.points)


def test_wild_early_forecast_is_clipped_not_squashing_the_chart(estimated) -> None:
    forecasts = (ForecastPoint(1.0, 0.01, Interval(1e5, 1e4, 1e6, 0.95)), *_forecasts(60.0))
    chart = convergence_chart(_tracked(estimated, actual_s=60.0, forecasts=forecasts))
    assert chart.points[0].y == pytest.approx(chart.axes.top)
    assert "drawn at the top edge" in chart.description
    assert len(chart.points) == 6


def test_one_forecast_gives_a_sentence_not_a_chart(estimated) -> None:
    report = _tracked(estimated, actual_s=30.0, forecasts=_forecasts(30.0, count=1))
    assert convergence_chart(report) is None
    html = render_html(report)
    assert 'id="convergence"' not in html and "forecast-point" not in html
    assert "Only one live forecast" in html
    assert "The only live forecast" in render_text(report, width=WIDTH)
    none = _tracked(estimated, actual_s=30.0, forecasts=())
    assert "No live forecast was recorded" in render_html(none)


def test_untracked_report_is_unchanged(estimated) -> None:
    text, html = render_text(estimated), render_html(estimated)
    assert not estimated.tracked
    assert "The real run" not in text and "Predicted vs actual" not in html
    assert 'id="actual"' not in html and "convergence" not in html
    predicted = duration(estimated.prediction.time_s.point)
    assert text.splitlines()[0].startswith(
        f"╭─ greenlove {estimated.greenlove_version}: predicted {predicted} ─")
    assert "What this training run will cost" in html and html.count("<svg") == 2


def test_no_preflight_renders_in_both_forms(estimated) -> None:
    report = _no_preflight(estimated)
    text = render_text(report, width=WIDTH)
    html = render_html(report)
    visible = _visible_text(html)
    for form in (text, visible):
        assert "None" not in form and not re.search(r"\bnan\b", form, re.I)
        assert duration(95.0) in form
        assert "not estimated before the run" in form.lower()
        assert "not measured" in form
        assert "7 of 20 planned" in form and "700 of 2,000 planned" in form
        assert "stopped: limit: max_usd 5 reached" in form
    assert "Predicted full run" not in text and "What was measured" not in text
    last = report.forecasts[-1]
    assert f"Last live forecast, at 35.0% done ({duration(last.at_s)} in)" in " ".join(text.split())
    assert "<script" not in html.lower()
    for section in ('id="evidence"', 'id="power"', 'id="card-time"', "<table id=\"cloud-table\""):
        assert section not in html
    assert 'id="preflight"' in html and 'id="actual"' in html
    chart = html[html.index('<figure id="convergence">'):html.index("</figure>")]
    assert chart.count('class="forecast-point"') == 5
    assert "pre-flight" not in chart and "actual:" not in chart      # stopped: no actual whole run
    assert "stopped after" in html


def test_no_preflight_with_one_forecast(estimated) -> None:
    report = _no_preflight(estimated, forecasts=_forecasts(250.0, count=1))
    html, text = render_html(report), render_text(report, width=WIDTH)
    assert "Only one live forecast" in html and "<svg" not in html
    assert "None" not in text and "None" not in _visible_text(html)


def test_stopped_run_with_a_preflight_is_not_checked(estimated) -> None:
    tracked = _tracked(estimated, actual_s=10.0)
    actual = dataclasses.replace(tracked.actual, completed=False, epochs_done=8, steps_done=800,
                                 stop_reason="limit: max_s 10 reached")
    report = dataclasses.replace(tracked, actual=actual, check=None)
    text = " ".join(render_text(report, width=WIDTH).split())
    html = render_html(report)
    for form in (text, html):
        assert ("the run stopped after 10.0 s (limit: max_s 10 reached), so the prediction is "
                "not checked") in form
        assert "inside the interval" not in form and "outside the interval" not in form
    assert "8 of 20 planned" in text
    assert "Predicted full run" in render_text(report, width=WIDTH, full=True)
    chart = convergence_chart(report)
    assert [r.label for r in chart.rules] == [f"pre-flight: {duration(estimated.prediction.time_s.point)}"]


def test_run_strings_are_escaped(estimated) -> None:
    evil = "<script>alert(1)</script>"
    tracked = _no_preflight(estimated)
    report = dataclasses.replace(tracked, actual=dataclasses.replace(
        tracked.actual, stop_reason=f"exception: {evil}", started_at=evil))
    html = render_html(report)
    assert evil not in html and "<script" not in html.lower()
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3     # table, sentence, caption
