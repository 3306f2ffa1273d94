"""measure.ranks outside a distributed job (a no-op), the World's arithmetic, and which meters
each rank reads (fake NVML). The collectives in a real 2-rank job: tests/distributed/."""

from __future__ import annotations

from pathlib import Path

from greenlove.measure.devices.discover import discover_meters
from greenlove.measure.ranks import RankGroup, World, current_world, gpu_index, rank_share
from tests.fakes.nvml import FakeNvml, gpu


def test_outside_a_job_the_world_is_one_process_and_every_collective_returns_at_once() -> None:
    world = current_world(env={"LOCAL_RANK": "3", "LOCAL_WORLD_SIZE": "4"})
    assert world == World() and not world.distributed and world.is_writer and world.node_leader
    assert world.describe() == {"size": 1, "nodes": 1, "ranks_per_node": 1}
    group = RankGroup.open(timeout_s=0.1)
    group.barrier("nothing")
    assert group.gather("a value", {"a": 1}) == [{"a": 1}]
    assert group.broadcast("a decision", "mine") == "mine"
    group.agree("anything", {"epochs": 3})
    group.close()
    group.close()   # idempotent


def test_world_counts_nodes_and_names_the_writer_and_the_node_leaders() -> None:
    world = World(rank=5, size=8, local_rank=1, local_size=4)
    assert world.distributed and world.nodes == 2
    assert not world.is_writer and not world.node_leader
    assert world.describe() == {"size": 8, "nodes": 2, "ranks_per_node": 4}
    assert World(rank=4, size=8, local_rank=0, local_size=4).node_leader
    assert World(rank=0, size=3, local_rank=0, local_size=1).nodes == 3   # 1 rank per node


def _machine(tmp_path: Path):
    """Two fake NVIDIA GPUs, the CPU estimate and the RAM estimate."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n")
    found = discover_meters(nvml=FakeNvml(gpu(0), gpu(1)), env={},
                            powercap_root=tmp_path / "none", cpuinfo=cpuinfo,
                            cpu_percent=lambda: 10.0, gpu_runtime=(True, False))
    return found.meters


def _kept(meters, world, cuda_device) -> list[str]:
    keep = rank_share([(m.kind, gpu_index(m)) for m in meters], world, cuda_device)
    return [m.name.split(":")[0] if m.kind == "gpu" else m.kind for m, k in zip(meters, keep) if k]


def test_each_rank_meters_its_own_gpu_and_local_rank_0_the_node(tmp_path) -> None:
    meters = _machine(tmp_path)
    try:
        assert [gpu_index(m) for m in meters] == [0, 1, None, None]
        node0 = World(rank=0, size=4, local_rank=0, local_size=2)
        node0_rank1 = World(rank=1, size=4, local_rank=1, local_size=2)
        node1 = World(rank=2, size=4, local_rank=0, local_size=2)
        # Training on GPUs: each rank its current CUDA device; CPU and RAM once per node.
        assert _kept(meters, node0, cuda_device=0) == ["GPU 0", "cpu", "ram"]
        assert _kept(meters, node0_rank1, cuda_device=1) == ["GPU 1"]
        assert _kept(meters, node1, cuda_device=0) == ["GPU 0", "cpu", "ram"]
        # Training on the CPU: the node's GPUs, CPU and RAM by local rank 0 alone.
        assert _kept(meters, node0, cuda_device=None) == ["GPU 0", "GPU 1", "cpu", "ram"]
        assert _kept(meters, node0_rank1, cuda_device=None) == []
        # One process: every meter, as always.
        assert _kept(meters, World(), cuda_device=1) == ["GPU 0", "GPU 1", "cpu", "ram"]
    finally:
        for meter in meters:
            meter.close()


def test_a_rank_synchronises_only_its_own_gpu(monkeypatch) -> None:
    """With 4 GPUs in use, one process syncs them all; rank 2 of a job only its current one
    (torch.cuda faked: no GPU needed)."""
    import torch

    import greenlove.measure.ranks as ranks
    from greenlove.measure.timing import synchronize_devices

    synced: list[int] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 2)
    monkeypatch.setattr(torch.cuda, "synchronize", synced.append)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    synchronize_devices()
    assert synced == [0, 1, 2, 3]
    synced.clear()
    monkeypatch.setattr(ranks, "current_world",
                        lambda: World(rank=2, size=4, local_rank=2, local_size=4))
    synchronize_devices()
    assert synced == [2]
