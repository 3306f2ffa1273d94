"""What every framework adapter does, framework-free: the callback's arguments checked at
construction, the tracker started from the fit's plan, the user's state kept for a dry run, and
the end. The Lightning and Hugging Face callbacks are thin layers over :class:`FitSession`:
they translate their hooks into ``step()``, ``epoch_end()``, ``extra_begin(kind)`` /
``extra_end()`` and read ``should_stop`` and ``metrics()`` back.

Tracking never breaks the fit: after the arguments are checked, failures of greenlove's own
become :class:`~greenlove.errors.GreenloveWarning`s (the tracker's rule), and a failed restore
after a dry run is said the same way, never raised into the trainer.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GreenloveWarning
from ..history import check_history
from ..measure import EnergyOptions
from ..run import Limits, Run, track
from ..run.dry_run import check_budget_s
from ..run.limits import check_on_limit
from ..run.options import check_site, check_switch
from ..run.restore import UserState


@dataclass(frozen=True)
class CallbackOptions:
    """A callback's arguments, checked (errors name the argument)."""

    report: Any
    limits: Limits | None
    on_limit: str
    out: Path | None
    history: bool | str | Path
    progress: bool
    site: Any
    energy: Any
    name: str | None
    dry_run: bool
    budget_s: float | None

    @classmethod
    def check(cls, *, report: Any = None, limits: Any = None, on_limit: str = "warn",
              out: Any = None, history: Any = True, progress: Any = True, site: Any = None,
              energy: Any = True, name: Any = None, dry_run: Any = False,
              budget_s: Any = None) -> CallbackOptions:
        if not isinstance(dry_run, bool):
            raise TypeError(f"dry_run must be True or False, got {dry_run!r}")
        if budget_s is not None and not dry_run:
            raise ValueError("budget_s is the dry run's budget: pass it with dry_run=True")
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits must be greenlove.Limits(...) or None, got {limits!r}")
        if dry_run and report is not None:
            raise ValueError("dry_run=True makes the pre-flight report itself: pass report= to "
                             "the callback of the real fit instead")
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True or False, got {progress!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {name!r}")
        if out is not None and not isinstance(out, (str, os.PathLike)):
            raise TypeError(f"out must be a folder path or None, got {out!r}")
        # Checked now, so that a bad value fails where the callback is made, not at fit start
        # (the tracker checks them again when it starts).
        check_site(site)
        check_switch(energy, EnergyOptions, "energy")
        check_history(history)
        return cls(report=report, limits=limits, on_limit=check_on_limit(on_limit),
                   out=None if out is None else Path(out), history=history, progress=progress,
                   site=site, energy=energy, name=name, dry_run=dry_run,
                   budget_s=check_budget_s(budget_s))


class FitSession:
    """One fit under one callback: the tracker, and for a dry run the state to put back."""

    def __init__(self, options: CallbackOptions) -> None:
        self.options = options
        self.run: Run | None = None
        self._state: UserState | None = None
        self._restored = False

    def start(self, *, epochs: int, steps_per_epoch: int | None, max_steps: int | None = None,
              expected_extras: Mapping[str, int] | None = None, writer: bool = True,
              restore: Iterable[Any] = (), instruments: Any = None) -> Run:
        """Start tracking the fit. ``writer``: this process prints and writes (global rank 0);
        ``restore``: for a dry run, the objects (model, optimizers, schedulers) whose state is
        put back at the end, with every RNG state."""
        o = self.options
        if o.dry_run:
            self._state = UserState.capture(list(restore))
        self.run = track(
            o.report, epochs=epochs, steps_per_epoch=steps_per_epoch, max_steps=max_steps,
            limits=o.limits, on_limit=o.on_limit, out=o.out if writer else None,
            history=o.history if writer else False, progress=o.progress and writer,
            site=o.site, energy=o.energy, name=o.name, dry_run=o.dry_run,
            budget_s=o.budget_s, instruments=instruments)
        for kind, total in (expected_extras or {}).items():
            self.run.expect_extra(kind, total)
        return self.run

    def end(self, reason: str | None = None) -> Any:
        """End tracking (idempotent); for a dry run, put the user's state back. Returns the
        Report (None where tracking never started)."""
        run = self.run
        if run is not None:
            run.close(reason)
        self.restore()
        return None if run is None else run.result

    def restore(self) -> None:
        """A dry run's state put back (once); a failure is a warning, never the fit's error."""
        if self._state is None or self._restored:
            return
        self._restored = True
        error = self._state.apply_all()
        if error is not None:
            warnings.warn(f"greenlove could not put your state back after the dry run "
                          f"({type(error).__name__}: {error}); start the real fit from a fresh "
                          "model", GreenloveWarning, stacklevel=3)
