"""Progress display: a rich bar on stderr while benchmarking, a line that stays put while a
tracked run goes on, or nothing."""

from __future__ import annotations

import time
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..render.format import duration, energy, money, percent, span


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


class RunLine(Protocol):
    """The tracked run's progress: one line that stays put, redrawn at most once a second."""

    def start(self) -> None: ...
    def update(self, forecast: Any, *, wall_now_s: float) -> None: ...
    def stop(self) -> None: ...


class NoRunLine:
    def start(self) -> None:
        pass

    def update(self, forecast: Any, *, wall_now_s: float) -> None:
        pass

    def stop(self) -> None:
        pass


def run_line_text(forecast: Any, *, wall_now_s: float) -> str:
    """'greenlove 37% · 4 min 12 s · ends in 22 min (20 min – 25 min) at 14:05 · 12 Wh so far,
    34 Wh (30 Wh – 38 Wh) forecast · $0.004 so far': the line, as plain text."""
    f = forecast
    parts = [f"greenlove {percent(f.done, 0)}", f"{duration(f.elapsed_s)} elapsed"]
    if f.done >= 1:
        parts.append("finished")
    elif f.remaining_s is not None:
        end = time.strftime("%H:%M", time.localtime(wall_now_s + f.remaining_s.point))
        parts.append(f"ends in {duration(f.remaining_s.point)} "
                     f"({span(f.remaining_s, duration)}) at {end}")
    else:
        parts.append("end not forecast yet")
    if f.energy_so_far_kwh is not None:
        text = f"{energy(f.energy_so_far_kwh)} so far"
        if f.energy_kwh is not None and f.done < 1:
            text += f", {energy(f.energy_kwh.point)} ({span(f.energy_kwh, energy)}) forecast"
        parts.append(text)
    if f.cost_so_far_usd is not None:
        text = f"{money(f.cost_so_far_usd)} so far"
        if f.cost_usd is not None and f.done < 1:
            text += f", {money(f.cost_usd.point)} forecast"
        parts.append(text)
    return " · ".join(parts)


class RichRunLine:
    """The line on stderr through rich.live (redrawn only when told: at most once a second)."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.live import Live

        self._live = Live(Text("greenlove: tracking…"), console=console or Console(stderr=True),
                          auto_refresh=False, transient=False)

    def start(self) -> None:
        self._live.start()

    def update(self, forecast: Any, *, wall_now_s: float) -> None:
        self._live.update(Text(run_line_text(forecast, wall_now_s=wall_now_s)), refresh=True)

    def stop(self) -> None:
        self._live.stop()


def make_run_line(progress: bool | RunLine) -> RunLine:
    if progress is True:
        return RichRunLine()
    if progress is False or progress is None:
        return NoRunLine()
    return progress
