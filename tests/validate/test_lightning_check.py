"""The Lightning workload of validate at scale "tiny": a dry run, then the full fit."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("lightning.pytorch")

from greenlove.validate.frameworks import FRAMEWORK_CHECKS, FrameworkRow  # noqa: E402
from greenlove.validate.lightning_check import SIZES, check  # noqa: E402


def test_the_lightning_check_is_registered_and_gives_a_sane_row():
    assert FRAMEWORK_CHECKS["lightning"] is check
    row = check(0, "tiny")
    assert isinstance(row, FrameworkRow)
    assert row.workload == "lightning" and row.method == "dry_run"
    assert row.epochs == SIZES["tiny"].epochs
    assert row.actual_s > 0 and row.predict_wall_s > 0
    assert 0 < row.low_s <= row.predicted_s <= row.high_s
    assert all(math.isfinite(v) for v in (row.predicted_s, row.low_s, row.high_s, row.actual_s))
    assert row.benchmark_share == pytest.approx(row.predict_wall_s / row.actual_s)


def test_an_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        check(0, "huge")
