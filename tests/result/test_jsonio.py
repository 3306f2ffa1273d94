"""The JSON contract: schema 1 round-trips, a golden schema-1 file still loads, bad files fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import greenlove
from greenlove import Report
from greenlove.result import SCHEMA_VERSION
from tests.fakes.training import SimulatedEpoch, fake_clouds, fake_energy, fake_instruments, make_loader

GOLDEN = Path(__file__).parents[1] / "golden" / "report_schema1.json"


@pytest.fixture
def report(clock):
    epoch = SimulatedEpoch(clock, fixed_s=0.2, per_batch_s=0.01, noise_rel=0.02, seed=4)
    return greenlove.estimate(epoch, make_loader(), epochs=20, budget_s=6.0, progress=False,
                              instruments=fake_instruments(clock),
                              energy=fake_energy(clock), clouds=fake_clouds())


def test_round_trip(report, tmp_path) -> None:
    path = report.save(tmp_path / "sub" / "greenlove.json")
    loaded = greenlove.load(path)
    assert loaded == report
    assert loaded.to_dict() == report.to_dict()


def test_contract_fields(report) -> None:
    data = report.to_dict()
    assert data["schema_version"] == 1 == SCHEMA_VERSION
    assert data["greenlove_version"] == greenlove.__version__
    assert set(data["plan"]) >= {"epochs", "dataset_size", "batch_size"}
    assert set(data["prediction"]["time_s"]) == {"point", "low", "high", "confidence"}
    runs = data["benchmark"]["runs"]
    assert sum(len(run["epoch_s"]) for run in runs) == len(report.benchmark.epochs)
    assert all({"sample_size", "epoch_s"} <= set(run) for run in runs)
    assert isinstance(data["assumptions"], dict) and isinstance(data["warnings"], list)
    for name, entry in data["assumptions"].items():
        assert entry.get("source"), name
    assert set(data["prediction"]["energy_kwh"]) == {"point", "low", "high", "confidence"}
    devices = data["measurement"]["devices"]
    assert [d["method"] for d in devices] == ["fake-counter", "fake-power"]
    assert all(len(d["epoch_energy_j"]) == len(report.benchmark.epochs) for d in devices)
    assert all(len(d["timeline"]["t_s"]) == len(d["timeline"]["power_w"]) > 0 for d in devices)
    assert all(len(run["energy_j"]) == len(run["epoch_s"]) for run in runs)


def test_golden_schema1_file_loads() -> None:
    loaded = greenlove.load(GOLDEN)
    assert loaded.plan.epochs == 50 and loaded.plan.batches_per_epoch == 100
    assert loaded.prediction.time_s.low < loaded.prediction.time_s.point < \
        loaded.prediction.time_s.high
    assert len(loaded.benchmark.epochs) == 22
    assert loaded.benchmark.roles[0] == "warmup"
    assert loaded.prediction.energy is None and loaded.benchmark.energy is None  # predates energy
    assert "Predicted full run" in str(loaded)
    # Writing it again keeps every field it had (add freely, never rename).
    original = json.loads(GOLDEN.read_text())
    rewritten = loaded.to_dict()

    def keys(d, prefix=""):
        out = set()
        for k, v in d.items():
            out.add(prefix + k)
            if isinstance(v, dict):
                out |= keys(v, prefix + k + ".")
        return out

    assert keys(original) <= keys(rewritten)


def test_unknown_top_level_fields_survive(report) -> None:
    data = report.to_dict()
    data["energy_kwh_note"] = {"from": "a later greenlove"}
    assert Report.from_dict(data).to_dict()["energy_kwh_note"] == {"from": "a later greenlove"}


def test_newer_schema_is_refused(report) -> None:
    data = report.to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(greenlove.SchemaError, match="newer"):
        Report.from_dict(data)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"schema_version": "1"}',
                                  '{"schema_version": 1, "plan": {}}'])
def test_bad_files_get_clear_errors(tmp_path, text) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(greenlove.SchemaError):
        greenlove.load(path)


def test_save_writes_no_nan(report, tmp_path) -> None:
    text = report.save(tmp_path / "r.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
