"""The built-in demo: a small CNN on scikit-learn's bundled digits, a real training to predict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


@dataclass(frozen=True)
class DemoRun:
    """A training the demo predicts: call ``train_epoch(loader)`` ``epochs`` times."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loader: DataLoader
    epochs: int

    def train_epoch(self, loader: Iterable) -> float:
        """One epoch over ``loader``; returns the mean loss."""
        self.model.train()
        total, count = 0.0, 0
        for images, labels in loader:
            self.optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(self.model(images), labels)
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach()) * len(labels)
            count += len(labels)
        return total / max(count, 1)


def digits_tensors(copies: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 bundled 8x8 digits, repeated ``copies`` times with a little noise."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the demo trains on scikit-learn's bundled digits: pip install 'greenlove[demo]'"
        ) from error
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    generator = torch.Generator().manual_seed(seed)
    images = images.repeat(copies, 1, 1, 1)
    images = images + 0.05 * torch.randn(images.shape, generator=generator)
    return images, labels.repeat(copies)


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def build_demo(*, copies: int = 20, epochs: int = 30, batch_size: int = 64, seed: int = 0) -> DemoRun:
    """About 36,000 digit images, 30 epochs: about a minute on this project's 2-core machine."""
    images, labels = digits_tensors(copies, seed)
    torch.manual_seed(seed)
    model = small_cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True)
    return DemoRun(model, optimizer, loader, epochs)
