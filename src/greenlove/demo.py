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


DEVICES = ("auto", "cpu", "cuda", "mps")


def demo_device(name: str = "auto") -> torch.device:
    """Where the demo trains: ``auto`` picks the GPU a user's run would use (CUDA, then MPS),
    else the CPU; a named device that is not there is a clear error."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if (name == "cuda" and not torch.cuda.is_available()) or (name == "mps" and not has_mps):
        raise ValueError(f"--device {name}: no {name.upper()} device on this machine")
    return torch.device(name)


def _on(device: torch.device, batches: Iterable) -> Iterable:
    """The loader's batches moved to ``device`` (nothing to do on the CPU)."""
    if device.type == "cpu":
        yield from batches
        return
    for x, y in batches:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def build_demo(*, copies: int = 20, epochs: int = 30, batch_size: int = 64, seed: int = 0,
               device: str = "cpu") -> DemoRun:
    """About 36,000 digit images, 30 epochs: about a minute on this project's 2-core machine.
    ``device`` (see :func:`demo_device`): where the model trains."""
    where = demo_device(device)
    sizes = {"copies": copies, "batch": batch_size, "epochs": epochs}
    try:
        setup = build_setup(_DEMO_RECIPE, seed, sizes, isolate_rng=False, mean_loss=True)
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the demo trains on scikit-learn's bundled digits: pip install 'greenlove[demo]'"
        ) from error
    model, optimizer = setup.restore
    if where.type == "cpu":
        return DemoRun(model, optimizer, setup.loader, setup.epochs, setup.train_epoch)
    model.to(where)     # in place: the optimizer, made before any step, holds the same tensors
    epoch = setup.train_epoch
    return DemoRun(model, optimizer, setup.loader, setup.epochs,
                   lambda batches: epoch(_on(where, batches)))
