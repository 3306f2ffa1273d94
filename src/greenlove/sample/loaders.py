"""Seeded random samples of the user's data, served by loaders that keep the user's settings.

Only the dataset's index stream changes: batch size, collate_fn, workers, pinning, drop_last,
worker_init_fn, prefetching, the generator ... are taken from the user's own DataLoader.
Samples are nested: the sample of k batches is the first k batches' worth of one seeded
permutation, so larger samples contain the smaller ones. Where the user's epoch ends on an odd
batch (``drop_last=False`` with a remainder), every sample does too: k - 1 full batches and one
of the remainder's size, so that the samples hold only batch shapes the real run has.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import (
    DataLoader,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
)
from torch.utils.data.distributed import DistributedSampler

from ..errors import BenchmarkError
from ..measure.timing import BatchRecorder

# Settings copied from the user's loader, when this torch version knows them.
_COPIED_SETTINGS = (
    "num_workers", "collate_fn", "pin_memory", "timeout", "worker_init_fn",
    "multiprocessing_context", "generator", "prefetch_factor", "persistent_workers",
    "pin_memory_device", "in_order",
)


@dataclass(frozen=True)
class LoaderShape:
    """What one full epoch of the user's loader looks like."""

    kind: str                  # "map", "batch_sampler", "unbatched" or "iterable"
    full_batches: int          # batches in one full epoch
    dataset_size: int | None   # items in one full epoch (None when unknown)
    batch_size: int | None
    num_workers: int
    persistent_workers: bool
    size_source: str           # where full_batches came from


class SampledLoader(DataLoader):
    """A DataLoader over a sample whose iteration stamps batch deliveries for the benchmark."""

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return self._greenlove_recorder.wrap(super().__iter__(), self._greenlove_limit)

    def __len__(self) -> int:
        if self._greenlove_limit is not None:
            return self._greenlove_limit
        return super().__len__()


class _FixedBatches(torch.utils.data.Sampler):
    """Serves a fixed list of index batches, in order, every epoch."""

    def __init__(self, batches: Sequence[Sequence[int]]) -> None:
        self._batches = [list(b) for b in batches]

    def __iter__(self) -> Iterator[list[int]]:
        return iter([list(b) for b in self._batches])

    def __len__(self) -> int:
        return len(self._batches)


def _copied_settings(loader: DataLoader) -> dict[str, Any]:
    accepted = inspect.signature(DataLoader.__init__).parameters
    settings = {name: getattr(loader, name) for name in _COPIED_SETTINGS
                if name in accepted and hasattr(loader, name)}
    if not settings.get("num_workers"):
        settings.pop("prefetch_factor", None)  # torch rejects it without workers
    return settings


def _len_or_none(obj: Any) -> int | None:
    try:
        return len(obj)
    except TypeError:
        return None


