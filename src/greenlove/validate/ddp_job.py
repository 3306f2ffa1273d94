"""The 2-rank DDP workload of ``greenlove validate``, run by torchrun on every rank:

    python -m torch.distributed.run --standalone --nproc_per_node=2 \\
        -m greenlove.validate.ddp_job --out DIR --scale tiny --seed 0

An MLP on a seeded teacher task (gloo, CPU), its data sharded by a DistributedSampler:
``greenlove.estimate`` predicts the run inside the job, then the full run is trained in the
same job under ``greenlove.track``. Rank 0 writes ``DIR/estimate.json`` and
``DIR/greenlove-run.json``; :mod:`.ddp_check` reads them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from ..run import estimate, track

ESTIMATE_JSON = "estimate.json"


@dataclass(frozen=True)
class DdpSizes:
    items: int        # training items (all ranks together)
    batch: int        # per rank
    epochs: int
    width: int


SIZES = {
    # Calibrated on a 2-core CPU machine, 2 ranks, one thread each: an epoch takes about
    # 1.7 s, so about 30 s of full run at "full", 5 s at "quick" and half a second at "tiny".
    "full": DdpSizes(items=24_000, batch=64, epochs=18, width=256),
    "quick": DdpSizes(items=24_000, batch=64, epochs=3, width=256),
    "tiny": DdpSizes(items=2_048, batch=64, epochs=3, width=64),
}


def _data(sizes: DdpSizes, seed: int) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(sizes.items, 64, generator=gen)
    teacher = torch.randn(64, 10, generator=gen)
    return TensorDataset(x, (x @ teacher).argmax(dim=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="greenlove.validate.ddp_job")
    parser.add_argument("--out", required=True)
    parser.add_argument("--scale", default="full", choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sizes, out = SIZES[args.scale], Path(args.out)
    dist.init_process_group("gloo")
    try:
        torch.manual_seed(args.seed)
        model = DistributedDataParallel(nn.Sequential(
            nn.Linear(64, sizes.width), nn.ReLU(), nn.Linear(sizes.width, sizes.width), nn.ReLU(),
            nn.Linear(sizes.width, 10)))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        data = _data(sizes, args.seed)
        sampler = DistributedSampler(data, shuffle=True, seed=args.seed)
        loader = DataLoader(data, batch_size=sizes.batch, sampler=sampler)
        loss_fn = nn.CrossEntropyLoss()

        def train_epoch(batches):
            for x, y in batches:
                optimizer.zero_grad()
                loss_fn(model(x), y).backward()
                optimizer.step()

        report = estimate(train_epoch, loader, epochs=sizes.epochs, restore=(model, optimizer),
                          progress=False, history=False, seed=args.seed)
        report.save(out / ESTIMATE_JSON)
        with track(report, out=out, history=False, progress=False) as run:
            for epoch in range(sizes.epochs):
                sampler.set_epoch(epoch)
                train_epoch(run.watch(loader))
                run.epoch_end()
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
