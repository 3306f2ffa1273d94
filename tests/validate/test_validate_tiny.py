"""`greenlove validate --tiny` end to end on one small workload with two passes (a few
seconds): every full run tracked into validate's own folder, never the user's history."""

from __future__ import annotations

import json

from greenlove.cli import main
from greenlove.history import history_file, read_history


def test_tiny_validate_with_two_passes(tmp_path, greenlove_home, capsys) -> None:
    folder = tmp_path / "validate-history"
    out = tmp_path / "rows.json"
    code = main(["validate", "--tiny", "--workloads", "mlp", "--repeat", "2", "--no-overhead",
                 "--history-folder", str(folder), "--json", str(out),
                 "--markdown", str(tmp_path / "rows.md")])
    assert code == 0
    printed = capsys.readouterr().out
    for words in ("pass 1 mlp", "pass 2 mlp", "live forecast:", "elapsed / done:",
                  "pass 1 interval:", "pass 2 interval:", "machine floor:", "ground truth:"):
        assert words in printed
    (row,) = json.loads(out.read_text())
    assert row["workload"] == "mlp" and row["epochs"] == 3
    assert row["actual_s"] > 0 and row["timer_s"] > 0 and len(row["actual_epoch_s"]) == 3
    assert {(p["run"], p["fraction"]) for p in row["live"]} == {
        (run, f) for run in (0, 1) for f in (0.10, 0.25, 0.50)}
    assert all(p["done"] >= p["fraction"] for p in row["live"])
    second = row["pass2"]
    assert second is not None and row["repeat_actual_s"] == [second["actual_s"]]
    # one workload: no other workload's run to learn from, so the default drift
    assert second["history_runs"] == 0 and second["drift_method"] == "default"
    assert second["drift_rel"] == row["drift_rel"]
    pass1, _ = read_history(folder / "pass1")
    pass2, _ = read_history(folder / "pass2")
    assert [e.workload for e in pass1] == ["mlp"] and [e.workload for e in pass2] == ["mlp"]
    assert pass1[0].actual_s == row["actual_s"] and pass2[0].actual_s == second["actual_s"]
    assert read_history(folder / "loo" / "mlp") == ((), ())
    assert not any((folder / "empty").iterdir())
    assert not history_file(greenlove_home).exists()
    assert "pass 2 interval:" in (tmp_path / "rows.md").read_text()
