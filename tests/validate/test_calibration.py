"""Validate's own history folders, the leave-one-out folders of pass 2, and the arithmetic of
both passes' half-widths and coverage."""

from __future__ import annotations

import json
import tempfile

import pytest

from greenlove.history import HISTORY_ENV, append_entry, history_file, history_folder, read_history
from greenlove.validate.accuracy import summarise
from greenlove.validate.calibration import (
    CalibrationSummary,
    PassFigures,
    ValidateFolders,
    drift_used,
    half_width,
    leave_one_out,
    pass_figures,
    validate_folders,
)

from .rows import entry, pass2, row


def test_the_default_folder_is_new_temporary_and_not_the_users_history(
        greenlove_home, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # no folder left in /tmp
    folders = validate_folders()
    assert folders.root.parent == tmp_path and folders.root.name.startswith("greenlove-validate-")
    assert folders.root.is_dir()
    assert folders.empty.is_dir() and not any(folders.empty.iterdir())
    assert folders.root.resolve() != history_folder().resolve()
    assert folders.root.resolve() != greenlove_home.resolve()
    assert greenlove_home.resolve() not in folders.root.resolve().parents
    assert validate_folders().root != folders.root          # a fresh one each time


def test_a_given_folder_must_be_new_or_empty_and_never_the_history(tmp_path, greenlove_home,
                                                                   monkeypatch) -> None:
    fresh = validate_folders(tmp_path / "new")
    assert fresh.root == tmp_path / "new" and fresh.empty.is_dir()
    with pytest.raises(ValueError, match="new or empty"):
        validate_folders(tmp_path / "new")                  # it holds "empty" now
    with pytest.raises(ValueError, match="history folder"):
        validate_folders(greenlove_home)                    # empty, but the user's record
    elsewhere = tmp_path / "home"
    monkeypatch.setenv(HISTORY_ENV, str(elsewhere))
    with pytest.raises(ValueError, match="history folder"):
        validate_folders(elsewhere)


def test_leave_one_out_holds_exactly_the_other_workloads_lines(tmp_path, greenlove_home) -> None:
    folders = validate_folders(tmp_path / "v")
    for name, actual in (("mlp", 101.0), ("cnn", 102.0), ("lstm", 103.0), ("mlp", 104.0)):
        append_entry(entry(name, actual), folders.pass1)
    folder, copied = leave_one_out(folders, "mlp")
    assert folder == folders.leave_one_out("mlp") and folder.parent.parent == folders.root
    entries, warnings = read_history(folder)
    assert warnings == () and copied == 2
    assert [(e.workload, e.actual_s) for e in entries] == [("cnn", 102.0), ("lstm", 103.0)]
    folder, copied = leave_one_out(folders, "cnn")
    assert [e.workload for e in read_history(folder)[0]] == ["mlp", "lstm", "mlp"]
    folder, copied = leave_one_out(folders, "svm")          # never run: every pass-1 line
    assert copied == 4
    # the lines are the pass-1 lines themselves
    lines = history_file(folders.pass1).read_text().splitlines()
    copies = history_file(folder).read_text().splitlines()
    assert [json.loads(x) for x in copies] == [json.loads(x) for x in lines]
    with pytest.raises(ValueError, match="exists"):
        leave_one_out(folders, "mlp")
    assert not history_file(greenlove_home).exists()


def test_leave_one_out_before_any_pass_1_run_is_empty(tmp_path) -> None:
    folders = ValidateFolders(tmp_path)
    folder, copied = leave_one_out(folders, "mlp")
    assert copied == 0 and read_history(folder) == ((), ())


def test_half_width_and_pass_figures() -> None:
    assert half_width(100.0, 88.0, 112.0) == pytest.approx(0.12)
    assert half_width(50.0, 40.0, 70.0) == pytest.approx(0.30)
    figures = pass_figures([(100.0, 90.0, 110.0, 105.0),     # 10%, covered, error 4.76%
                            (100.0, 80.0, 120.0, 125.0),     # 20%, not covered, 20%
                            (100.0, 70.0, 130.0, 100.0)])    # 30%, covered, 0%
    assert figures.median_half_width == pytest.approx(0.20)
    assert figures.covered == 2 and figures.workloads == 3
    assert figures.median_abs_error == pytest.approx(1 - 100 / 105)


def test_coverage_target_is_six_of_seven_scaled() -> None:
    def summary(n: int, covered: int, width: float) -> CalibrationSummary:
        figures = PassFigures(median_half_width=width, median_abs_error=0.05, covered=covered,
                              workloads=n)
        return CalibrationSummary(pass1=figures, pass2=figures)

    assert summary(7, 6, 0.12).covered_target == 6
    assert summary(7, 6, 0.12).met is True
    assert summary(7, 5, 0.10).met is False
    assert summary(7, 7, 0.121).met is False
    assert summary(1, 1, 0.1).covered_target == 1
    assert summary(2, 1, 0.1).covered_target == 2
    only = CalibrationSummary(pass1=summary(7, 7, 0.2).pass1, pass2=None)
    assert only.met is None


def test_summary_of_both_passes_on_hand_made_rows() -> None:
    rows = [
        row("a", point=100, low=80, high=120, actual=110,                 # 20%, covered
            second=pass2(100, 90, 110, 105)),                             # 10%, covered
        row("b", point=100, low=70, high=130, actual=135,                 # 30%, not covered
            second=pass2(100, 88, 112, 115)),                             # 12%, not covered
        row("c", point=200, low=180, high=220, actual=200,                # 10%, covered
            second=pass2(200, 184, 216, 210)),                            # 8%, covered
    ]
    assert [r.half_width for r in rows] == pytest.approx([0.2, 0.3, 0.1])
    assert [r.pass2.half_width for r in rows] == pytest.approx([0.10, 0.12, 0.08])
    assert [r.pass2.covered for r in rows] == [True, False, True]
    calibration = summarise(rows).calibration
    assert calibration.pass1.median_half_width == pytest.approx(0.2)
    assert (calibration.pass1.covered, calibration.pass1.workloads) == (2, 3)
    assert calibration.pass2.median_half_width == pytest.approx(0.10)
    assert (calibration.pass2.covered, calibration.pass2.workloads) == (2, 3)
    assert calibration.covered_target == 3 and calibration.met is False
    one_pass = summarise([row("a"), row("b")]).calibration
    assert one_pass.pass2 is None and one_pass.pass1.covered == 2


def test_pass2_to_dict_and_drift_used() -> None:
    data = pass2(100, 90, 110, 105, bias=-0.02).to_dict()
    assert data["covered"] is True and data["half_width"] == pytest.approx(0.1)
    assert data["error"] == pytest.approx(100 / 105 - 1) and data["bias_rel"] == -0.02
    assumptions = {"drift_rel": {"value": 0.081, "source": "greenlove history: 6 runs",
                                 "method": "history"},
                   "bias_correction_rel": {"value": -0.03}}
    assert drift_used(assumptions) == (0.081, "greenlove history: 6 runs", "history", -0.03)
    assert drift_used({}) == (None, "", "", 0.0)
