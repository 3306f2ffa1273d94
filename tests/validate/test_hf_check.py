"""validate's Hugging Face Trainer workload at scale "tiny": a dry run, then the full run on a
fresh Trainer, and the row comparing them."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("transformers")

from greenlove.validate.frameworks import FRAMEWORK_CHECKS  # noqa: E402
from greenlove.validate.hf_check import SIZES, check  # noqa: E402


def test_the_tiny_hf_check_gives_a_sane_row() -> None:
    assert FRAMEWORK_CHECKS["hf"] is check
    row = check(0, "tiny")
    assert (row.workload, row.method, row.epochs) == ("hf-gpt2", "dry_run", SIZES["tiny"].epochs)
    assert 0 <= row.low_s <= row.predicted_s <= row.high_s
    assert row.predicted_s > 0 and row.actual_s > 0 and row.predict_wall_s > 0
    assert row.benchmark_share == pytest.approx(row.predict_wall_s / row.actual_s)


def test_the_hf_check_names_the_extra_and_the_scales(monkeypatch) -> None:
    with pytest.raises(ValueError, match="scale"):
        check(0, "huge")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install greenlove\[hf\]"):
        check(0, "tiny")
