"""Built-in training workloads for greenlove's accuracy benchmark.

Each workload builds, from a seed and a scale, a fresh and deterministic training setup: a
map-style training loader, a user-style ``train_epoch`` function, the number of epochs of the
full run and the ``(model, optimizer)`` pair whose state the benchmark restores after
sampling. Nothing is built at import time and no data is downloaded: data are generated from a
seeded ``torch.Generator`` or taken from scikit-learn's bundled digits set.

All sizes live in :data:`_CONFIGS`. They were calibrated on a 2-core CPU machine with torch's
default thread count so that a ``"full"`` run takes roughly 90-150 s, a ``"quick"`` run
(about 1/6 of the epochs) roughly 15-25 s and a ``"tiny"`` run a few seconds at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

__all__ = ["SCALES", "Setup", "Workload", "WORKLOADS", "get_workload"]

SCALES: tuple[str, ...] = ("full", "quick", "tiny")


@dataclass(frozen=True)
class Setup:
    """A ready-to-run training job: the user's epoch function, its loader and run length."""

    train_epoch: Callable[[Iterable], None]
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
# Per-workload, per-scale sizes. n: training items, batch: batch size, epochs: full-run epochs.
# "quick" keeps the data of "full" and runs 1/6 of its epochs. The comments give the per-batch
# and per-epoch seconds measured on the 2-core development machine (torch default threads = 2),
# whose speed drifted by up to ~1.5x between quiet periods; ranges span both ends. Time per
# epoch grows several-fold whenever another process competes for the two cores.
# ---------------------------------------------------------------------------------------------
_CONFIGS: dict[str, dict[str, dict[str, int]]] = {
    "mlp": {  # 2100 batches/epoch; 1.25-1.9 ms/batch -> 2.6-4.0 s/epoch; full ~95-145 s
        "full": {"n": 134_400, "batch": 64, "epochs": 36},
        "quick": {"n": 134_400, "batch": 64, "epochs": 6},
        "tiny": {"n": 512, "batch": 64, "epochs": 3},
    },
    "cnn": {  # 1200 batches/epoch; 2.75-3.5 ms/batch -> 3.3-4.2 s/epoch; full ~100-127 s
        "full": {"n": 76_800, "batch": 64, "epochs": 30},
        "quick": {"n": 76_800, "batch": 64, "epochs": 5},
        "tiny": {"n": 512, "batch": 64, "epochs": 3},
    },
    "lstm": {  # 960 batches/epoch; 2.9-3.7 ms/batch -> 2.8-3.6 s/epoch; full ~100-130 s
        "full": {"n": 61_440, "batch": 64, "epochs": 36},
        "quick": {"n": 61_440, "batch": 64, "epochs": 6},
        "tiny": {"n": 512, "batch": 64, "epochs": 3},
    },
    "transformer": {  # 300 batches/epoch; 14-17.6 ms/batch -> 4.2-5.3 s/epoch; full ~100-127 s
        "full": {"n": 19_200, "batch": 64, "epochs": 24},
        "quick": {"n": 19_200, "batch": 64, "epochs": 4},
        "tiny": {"n": 256, "batch": 64, "epochs": 3},
    },
    "svm": {  # 3000 batches/epoch; 0.68-0.96 ms/batch -> 2.0-2.9 s/epoch; full ~98-138 s
        "full": {"n": 384_000, "batch": 128, "epochs": 48},
        "quick": {"n": 384_000, "batch": 128, "epochs": 8},
        "tiny": {"n": 1024, "batch": 128, "epochs": 3},
    },
    "fixed-cost": {  # 2100 batches/epoch plus a validation pass over n_val held-out items (not
        # sampled) taking ~26-29% of the epoch; 3.6-4.5 s/epoch; full ~110-135 s
        "full": {"n": 134_400, "batch": 64, "epochs": 30, "n_val": 170_000},
        "quick": {"n": 134_400, "batch": 64, "epochs": 5, "n_val": 170_000},
        "tiny": {"n": 512, "batch": 64, "epochs": 3, "n_val": 768},
    },
    "workers": {  # 700 batches/epoch incl. ~0.05 s of worker start-up per epoch;
        # 3.8-4.5 ms/batch -> 2.65-3.15 s/epoch; full ~110-132 s
        "full": {"n": 44_800, "batch": 64, "epochs": 42},
        "quick": {"n": 44_800, "batch": 64, "epochs": 7},
        "tiny": {"n": 256, "batch": 64, "epochs": 3},
    },
}


