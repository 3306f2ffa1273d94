"""`greenlove demo --verify` trains the full run it predicted, tracked, and says predicted vs
actual; `--device` trains where the user's run would, and a missing device is a clear error."""

from __future__ import annotations

import json

import pytest
import torch

from greenlove.cli import main
from greenlove.demo import demo_device


def test_the_demo_verifies_its_own_prediction(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GREENLOVE_HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    code = main(["demo", "--copies", "1", "--epochs", "2", "--budget", "2", "--no-progress",
                 "--device", "cpu", "--verify", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "epochs on cpu" in text and "greenlove demo --verify: training the full run" in text
    tracked = json.loads((out / "greenlove-run.json").read_text())
    assert tracked["actual"]["completed"] and tracked["actual"]["epochs_done"] == 2
    check = tracked["check"]
    assert f"error {check['error_rel']:+.1%}" in text
    assert ("inside the interval" if check["covered"] else "OUTSIDE the interval") in text
    assert not (tmp_path / "home").exists()      # the demo's run is not the user's history


def test_the_device_is_where_a_users_run_would_train():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    mps = getattr(torch.backends, "mps", None)
    if expected == "cpu" and mps is not None and mps.is_available():
        expected = "mps"
    assert demo_device("auto").type == expected
    assert demo_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda: no CUDA device"):
            demo_device("cuda")
    with pytest.raises(ValueError, match="device must be one of"):
        demo_device("tpu")
