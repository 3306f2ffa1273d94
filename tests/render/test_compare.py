"""Reports side by side: every report's figures as format.py writes them, the changes against
the first, the missing figures said, hostile strings escaped, and the page at phone width."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

import greenlove
from greenlove.render import compare_reports, render_compare_html
from greenlove.render.format import duration, energy, mass, money, number, percent, span
from greenlove.render.groups import offer_name
from greenlove.render.verdict import verdict
from greenlove.result import Actual, Check
from tests.fakes.training import (
    FakeClock,
    SimulatedEpoch,
    fake_clouds,
    fake_energy,
    fake_instruments,
    make_loader,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "report_schema1.json"
EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _estimate(per_batch_s: float, epochs: int = 20):
    clock = FakeClock()
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=per_batch_s, noise_rel=0.02, seed=4)
    return greenlove.estimate(epoch, make_loader(), epochs=epochs, budget_s=6.0, progress=False,
                              instruments=fake_instruments(clock), energy=fake_energy(clock),
                              clouds=fake_clouds(), site=greenlove.Site(zone="DE"))


@pytest.fixture(scope="module")
def slow():
    return _estimate(0.01)


@pytest.fixture(scope="module")
def fast():
    """The same run with half the time per batch (a larger batch size, say)."""
    return _estimate(0.005)


@pytest.fixture(scope="module")
def tracked(slow):
    """``slow`` tracked to completion, 4.9% shorter than predicted."""
    pred = slow.prediction
    actual_s = pred.time_s.point / 1.049
    actual = Actual(time_s=actual_s, epochs_done=20, steps_done=2000, completed=True,
                    stop_reason="completed", epochs_planned=20, steps_per_epoch=100,
                    energy_kwh=3.1e-4, cost_usd=1.3e-4, co2_kg=1.2e-4,
                    started_at="2026-01-02T03:04:05+00:00", epoch_s=(1.1, 1.3, 1.2))
    check = Check(predicted_s=pred.time_s, actual_s=actual_s,
                  error_rel=pred.time_s.point / actual_s - 1, covered=True,
                  energy_error_rel=pred.energy.energy_kwh.point / 3.1e-4 - 1, energy_covered=True)
    return dataclasses.replace(slow, actual=actual, check=check)


@pytest.fixture(scope="module")
def old():
    return greenlove.load(GOLDEN)


def _no_preflight(report):
    actual = Actual(time_s=95.0, epochs_done=7, steps_done=700, completed=False,
                    stop_reason="limit: max_usd 5 reached", epochs_planned=20, steps_per_epoch=100)
    return dataclasses.replace(report, benchmark=None, prediction=None, clouds=(), comparison={},
                               check=None, actual=actual)


def _cell(comparison, label: str, index: int):
    for section in comparison.sections:
        for row in section.rows:
            if row.label == label:
                return row.cells[index]
    raise AssertionError(f"no row {label!r}")


def _predicted_figures(report) -> list[str]:
    pred = report.prediction
    figures = [duration(pred.time_s.point), span(pred.time_s, duration)]
    if pred.energy is not None:
        e = pred.energy.energy_kwh
        figures += [energy(e.point), span(e, energy)]
    for interval, fmt in ((pred.cost_usd, money), (pred.co2_kg, mass)):
        if interval is not None:
            figures += [fmt(interval.point), span(interval, fmt)]
    return figures


def test_page_has_every_reports_figures(slow, fast, tracked, old) -> None:
    html = render_compare_html([slow, fast, tracked, old], ["a.json", "b.json", "t.json", "o.json"])
    for report in (slow, fast, tracked, old):
        for figure in _predicted_figures(report):
            assert escape(figure, quote=False) in html, figure
    assert len(_predicted_figures(slow)) == 8 and len(_predicted_figures(old)) == 2
    for figure in (duration(tracked.actual.time_s), energy(3.1e-4), money(1.3e-4), mass(1.2e-4)):
        assert escape(figure, quote=False) in html, figure
    assert "predicted 4.9% long, inside the interval" in html
    for label in ("a.json", "b.json", "t.json", "o.json"):
        assert f'<th scope="col">{label}</th>' in html
    assert "1,000 items" in html and ">50<" in html          # the old file's plan: 50 epochs


def test_half_the_time_per_batch_is_a_time_change_of_the_right_size(slow, fast) -> None:
    comparison = compare_reports([slow, fast], ["a.json", "b.json"])
    t_slow, t_fast = slow.prediction.time_s.point, fast.prediction.time_s.point
    change = t_fast / t_slow - 1
    # per epoch 0.2 s + 100 x 0.01 s against 0.2 s + 100 x 0.005 s: about -42%
    assert -0.5 < change < -0.35
    assert _cell(comparison, "time", 1).change == f"{percent(change, 0)} vs a.json"
    assert _cell(comparison, "time", 0).change == ""
    e_change = fast.prediction.energy.energy_kwh.point / slow.prediction.energy.energy_kwh.point - 1
    assert _cell(comparison, "energy", 1).change == f"{percent(e_change, 0)} vs a.json"
    assert comparison.answer == (
        f"b.json is {percent(-change, 0)} faster than a.json: {duration(t_fast)} instead of "
        f"{duration(t_slow)}, for {money(fast.prediction.cost_usd.point)} instead of "
        f"{money(slow.prediction.cost_usd.point)} and {mass(fast.prediction.co2_kg.point)} "
        f"instead of {mass(slow.prediction.co2_kg.point)} CO2e (both predicted).",)
    assert comparison.notes == ()                              # same plan: a before and after
    reverse = compare_reports([fast, slow], ["b.json", "a.json"])
    assert reverse.answer[0].startswith(f"a.json is {percent(t_slow / t_fast - 1, 0)} slower "
                                        "than b.json")
    assert _cell(reverse, "time", 1).change.startswith("+")


def test_the_tracked_run_is_compared_on_what_it_measured(slow, tracked) -> None:
    comparison = compare_reports([slow, tracked], ["a.json", "t.json"])
    assert _cell(comparison, "time (error of the prediction)", 0).detail == "not tracked"
    assert _cell(comparison, "time (error of the prediction)", 0).text == "—"
    assert _cell(comparison, "time (error of the prediction)", 1).change == "n/a vs a.json"
    actual_s, predicted_s = tracked.actual.time_s, slow.prediction.time_s.point
    assert comparison.answer[0].startswith(
        f"t.json is {percent(1 - actual_s / predicted_s, 0)} faster than a.json: "
        f"{duration(actual_s)} instead of {duration(predicted_s)}")
    assert comparison.answer[0].endswith("(measured against predicted).")


def test_missing_figures_say_why_and_never_crash(slow, old) -> None:
    no_preflight = _no_preflight(slow)
    dry = dataclasses.replace(slow, actual=dataclasses.replace(
        _no_preflight(slow).actual, dry_run=True, stop_reason="dry run: budget spent"))
    comparison = compare_reports([slow, old, no_preflight, dry],
                                 ["a.json", "old.json", "np.json", "dry.json"])
    energy_old = _cell(comparison, "energy", 1)
    assert (energy_old.text, energy_old.detail, energy_old.change) == \
        ("—", "energy not measured", "n/a vs a.json")
    assert _cell(comparison, "time", 2).detail == "not estimated before the run"
    assert _cell(comparison, "best cloud offer", 1).text == "no cloud comparison"
    assert _cell(comparison, "best cloud offer", 2).detail == "not estimated before the run"
    stopped = _cell(comparison, "time (error of the prediction)", 2)
    assert stopped.text == duration(95.0) and "stopped: limit: max_usd 5 reached" in stopped.detail
    assert stopped.change == "n/a vs a.json"                   # part of a run is no whole run
    assert _cell(comparison, "time (error of the prediction)", 3).detail == \
        "a dry run, not the whole fit"
    assert _cell(comparison, "report", 3).text == "dry run (the fit's first steps)"
    assert "np.json has no whole-run time to compare with a.json's." in comparison.answer
    assert comparison.notes and "epochs 20 / 50 / 20 / 20" in comparison.notes[0]
    assert "not a before and after" in comparison.notes[0]
    html = render_compare_html([slow, old, no_preflight, dry],
                               ["a.json", "old.json", "np.json", "dry.json"])
    assert 'id="notes"' in html and "energy not measured" in html


def test_without_tracked_runs_the_real_run_section_is_left_out(slow, fast) -> None:
    comparison = compare_reports([slow, fast], ["a", "b"])
    assert [s.title for s in comparison.sections] == \
        ["What was run", "Predicted before the run", "Where to run it"]


def test_the_best_offer_is_named(slow) -> None:
    long = _estimate(0.01, epochs=2000)
    answer = verdict(long)
    assert answer.offer is not None and answer.offer_role != "the fastest offer", answer.text
    comparison = compare_reports([slow, long], ["a.json", "long.json"])
    cell = _cell(comparison, "best cloud offer", 1)
    assert offer_name(answer.offer) in cell.text + cell.detail
    assert comparison.verdicts[1] == ("long.json", answer.text)
    assert _cell(comparison, "best cloud offer", 0).text == "stay here"  # 24 s: too short


def test_hostile_strings_are_escaped(slow, fast) -> None:
    evil_clouds = tuple(dict(o, provider=EVIL, gpu=EVIL) for o in fast.clouds)
    local = {**fast.comparison["local"],
             "device": {**fast.comparison["local"]["device"], "name": EVIL}}
    evil = dataclasses.replace(fast, clouds=evil_clouds,
                               comparison={**fast.comparison, "local": local},
                               greenlove_version=EVIL)
    html = render_compare_html([slow, evil], ["a.json", EVIL])
    assert EVIL not in html
    assert "<script" not in html.lower()
    # the label (header, answer, verdicts), the device, the version, the offer in the verdict
    assert html.count(ESCAPED) >= 6


def test_page_is_self_contained(slow, fast) -> None:
    lowered = render_compare_html([slow, fast], ["a.json", "b.json"]).lower()
    assert "<script" not in lowered
    for pattern in (r"<link\b", r"<img\b", r"<iframe\b", r"<object\b", r"<embed\b", r"@import",
                    r"url\(", r"\bsrc\s*=", r"\bhref\s*="):
        assert not re.search(pattern, lowered), pattern
    assert "prefers-color-scheme: dark" in lowered


def test_one_report_is_no_comparison(slow) -> None:
    with pytest.raises(ValueError, match="two or more"):
        compare_reports([slow], ["a.json"])
    with pytest.raises(ValueError, match="labels"):
        compare_reports([slow, slow], ["a.json"])


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no chromium here")
def test_phone_width_the_table_scrolls_inside_the_page(slow, fast, tracked, old, tmp_path) -> None:
    """In a 390 px viewport the document is no wider than the viewport; the wide table scrolls
    in its own container. Headless windows are at least 500 px wide, so the page goes into a
    390 px frame; a measuring script is added to that copy for the test only."""
    html = render_compare_html([slow, fast, tracked, old],
                               ["run_" * 20 + ".json", "b.json",
                                "t.json", "o.json"])
    probe = ("<script>const t = document.getElementById('compare-table').parentElement;"
             "parent.document.body.setAttribute('data-widths', window.innerWidth + ' ' + "
             "document.documentElement.scrollWidth + ' ' + t.scrollWidth + ' ' + t.clientWidth);"
             "</script></body>")
    page = tmp_path / "frame.html"
    page.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe width="390" '
                    f'height="2000" style="border:0" srcdoc="'
                    f'{escape(html.replace("</body>", probe), quote=True)}"></iframe></body></html>')
    dom = subprocess.run([_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", "--window-size=800,2000", "--no-first-run",
                          "--disable-extensions", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'data-widths="(\d+) (\d+) (\d+) (\d+)"', dom)
    assert found, "the measuring script did not run"
    viewport, document, table, container = map(int, found.groups())
    assert viewport == 390
    assert document <= viewport
    assert table > container                                   # four columns: it scrolls


def test_a_run_over_twice_as_long_is_said_in_times(slow) -> None:
    slower = _estimate(0.04)
    ratio = slower.prediction.time_s.point / slow.prediction.time_s.point
    assert ratio > 2
    comparison = compare_reports([slow, slower], ["a.json", "c.json"])
    assert comparison.answer[0].startswith(f"c.json takes {number(ratio)} times as long as "
                                           "a.json: ")
    assert _cell(comparison, "time", 1).change == f"+{percent(ratio - 1, 0)} vs a.json"


def test_figures_that_read_alike_are_said_once(slow) -> None:
    comparison = compare_reports([slow, slow], ["a.json", "b.json"])
    pred = slow.prediction
    assert comparison.answer == (
        f"b.json is as fast as a.json: {duration(pred.time_s.point)} in both, for "
        f"{money(pred.cost_usd.point)} in both and {mass(pred.co2_kg.point)} CO2e in both "
        "(both predicted).",)
    assert _cell(comparison, "time", 1).change == "0% vs a.json"
