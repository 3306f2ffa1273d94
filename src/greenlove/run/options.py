"""Validation of the user's arguments: every check names the argument it rejects."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from torch.utils.data import DataLoader


def check_epochs(epochs: Any) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int):
        raise TypeError(f"epochs must be an int >= 1, got {epochs!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    return epochs


def check_budget_s(budget_s: Any) -> float | None:
    if budget_s is None:
        return None
    if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)):
        raise TypeError(f"budget_s must be a number of seconds or None, got {budget_s!r}")
    if not math.isfinite(budget_s) or budget_s <= 0:
        raise ValueError(f"budget_s must be a finite number of seconds > 0, got {budget_s}")
    return float(budget_s)


def check_sample_fraction(sample_fraction: Any) -> float | None:
    if sample_fraction is None:
        return None
    if isinstance(sample_fraction, bool) or not isinstance(sample_fraction, (int, float)):
        raise TypeError(f"sample_fraction must be a number in (0, 1] or None, got {sample_fraction!r}")
    if not (0 < sample_fraction <= 1):
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    return float(sample_fraction)


def check_warmup_epochs(warmup_epochs: Any) -> int | str:
    if warmup_epochs == "auto" and isinstance(warmup_epochs, str):
        return "auto"
    if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int):
        raise TypeError(f'warmup_epochs must be "auto" or an int >= 0, got {warmup_epochs!r}')
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    return warmup_epochs


def check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise TypeError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not (0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence}")
    return float(confidence)


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return seed


def check_steps_per_epoch(steps_per_epoch: Any) -> int | None:
    if steps_per_epoch is None:
        return None
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int):
        raise TypeError(f"steps_per_epoch must be an int >= 1 or None, got {steps_per_epoch!r}")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    return steps_per_epoch


def check_loader(loader: Any) -> DataLoader:
    if not isinstance(loader, DataLoader):
        raise TypeError(
            f"loader must be a torch.utils.data.DataLoader, got {type(loader).__name__}"
        )
    return loader


def check_train_epoch(train_epoch: Any) -> Any:
    if not callable(train_epoch):
        raise TypeError(
            f"train_epoch must be a callable train_epoch(loader), got {type(train_epoch).__name__}"
        )
    return train_epoch


def check_restore(restore: Any) -> tuple[Any, ...]:
    """Accept one stateful object or an iterable of them; each needs state_dict/load_state_dict."""
    if restore is None:
        return ()
    items = (restore,) if hasattr(restore, "state_dict") else restore
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes)):
        raise TypeError(
            "restore must be an object with state_dict()/load_state_dict() or a tuple of them, "
            f"got {type(restore).__name__}"
        )
    items = tuple(items)
    for position, item in enumerate(items):
        if not (callable(getattr(item, "state_dict", None))
                and callable(getattr(item, "load_state_dict", None))):
            raise TypeError(
                f"restore[{position}] ({type(item).__name__}) has no state_dict()/"
                "load_state_dict(); pass the model, optimizer, scheduler, scaler ... themselves"
            )
    return items


def first_module(restore: tuple[Any, ...]) -> Any:
    """The first torch.nn.Module among the restore objects (the model), or None."""
    from torch import nn

    return next((obj for obj in restore if isinstance(obj, nn.Module)), None)


def check_switch(value: Any, options_type: type, name: str) -> Any:
    """An on/off-with-options argument: None or True (defaults), False (off: None), or an
    ``options_type`` instance."""
    if value is None or value is True:
        return options_type()
    if value is False:
        return None
    if isinstance(value, options_type):
        return value
    raise TypeError(f"{name} must be True, False or greenlove.{options_type.__name__}(...), "
                    f"got {value!r}")
