"""The accuracy tables and summary lines carry the new figures, and fit 170 columns."""

from __future__ import annotations

from rich.console import Console

from greenlove.validate.accuracy import summarise
from greenlove.validate.table import (
    markdown,
    overhead_lines,
    rich_table,
    rich_tracking_table,
    summary_lines,
)
from greenlove.validate.track_overhead import TrackOverheadResult

from .rows import live, pass2, row

NAMES = ("mlp", "cnn", "lstm", "transformer", "svm", "fixed-cost", "workers")


def _rows():
    rows = []
    for i, name in enumerate(NAMES):
        points = (live(0, 0.10, 101.25, low_s=100.5), live(0, 0.25, 99.5), live(0, 0.50, 100.25),
                  live(1, 0.10, 98.0), live(1, 0.25, 100.0), live(1, 0.50, 100.0))
        rows.append(row(name, point=96.0 + i, low=80.0 + i, high=118.0 + i, actual=100.0,
                        timer_s=99.98, live_points=points, repeats=(102.0,),
                        second=pass2(99.0, 90.0, 109.0, 102.0 + 2 * i, bias=-0.034)))
    return rows


OVERHEAD = TrackOverheadResult(step_off_s=0.002, step_on_s=0.002004,
                               ratios=tuple(1.0 + k * 0.0005 for k in range(-10, 30)),
                               steps_per_block=100, forecast_s=0.0012, marks=4096,
                               start_end_s=0.008)


def _render(table) -> list[str]:
    console = Console(width=170, record=True, highlight=False)
    console.print(table)
    return console.export_text().splitlines()


def test_rich_tables_fit_170_columns_and_show_the_new_figures() -> None:
    rows = _rows()
    main = _render(rich_table(rows))
    tracking = _render(rich_tracking_table(rows))
    assert all(len(line) <= 170 for line in main + tracking)
    # one line per row: no cell wrapped
    assert sum(1 for line in main if line.lstrip().startswith(NAMES)) == len(NAMES)
    assert sum(1 for line in tracking if line.lstrip().startswith(NAMES)) == len(NAMES)
    mlp = next(line for line in tracking if line.lstrip().startswith("mlp "))
    assert "+1.2/-0.5/+0.2%" in mlp                   # live error at 10/25/50% of pass 1
    assert "2 of 3" in mlp                             # the 10% point (101.25 +- 2) held 100
    assert "99.0" in mlp and "90.0–109" in mlp and "102" in mlp   # pass 2 point, interval, actual
    assert "-2.9%" in mlp and "yes" in mlp             # pass 2 error, covered
    assert "8.0% (6 runs)" in mlp and "-3.4%" in mlp   # drift and bias used
    assert "19.8% -> 9.6%" in mlp                      # half-widths of both passes
    workers = next(line for line in tracking if line.lstrip().startswith("workers"))
    assert "NO" in workers                             # 114 is outside 90-109


def test_summary_lines_give_the_figures_beside_their_targets() -> None:
    text = "\n".join(summary_lines(summarise(_rows())))
    assert "live forecast:" in text
    assert "10% 1.6% (target <= 2%: met)" in text     # median of 1.25% and 2%
    assert "50% 0.1% (target <= 1%: met)" in text
    assert "covered 35 of 42 checkpoints, 83% (target >= 90%: MISSED)" in text
    assert "over 14 tracked full runs" in text
    assert "elapsed / done:   median |error| at 10% 0.0%" in text
    assert "pass 1 interval:  default drift: median half-width 19.2%, covered 7 of 7" in text
    assert "median half-width 9.6%, covered 4 of 7" in text
    assert "half-width <= 12% with >= 6 of 7 covered: MISSED" in text
    assert "differ by at most 0.02% (20 ms" in text


def test_markdown_has_both_tables_the_summary_and_the_overhead() -> None:
    rows = _rows()
    text = markdown(rows, summarise(rows), OVERHEAD)
    assert "| workload | epochs | predicted (s) | 95% interval (s) |" in text
    assert "| workload | live err 10%/25%/50% | live covered | pass 2 predicted (s) |" in text
    assert "| mlp | +1.2/-0.5/+0.2% | 2 of 3 | 99.0 | 90.0–109 | 102 | -2.9% | yes |" in text
    assert "pass 2 interval:" in text and "live forecast:" in text
    assert "tracking cost:" in text and "tracker thread:" in text
    assert "\n\n" not in text.split("live forecast:")[1]   # the lines stay together
    without = markdown(rows, summarise(rows))
    assert "tracking cost:" not in without


def test_overhead_lines() -> None:
    low, high = OVERHEAD.ratio_ci()
    assert low <= OVERHEAD.ratio <= high
    text = "\n".join(overhead_lines(OVERHEAD))
    assert f"on/off step time {OVERHEAD.ratio:.4f}" in text
    assert "median of 40 ABBA pairs of 100 steps" in text
    assert "2.00 ms step" in text and "target <= 0.5% of a 2 ms step: unresolved" in text
    assert "1.20 ms, once a second: 0.12% of one core" in text
    assert "track() and close() take 8.0 ms once per run" in text


def test_rows_without_pass_2_show_dashes() -> None:
    rows = [row("mlp", live_points=(live(0, 0.10, 100.0),))]
    tracking = _render(rich_tracking_table(rows))
    mlp = next(line for line in tracking if line.lstrip().startswith("mlp"))
    assert "+0.0/—/—%" in mlp and "1 of 1" in mlp and "—" in mlp
    assert "pass 2 interval:" not in "\n".join(summary_lines(summarise(rows)))
