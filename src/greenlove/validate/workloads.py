"""Built-in training workloads for greenlove's accuracy benchmark.

Each workload builds, from a seed and a scale, a fresh and deterministic training setup: a
map-style training loader, a user-style ``train_epoch`` function, the number of epochs of the
full run and the ``(model, optimizer)`` pair whose state the benchmark restores after
sampling. Nothing is built at import time and no data is downloaded: data are generated from a
seeded ``torch.Generator`` or taken from scikit-learn's bundled digits set.

A workload is one entry of :data:`_SPECS`: its sizes per scale and a :class:`Recipe` (data,
model, optimizer, loss) that :func:`build_setup` turns into a :class:`Setup`; the demo builds
its digits CNN (:mod:`.digits`) with the same function. The sizes were calibrated on a 2-core
CPU machine with torch's default thread count so that a ``"full"`` run takes roughly 90-150 s,
a ``"quick"`` run (1/6 of the epochs) roughly 15-25 s and a ``"tiny"`` run a few seconds at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .digits import SmallCNN, digit_set

__all__ = ["SCALES", "Recipe", "Setup", "Workload", "WORKLOADS", "build_setup", "get_workload",
           "supervised_epoch"]

SCALES: tuple[str, ...] = ("full", "quick", "tiny")


@dataclass(frozen=True)
class Setup:
    """A ready-to-run training job: the user's epoch function, its loader and run length."""

    train_epoch: Callable[[Iterable], float | None]
    loader: DataLoader
    epochs: int
    restore: tuple


@dataclass(frozen=True)
class Workload:
    """A named built-in workload; ``build(seed, scale)`` returns a fresh :class:`Setup`."""

    name: str
    description: str
    family: str
    build: Callable[[int, str], Setup]


# ---------------------------------------------------------------------------------------------
# Data: each maker takes (sizes, generator, seed) and returns (training set, held-out set or None)
# ---------------------------------------------------------------------------------------------
def _teacher_set(sizes: Mapping[str, int], gen: torch.Generator,
                 seed: int) -> tuple[TensorDataset, TensorDataset | None]:
    """64 Gaussian features labelled by a random two-layer teacher network, so the task is
    learnable; with ``n_val`` in ``sizes``, that many more items held out."""
    n = sizes["n"]
    x = torch.randn(n + sizes.get("n_val", 0), 64, generator=gen)
    w1 = torch.randn(64, 32, generator=gen) / 64**0.5
    w2 = torch.randn(32, 10, generator=gen) / 32**0.5
    y = (torch.tanh(x @ w1) @ w2).argmax(dim=1)
    if "n_val" not in sizes:
        return TensorDataset(x, y), None
    # Clones, so neither set keeps the other's storage alive through a view.
    return TensorDataset(x[:n].clone(), y[:n].clone()), TensorDataset(x[n:].clone(), y[n:].clone())


class NoisyVectors(Dataset):
    """Map-style dataset that adds index-seeded Gaussian noise to each item on access.

    The noise is drawn from a generator seeded by ``(seed, index)``, so items are identical
    whichever worker process loads them.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, seed: int, scale: float = 0.1) -> None:
        self.x = x
        self.y = y
        self.seed = seed
        self.scale = scale

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
        item = self.x[index]
        noise = torch.randn(item.shape, generator=gen)
        return item + self.scale * noise, self.y[index]


def _noisy_teacher_set(sizes: Mapping[str, int], gen: torch.Generator, seed: int) -> tuple[Dataset, None]:
    """The teacher set, with fresh per-item noise added on every access (CPU work per item)."""
    train, _ = _teacher_set(sizes, gen, seed)
    return NoisyVectors(*train.tensors, seed), None


_LSTM_SEQ, _LSTM_IN, _LSTM_HIDDEN, _LSTM_CLASSES = 24, 8, 64, 4


def _sequence_set(sizes: Mapping[str, int], gen: torch.Generator, seed: int) -> tuple[Dataset, None]:
    """Gaussian sequences whose class is set by the sequence's mean direction."""
    x = torch.randn(sizes["n"], _LSTM_SEQ, _LSTM_IN, generator=gen)
    w = torch.randn(_LSTM_IN, _LSTM_CLASSES, generator=gen)
    return TensorDataset(x, (x.mean(dim=1) @ w).argmax(dim=1)), None


_TF_VOCAB, _TF_SEQ, _TF_CLASSES = 32, 32, 4


def _token_set(sizes: Mapping[str, int], gen: torch.Generator, seed: int) -> tuple[Dataset, None]:
    """Random token sequences labelled by which of tokens 0..3 occurs most (ties: lowest id)."""
    tokens = torch.randint(_TF_VOCAB, (sizes["n"], _TF_SEQ), generator=gen)
    counts = (tokens.unsqueeze(-1) == torch.arange(_TF_CLASSES)).sum(dim=1)
    return TensorDataset(tokens, counts.argmax(dim=1)), None


