"""The framework workloads' rows in validate's table, and a missing framework skipped."""

from __future__ import annotations

import pytest

from greenlove.validate import frameworks
from greenlove.validate.frameworks import FrameworkRow, run_framework_checks
from greenlove.validate.table import _framework_cells, framework_lines, rich_table


def row(**kw) -> FrameworkRow:
    base = dict(workload="lightning", method="dry_run", epochs=8, predicted_s=44.0, low_s=34.0,
                high_s=54.0, actual_s=40.0, predict_wall_s=4.0)
    return FrameworkRow(**{**base, **kw})


def test_a_framework_row_has_its_error_coverage_and_share():
    r = row()
    assert r.error == pytest.approx(0.1) and r.covered and r.benchmark_share == pytest.approx(0.1)
    cells = _framework_cells(r)
    assert cells[0] == "lightning (dry_run)"
    assert cells[5] == "+10.0%" and cells[6] == "yes" and cells[7] == "10.0%"
    assert cells[8] == cells[9] == "—"          # the benchmark's baselines do not apply
    assert len(cells) == len(rich_table([], [r]).columns)
    assert r.to_dict()["covered"] is True


def test_the_framework_line_spans_the_rows():
    rows = [row(), row(workload="hf", predicted_s=30.0, actual_s=40.0, low_s=25.0, high_s=35.0)]
    (line,) = framework_lines(rows)
    assert line.startswith("frameworks (lightning, hf): median |error| 17.5%, worst 25.0%; "
                           "covered 1 of 2")
    assert framework_lines([]) == []


def test_a_framework_not_installed_is_skipped_and_said(monkeypatch):
    def missing(seed, scale):
        raise ImportError("greenlove.lightning needs lightning: pip install greenlove[lightning]")

    monkeypatch.setitem(frameworks.FRAMEWORK_CHECKS, "lightning", missing)
    monkeypatch.setitem(frameworks.FRAMEWORK_CHECKS, "hf", lambda seed, scale: row(workload="hf"))
    skipped = []
    rows = run_framework_checks(["lightning", "hf"], scale="tiny",
                                on_skip=lambda name, why: skipped.append((name, why)))
    assert [r.workload for r in rows] == ["hf"]
    assert skipped == [("lightning", "greenlove.lightning needs lightning: pip install "
                                     "greenlove[lightning]")]
    with pytest.raises(KeyError, match="unknown framework workload"):
        frameworks.framework_check("keras")
