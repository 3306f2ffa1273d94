"""The calibration rule: conservative with few runs, exact by the documented formula."""

from __future__ import annotations

import math

import pytest

from greenlove.history import (
    PSEUDO_RUNS,
    calibrate,
    estimated_sd_rel,
    terms_used,
)
from greenlove.model.assumptions import DRIFT_ACCELERATOR, DRIFT_CPU
from tests.history.entries import FINGERPRINT, OTHER, entry


def _calibrate(entries, **kwargs):
    kwargs.setdefault("device_kind", "cpu")
    kwargs.setdefault("default", DRIFT_CPU)
    return calibrate(entries, fingerprint=FINGERPRINT, **kwargs)


def _rule(errors, d0, sd=None, bias=0.0):
    sd = sd or [0.0] * len(errors)
    excess = sum(max((e - bias) ** 2 - f**2, 0.0) for e, f in zip(errors, sd))
    return math.sqrt((PSEUDO_RUNS * d0**2 + excess) / (PSEUDO_RUNS + len(errors)))


def test_no_runs_give_the_default_unchanged() -> None:
    found = _calibrate([])
    assert found.drift_rel == DRIFT_CPU.value and found.bias_rel == 0.0 and found.runs == 0
    assert found.method == "default" and found.source == DRIFT_CPU.source
    assert found.coverage is None and found.rms_rel is None
    entry_ = found.assumptions()["drift_rel"]
    assert entry_ == {**DRIFT_CPU.to_dict(), "method": "default"}
    assert set(found.assumptions()) == {"drift_rel"}


def test_one_lucky_run_cannot_shrink_the_drift_below_two_thirds_of_the_variance() -> None:
    found = _calibrate([entry(100.0)])        # error exactly 0
    assert PSEUDO_RUNS == 2
    assert found.drift_rel == pytest.approx(DRIFT_CPU.value * math.sqrt(2 / 3))
    assert found.runs == 1 and found.bias_rel == 0.0 and found.method == "history"
    assert found.coverage == (1, 1) and found.median_abs_error_rel == 0.0


def test_seven_runs_missing_by_two_percent_narrow_the_drift_exactly_by_the_rule() -> None:
    actual = [102.0, 98.0, 102.0, 98.0, 102.0, 98.0, 102.0]
    found = _calibrate([entry(a) for a in actual])
    errors = [math.log(a / 100.0) for a in actual]
    b = sum(errors) / (7 + PSEUDO_RUNS)
    assert abs(b) < 0.01                      # too small to correct
    assert found.bias_rel == 0.0
    assert found.drift_rel == pytest.approx(_rule(errors, 0.12), rel=1e-12)
    assert found.drift_rel < 0.6 * DRIFT_CPU.value
    assert found.rms_rel == pytest.approx(math.sqrt(sum(e * e for e in errors) / 7))
    assert found.median_abs_error_rel == pytest.approx(0.02)
    assert found.coverage == (7, 7)
    assert "from 7 earlier runs on this machine" in found.source
    assert "default 12%, counted as 2 pseudo-runs" in found.source
    assert found.assumptions()["history_pseudo_runs"]["value"] == 2


def test_the_estimated_part_of_each_miss_is_not_counted_as_drift() -> None:
    actual = [103.0, 97.0, 103.0]
    found = _calibrate([entry(a, sd_rel=0.02) for a in actual])
    errors = [math.log(a / 100.0) for a in actual]
    assert found.drift_rel == pytest.approx(_rule(errors, 0.12, [0.02] * 3), rel=1e-12)
    assert found.drift_rel < _calibrate([entry(a, sd_rel=None) for a in actual]).drift_rel


def test_a_bias_needs_three_runs_and_one_percent() -> None:
    slow = [entry(105.0), entry(105.0)]
    assert _calibrate(slow).bias_rel == 0.0           # two runs: no correction
    three = _calibrate([*slow, entry(105.0)])
    b = 3 * math.log(1.05) / (3 + PSEUDO_RUNS)
    assert three.bias_rel == pytest.approx(math.expm1(b), rel=1e-12)
    assert three.drift_rel == pytest.approx(_rule([math.log(1.05)] * 3, 0.12, bias=b), rel=1e-12)
    assert "bias correction +3.0%" in three.source
    assert three.assumptions()["bias_correction_rel"]["value"] == three.bias_rel
    tiny = _calibrate([entry(101.0)] * 3)             # b = 0.6%: not corrected
    assert tiny.bias_rel == 0.0


def test_the_bias_a_prediction_was_given_is_undone() -> None:
    # Predicted 105 s, of which +5% was a bias correction: the model itself said 100 s.
    corrected = [entry(105.0, point_s=105.0, bias_rel_used=0.05) for _ in range(4)]
    found = _calibrate(corrected)
    b = 4 * math.log(1.05) / (4 + PSEUDO_RUNS)
    assert found.bias_rel == pytest.approx(math.expm1(b), rel=1e-12)
    assert found.median_abs_error_rel == pytest.approx(0.0)    # as predicted, it hit


def test_other_machines_incomplete_runs_and_other_devices_are_ignored() -> None:
    ignored = [entry(150.0, fingerprint=OTHER), entry(150.0, completed=False),
               entry(150.0, device_kind="accelerator"), entry(150.0, predicted=False),
               entry(0.0)]
    found = _calibrate([*ignored, entry(100.0)])
    assert found.runs == 1
    assert found.drift_rel == pytest.approx(DRIFT_CPU.value * math.sqrt(2 / 3))
    gpu = _calibrate(ignored, device_kind="accelerator", default=DRIFT_ACCELERATOR)
    assert gpu.runs == 1 and gpu.default is DRIFT_ACCELERATOR


def test_a_workload_can_be_left_out() -> None:
    entries = [entry(100.0, workload="mlp"), entry(130.0, workload="cnn")]
    assert _calibrate(entries).runs == 2
    found = _calibrate(entries, exclude_workload="cnn")
    assert found.runs == 1 and found.drift_rel == pytest.approx(0.12 * math.sqrt(2 / 3))


def test_helpers_for_the_tracker() -> None:
    assert estimated_sd_rel({"fit": 9.0, "epoch_noise": 16.0, "drift": 1e6}, 100.0) == 0.05
    assert estimated_sd_rel({}, 0.0) is None
    assert terms_used({"drift_rel": {"value": 0.07}}) == (0.07, 0.0)
    assert terms_used({"drift_rel": {"value": 0.07},
                       "bias_correction_rel": {"value": 0.02}}) == (0.07, 0.02)
    assert terms_used({}) == (None, 0.0)