def _config(name: str, scale: str) -> dict[str, int]:
    """Return the size parameters of workload ``name`` at ``scale``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    return dict(_CONFIGS[name][scale])


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global RNG for model initialisation without leaking the change."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def _loader(dataset: Dataset, batch: int, seed: int, **kwargs: Any) -> DataLoader:
    """A shuffling training loader whose order is fixed by ``seed``."""
    return DataLoader(
        dataset, batch_size=batch, shuffle=True, generator=_generator(seed + 1), **kwargs
    )


def _supervised_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module
) -> Callable[[Iterable], None]:
    """The classic user epoch: forward, loss, backward, step, zero_grad over every batch."""

    def train_epoch(loader: Iterable) -> None:
        model.train()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    return train_epoch


def _teacher_labels(x: torch.Tensor, classes: int, gen: torch.Generator) -> torch.Tensor:
    """Labels from a random two-layer teacher network, so the task is learnable."""
    w1 = torch.randn(x.shape[1], 32, generator=gen) / x.shape[1] ** 0.5
    w2 = torch.randn(32, classes, generator=gen) / 32**0.5
    return (torch.tanh(x @ w1) @ w2).argmax(dim=1)


def _mlp(inputs: int, hidden: int, classes: int) -> nn.Sequential:
    """A two-hidden-layer ReLU perceptron."""
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),
    )


# ---------------------------------------------------------------------------------------------
# 1. MLP
# ---------------------------------------------------------------------------------------------
def _build_mlp_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    gen = _generator(seed)
    x = torch.randn(cfg["n"], 64, generator=gen)
    y = _teacher_labels(x, 10, gen)
    with _seeded(seed):
        model = _mlp(64, 256, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = _loader(TensorDataset(x, y), cfg["batch"], seed)
    epoch = _supervised_epoch(model, optimizer, nn.CrossEntropyLoss())
    return Setup(epoch, loader, cfg["epochs"], (model, optimizer))


def build_mlp(seed: int, scale: str) -> Setup:
    """MLP 64-256-256-10 on a synthetic teacher-labelled classification set."""
    return _build_mlp_cfg(seed, _config("mlp", scale))


# ---------------------------------------------------------------------------------------------
# 2. CNN on scikit-learn digits
# ---------------------------------------------------------------------------------------------
class _SmallCNN(nn.Module):
    """Two 3x3 conv layers and a linear head for 1x8x8 images."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(32 * 4 * 4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def _digits(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy copies of scikit-learn's bundled 8x8 digits, scaled to [0, 1]."""
    from sklearn.datasets import load_digits  # lazy: optional dependency

    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(digits.target, dtype=torch.long)
    index = torch.randint(len(labels), (n,), generator=gen)
    noise = 0.05 * torch.randn(n, 1, 8, 8, generator=gen)
    return images[index] + noise, labels[index]


def _build_cnn_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    x, y = _digits(cfg["n"], _generator(seed))
    with _seeded(seed):
        model = _SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = _loader(TensorDataset(x, y), cfg["batch"], seed)
    epoch = _supervised_epoch(model, optimizer, nn.CrossEntropyLoss())
    return Setup(epoch, loader, cfg["epochs"], (model, optimizer))


def build_cnn(seed: int, scale: str) -> Setup:
    """Small CNN on scikit-learn digits, repeated with small noise."""
    return _build_cnn_cfg(seed, _config("cnn", scale))


