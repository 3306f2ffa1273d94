"""The command line: a real (small) demo, show, and argument errors."""

from __future__ import annotations

import json

import pytest

from greenlove.cli import main


def test_demo_smoke(tmp_path, capsys) -> None:
    code = main(["demo", "--out", str(tmp_path), "--copies", "1", "--epochs", "3",
                 "--budget", "2", "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "Predicted full run" in out and "greenlove.json" in out
    data = json.loads((tmp_path / "greenlove.json").read_text())
    assert data["schema_version"] == 1 and data["plan"]["epochs"] == 3
    assert data["plan"]["dataset_size"] == 1797
    # Energy, cost, CO2 and the clouds (from this CPU's measured stand-in, labelled) are there.
    assert data["prediction"]["energy_kwh"]["low"] <= data["prediction"]["energy_kwh"]["point"]
    assert data["prediction"]["cost_usd"] and data["prediction"]["co2_kg"]
    assert data["clouds"][0]["provider"] == "Crusoe Cloud"
    assert data["comparison"]["local"]["device"]["method"] in ("measured-cpu-standin", "spec-table")
    html = (tmp_path / "report.html").read_text()
    assert 'id="clouds"' in html and "<script" not in html

    assert main(["show", str(tmp_path / "greenlove.json")]) == 0
    assert "Predicted full run" in capsys.readouterr().out


def test_show_missing_file(tmp_path, capsys) -> None:
    assert main(["show", str(tmp_path / "missing.json")]) == 2
    assert "error" in capsys.readouterr().err


def test_bad_arguments_exit_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--budget", "-3"])
    assert exit_info.value.code == 2
    assert "--budget" in capsys.readouterr().err
