"""The compiled workload at scale tiny: a row for the run in this process and one for a fresh one."""

from __future__ import annotations

from greenlove.validate.frameworks import FrameworkRow, run_framework_checks


def test_the_compiled_check_gives_a_row_per_run():
    rows = run_framework_checks(["compiled"], scale="tiny")
    assert [r.method for r in rows] == ["estimate, same process", "estimate, fresh process"]
    here, fresh = rows
    assert all(isinstance(r, FrameworkRow) and r.actual_s > 0 for r in rows)
    assert all(0 < r.low_s <= r.predicted_s <= r.high_s for r in rows)
    # The fresh process compiles again: its prediction is the longer one.
    assert fresh.predicted_s > here.predicted_s
