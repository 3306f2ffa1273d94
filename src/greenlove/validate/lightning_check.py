"""The Lightning workload of ``greenlove validate``: a small MLP fit (seeded synthetic data, a
validation pass each epoch, a ModelCheckpoint), predicted by ``GreenloveCallback(dry_run=True)``
in Lightning's own loop, then fitted in full with a fresh Trainer tracked with
``report=dry.report``. Registered as ``FRAMEWORK_CHECKS["lightning"]``; without the extra,
``check`` raises ImportError naming ``pip install greenlove[lightning]``.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from .frameworks import FRAMEWORK_CHECKS, FrameworkRow


@dataclass(frozen=True)
class Sizes:
    train_items: int
    val_items: int
    batch: int
    epochs: int


SIZES = {
    # about 50 s on a quiet 2-core CPU (400 batches an epoch), 10 s, a few seconds
    "full": Sizes(train_items=25_600, val_items=4_096, batch=64, epochs=12),
    "quick": Sizes(train_items=25_600, val_items=4_096, batch=64, epochs=3),
    "tiny": Sizes(train_items=1_280, val_items=256, batch=64, epochs=3),
}

FEATURES = 64


def check(seed: int, scale: str) -> FrameworkRow:
    """Dry run, then the full fit; the row compares the dry run's prediction with the full
    fit's tracked time (both measured by the same tracker, from ``on_fit_start``)."""
    if scale not in SIZES:
        raise ValueError(f"scale must be one of {', '.join(SIZES)}; got {scale!r}")
    from ..integrations.lightning import GreenloveCallback  # ImportError names the extra

    sizes = SIZES[scale]
    train, val = _loaders(seed, sizes)
    model = _module(seed)
    with _quiet_lightning(), tempfile.TemporaryDirectory(prefix="greenlove-lightning-") as tmp:
        folder = Path(tmp)
        dry = GreenloveCallback(dry_run=True, history=False, progress=False,
                                name="lightning")
        start = time.perf_counter()
        _trainer(dry, folder / "dry", sizes.epochs).fit(model, train, val)
        dry_wall_s = time.perf_counter() - start
        if dry.report is None or dry.report.prediction is None:
            raise RuntimeError("the Lightning dry run made no prediction")
        full = GreenloveCallback(dry.report, history=False, progress=False, name="lightning")
        _trainer(full, folder / "full", sizes.epochs).fit(model, train, val)
    predicted = dry.report.prediction.time_s
    return FrameworkRow(
        predicted_s=predicted.point, low_s=predicted.low, high_s=predicted.high,
        actual_s=full.report.actual.time_s, workload="lightning", method="dry_run",
        epochs=sizes.epochs, predict_wall_s=dry_wall_s)


def _loaders(seed: int, sizes: Sizes) -> tuple[DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(FEATURES, 1, generator=g)

    def data(n: int) -> TensorDataset:
        x = torch.randn(n, FEATURES, generator=g)
        return TensorDataset(x, x @ weights + 0.1 * torch.randn(n, 1, generator=g))

    shuffle = torch.Generator().manual_seed(seed + 1)
    return (DataLoader(data(sizes.train_items), batch_size=sizes.batch, shuffle=True,
                       generator=shuffle),
            DataLoader(data(sizes.val_items), batch_size=512))


def _module(seed: int) -> Any:
    import lightning.pytorch as pl

    class MLP(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                self.net = torch.nn.Sequential(
                    torch.nn.Linear(FEATURES, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                    torch.nn.ReLU(), torch.nn.Linear(256, 1))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=1e-2, momentum=0.9)

    return MLP()


def _trainer(callback: Any, folder: Path, epochs: int) -> Any:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    return pl.Trainer(
        max_epochs=epochs, callbacks=[callback, ModelCheckpoint(dirpath=folder / "checkpoints")],
        logger=False, default_root_dir=folder, enable_progress_bar=False,
        enable_model_summary=False)


@contextmanager
def _quiet_lightning() -> Any:
    """Lightning's banners and advice (workers, logging interval) are not validate's output."""
    log = logging.getLogger("lightning.pytorch")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"lightning\.")
            warnings.filterwarnings("ignore", message=r".*(num_workers|log_every_n_steps)")
            yield
    finally:
        log.setLevel(level)


FRAMEWORK_CHECKS["lightning"] = check
