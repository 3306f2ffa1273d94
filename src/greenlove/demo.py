"""The built-in demo: a small CNN on scikit-learn's bundled digits, a real training to predict."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from torch.utils.data import DataLoader

from .validate.workloads import Recipe, SmallCNN, build_setup, digit_set

# The cnn workload's network and digits, with the demo's own choices: a hidden layer in the head,
# SGD with momentum, and the whole set tiled `copies` times rather than drawn at random.
_DEMO_RECIPE = Recipe(digit_set, partial(SmallCNN, hidden=64),
                      partial(torch.optim.SGD, lr=0.05, momentum=0.9), nn.functional.cross_entropy)


@dataclass(frozen=True)
class DemoRun:
    """A training the demo predicts: call ``train_epoch(loader)`` ``epochs`` times; each call
    returns that epoch's mean loss."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    loader: DataLoader
    epochs: int
    train_epoch: Callable[[Iterable], float]


def build_demo(*, copies: int = 20, epochs: int = 30, batch_size: int = 64, seed: int = 0) -> DemoRun:
    """About 36,000 digit images, 30 epochs: about a minute on this project's 2-core machine."""
    sizes = {"copies": copies, "batch": batch_size, "epochs": epochs}
    try:
        setup = build_setup(_DEMO_RECIPE, seed, sizes, isolate_rng=False, mean_loss=True)
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the demo trains on scikit-learn's bundled digits: pip install 'greenlove[demo]'"
        ) from error
    model, optimizer = setup.restore
    return DemoRun(model, optimizer, setup.loader, setup.epochs, setup.train_epoch)
