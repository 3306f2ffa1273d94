"""The compiled workload of ``greenlove validate``: a ``torch.compile``d MLP, predicted by
``estimate`` and then trained in full twice: in the same process (compiled already: the
prediction's headline) and in a fresh subprocess (which compiles again, with the compile cache as
the benchmark left it: ``prediction.fresh_process_s``). Two rows, one per run.

The loader ends on an odd batch (``drop_last=False`` with a remainder), the case where a compiled
model recompiles once for the last batch's shape. Run as ``python -m
greenlove.validate.compiled_check SCALE SEED``, it trains the full run from a fresh process and
prints its wall time (the fresh-process ground truth).
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, TensorDataset

from .frameworks import FRAMEWORK_CHECKS, FrameworkRow


@dataclass(frozen=True)
class Sizes:
    epochs: int
    batches: int          # full batches per epoch (one odd batch of 7 items follows)
    hidden: int


SIZES = {"full": Sizes(epochs=12, batches=300, hidden=512),
         "quick": Sizes(epochs=4, batches=150, hidden=256),
         "tiny": Sizes(epochs=2, batches=30, hidden=64)}
BATCH = 32
ODD = 7


def build(seed: int, scale: str):
    """(compiled model's train_epoch, loader, epochs, (model, optimizer)) from a seed."""
    sizes = SIZES[scale]
    gen = torch.Generator().manual_seed(seed)
    n = sizes.batches * BATCH + ODD
    data = TensorDataset(torch.randn(n, 64, generator=gen), torch.randn(n, 1, generator=gen))
    loader = DataLoader(data, batch_size=BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(seed + 1))
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, sizes.hidden), torch.nn.ReLU(),
                                torch.nn.Linear(sizes.hidden, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    compiled = torch.compile(model)

    def train_epoch(batches) -> None:
        for x, y in batches:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(compiled(x), y).backward()
            optimizer.step()

    return train_epoch, loader, sizes.epochs, (model, optimizer)


def full_run_s(train_epoch, loader, epochs: int) -> float:
    start = time.perf_counter()
    for _ in range(epochs):
        train_epoch(loader)
    return time.perf_counter() - start


def check(seed: int, scale: str) -> tuple[FrameworkRow, FrameworkRow]:
    """Predict, then run in this process and in a fresh one: (same-process row, fresh row)."""
    from ..run import estimate

    train_epoch, loader, epochs, restore = build(seed, scale)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = estimate(train_epoch, loader, epochs=epochs, restore=restore, progress=False,
                          clouds=False, history=False)
    predict_s = time.perf_counter() - start
    same_s = full_run_s(train_epoch, loader, epochs)
    fresh = subprocess.run([sys.executable, "-m", __name__, scale, str(seed)], check=True,
                           capture_output=True, text=True, timeout=1800)
    fresh_s = float(fresh.stdout.strip().splitlines()[-1])
    p = report.prediction
    here = FrameworkRow(workload="compiled", method="estimate, same process", epochs=epochs,
                        predicted_s=p.time_s.point, low_s=p.time_s.low, high_s=p.time_s.high,
                        actual_s=same_s, predict_wall_s=predict_s)
    f = p.fresh_process_s or p.time_s
    new = FrameworkRow(workload="compiled", method="estimate, fresh process", epochs=epochs,
                       predicted_s=f.point, low_s=f.low, high_s=f.high, actual_s=fresh_s,
                       predict_wall_s=predict_s)
    return here, new


FRAMEWORK_CHECKS["compiled"] = check


def main(argv: list[str]) -> None:
    scale, seed = argv[0], int(argv[1])
    train_epoch, loader, epochs, _ = build(seed, scale)
    print(f"{full_run_s(train_epoch, loader, epochs):.6f}")


if __name__ == "__main__":
    main(sys.argv[1:])