_SVM_FEATURES, _SVM_CLASSES = 32, 5


def _linear_set(sizes: Mapping[str, int], gen: torch.Generator, seed: int) -> tuple[Dataset, None]:
    """Gaussian features labelled by a noisy random linear map, so no hyperplane is perfect."""
    n = sizes["n"]
    x = torch.randn(n, _SVM_FEATURES, generator=gen)
    w = torch.randn(_SVM_FEATURES, _SVM_CLASSES, generator=gen)
    y = (x @ w + 0.5 * torch.randn(n, _SVM_CLASSES, generator=gen)).argmax(dim=1)
    return TensorDataset(x, y), None


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
def _mlp(inputs: int, hidden: int, classes: int) -> nn.Sequential:
    """A two-hidden-layer ReLU perceptron."""
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, classes),
    )


class _LSTMClassifier(nn.Module):
    """One-layer LSTM; classifies from the last hidden state."""

    def __init__(self, inputs: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


class _TinyTransformer(nn.Module):
    """Token + position embeddings, a 2-layer encoder and a mean-pooled linear head."""

    def __init__(self, vocab: int, seq: int, d_model: int, heads: int, classes: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.position = nn.Parameter(0.02 * torch.randn(seq, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=4 * d_model, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(tokens) + self.position)
        return self.head(h.mean(dim=1))


# ---------------------------------------------------------------------------------------------
# Training: the epoch function and the one builder
# ---------------------------------------------------------------------------------------------
def supervised_epoch(model: nn.Module, optimizer: torch.optim.Optimizer,
                     loss_fn: Callable[..., torch.Tensor], loader: Iterable, *,
                     held_out: Iterable | None = None, mean_loss: bool = False) -> float | None:
    """The classic user epoch: forward, loss, backward, step, zero_grad over every batch, then a
    validation pass over ``held_out`` if given; returns the mean loss if ``mean_loss``."""
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if mean_loss:  # the workloads were timed without this per-batch read; the demo reports it
            total += float(loss.detach()) * len(y)
            count += len(y)
    if held_out is not None:
        model.eval()
        with torch.no_grad():
            val_loss = 0.0  # read per batch, as a user's logging would, so each batch completes
            for x, y in held_out:
                val_loss += float(loss_fn(model(x), y)) * len(y)
        model.train()
    return total / max(count, 1) if mean_loss else None


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global RNG for model initialisation without leaking the change."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Recipe:
    """What a training is made of; :func:`build_setup` builds it at given sizes."""

    data: Callable[[Mapping[str, int], torch.Generator, int], tuple[Dataset, Dataset | None]]
    model: Callable[[], nn.Module]
    optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer] = partial(torch.optim.Adam, lr=1e-3)
    loss: Callable[..., torch.Tensor] = nn.CrossEntropyLoss()  # stateless, so one instance serves all
    workers: int = 0  # DataLoader worker processes; not persistent, so restarted every epoch


_SGD = partial(torch.optim.SGD, lr=0.05, momentum=0.9)
_VAL_BATCH = 128


def build_setup(recipe: Recipe, seed: int, sizes: Mapping[str, int], *, isolate_rng: bool = True,
                mean_loss: bool = False) -> Setup:
    """A fresh training of ``recipe`` at ``sizes`` (``batch``, ``epochs`` and what its data
    read), its data, model initialisation and shuffle all fixed by ``seed``.

    ``isolate_rng=False`` builds like a user script, as the demo does: it seeds torch's global
    RNG, leaves it seeded, and the loader shuffles from it. ``mean_loss``: each epoch returns its
    mean training loss.
    """
    train, held_out = recipe.data(sizes, _generator(seed), seed)
    if isolate_rng:
        with _seeded(seed):
            model = recipe.model()
        shuffle = _generator(seed + 1)
    else:
        torch.manual_seed(seed)
        model = recipe.model()
        shuffle = None
    optimizer = recipe.optimizer(model.parameters())
    loader = DataLoader(train, batch_size=sizes["batch"], shuffle=True, generator=shuffle,
                        num_workers=recipe.workers)
    # The held-out loader lives in the epoch function, so sampling the training loader leaves it whole.
    val_loader = None if held_out is None else DataLoader(held_out, batch_size=_VAL_BATCH)
    epoch = partial(supervised_epoch, model, optimizer, recipe.loss, held_out=val_loader,
                    mean_loss=mean_loss)
    return Setup(epoch, loader, sizes["epochs"], (model, optimizer))


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    """One built-in workload: what the registry shows, its sizes per scale and its recipe."""

    description: str
    family: str
    sizes: dict[str, dict[str, int]]
    recipe: Recipe


def _sizes(n: int, batch: int, epochs: int, tiny_n: int,
           **extra: tuple[int, int]) -> dict[str, dict[str, int]]:
    """Sizes per scale: ``n`` training items, ``batch`` size and ``epochs`` of a full run; quick
    keeps the data of full and runs 1/6 of its epochs; tiny has ``tiny_n`` items and 3 epochs.
    Each ``extra`` size is given as (full and quick, tiny)."""
    full = {"n": n, "batch": batch, "epochs": epochs, **{k: v[0] for k, v in extra.items()}}
    tiny = {"n": tiny_n, "batch": batch, "epochs": 3, **{k: v[1] for k, v in extra.items()}}
    return {"full": full, "quick": {**full, "epochs": epochs // 6}, "tiny": tiny}


# The comments give the per-batch and per-epoch seconds measured on the 2-core development machine
# (torch default threads = 2), whose speed drifted by up to ~1.5x between quiet periods; ranges
# span both ends. Time per epoch grows several-fold whenever another process competes for the cores.
_SPECS: dict[str, _Spec] = {
    # 2100 batches/epoch; 1.25-1.9 ms/batch -> 2.6-4.0 s/epoch; full ~95-145 s
    "mlp": _Spec("MLP 64-256-256-10, synthetic classification", "mlp", _sizes(134_400, 64, 36, 512),
                 Recipe(_teacher_set, partial(_mlp, 64, 256, 10))),
    # 1200 batches/epoch; 2.75-3.5 ms/batch -> 3.3-4.2 s/epoch; full ~100-127 s
    "cnn": _Spec("2-layer CNN on sklearn digits (noisy copies)", "conv", _sizes(76_800, 64, 30, 512),
                 Recipe(digit_set, SmallCNN)),
    # 960 batches/epoch; 2.9-3.7 ms/batch -> 2.8-3.6 s/epoch; full ~100-130 s
    "lstm": _Spec("LSTM h=64 classifier, synthetic sequences", "recurrent", _sizes(61_440, 64, 36, 512),
                  Recipe(_sequence_set, partial(_LSTMClassifier, _LSTM_IN, _LSTM_HIDDEN, _LSTM_CLASSES),
                         partial(torch.optim.Adam, lr=2e-3))),
    # 300 batches/epoch; 14-17.6 ms/batch -> 4.2-5.3 s/epoch; full ~100-127 s
    "transformer": _Spec("2-layer TransformerEncoder d=64, synthetic tokens", "transformer",
                         _sizes(19_200, 64, 24, 256),
                         Recipe(_token_set,
                                partial(_TinyTransformer, _TF_VOCAB, _TF_SEQ, 64, 4, _TF_CLASSES))),
    # 3000 batches/epoch; 0.68-0.96 ms/batch -> 2.0-2.9 s/epoch; full ~98-138 s
    "svm": _Spec("linear SVM (hinge loss), synthetic data", "linear", _sizes(384_000, 128, 48, 1024),
                 Recipe(_linear_set, partial(nn.Linear, _SVM_FEATURES, _SVM_CLASSES), _SGD,
                        nn.MultiMarginLoss())),
    # 2100 batches/epoch plus a validation pass over n_val held-out items (not sampled) taking
    # ~26-29% of the epoch; 3.6-4.5 s/epoch; full ~110-135 s
    "fixed-cost": _Spec("MLP + fixed validation pass every epoch", "mlp",
                        _sizes(134_400, 64, 30, 512, n_val=(170_000, 768)),
                        Recipe(_teacher_set, partial(_mlp, 64, 256, 10))),
    # 700 batches/epoch incl. ~0.05 s of worker start-up per epoch; 3.8-4.5 ms/batch ->
    # 2.65-3.15 s/epoch; full ~110-132 s
    "workers": _Spec("MLP, 2 non-persistent loader workers", "mlp", _sizes(44_800, 64, 42, 256),
                     Recipe(_noisy_teacher_set, partial(_mlp, 64, 128, 10), workers=2)),
}

_CONFIGS: dict[str, dict[str, dict[str, int]]] = {name: spec.sizes for name, spec in _SPECS.items()}


def _build(name: str, seed: int, scale: str) -> Setup:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    return build_setup(_SPECS[name].recipe, seed, _CONFIGS[name][scale])


WORKLOADS: tuple[Workload, ...] = tuple(
    Workload(name, spec.description, spec.family, partial(_build, name)) for name, spec in _SPECS.items()
)


def get_workload(name: str) -> Workload:
    """Return the built-in workload called ``name``."""
    for workload in WORKLOADS:
        if workload.name == name:
            return workload
    valid = ", ".join(w.name for w in WORKLOADS)
    raise ValueError(f"name must be one of {valid}; got {name!r}")
