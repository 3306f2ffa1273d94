"""The record on disk: round trip, broken lines skipped with a warning, errors on writing."""

from __future__ import annotations

import json
import os

import pytest

from greenlove.history import (
    HISTORY_ENV,
    HistoryEntry,
    append_entry,
    check_history,
    history_file,
    history_folder,
    read_history,
)
from greenlove.model import Interval
from tests.history.entries import entry


def test_round_trip_through_the_file(tmp_path) -> None:
    first = entry(102.0, workload="mlp")
    second = HistoryEntry(
        date="2026-12-02T08:00:00+00:00", greenlove_version="0.0.test",
        fingerprint={"cpu": "x", "gpus": ["GPU A"]}, device_kind="accelerator", epochs=3,
        steps_per_epoch=7, completed=False, actual_s=5.0, predicted_s=None,
        estimated_sd_rel=None, drift_rel_used=None,
        predicted_kwh=Interval(1.0, 0.5, 1.5, 0.95), actual_kwh=0.9)
    path = append_entry(first, tmp_path / "new" / "folder")
    append_entry(second, tmp_path / "new" / "folder")
    assert path == history_file(tmp_path / "new" / "folder")
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["schema"] == 1
    entries, warnings = read_history(tmp_path / "new" / "folder")
    assert entries == (first, second) and warnings == ()


def test_unknown_keys_are_ignored() -> None:
    data = {**entry(100.0).to_dict(), "added_later": {"x": 1}}
    assert HistoryEntry.from_dict(data) == entry(100.0)


def test_missing_file_is_an_empty_record(tmp_path) -> None:
    assert read_history(tmp_path / "nowhere") == ((), ())


def test_a_broken_line_is_skipped_with_a_warning_naming_it(tmp_path) -> None:
    append_entry(entry(100.0), tmp_path)
    with history_file(tmp_path).open("a") as handle:
        handle.write('{"date": "2026", "fingerprint": {}}\n')   # line 2: keys missing
        handle.write("not json at all\n")                        # line 3
        handle.write("[1, 2]\n")                                 # line 4: not an object
        handle.write('{"actual_s": 1.0, "completed": tru')       # line 5: cut short by a crash
    append_entry(entry(101.0), tmp_path)    # after the cut: on a line of its own
    append_entry(entry(103.0), tmp_path)
    entries, warnings = read_history(tmp_path)
    assert [e.actual_s for e in entries] == [100.0, 101.0, 103.0]
    assert len(warnings) == 4
    for warning, line in zip(warnings, (2, 3, 4, 5)):
        assert f"history.jsonl line {line} is not a greenlove history entry" in warning
        assert warning.endswith("skipped")


def test_a_bad_device_kind_or_type_is_malformed() -> None:
    data = entry(100.0).to_dict()
    for key, value in (("device_kind", "tpu"), ("epochs", "ten"), ("completed", "yes"),
                       ("predicted_s", {"point": 1})):
        with pytest.raises((ValueError, KeyError, TypeError)):
            HistoryEntry.from_dict({**data, key: value})


def test_an_unreadable_file_gives_a_warning_and_no_entries(tmp_path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    entries, warnings = read_history(tmp_path / "a-file")
    assert entries == () and "could not be read" in warnings[0]


def test_an_unwritable_folder_raises_oserror(tmp_path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OSError):
        append_entry(entry(100.0), tmp_path / "a-file")
    with pytest.raises(OSError):
        append_entry(entry(100.0), tmp_path / "a-file" / "below")


def test_the_folder_comes_from_the_environment_or_the_user_data_folder(tmp_path) -> None:
    assert history_folder({HISTORY_ENV: str(tmp_path)}) == tmp_path
    default = history_folder({HISTORY_ENV: ""})
    assert default.name == "greenlove" and default != tmp_path
    assert history_folder() == history_folder(os.environ)


def test_tests_never_touch_the_real_record(greenlove_home) -> None:
    assert history_folder() == greenlove_home


def test_check_history(tmp_path, greenlove_home) -> None:
    assert check_history(True) == greenlove_home
    assert check_history(False) is None and check_history(None) is None
    assert check_history(str(tmp_path)) == tmp_path
    assert check_history(tmp_path) == tmp_path
    with pytest.raises(TypeError, match="history"):
        check_history(1)
