"""Bad input gets a clear error that names the argument, before anything runs."""

from __future__ import annotations

import pytest
import torch

import greenlove
from tests.fakes.training import make_loader, make_model


def _noop(loader) -> None:
    for _ in loader:
        pass


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 2.5}, TypeError, "epochs"),
        ({"epochs": True}, TypeError, "epochs"),
        ({"epochs": 3, "budget_s": 0}, ValueError, "budget_s"),
        ({"epochs": 3, "budget_s": -1.0}, ValueError, "budget_s"),
        ({"epochs": 3, "budget_s": float("nan")}, ValueError, "budget_s"),
        ({"epochs": 3, "budget_s": "10"}, TypeError, "budget_s"),
        ({"epochs": 3, "sample_fraction": 0}, ValueError, "sample_fraction"),
        ({"epochs": 3, "sample_fraction": 1.5}, ValueError, "sample_fraction"),
        ({"epochs": 3, "confidence": 1.0}, ValueError, "confidence"),
        ({"epochs": 3, "confidence": 0}, ValueError, "confidence"),
        ({"epochs": 3, "warmup_epochs": -1}, ValueError, "warmup_epochs"),
        ({"epochs": 3, "warmup_epochs": "some"}, TypeError, "warmup_epochs"),
        ({"epochs": 3, "warmup_epochs": 1.0}, TypeError, "warmup_epochs"),
        ({"epochs": 3, "seed": "x"}, TypeError, "seed"),
        ({"epochs": 3, "steps_per_epoch": 0}, ValueError, "steps_per_epoch"),
        ({"epochs": 3, "history": 1}, TypeError, "history"),
        ({"epochs": 3, "history": b"folder"}, TypeError, "history"),
    ],
)
def test_bad_option_names_the_argument(kwargs, error, name) -> None:
    with pytest.raises(error, match=name):
        greenlove.estimate(_noop, make_loader(), progress=False, **kwargs)


def test_loader_must_be_a_dataloader() -> None:
    with pytest.raises(TypeError, match="loader must be a torch.utils.data.DataLoader"):
        greenlove.estimate(_noop, [1, 2, 3], epochs=2, progress=False)


def test_train_epoch_must_be_callable() -> None:
    with pytest.raises(TypeError, match="train_epoch"):
        greenlove.estimate("not callable", make_loader(), epochs=2, progress=False)


def test_empty_dataset_is_refused() -> None:
    empty = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(0, 1)))
    with pytest.raises(ValueError, match="loader.dataset is empty"):
        greenlove.estimate(_noop, empty, epochs=2, progress=False)


def test_restore_items_need_state_dict() -> None:
    model, _ = make_model()
    with pytest.raises(TypeError, match=r"restore\[1\]"):
        greenlove.Benchmark(make_loader(), epochs=2, restore=(model, object()), progress=False)
    with pytest.raises(TypeError, match="restore must be"):
        greenlove.Benchmark(make_loader(), epochs=2, restore=42, progress=False)


def test_a_single_restore_object_is_accepted() -> None:
    model, _ = make_model()
    greenlove.Benchmark(make_loader(), epochs=2, restore=model, progress=False)


def test_an_unknown_or_missing_option_is_named() -> None:
    # The options are written once (run.options.Options); a misspelt one must not pass silently.
    with pytest.raises(TypeError, match="unexpected keyword argument 'budget'"):
        greenlove.estimate(_noop, make_loader(), epochs=2, budget=5.0, progress=False)
    with pytest.raises(TypeError, match="missing required keyword argument: 'epochs'"):
        greenlove.Benchmark(make_loader(), progress=False)


def test_estimate_and_benchmark_take_the_same_options() -> None:
    from greenlove.history import history_folder
    from greenlove.run.options import Options, Settings

    settings = greenlove.Benchmark(make_loader(), epochs=4, budget_s=3.0, seed=7,
                                   progress=False, energy=False, clouds=False).settings
    assert isinstance(settings, Settings)
    assert (settings.epochs, settings.budget.value_s, settings.budget.automatic, settings.seed) \
        == (4, 3.0, False, 7)
    assert settings.energy is None and settings.clouds is None and settings.model is None
    assert settings.history == history_folder()     # the tests' own folder (conftest)
    assert greenlove.Benchmark(make_loader(), epochs=4, history=False).settings.history is None
    assert set(Options.__annotations__) == {
        "epochs", "restore", "budget_s", "sample_fraction", "warmup_epochs", "confidence", "seed",
        "progress", "steps_per_epoch", "energy", "site", "clouds", "history", "instruments"}
