"""Progress display while benchmarking: a rich bar on stderr, or nothing."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class ProgressDisplay(Protocol):
    def start(self) -> None: ...
    def update(self, elapsed_s: float, budget_s: float | None, what: str) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self) -> None:
        pass

    def update(self, elapsed_s: float, budget_s: float | None, what: str) -> None:
        pass

    def stop(self) -> None:
        pass


class RichProgress:
    """One bar: seconds spent out of the budget (the budget is unknown until the probe ends)."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]greenlove[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.1f}/{task.fields[budget]} s"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=True,
        )
        self._task = None

    def start(self) -> None:
        self._progress.start()
        self._task = self._progress.add_task("probing", total=None, budget="?")

    def update(self, elapsed_s: float, budget_s: float | None, what: str) -> None:
        if self._task is None:
            return
        self._progress.update(self._task, completed=elapsed_s, description=what,
                              total=budget_s, budget="?" if budget_s is None else f"{budget_s:.0f}")

    def stop(self) -> None:
        self._progress.stop()


def make_progress(progress: bool | ProgressDisplay) -> ProgressDisplay:
    if progress is True:
        return RichProgress()
    if progress is False or progress is None:
        return NoProgress()
    return progress
