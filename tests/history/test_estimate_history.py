"""estimate on the fake clock with a record of earlier runs on this machine: its drift term."""

from __future__ import annotations

import math

import pytest

import greenlove
from greenlove.history import append_entry, calibrate, history_file, machine_fingerprint
from greenlove.measure import training_device_kind
from greenlove.model import DRIFT_REL_CPU
from greenlove.model.assumptions import DRIFT_CPU
from greenlove.model.stats import z_quantile
from tests.fakes.training import SimulatedEpoch, make_loader
from tests.fakes.training import estimate_on_fake_clock as _estimate
from tests.history.entries import entry

# 50 epochs x (0.2 + 0.01 x 100 batches) = 60 s; the exact line leaves only the drift term.
POINT_S = 60.0


def _record(folder, actual_s) -> list:
    here = machine_fingerprint()
    entries = [entry(a, fingerprint=here, device_kind=training_device_kind(None)) for a in actual_s]
    for e in entries:
        append_entry(e, folder)
    return entries


def _half_s(drift_rel: float) -> float:
    return z_quantile(0.95) * 50 * drift_rel * (0.2 + 0.01 * 100)


def _exact(clock, **kwargs):
    return _estimate(clock, SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01), make_loader(),
                     budget_s=10.0, **kwargs)


def test_earlier_runs_on_this_machine_narrow_the_interval(clock, greenlove_home, tmp_path) -> None:
    entries = _record(greenlove_home, [102.0, 98.0, 102.0, 98.0, 102.0, 98.0, 102.0])
    expected = calibrate(entries, fingerprint=machine_fingerprint(), device_kind="cpu",
                         default=DRIFT_CPU)
    report = _exact(clock)
    drift = report.assumptions["drift_rel"]
    assert drift["method"] == "history" and drift["value"] == pytest.approx(expected.drift_rel)
    assert drift["value"] < 0.6 * DRIFT_REL_CPU
    assert "from 7 earlier runs on this machine" in drift["source"]
    assert report.assumptions["history_pseudo_runs"]["value"] == 2
    time_s = report.prediction.time_s
    assert time_s.point == pytest.approx(POINT_S, rel=1e-6)            # no bias: |b| < 1%
    assert time_s.high - time_s.point == pytest.approx(_half_s(expected.drift_rel), rel=1e-3)
    assert "bias_correction_rel" not in report.assumptions
    assert greenlove.load(report.save(tmp_path / "r.json")).assumptions == report.assumptions


def test_a_bias_seen_three_times_corrects_the_point(clock, greenlove_home) -> None:
    _record(greenlove_home, [110.0, 110.0, 110.0])
    report = _exact(clock)
    bias_rel = math.expm1(3 * math.log(1.1) / 5)
    assert report.assumptions["bias_correction_rel"]["value"] == pytest.approx(bias_rel)
    assert report.prediction.time_s.point == pytest.approx(POINT_S * (1 + bias_rel), rel=1e-6)
    assert report.prediction.epoch_s.point == pytest.approx(1.2 * (1 + bias_rel), rel=1e-6)
    assert any("ran slower than predicted" in w and f"{bias_rel:+.1%}" in w
               for w in report.warnings)


def test_history_false_ignores_the_record(clock, greenlove_home) -> None:
    _record(greenlove_home, [110.0, 110.0, 110.0])
    report = _exact(clock, history=False)
    assert report.assumptions["drift_rel"]["value"] == DRIFT_REL_CPU
    assert report.assumptions["drift_rel"]["method"] == "default"
    assert report.prediction.time_s.point == pytest.approx(POINT_S, rel=1e-6)
    assert report.prediction.time_s.high - POINT_S == pytest.approx(_half_s(DRIFT_REL_CPU),
                                                                     rel=1e-3)


def test_a_folder_of_ones_own_and_runs_of_other_machines(clock, tmp_path) -> None:
    append_entry(entry(100.0, device_kind=training_device_kind(None)), tmp_path)  # another host
    report = _exact(clock, history=tmp_path)
    assert report.assumptions["drift_rel"]["value"] == DRIFT_REL_CPU


def test_a_broken_record_warns_and_never_breaks_estimate(clock, greenlove_home, tmp_path) -> None:
    _record(greenlove_home, [100.0])
    with history_file(greenlove_home).open("a") as handle:
        handle.write("garbage\n")
    report = _exact(clock)
    assert report.assumptions["drift_rel"]["method"] == "history"
    assert any("line 2 is not a greenlove history entry" in w for w in report.warnings)
    (tmp_path / "a-file").write_text("not a folder")
    report = _exact(clock, history=tmp_path / "a-file")
    assert report.assumptions["drift_rel"]["value"] == DRIFT_REL_CPU
    assert any("could not be read" in w for w in report.warnings)
