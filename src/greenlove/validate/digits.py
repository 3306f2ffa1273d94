"""The small CNN on scikit-learn's bundled digits, shared by the cnn workload and the demo."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.utils.data import TensorDataset

__all__ = ["SmallCNN", "digit_set"]


class SmallCNN(nn.Module):
    """Two 3x3 conv layers and a linear head for 1x8x8 images; ``hidden`` (the demo's) puts an
    ``nn.Flatten`` and one hidden ReLU layer in the head."""

    def __init__(self, hidden: int | None = None, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = 32 * 4 * 4
        self.flattens_in_head = hidden is not None
        self.head: nn.Module = nn.Linear(flat, classes) if hidden is None else nn.Sequential(
            nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # greenlove's step profiler hooks every leaf module: the demo keeps its Flatten module and
        # the workload stays without one, so neither's reported profile changes.
        h = self.features(x)
        return self.head(h if self.flattens_in_head else h.flatten(1))


def digit_set(sizes: Mapping[str, int], gen: torch.Generator, seed: int) -> tuple[TensorDataset, None]:
    """Noisy copies of the 1,797 8x8 digits scaled to [0, 1]: ``n`` drawn at random (the cnn
    workload), or with ``copies`` the whole set that many times in order (the demo); no held-out
    set."""
    from sklearn.datasets import load_digits  # lazy: optional dependency

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(digits.target, dtype=torch.long)
    if "copies" in sizes:
        index = torch.arange(len(labels)).repeat(sizes["copies"])
    else:
        index = torch.randint(len(labels), (sizes["n"],), generator=gen)
    noise = 0.05 * torch.randn(len(index), 1, 8, 8, generator=gen)
    return TensorDataset(images[index] + noise, labels[index]), None
