"""Smoke tests for the built-in workloads at scale "tiny"."""

from __future__ import annotations

import pytest
import torch

from greenlove.validate.workloads import WORKLOADS, Setup, Workload, get_workload

NAMES = ["mlp", "cnn", "lstm", "transformer", "svm", "fixed-cost", "workers"]


def _params(setup: Setup) -> list[torch.Tensor]:
    model = setup.restore[0]
    return [p.detach().clone() for p in model.parameters()]


def _items(setup: Setup, count: int = 4) -> list[tuple[torch.Tensor, ...]]:
    dataset = setup.loader.dataset
    return [tuple(dataset[i]) for i in range(count)]


def test_registry_order_and_fields() -> None:
    assert [w.name for w in WORKLOADS] == NAMES
    families = {"mlp", "conv", "recurrent", "transformer", "linear"}
    for workload in WORKLOADS:
        assert isinstance(workload, Workload)
        assert workload.family in families
        assert workload.description and "\n" not in workload.description
        assert get_workload(workload.name) is workload


def test_get_workload_unknown_name() -> None:
    with pytest.raises(ValueError, match="name") as info:
        get_workload("nope")
    assert "transformer" in str(info.value)


def test_unknown_scale() -> None:
    with pytest.raises(ValueError, match="scale"):
        get_workload("mlp").build(0, "huge")


@pytest.mark.parametrize("name", NAMES)
def test_tiny_epoch_trains(name: str) -> None:
    rng_state = torch.get_rng_state()
    setup = get_workload(name).build(0, "tiny")
    assert torch.equal(torch.get_rng_state(), rng_state), "build leaked global RNG state"
    assert setup.epochs == 3
    assert len(setup.loader) >= 2
    model, optimizer = setup.restore
    assert hasattr(model, "state_dict") and hasattr(optimizer, "load_state_dict")
    before = _params(setup)
    setup.train_epoch(setup.loader)
    after = _params(setup)
    assert all(torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)), (
        "parameters did not change"
    )


@pytest.mark.parametrize("name", NAMES)
def test_build_is_deterministic(name: str) -> None:
    build = get_workload(name).build
    first, second, other = build(3, "tiny"), build(3, "tiny"), build(4, "tiny")
    assert len(first.loader.dataset) == len(second.loader.dataset)
    for a, b in zip(_items(first), _items(second), strict=True):
        assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert any(
        not torch.equal(a[0], b[0]) for a, b in zip(_items(first), _items(other), strict=True)
    ), "different seeds gave the same data"
    for a, b in zip(_params(first), _params(second), strict=True):
        assert torch.equal(a, b)
    if name != "workers":  # avoid starting worker processes twice more
        xa, ya = next(iter(first.loader))
        xb, yb = next(iter(second.loader))
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_full_scale_sizes() -> None:
    """Full runs have >= 10 epochs and >= 100 batches/epoch; quick runs fewer epochs."""
    from greenlove.validate.workloads import _CONFIGS

    for name in NAMES:
        full, quick = _CONFIGS[name]["full"], _CONFIGS[name]["quick"]
        assert full["epochs"] >= 10
        assert full["n"] // full["batch"] >= 100
        assert quick["n"] == full["n"] and quick["epochs"] < full["epochs"]


def _shapes(module: torch.nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in module.parameters()]


def test_demo_builds_the_cnn_workload_network() -> None:
    """The demo's CNN is the cnn workload's class and conv layers, with its own head and tiling."""
    from greenlove.demo import build_demo

    with torch.random.fork_rng(devices=[]):  # the demo seeds the global RNG, as a user script does
        demo = build_demo(copies=2, epochs=3)
    cnn = get_workload("cnn").build(0, "tiny").restore[0]
    assert type(demo.model) is type(cnn)
    assert _shapes(demo.model.features) == _shapes(cnn.features)
    assert _shapes(demo.model.head) == [(64, 512), (64,), (10, 64), (10,)]
    assert _shapes(cnn.head) == [(10, 512), (10,)]
    labels = demo.loader.dataset.tensors[1]
    assert len(labels) == 2 * 1797 and torch.equal(labels[:1797], labels[1797:])