# ---------------------------------------------------------------------------------------------
# 3. LSTM sequence classifier
# ---------------------------------------------------------------------------------------------
class _LSTMClassifier(nn.Module):
    """One-layer LSTM; classifies from the last hidden state."""

    def __init__(self, inputs: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


_LSTM_SEQ, _LSTM_IN, _LSTM_HIDDEN, _LSTM_CLASSES = 24, 8, 64, 4


def _build_lstm_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    gen = _generator(seed)
    x = torch.randn(cfg["n"], _LSTM_SEQ, _LSTM_IN, generator=gen)
    w = torch.randn(_LSTM_IN, _LSTM_CLASSES, generator=gen)
    y = (x.mean(dim=1) @ w).argmax(dim=1)  # class set by the sequence's mean direction
    with _seeded(seed):
        model = _LSTMClassifier(_LSTM_IN, _LSTM_HIDDEN, _LSTM_CLASSES)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loader = _loader(TensorDataset(x, y), cfg["batch"], seed)
    epoch = _supervised_epoch(model, optimizer, nn.CrossEntropyLoss())
    return Setup(epoch, loader, cfg["epochs"], (model, optimizer))


def build_lstm(seed: int, scale: str) -> Setup:
    """LSTM (hidden 64) classifier on synthetic length-24 sequences."""
    return _build_lstm_cfg(seed, _config("lstm", scale))


# ---------------------------------------------------------------------------------------------
# 4. Transformer encoder classifier
# ---------------------------------------------------------------------------------------------
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


_TF_VOCAB, _TF_SEQ, _TF_CLASSES = 32, 32, 4


def _build_transformer_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    gen = _generator(seed)
    tokens = torch.randint(_TF_VOCAB, (cfg["n"], _TF_SEQ), generator=gen)
    # Label: which of tokens 0..3 occurs most often (ties to the lowest id).
    counts = torch.stack([(tokens == k).sum(dim=1) for k in range(_TF_CLASSES)], dim=1)
    y = counts.argmax(dim=1)
    with _seeded(seed):
        model = _TinyTransformer(_TF_VOCAB, _TF_SEQ, 64, 4, _TF_CLASSES)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = _loader(TensorDataset(tokens, y), cfg["batch"], seed)
    epoch = _supervised_epoch(model, optimizer, nn.CrossEntropyLoss())
    return Setup(epoch, loader, cfg["epochs"], (model, optimizer))


def build_transformer(seed: int, scale: str) -> Setup:
    """2-layer TransformerEncoder (d_model 64, 4 heads) on synthetic length-32 tokens."""
    return _build_transformer_cfg(seed, _config("transformer", scale))


# ---------------------------------------------------------------------------------------------
# 5. Linear SVM
# ---------------------------------------------------------------------------------------------
def _build_svm_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    gen = _generator(seed)
    features, classes = 32, 5
    x = torch.randn(cfg["n"], features, generator=gen)
    w = torch.randn(features, classes, generator=gen)
    y = (x @ w + 0.5 * torch.randn(cfg["n"], classes, generator=gen)).argmax(dim=1)
    with _seeded(seed):
        model = nn.Linear(features, classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = _loader(TensorDataset(x, y), cfg["batch"], seed)
    epoch = _supervised_epoch(model, optimizer, nn.MultiMarginLoss())
    return Setup(epoch, loader, cfg["epochs"], (model, optimizer))


def build_svm(seed: int, scale: str) -> Setup:
    """Linear multi-class SVM: one nn.Linear trained with multi-margin hinge loss."""
    return _build_svm_cfg(seed, _config("svm", scale))


# ---------------------------------------------------------------------------------------------
# 6. Fixed cost per epoch: validation over a held-out set that sampling does not shrink
# ---------------------------------------------------------------------------------------------
_VAL_BATCH = 128


def _build_fixed_cost_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    gen = _generator(seed)
    n, n_val = cfg["n"], cfg["n_val"]
    x = torch.randn(n + n_val, 64, generator=gen)
    y = _teacher_labels(x, 10, gen)
    with _seeded(seed):
        model = _mlp(64, 256, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = _loader(TensorDataset(x[:n].clone(), y[:n].clone()), cfg["batch"], seed)
    # The held-out loader lives in the closure, so sampling the training loader leaves it whole.
    val_loader = DataLoader(TensorDataset(x[n:].clone(), y[n:].clone()), batch_size=_VAL_BATCH)

    def train_epoch(loader: Iterable) -> None:
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        model.eval()
        with torch.no_grad():
            val_loss = 0.0
            for xb, yb in val_loader:
                val_loss += float(loss_fn(model(xb), yb)) * len(yb)
        model.train()

    return Setup(train_epoch, loader, cfg["epochs"], (model, optimizer))


def build_fixed_cost(seed: int, scale: str) -> Setup:
    """MLP with a full validation pass over a fixed held-out set after every epoch."""
    return _build_fixed_cost_cfg(seed, _config("fixed-cost", scale))


# ---------------------------------------------------------------------------------------------
# 7. Worker processes restarted every epoch, with per-item CPU work
# ---------------------------------------------------------------------------------------------
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


def _build_workers_cfg(seed: int, cfg: dict[str, int]) -> Setup:
    gen = _generator(seed)
    x = torch.randn(cfg["n"], 64, generator=gen)
    y = _teacher_labels(x, 10, gen)
    with _seeded(seed):
        model = _mlp(64, 128, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dataset = NoisyVectors(x, y, seed)
    loader = _loader(dataset, cfg["batch"], seed, num_workers=2, persistent_workers=False)
    epoch = _supervised_epoch(model, optimizer, nn.CrossEntropyLoss())
    return Setup(epoch, loader, cfg["epochs"], (model, optimizer))


def build_workers(seed: int, scale: str) -> Setup:
    """Small MLP fed by 2 non-persistent DataLoader workers doing per-item augmentation."""
    return _build_workers_cfg(seed, _config("workers", scale))


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
WORKLOADS: tuple[Workload, ...] = (
    Workload("mlp", "MLP 64-256-256-10, synthetic classification", "mlp", build_mlp),
    Workload("cnn", "2-layer CNN on sklearn digits (noisy copies)", "conv", build_cnn),
    Workload("lstm", "LSTM h=64 classifier, synthetic sequences", "recurrent", build_lstm),
    Workload(
        "transformer",
        "2-layer TransformerEncoder d=64, synthetic tokens",
        "transformer",
        build_transformer,
    ),
    Workload("svm", "linear SVM (hinge loss), synthetic data", "linear", build_svm),
    Workload("fixed-cost", "MLP + fixed validation pass every epoch", "mlp", build_fixed_cost),
    Workload("workers", "MLP, 2 non-persistent loader workers", "mlp", build_workers),
)


def get_workload(name: str) -> Workload:
    """Return the built-in workload called ``name``."""
    for workload in WORKLOADS:
        if workload.name == name:
            return workload
    valid = ", ".join(w.name for w in WORKLOADS)
    raise ValueError(f"name must be one of {valid}; got {name!r}")
