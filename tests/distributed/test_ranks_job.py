"""measure.ranks inside a real 2-process gloo job (torchrun), and estimate on ranks that
disagree."""

from __future__ import annotations

import pytest

from .launch import torchrun


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return torchrun("ranks_job.py", tmp_path_factory.mktemp("ranks-job"))


def test_world_and_collectives_in_a_two_rank_job(ranks) -> None:
    # rank, size, local rank, local size, nodes, writer
    assert ranks[0]["world"] == [0, 2, 0, 2, 1, True]
    assert ranks[1]["world"] == [1, 2, 1, 2, 1, False]
    for found in ranks:
        assert found["gather"] == ["rank 0", "rank 1"]
        assert found["broadcast"] == "decided by rank 0"
        # The same error on both ranks, naming each rank's value.
        assert "disagree on the test's arguments: epochs: rank 0 5, rank 1 6" in found["agree"]
        assert "seed" not in found["agree"].split("epochs:")[1].split(".")[0]
    lonely = ranks[0]["lonely"]
    assert lonely.startswith("greenlove (rank 0 of 2): the ranks could not agree on a barrier "
                             "rank 1 skips within 2 s")
    assert ranks[0]["lonely_open"].startswith(
        "greenlove (rank 0 of 2): the ranks could not agree on creating greenlove's process "
        "group within 2 s")


def test_ranks_that_disagree_on_epochs_both_get_a_clear_error(ranks) -> None:
    for found in ranks:
        assert "the ranks disagree on the benchmark's arguments: epochs: rank 0 10, rank 1 11" \
            in found["estimate_error"]
