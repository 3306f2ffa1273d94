"""What the torchrun scripts share: the process group, a tiny DDP model on a sharded loader,
and each rank's findings file."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def start() -> tuple[int, Path]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    dist.init_process_group("gloo")
    return dist.get_rank(), Path(args.out)


def tiny_job(items: int = 640, batch: int = 8):
    """A DDP MLP, its optimizer, a loader over a DistributedSampler and train_epoch."""
    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    gen = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(items, 8, generator=gen), torch.randint(0, 2, (items,), generator=gen))
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=batch, sampler=sampler)

    def train_epoch(batches) -> None:
        for x, y in batches:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

    return model, optimizer, loader, sampler, train_epoch


def user_state(model, optimizer) -> dict:
    """What must come back after the benchmark, as comparable values."""
    return {"model": {k: v.clone() for k, v in model.state_dict().items()},
            "optimizer": repr(optimizer.state_dict()), "python": random.getstate(),
            "numpy": np.random.get_state()[1].copy(), "torch": torch.get_rng_state().clone()}


def same_state(before: dict, after: dict) -> dict[str, bool]:
    return {
        "model": all(torch.equal(v, after["model"][k]) for k, v in before["model"].items()),
        "optimizer": before["optimizer"] == after["optimizer"],
        "python_rng": before["python"] == after["python"],
        "numpy_rng": bool(np.array_equal(before["numpy"], after["numpy"])),
        "torch_rng": bool(torch.equal(before["torch"], after["torch"])),
    }


def finish(out: Path, rank: int, findings: dict) -> None:
    (out / f"rank{rank}.json").write_text(json.dumps(findings, indent=1))
    dist.destroy_process_group()
