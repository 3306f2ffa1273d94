"""What the power sampler costs the training it watches: step time with it running vs not.

A small real training step (an MLP on CPU, or on the GPU where one is in use) is timed in
blocks of steps, alternately with the sampler off and on (ABBA order, so a slow drift of the
machine hits both alike). The figure is the median over block pairs of on/off mean step time.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from scipy import stats
from torch import nn

from ..measure.devices.discover import discover_meters
from ..measure.power_sampler import DEFAULT_INTERVAL_S, PowerSampler


@dataclass(frozen=True)
class OverheadResult:
    interval_s: float
    meters: tuple[str, ...]          # "name (method)"
    step_off_s: float                # median block-mean step time, sampler off
    step_on_s: float                 # the same, sampler on
    ratios: tuple[float, ...]        # per block pair: on / off
    steps_per_block: int
    read_s: float                    # one reading of every meter (median), s

    @property
    def duty(self) -> float:
        """Share of one core the sampler thread keeps busy: read time / interval."""
        return self.read_s / self.interval_s

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def ratio_iqr(self) -> tuple[float, float]:
        q = statistics.quantiles(self.ratios, n=4)
        return q[0], q[2]

    def ratio_ci(self, confidence: float = 0.95) -> tuple[float, float]:
        """Distribution-free interval for the median ratio (binomial order statistics)."""
        return median_ci(self.ratios, confidence)


def median_ci(values: tuple[float, ...], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for the median of ``values`` (binomial order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    k = int(stats.binom.ppf((1 - confidence) / 2, n, 0.5))
    low = max(k - 1, 0)
    return ordered[low], ordered[min(n - 1 - low, n - 1)]


def _training_step(device: torch.device):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(128, 256, device=device)
    y = torch.randint(0, 10, (128,), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step


def _block(step, steps: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def measure_overhead(*, pairs: int = 100, steps_per_block: int = 100,
                     interval_s: float = DEFAULT_INTERVAL_S) -> OverheadResult:
    """Time ``pairs`` ABBA block pairs of ``steps_per_block`` steps, sampler off vs on."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    step = _training_step(device)
    _block(step, steps_per_block, device)  # warm-up
    discovery = discover_meters()
    names = tuple(f"{m.name} ({m.method})" for m in discovery.meters)
    read_s = _read_cost_s(PowerSampler(discovery.meters, interval_s=interval_s))
    off, on, ratios = [], [], []
    for pair in range(pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        result = {}
        for sampling in order:
            if sampling:
                sampler = PowerSampler(discover_meters().meters, interval_s=interval_s).start()
                try:
                    result[True] = _block(step, steps_per_block, device)
                finally:
                    sampler.stop()
            else:
                result[False] = _block(step, steps_per_block, device)
        off.append(result[False])
        on.append(result[True])
        ratios.append(result[True] / result[False])
    return OverheadResult(interval_s=interval_s, meters=names, step_off_s=statistics.median(off),
                          step_on_s=statistics.median(on), ratios=tuple(ratios),
                          steps_per_block=steps_per_block, read_s=read_s)


def _read_cost_s(sampler: PowerSampler, reads: int = 200) -> float:
    """Median wall time of one pass over every meter (on this thread, sampler not started)."""
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        sampler.sample_once()
        times.append(time.perf_counter() - t0)
    sampler.stop()
    return statistics.median(times)
