"""The loop closed: estimate, track the run, and the next estimate learns from the record."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from greenlove.errors import GreenloveWarning
from greenlove.model.assumptions import DRIFT_CPU
from tests.fakes.training import PerBatchEpoch, estimate_on_fake_clock, make_loader
from tests.run.test_track import start, train


def test_a_tracked_run_teaches_the_next_estimate_on_this_machine(clock, tmp_path):
    loader = make_loader(1000, 10)
    epoch = PerBatchEpoch(clock, per_batch_s=0.01, after_loop_s=0.2)
    first = estimate_on_fake_clock(clock, epoch, loader, epochs=4, history=tmp_path)
    assert first.assumptions["drift_rel"]["value"] == DRIFT_CPU.value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenloveWarning)
        with start(clock, first, history=tmp_path, name="mlp") as run:
            train(run, clock, loader, 4)
    line = json.loads((tmp_path / "history.jsonl").read_text().splitlines()[0])
    assert line["predicted_s"]["point"] == pytest.approx(first.prediction.time_s.point)
    assert line["actual_s"] == pytest.approx(run.result.actual.time_s)
    assert line["drift_rel_used"] == DRIFT_CPU.value

    second = estimate_on_fake_clock(clock, epoch, loader, epochs=4, history=tmp_path)
    drift = second.assumptions["drift_rel"]
    error = math.log(line["actual_s"] / line["predicted_s"]["point"])
    expected = math.sqrt((2 * DRIFT_CPU.value**2
                          + max(error**2 - line["estimated_sd_rel"] ** 2, 0.0)) / 3)
    assert drift["value"] == pytest.approx(expected)
    assert "from 1 earlier run" in drift["source"]
    width = second.prediction.time_s.high - second.prediction.time_s.low
    assert width < first.prediction.time_s.high - first.prediction.time_s.low
