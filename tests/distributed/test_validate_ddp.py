"""validate's 2-rank DDP row at scale "tiny": the job runs, and the row is sane."""

from __future__ import annotations

import math

from greenlove.validate.ddp_check import check_ddp
from greenlove.validate.frameworks import FRAMEWORK_CHECKS


def test_the_ddp_check_is_registered_and_its_tiny_row_is_sane() -> None:
    assert FRAMEWORK_CHECKS["ddp"] is check_ddp
    row = check_ddp(0, "tiny")
    assert (row.workload, row.method, row.epochs) == ("ddp", "estimate", 3)
    assert all(math.isfinite(v) and v > 0 for v in (row.predicted_s, row.high_s, row.actual_s,
                                                     row.predict_wall_s))
    assert 0 <= row.low_s <= row.predicted_s <= row.high_s
    # Within a factor of 4 of the run it predicted, even at this size (a run of half a
    # second) on a shared machine.
    assert 1 / 4 < row.predicted_s / row.actual_s < 4
