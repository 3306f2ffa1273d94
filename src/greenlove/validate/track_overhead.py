"""What tracking costs the training it watches: step time under ``run.watch`` vs a plain loop.

A small real training step (an MLP of about 2 ms on a 2-core CPU; on the GPU where one is in
use) is timed in blocks of steps, ABBA order, as for the power sampler: block A iterates a plain
list of batches, block B iterates ``run.watch`` of the same list inside an active
``track(...)`` whose background thread runs as in real use (no energy, history or progress).
Both loops are otherwise the same, and each block's clock stops after its last step, so the
watched loop's epoch end is not in it. The forecast that the tracker's thread computes once a
second (and ``epoch_end`` once per epoch) is timed apart, on a step log filled to its cap.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..measure.steps import MAX_MARKS
from ..run import track
from ..run.track import TICK_S
from .overhead import median_ci

OVERHEAD_TARGET = 0.005
"""Target: tracking adds at most 0.5% to a 2 ms training step."""

STEP_TARGET_S = 0.002
"""The step the target is stated for."""

INPUTS, HIDDEN, BATCH, CLASSES = 256, 640, 128, 10
"""The MLP's sizes: about 2 ms per step on the 2-core development machine's CPU."""

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class TrackOverheadResult:
    step_off_s: float                # median block-mean step time, plain loop
    step_on_s: float                 # the same, under run.watch inside track()
    ratios: tuple[float, ...]        # per block pair: on / off
    steps_per_block: int
    forecast_s: float                # one forecast on a full step log (median), s
    marks: int                       # step marks in that log
    start_end_s: float = 0.0         # track() and close() of one block's run (median), s

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def ratio_ci(self, confidence: float = 0.95) -> tuple[float, float]:
        """Distribution-free interval for the median ratio (binomial order statistics)."""
        return median_ci(self.ratios, confidence)

    @property
    def overhead(self) -> float:
        """The median extra step time under tracking, relative: ratio - 1."""
        return self.ratio - 1

    @property
    def forecast_duty(self) -> float:
        """Share of one core the tracker's thread keeps busy forecasting once per tick."""
        return self.forecast_s / TICK_S

    @property
    def verdict(self) -> str:
        """"met" (the whole 95% interval within the target), "MISSED" (the whole interval
        above it) or "unresolved" (the interval spans the target: more pairs needed)."""
        low, high = self.ratio_ci()
        if high - 1 <= OVERHEAD_TARGET:
            return "met"
        if low - 1 > OVERHEAD_TARGET:
            return "MISSED"
        return "unresolved"


def training_step(device: torch.device, *, steps: int) -> tuple[Callable[[Batch], None],
                                                                list[Batch]]:
    """A small MLP's training step on a batch, and ``steps`` batches for it (a plain list)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(INPUTS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                          nn.ReLU(), nn.Linear(HIDDEN, CLASSES)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(torch.randn(BATCH, INPUTS, device=device),
                torch.randint(0, CLASSES, (BATCH,), device=device)) for _ in range(steps)]

    def step(batch: Batch) -> None:
        x, y = batch
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step, batches


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _block(step: Callable[[Batch], None], loop: Iterable[Batch], steps: int,
           device: torch.device) -> float:
    """Mean step time over ``loop``; the clock stops after the last step, before the loop
    itself ends (where a watched loop closes its epoch)."""
    last = steps - 1
    _sync(device)
    t0 = end = time.perf_counter()
    for index, batch in enumerate(loop):
        step(batch)
        if index == last:
            _sync(device)
            end = time.perf_counter()
    return (end - t0) / steps


def _watched_block(step: Callable[[Batch], None], batches: Sequence[Batch],
                   device: torch.device) -> tuple[float, float]:
    """(mean step time under run.watch, seconds of track() and close() around it)."""
    t0 = time.perf_counter()
    run = track(epochs=1, steps_per_epoch=len(batches), history=False, progress=False,
                energy=False)
    started = time.perf_counter() - t0
    try:
        step_s = _block(step, run.watch(batches), len(batches), device)
    finally:
        t1 = time.perf_counter()
        run.close()
        ended = time.perf_counter() - t1
    return step_s, started + ended


def forecast_cost_s(*, calls: int = 30) -> tuple[float, int]:
    """(median seconds of one forecast, marks) on a tracked run whose step log is full."""
    run = track(epochs=2, steps_per_epoch=MAX_MARKS, history=False, progress=False,
                energy=False)
    try:
        for _ in range(MAX_MARKS):
            run.step_end()
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            run.forecast()
            times.append(time.perf_counter() - t0)
    finally:
        run.close()
    return statistics.median(times), MAX_MARKS


def measure_track_overhead(*, pairs: int = 40, steps_per_block: int = 100) -> TrackOverheadResult:
    """Time ``pairs`` ABBA block pairs of ``steps_per_block`` steps, plain loop vs tracked."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    step, batches = training_step(device, steps=steps_per_block)
    _block(step, batches, steps_per_block, device)            # warm-up, both paths
    _watched_block(step, batches, device)
    off, on, ratios, start_end = [], [], [], []
    for pair in range(pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        result = {}
        for tracked in order:
            if tracked:
                result[True], seconds = _watched_block(step, batches, device)
                start_end.append(seconds)
            else:
                result[False] = _block(step, batches, steps_per_block, device)
        off.append(result[False])
        on.append(result[True])
        ratios.append(result[True] / result[False])
    forecast_s, marks = forecast_cost_s()
    return TrackOverheadResult(step_off_s=statistics.median(off),
                               step_on_s=statistics.median(on), ratios=tuple(ratios),
                               steps_per_block=steps_per_block, forecast_s=forecast_s,
                               marks=marks, start_end_s=statistics.median(start_end))
