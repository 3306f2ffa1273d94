"""`greenlove history`: the folder, this machine's record, and every run with --all."""

from __future__ import annotations

from greenlove.cli import main
from greenlove.history import append_entry, history_file, machine_fingerprint
from tests.history.entries import OTHER, entry


def test_no_history_says_so_in_one_line(capsys, greenlove_home) -> None:
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "No run recorded yet" in out
    assert str(history_file(greenlove_home)) in out.replace("\n", "")


def test_this_machines_record_and_every_run(capsys, tmp_path) -> None:
    here = machine_fingerprint()
    for actual_s in (102.0, 98.0, 130.0):
        append_entry(entry(actual_s, fingerprint=here, workload="mlp"), tmp_path)
    append_entry(entry(100.0, fingerprint=here, completed=False), tmp_path)
    append_entry(entry(100.0, fingerprint=OTHER), tmp_path)
    assert main(["history", "--folder", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"folder {tmp_path}" in out and "5 run(s) recorded" in out
    assert "This machine's record" in out
    assert "3 / 4" in out and "2 of 3" in out          # completed / all; covered of used
    assert "from 3 earlier runs on this machine" in out
    assert "1 run(s) from other machines" in out
    assert "Every recorded run" not in out

    assert main(["history", "--folder", str(tmp_path), "--all"]) == 0
    out = capsys.readouterr().out
    assert "Every recorded run" in out and "+30.0%" in out and "(stopped)" in out
    assert "mlp" in out


def test_a_broken_line_is_reported_on_stderr(capsys, tmp_path) -> None:
    append_entry(entry(100.0, fingerprint=machine_fingerprint()), tmp_path)
    with history_file(tmp_path).open("a") as handle:
        handle.write("garbage\n")
    assert main(["history", "--folder", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "line 2 is not a greenlove history entry" in captured.err
    assert "1 run(s) recorded" in captured.out