class LoaderSampler:
    """Builds the benchmark's loaders: k batches' worth of a seeded random sample each."""

    def __init__(self, loader: DataLoader, *, seed: int, steps_per_epoch: int | None = None):
        self._loader = loader
        self._seed = seed
        self._settings = _copied_settings(loader)
        self._generator = torch.Generator().manual_seed(seed)
        self._universe: Sequence[int] | None = None   # indices one epoch draws from
        self._order: torch.Tensor | None = None       # seeded permutation of universe positions
        self._shuffle = False
        self._all_batches: list[list[int]] | None = None
        self.shape = self._describe(steps_per_epoch)

    # -- what a full epoch is -----------------------------------------------------------
    def _describe(self, steps_per_epoch: int | None) -> LoaderShape:
        loader = self._loader
        common = dict(batch_size=loader.batch_size, num_workers=loader.num_workers,
                      persistent_workers=bool(getattr(loader, "persistent_workers", False)))
        if isinstance(loader.dataset, IterableDataset):
            length = _len_or_none(loader)
            if steps_per_epoch is not None:
                full, source = steps_per_epoch, "steps_per_epoch argument"
            elif length is not None:
                full, source = length, "len(loader)"
            else:
                raise ValueError(
                    "loader wraps an IterableDataset without a length, so greenlove cannot tell "
                    "how many batches a full epoch has: pass steps_per_epoch=<batches per epoch>"
                )
            size = None if loader.batch_size is None else full * loader.batch_size
            return LoaderShape("iterable", full, size, size_source=source, **common)
        dataset_len = _len_or_none(loader.dataset)
        if dataset_len == 0:
            raise ValueError("loader.dataset is empty: there is nothing to train on")
        if loader.batch_size is None and loader.batch_sampler is not None:
            kind = "batch_sampler"
        elif loader.batch_size is None:
            kind = "unbatched"
        else:
            kind = "map"
        full = steps_per_epoch if steps_per_epoch is not None else len(loader)
        if steps_per_epoch is not None and steps_per_epoch > len(loader):
            raise ValueError(
                f"steps_per_epoch={steps_per_epoch} is more than the {len(loader)} batches the "
                "loader has per epoch; leave it out for a loader with a length, or pass the "
                "steps your epoch really takes"
            )
        if full == 0:
            raise ValueError(
                "loader yields no batch per epoch (drop_last=True with fewer items than "
                "batch_size?)"
            )
        items = _len_or_none(loader.sampler) if kind != "batch_sampler" else None
        source = "len(loader)"
        if isinstance(loader.sampler, DistributedSampler):
            source = "len(loader) on this rank (its DistributedSampler's shard)"
        return LoaderShape(kind, full, items, size_source=source, **common)

    # -- sampling ------------------------------------------------------------------------
    def _prepare(self) -> None:
        if self._order is not None or self.shape.kind == "iterable":
            return
        loader = self._loader
        if self.shape.kind == "batch_sampler":
            self._all_batches = [list(b) for b in loader.batch_sampler]
            count = len(self._all_batches)
        else:
            sampler = loader.sampler
            n = len(loader.dataset)
            plain_random = (type(sampler) is RandomSampler and not sampler.replacement
                            and sampler.num_samples == n)
            if plain_random or type(sampler) is SequentialSampler:
                self._universe = range(n)
                self._shuffle = plain_random
            elif isinstance(sampler, DistributedSampler):
                # This rank's shard (the indices its sampler yields this epoch), reshuffled
                # every epoch like the user's when it shuffles: a DDP job samples per rank.
                self._universe = [int(i) for i in sampler]
                self._shuffle = bool(sampler.shuffle)
            else:  # a sampler of the user's: sample what it would yield
                self._universe = [int(i) for i in sampler]
            count = len(self._universe)
        self._order = torch.randperm(count, generator=self._generator)

    def loader_for(self, batches: int, recorder: BatchRecorder) -> tuple[SampledLoader, int]:
        """A loader offering ``batches`` batches of the sample, and the items it holds."""
        if not 1 <= batches <= self.shape.full_batches:
            raise ValueError(f"batches must be in [1, {self.shape.full_batches}], got {batches}")
        self._prepare()
        loader, kind = self._loader, self.shape.kind
        limit: int | None = None
        if kind == "iterable":
            sampled = SampledLoader(loader.dataset, batch_size=loader.batch_size,
                                    drop_last=loader.drop_last, **self._settings)
            limit = batches
            items = batches * (loader.batch_size or 1)
        elif kind == "batch_sampler":
            assert self._all_batches is not None and self._order is not None
            take = sorted(self._order[:batches].tolist())
            chosen = [self._all_batches[i] for i in take]
            sampled = SampledLoader(loader.dataset, batch_sampler=_FixedBatches(chosen),
                                    **self._settings)
            items = sum(len(b) for b in chosen)
        else:
            sampled, items = self._index_loader(batches)
        sampled._greenlove_recorder = recorder
        sampled._greenlove_limit = limit
        return sampled, items

    def _index_loader(self, batches: int) -> tuple[SampledLoader, int]:
        loader = self._loader
        assert self._universe is not None and self._order is not None
        per_batch = loader.batch_size or 1
        count = min(batches * per_batch, len(self._universe))
        remainder = len(self._universe) % per_batch
        if loader.batch_size is not None and not loader.drop_last and remainder:
            # The real epoch ends on an odd batch of `remainder` items: so does every sample,
            # so that it hands the model no batch shape the run never has, and the one it
            # has (a compiled model recompiles for it) is seen.
            count = (batches - 1) * per_batch + remainder
        positions = self._order[:count]
        if self._shuffle:
            indices = [self._universe[i] for i in positions.tolist()]
            generator = torch.Generator().manual_seed(self._seed * 7919 + batches)
            sampler: Any = SubsetRandomSampler(indices, generator=generator)
        else:
            sampler = [self._universe[i] for i in sorted(positions.tolist())]
        if loader.batch_size is None:
            sampled = SampledLoader(loader.dataset, batch_size=None, sampler=sampler,
                                    **self._settings)
        else:
            sampled = SampledLoader(loader.dataset, batch_size=loader.batch_size,
                                    sampler=sampler, drop_last=loader.drop_last,
                                    **self._settings)
        return sampled, count


def shutdown_workers(loader: DataLoader) -> None:
    """Stop a loader's persistent worker processes now rather than at garbage collection."""
    iterator = getattr(loader, "_iterator", None)
    shutdown = getattr(iterator, "_shutdown_workers", None)
    if shutdown is not None:
        try:
            shutdown()
        except Exception as error:  # pragma: no cover - best effort at teardown
            raise BenchmarkError(f"could not stop the sample loader's workers: {error}") from error
    loader._iterator = None
