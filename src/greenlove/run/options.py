"""The benchmark's keyword options, listed once, and their checks: each names what it rejects.

:class:`Options` is the argument list of both :func:`greenlove.estimate` and
:class:`greenlove.Benchmark`; :func:`check_options` turns what the user passed into the frozen
:class:`Settings` the harness runs with (defaults filled in, the model named once).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from torch.utils.data import DataLoader

from ..compare import CloudOptions, Site
from ..history import check_history
from ..measure import EnergyOptions, Instruments
from ..sample import Budget
from .progress import ProgressDisplay, make_progress

if TYPE_CHECKING:
    from typing_extensions import Required


class Options(TypedDict, total=False):
    """The keyword options of ``estimate`` and ``Benchmark`` (README, "Options").

    ``epochs`` (required): epochs of the full run. ``restore``: the model, optimizer, scheduler...
    (anything with state_dict()/load_state_dict()), put back afterwards with the RNG states.
    ``budget_s``: wall seconds the benchmark may spend, everything included (None: automatic).
    ``sample_fraction``: cap on the largest sample (default 0.5). ``warmup_epochs``: "auto" or
    an int. ``confidence``: of the intervals (0.95). ``seed``: of the samples (0). ``progress``:
    a rich bar on stderr (True), none (False) or a display of your own. ``steps_per_epoch``: for
    an IterableDataset without a length. ``energy``, ``site``, ``clouds``: EnergyOptions, Site,
    CloudOptions (``False`` turns energy or clouds off). ``history``: the machine's record of
    earlier runs, which calibrates the drift term (True: the default folder, ``$GREENLOVE_HOME``
    or the user's data folder; a folder of your own; False: off). ``instruments``: the clock,
    device sync and sleep to use (tests inject fakes).
    """

    epochs: Required[int]
    restore: Any
    budget_s: float | None
    sample_fraction: float | None
    warmup_epochs: int | str
    confidence: float
    seed: int
    progress: bool | ProgressDisplay
    steps_per_epoch: int | None
    energy: bool | EnergyOptions | None
    site: Site | None
    clouds: bool | CloudOptions | None
    history: bool | str | os.PathLike[str]
    instruments: Instruments | None


@dataclass(frozen=True)
class Settings:
    """The options checked, with defaults filled in: what one benchmark runs with."""

    epochs: int
    restore: tuple[Any, ...]
    model: Any                      # the first torch.nn.Module in restore, or None
    budget: Budget
    sample_fraction: float | None
    warmup_epochs: int | str
    confidence: float
    seed: int
    progress: ProgressDisplay
    steps_per_epoch: int | None
    energy: EnergyOptions | None    # None: no energy measured
    site: Site | None
    clouds: CloudOptions | None     # None: no cloud comparison
    history: Path | None            # the record's folder; None: history off
    instruments: Instruments


def check_options(options: Mapping[str, Any]) -> Settings:
    """Check every option (TypeError/ValueError naming the argument) and fill in the defaults."""
    unknown = sorted(set(options) - set(Options.__annotations__))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}; the options are "
                        f"{', '.join(Options.__annotations__)}")
    if "epochs" not in options:
        raise TypeError("missing required keyword argument: 'epochs'")
    epochs = check_epochs(options["epochs"])
    restore = check_restore(options.get("restore"))
    return Settings(
        epochs=epochs,
        restore=restore,
        model=first_module(restore),
        budget=Budget.of(check_budget_s(options.get("budget_s"))),
        sample_fraction=check_sample_fraction(options.get("sample_fraction")),
        warmup_epochs=check_warmup_epochs(options.get("warmup_epochs", "auto")),
        confidence=check_confidence(options.get("confidence", 0.95)),
        seed=check_seed(options.get("seed", 0)),
        progress=check_progress(options.get("progress", True)),
        steps_per_epoch=check_steps_per_epoch(options.get("steps_per_epoch")),
        energy=check_switch(options.get("energy"), EnergyOptions, "energy"),
        site=check_site(options.get("site")),
        clouds=check_switch(options.get("clouds"), CloudOptions, "clouds"),
        history=check_history(options.get("history", True)),
        instruments=check_instruments(options.get("instruments")),
    )


def check_instruments(instruments: Any) -> Instruments:
    """``instruments``: None (the real clock, sync and sleep) or an :class:`Instruments`."""
    if instruments is None:
        return Instruments()
    if not isinstance(instruments, Instruments):
        raise TypeError(f"instruments must be greenlove.measure.Instruments(...), got {instruments!r}")
    return instruments


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is an integer (numpy's included, never a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _whole(value: Any, name: str, minimum: int, accepted: str) -> int:
    """``value`` as an int >= ``minimum``; TypeError or ValueError naming ``name``."""
    number = _integer(value)
    if number is None:
        raise TypeError(f"{name} must be {accepted}, got {value!r}")
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {number}")
    return number


def check_epochs(epochs: Any) -> int:
    return _whole(epochs, "epochs", 1, "an int >= 1")


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
    return _whole(warmup_epochs, "warmup_epochs", 0, '"auto" or an int >= 0')


def check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise TypeError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not (0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.95; got {confidence}")
    return float(confidence)


SEED_LIMIT = 2**48
"""Seeds are derived from the user's (seed * 7919 + size), which must stay in torch's range."""


def check_seed(seed: Any) -> int:
    value = _integer(seed)
    if value is None:
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not -SEED_LIMIT < value < SEED_LIMIT:
        raise ValueError(f"seed must be between -2**48 and 2**48 (exclusive), got {value}")
    return value


def check_steps_per_epoch(steps_per_epoch: Any) -> int | None:
    if steps_per_epoch is None:
        return None
    return _whole(steps_per_epoch, "steps_per_epoch", 1, "an int >= 1 or None")


def check_progress(progress: Any) -> ProgressDisplay:
    """``progress``: True (a rich bar on stderr), False or None (none), or a display of your
    own (an object with start(), update(elapsed_s, budget_s, what) and stop())."""
    if progress is None or isinstance(progress, bool):
        return make_progress(bool(progress))
    if all(callable(getattr(progress, m, None)) for m in ("start", "update", "stop")):
        return progress
    raise TypeError(f"progress must be True, False or a display with start(), update() and "
                    f"stop(), got {progress!r}")


def check_site(site: Any) -> Site | None:
    """``site``: None (guess offline) or a :class:`Site`."""
    if site is None or isinstance(site, Site):
        return site
    raise TypeError(f"site must be greenlove.Site(...) or None, got {site!r}")


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
