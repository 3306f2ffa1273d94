"""Sampled loaders keep every setting of the user's loader; only the index stream changes."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
)

from greenlove.measure.timing import BatchRecorder
from greenlove.sample.loaders import LoaderSampler
from tests.fakes.training import make_loader


def _recorder() -> BatchRecorder:
    return BatchRecorder(lambda: 0.0)


def _collate(batch):
    return default_collate(batch)


def _init(worker_id: int) -> None:
    pass


def test_settings_are_kept() -> None:
    generator = torch.Generator().manual_seed(5)
    loader = make_loader(batch_size=7, shuffle=True, drop_last=True, collate_fn=_collate,
                         num_workers=2, pin_memory=False, worker_init_fn=_init,
                         prefetch_factor=3, persistent_workers=True, generator=generator,
                         timeout=30)
    sampled, items = LoaderSampler(loader, seed=0).loader_for(4, _recorder())
    for name in ("batch_size", "drop_last", "collate_fn", "num_workers", "pin_memory",
                 "worker_init_fn", "prefetch_factor", "persistent_workers", "generator",
                 "timeout"):
        assert getattr(sampled, name) == getattr(loader, name), name
    assert items == 28
    assert len(sampled) == 4


def test_samples_are_seeded_nested_and_shuffled_each_epoch() -> None:
    loader = make_loader(n=1000, batch_size=10, shuffle=True)
    sampler = LoaderSampler(loader, seed=3)
    small, _ = sampler.loader_for(5, _recorder())
    large, _ = sampler.loader_for(20, _recorder())
    small_items = {int(v) for x, _ in small for v in x.flatten()}
    large_items = {int(v) for x, _ in large for v in x.flatten()}
    assert len(small_items) == 50 and len(large_items) == 200
    assert small_items <= large_items
    again, _ = LoaderSampler(loader, seed=3).loader_for(5, _recorder())
    assert {int(v) for x, _ in again for v in x.flatten()} == small_items
    first = [int(v) for x, _ in small for v in x.flatten()]
    second = [int(v) for x, _ in small for v in x.flatten()]
    assert sorted(first) == sorted(second) and first != second  # reshuffled, like the user's


def test_sequential_loader_stays_in_order() -> None:
    loader = make_loader(n=100, batch_size=5)
    sampled, _ = LoaderSampler(loader, seed=0).loader_for(4, _recorder())
    values = [int(v) for x, _ in sampled for v in x.flatten()]
    assert values == sorted(values) and len(values) == 20


def test_a_users_sampler_is_sampled_from_what_it_yields() -> None:
    dataset = TensorDataset(torch.arange(100).unsqueeze(1))
    weights = torch.zeros(100)
    weights[:10] = 1.0  # only items 0-9 can ever be drawn
    loader = DataLoader(dataset, batch_size=5,
                        sampler=WeightedRandomSampler(weights, num_samples=60,
                                                      generator=torch.Generator().manual_seed(0)))
    sampler = LoaderSampler(loader, seed=0)
    assert sampler.shape.full_batches == 12 and sampler.shape.dataset_size == 60
    sampled, _ = sampler.loader_for(3, _recorder())
    values = {int(v) for (x,) in sampled for v in x.flatten()}
    assert values <= set(range(10))


def test_a_users_batch_sampler_is_sampled_by_whole_batches() -> None:
    dataset = TensorDataset(torch.arange(100).unsqueeze(1))
    batches = BatchSampler(SequentialSampler(range(100)), batch_size=10, drop_last=False)
    loader = DataLoader(dataset, batch_sampler=batches)
    sampler = LoaderSampler(loader, seed=0)
    assert sampler.shape.kind == "batch_sampler" and sampler.shape.full_batches == 10
    sampled, items = sampler.loader_for(3, _recorder())
    got = [sorted(int(v) for v in x.flatten()) for (x,) in sampled]
    assert items == 30 and len(got) == 3
    assert all(b == list(range(b[0], b[0] + 10)) and b[0] % 10 == 0 for b in got)


class _Stream(IterableDataset):
    def __init__(self, length: int | None) -> None:
        self.length = length

    def __iter__(self):
        return iter(torch.arange(1000).unsqueeze(1))

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("no length")
        return self.length


def test_iterable_dataset_takes_the_first_k_batches() -> None:
    loader = DataLoader(_Stream(1000), batch_size=10)
    sampler = LoaderSampler(loader, seed=0)
    assert sampler.shape.kind == "iterable" and sampler.shape.full_batches == 100
    sampled, items = sampler.loader_for(4, _recorder())
    got = [x for x in sampled]
    assert len(got) == 4 and items == 40 and len(sampled) == 4
    assert torch.equal(got[0].flatten(), torch.arange(10))


def test_iterable_dataset_without_length_needs_steps_per_epoch() -> None:
    loader = DataLoader(_Stream(None), batch_size=10)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        LoaderSampler(loader, seed=0)
    sampler = LoaderSampler(loader, seed=0, steps_per_epoch=50)
    assert sampler.shape.full_batches == 50 and sampler.shape.size_source.startswith("steps")


def test_unbatched_loader() -> None:
    loader = DataLoader(TensorDataset(torch.arange(30).unsqueeze(1)), batch_size=None)
    sampler = LoaderSampler(loader, seed=0)
    assert sampler.shape.kind == "unbatched" and sampler.shape.full_batches == 30
    sampled, items = sampler.loader_for(6, _recorder())
    assert items == 6 and len(list(sampled)) == 6


def test_recorder_counts_batches() -> None:
    recorder = _recorder()
    sampled, _ = LoaderSampler(make_loader(), seed=0).loader_for(7, recorder)
    for _ in sampled:
        pass
    assert recorder.count == 7


def test_out_of_range_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="batches"):
        LoaderSampler(make_loader(), seed=0).loader_for(0, _recorder())


@pytest.mark.parametrize("shuffle", [True, False])
def test_a_distributed_sampler_is_sampled_from_this_ranks_shard(shuffle) -> None:
    from torch.utils.data.distributed import DistributedSampler

    dataset = TensorDataset(torch.arange(100).unsqueeze(1))
    shards = []
    for rank in (0, 1):   # num_replicas and rank given: no process group needed
        user = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=shuffle, seed=4)
        loader = DataLoader(dataset, batch_size=5, sampler=user)
        sampler = LoaderSampler(loader, seed=0)
        assert sampler.shape.full_batches == 10 and sampler.shape.dataset_size == 50
        assert "DistributedSampler" in sampler.shape.size_source
        sampled, items = sampler.loader_for(4, _recorder())
        first = [int(v) for (x,) in sampled for v in x.flatten()]
        second = [int(v) for (x,) in sampled for v in x.flatten()]
        assert items == 20 and len(first) == 20 and set(first) <= set(user)
        assert sorted(first) == sorted(second)
        assert (first != second) == shuffle   # reshuffled each epoch only where the user's is
        shards.append(set(first))
    assert not shards[0] & shards[1]   # the ranks' samples come from disjoint shards


@pytest.mark.parametrize("shuffle", [True, False])
def test_a_loader_ending_on_an_odd_batch_is_sampled_with_that_batch_last(shuffle) -> None:
    data = TensorDataset(torch.arange(103).float())
    loader = DataLoader(data, batch_size=10, shuffle=shuffle)       # 10 x 10, then 3
    sampler = LoaderSampler(loader, seed=0)
    assert sampler.shape.full_batches == 11
    for k in (1, 4, 11):
        sampled, items = sampler.loader_for(k, BatchRecorder(lambda: 0.0))
        sizes = [len(b[0]) for b in sampled]
        assert sizes == [10] * (k - 1) + [3] and items == 10 * (k - 1) + 3
    dropped = LoaderSampler(DataLoader(data, batch_size=10, drop_last=True), seed=0)
    sampled, _ = dropped.loader_for(4, BatchRecorder(lambda: 0.0))
    assert [len(b[0]) for b in sampled] == [10] * 4        # the run has no odd batch
