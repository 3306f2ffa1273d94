"""estimate, Benchmark and track inside a real 2-rank torchrun job (gloo, CPU, DDP)."""

from __future__ import annotations

import json

import pytest

import greenlove

from .launch import torchrun


@pytest.fixture(scope="module")
def estimate_job(tmp_path_factory):
    out = tmp_path_factory.mktemp("estimate-job")
    return out, torchrun("estimate_job.py", out)


def test_estimate_finishes_on_both_ranks_with_the_same_report(estimate_job) -> None:
    _, ranks = estimate_job
    first, second = ranks
    assert first["prediction"] == second["prediction"]
    assert first["epoch_s"] == second["epoch_s"] and len(first["epoch_s"]) >= 3
    assert first["world"] == second["world"] == {"size": 2, "nodes": 1, "ranks_per_node": 2}
    assert "Distributed job: 2 ranks on 1 node (2 per node)" in first["summary"]
    assert first["summary"] == second["summary"]


def test_each_rank_samples_its_own_shard(estimate_job) -> None:
    for found in estimate_job[1]:
        assert found["sampled_from_own_shard"]
        assert found["full_batches"] == found["len_loader"] == 40   # 640 items / 2 ranks / 8


def test_only_rank_0_writes_and_its_json_states_the_world(estimate_job) -> None:
    out, _ = estimate_job
    assert not (out / "estimate-rank1.json").exists()
    data = json.loads((out / "estimate-rank0.json").read_text())
    assert data["environment"]["world"] == {"size": 2, "nodes": 1, "ranks_per_node": 2}
    loaded = greenlove.load(out / "estimate-rank0.json")   # the schema reads it back
    assert loaded.environment["world"] == data["environment"]["world"]
    assert "Distributed job: 2 ranks" in str(loaded)
    # The CPU and memory are metered once for the node, by local rank 0.
    names = [d["name"] for d in data["measurement"]["devices"]]
    assert names and all(name.startswith("rank 0: ") for name in names)
    assert {o["gpus"] for o in data["clouds"]} == {2}


def test_user_state_and_rngs_are_restored_on_both_ranks(estimate_job) -> None:
    for found in estimate_job[1]:
        assert found["restored"] == {"model": True, "optimizer": True, "python_rng": True,
                                     "numpy_rng": True, "torch_rng": True}


def test_track_writes_once_and_should_stop_is_agreed(estimate_job) -> None:
    out, ranks = estimate_job
    assert (out / "track-rank0" / "greenlove-run.json").exists()
    assert not (out / "track-rank1").exists()
    history = out / "greenlove-home" / "history.jsonl"
    assert len(history.read_text().splitlines()) == 1
    # Rank 0's limit (max_s=1e-6) stops the run after its first epoch, on both ranks.
    assert [r["epochs_run"] for r in ranks] == [1, 1]
    assert all(r["should_stop"] for r in ranks)
